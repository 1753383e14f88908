"""The verdict cache (detect/verdicts.py) never changes a finding, and does skip repeated work.

One remembering engine is run over the demo hive, the rule-example scenarios and the shared
real hives *in sequence and twice* (so records of one hive are answered from fingerprints
taken on another), and every finding's ``to_dict`` must equal a fresh engine's without the
cache. Records edited in only what a catalog lookup reads (never named by a rule) must get
their own verdict, and so must a record changed in any one input of its fingerprint.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hivescan.catalog.lookups import CATALOGS, LOOKUP_READS
from hivescan.detect.engine import Engine
from hivescan.detect.fields import Subject, resolve
from hivescan.detect.verdicts import Unfreezable, VerdictCache, deeply_immutable, rule_reads, serialise
from hivescan.diagnostics import Diagnostic
from hivescan.hive.model import RawValue
from hivescan.scm.record import ServiceRecord
from hivescan.scm.winversion import WindowsVersion
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


def _typed(v: object) -> object:
    if isinstance(v, list):
        return ("list", [_typed(x) for x in v])
    if isinstance(v, dict):
        return ("dict", [(_typed(k), _typed(x)) for k, x in v.items()])
    return (type(v), v)


@given(_values, _values)
def test_equal_bytes_only_for_equal_values_of_equal_types(a: object, b: object) -> None:
    """Sound: equal bytes mean equal values, types (and dict order) included; and a copy of a
    value gives the same bytes (shared objects or not), so repeats are found."""
    if serialise(a) == serialise(b):
        assert _typed(a) == _typed(b)
    assert serialise(a) == serialise(copy.deepcopy(a))
    shared = [a, a]
    assert serialise(shared) == serialise([a, copy.deepcopy(a)])


def test_true_and_one_differ() -> None:
    assert serialise(True) != serialise(1) and serialise(1) != serialise(1.0)
    assert serialise({1: "x"}) != serialise({"1": "x"})
    assert serialise((1,)) != serialise([1]) and serialise(b"x") != serialise(bytearray(b"x"))
    assert serialise("a") != serialise(b"a") and serialise(0.0) != serialise(-0.0)


class _Identity:
    def __init__(self, value: int) -> None:
        self.value = value


@dataclass
class _Mutable:
    items: list[int]


class _Pair(NamedTuple):
    a: Any
    b: Any


class _PairWithState(_Pair):
    pass


def test_objects_without_value_equality_are_not_serialised() -> None:
    extra = _PairWithState(1, "x")
    extra.hidden = "state"  # type: ignore[attr-defined]
    for value in (object(), _Identity(1), [1, _Identity(2)], {"k": _Identity(3)}, extra):
        with pytest.raises(Unfreezable):
            serialise(value)
    # after a failure half-way, the reused pickler still gives true bytes
    cache = VerdictCache(RULES.by_id)
    with pytest.raises(Unfreezable):
        cache._serialise([1, 2, _Identity(1)])
    assert cache._serialise((1, "x")) == serialise((1, "x"))


def test_value_objects_serialise_as_their_class_and_fields() -> None:
    assert serialise(_Pair(1, "x")) != serialise((1, "x"))
    assert serialise(_Pair(1, "x")) == serialise(_Pair(1, "x")) != serialise(_Pair(1, "y"))
    assert serialise(_Pair(True, 0)) != serialise(_Pair(1, 0))
    assert serialise(Diagnostic("a", "b", "c")) != serialise(Diagnostic("a", "b", "c", "error"))
    assert serialise(_Mutable([1])) != serialise(_Mutable([2]))


def test_only_deeply_immutable_objects_are_shared_by_identity() -> None:
    assert deeply_immutable(WindowsVersion(nt_version="10.0", basis=("x",)))
    assert deeply_immutable(_Pair(1, ("a", None)))
    assert not deeply_immutable(_Pair(1, ["a"])) and not deeply_immutable(_Mutable([1]))
    cache = VerdictCache(RULES.by_id)
    record = _scenario_subjects()[0].record
    mutable = _Mutable([1])
    before = cache.fingerprint(Subject(record, {"windows": mutable}))
    mutable.items.append(2)  # a mutable context object is serialised each time, never remembered
    assert cache.fingerprint(Subject(record, {"windows": mutable})) != before
    seven, ten = WindowsVersion(nt_version="6.1"), WindowsVersion(nt_version="10.0")
    assert cache.fingerprint(Subject(record, {"windows": seven})) != cache.fingerprint(
        Subject(record, {"windows": ten})
    )
    assert cache.fingerprint(Subject(record, {"windows": seven})) == cache.fingerprint(
        Subject(record, {"windows": WindowsVersion(nt_version="6.1")})
    )


def _other(value: object) -> object:
    """A value different from ``value`` (in value or in type)."""
    if value is None:
        return "x"
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return (*value, "x")
    if isinstance(value, dict):
        return {**value, "x": 1}
    return None


def test_a_change_in_any_input_misses_the_cache() -> None:
    """Every record attribute, context entry and derived input the fingerprint holds: changed
    alone, it gives another fingerprint (so the record gets its own verdict)."""
    cache = VerdictCache(RULES.by_id)
    subjects = [s for s in _scenario_subjects() if "windows" in s.context]
    subject = next(s for s in subjects if s.record.image_path and s.record.failure_actions is not None)
    base = cache.fingerprint(subject)
    assert base is not None
    fields = set(ServiceRecord.__dataclass_fields__)
    for name in cache.attributes:
        if name not in fields:  # a property: computed from fields, read as computed
            continue
        edited = replace(subject.record, **{name: _other(getattr(subject.record, name))})
        assert cache.fingerprint(Subject(edited, subject.context)) != base, name
    for name in sorted(cache.context_names):
        changed = {**subject.context, name: _other(subject.context.get(name))}
        assert cache.fingerprint(Subject(subject.record, changed)) != base, name
    note = Diagnostic("some_code", "ImagePath", "a message")
    noted = replace(subject.record, diagnostics=(*subject.record.diagnostics, note))
    assert cache.fingerprint(Subject(noted, subject.context)) != base
    for path in cache.derived:
        root, _, name = path.partition(".")
        if root == "parameters":
            value = RawValue(name, 1, "C:\\x.dll\0".encode("utf-16-le"))
            edited = replace(subject.record, parameters_raw=(*subject.record.parameters_raw, value))
            assert cache.fingerprint(Subject(edited, subject.context)) != base, path


def test_context_shadowing_a_record_field_is_in_the_fingerprint() -> None:
    cache = VerdictCache(RULES.by_id)
    subject = _scenario_subjects()[0]
    assert "name" in cache.context_names
    shadowed = Subject(subject.record, {**subject.context, "name": "other"})
    assert cache.fingerprint(shadowed) != cache.fingerprint(subject)


def test_shared_objects_stay_bounded() -> None:
    cache = VerdictCache(RULES.by_id)
    record = _scenario_subjects()[0].record
    for build in range(200):
        cache.fingerprint(Subject(record, {"windows": WindowsVersion(nt_version="10.0", build=build)}))
    assert len(cache._shared) <= 64


def test_reads_cover_every_rule_field() -> None:
    paths, catalogs = rule_reads(RULES.by_id)
    assert "name" in paths and set(catalogs) <= set(LOOKUP_READS)


class _OtherPair(NamedTuple):
    a: Any
    b: Any


def test_a_value_serialises_alike_whatever_came_before() -> None:
    """Classes are numbered as they are met; a value's bytes are the same before and after."""
    cache = VerdictCache(RULES.by_id)
    first = cache._serialise(_Pair(1, "x"))
    cache._serialise((Diagnostic("a", "b", "c"), _OtherPair(1, "x")))
    assert cache._serialise(_Pair(1, "x")) == first
    assert cache._serialise(_OtherPair(1, "x")) != first  # same fields, another class
    assert cache._serialise([_Pair(1, "x"), _Pair(1, "x")]) == cache._serialise([_Pair(1, "x"), _Pair(1, "x")])


