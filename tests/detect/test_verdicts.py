"""The verdict cache (detect/verdicts.py) never changes a finding, and does skip repeated work.

One remembering engine is run over the demo hive, the rule-example scenarios and the shared
real hives *in sequence and twice* (so records of one hive are answered from fingerprints
taken on another), and every finding's ``to_dict`` must equal a fresh engine's without the
cache. Records edited in only what a catalog lookup reads (never named by a rule) must get
their own verdict.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hivescan.catalog.lookups import CATALOGS, LOOKUP_READS
from hivescan.detect.engine import Engine
from hivescan.detect.fields import Subject
from hivescan.detect.verdicts import Unfreezable, VerdictCache, freeze, rule_reads
from hivescan.scm.record import ServiceRecord
from tests.conftest import FIXTURES, SHARED_HIVES
from tests.detect.test_compiled import REAL_HIVES, RULES, _hive_subjects, _scenario_subjects


def _groups() -> list[list[Subject]]:
    software = FIXTURES / "demo-SOFTWARE"
    groups = [_hive_subjects(FIXTURES / "demo-SYSTEM", software if software.is_file() else None), _scenario_subjects()]
    groups += [_hive_subjects(SHARED_HIVES / n) for n in REAL_HIVES if (SHARED_HIVES / n).is_file()]
    return groups


def _dicts(engine: Engine, subjects: list[Subject]) -> list[dict[str, object]]:
    return [f.to_dict() for f in engine.run(subjects)]


def test_remembered_verdicts_give_the_same_findings_across_hives() -> None:
    groups = _groups()
    expected = [_dicts(Engine(RULES), g) for g in groups]
    remembering = Engine(RULES, remember=True)
    assert remembering.verdicts is not None and remembering.verdicts.enabled
    for _ in range(2):
        assert [_dicts(remembering, g) for g in groups] == expected
    # the second pass is answered from the cache (fails if nothing is remembered)
    assert remembering.verdicts.hits >= sum(len(g) for g in groups)


def test_a_field_only_a_lookup_reads_gets_its_own_verdict() -> None:
    """``image_path_expanded`` is named by no rule, but windows-image-path compares it: a stock
    service whose expansion differs must not reuse the verdict of the stock record."""
    paths, _ = rule_reads(RULES.by_id)
    assert "image_path_expanded" not in paths
    subjects = _scenario_subjects()  # they carry the hive's Windows (the catalog applies)
    engine, fresh = Engine(RULES, remember=True), Engine(RULES)
    changed = 0
    for subject in subjects:
        if not subject.record.image_path_expanded:
            continue
        engine.findings(subject)  # remembered as stock
        edited = Subject(replace(subject.record, image_path_expanded=r"C:\Users\Public\evil.exe"), subject.context)
        got = [f.to_dict() for f in engine.findings(edited)]
        assert got == [f.to_dict() for f in fresh.findings(edited)], subject.record.name
        changed += got != [f.to_dict() for f in fresh.findings(subject)]
    assert changed > 0  # the edit made some stock record a finding: the test can tell


def test_every_catalog_declares_what_it_reads() -> None:
    assert set(LOOKUP_READS) == set(CATALOGS)
    record_fields = set(ServiceRecord.__dataclass_fields__)
    for reads in LOOKUP_READS.values():
        for where, name in reads:
            assert where in ("record", "context")
            if where == "record":
                assert name in record_fields, name


def test_custom_lookups_are_never_remembered() -> None:
    assert Engine(RULES, CATALOGS, remember=True).verdicts is None


def test_a_full_cache_is_emptied_not_grown() -> None:
    cache = VerdictCache(RULES.by_id, limit=2)
    for i in range(5):
        cache.put(i, ())
    assert len(cache.entries) <= 2


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text())
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=8,
)


@given(_values, _values)
def test_frozen_values_are_equal_only_when_the_values_and_their_types_are(a: object, b: object) -> None:
    def typed(v: object) -> object:
        if isinstance(v, list):
            return ("list", [typed(x) for x in v])
        if isinstance(v, dict):
            return ("dict", sorted((repr(k), typed(x)) for k, x in v.items()))
        return (type(v), v)

    assert (freeze(a) == freeze(b)) == (typed(a) == typed(b))
    hash(freeze(a))


def test_true_and_one_differ() -> None:
    assert freeze(True) != freeze(1) and freeze(1) != freeze(1.0)
    assert freeze({1: "x"}) != freeze({"1": "x"})


def test_objects_without_value_equality_are_not_frozen() -> None:
    with pytest.raises(Unfreezable):
        freeze(object())


def test_reads_cover_every_rule_field() -> None:
    paths, catalogs = rule_reads(RULES.by_id)
    assert "name" in paths and set(catalogs) <= set(LOOKUP_READS)