_PARAMETERS_CACHE = VerdictCache(RULES.by_id)


@lru_cache(maxsize=1)
def _first_scenario() -> Subject:
    return _scenario_subjects()[0]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Application", "APPLICATION", "application", "ServerLevelPluginDll", "Other", ""]),
            st.sampled_from([1, 2, 4, 7, 3]),
            st.sampled_from([b"a\0b\0\0\0", b"c\0\0\0", b"\x01\0\0\0", b"", b"a\0\0\0x\0\0\0"]),
        ),
        max_size=4,
    ),
    st.lists(st.sampled_from(["Application", "application", "Other"]), max_size=3),
)
def test_parameters_read_as_their_raw_value_tell_what_resolve_tells(
    values: list[tuple[str, int, bytes]], more: list[str]
) -> None:
    """The fingerprint holds, for ``parameters.<Name>``, the raw value ``resolve`` decodes (the
    first of that name in any case): two keys whose fingerprints are equal resolve alike, and a
    key resolving otherwise never shares a fingerprint."""
    cache, subject = _PARAMETERS_CACHE, _first_scenario()
    assert any(p.startswith("parameters.") for p in cache.derived)
    first = replace(subject.record, parameters_raw=tuple(RawValue(n, t, d) for n, t, d in values))
    other = replace(first, parameters_raw=(*first.parameters_raw, *(RawValue(n, 1, b"z\0\0\0") for n in more)))
    one, two = Subject(first, subject.context), Subject(other, subject.context)
    seen = [tuple(resolve(s, p) for p in cache.derived if p.startswith("parameters.")) for s in (one, two)]
    if cache.fingerprint(one) == cache.fingerprint(two):
        assert seen[0] == seen[1]
    if seen[0] != seen[1]:
        assert cache.fingerprint(one) != cache.fingerprint(two)
