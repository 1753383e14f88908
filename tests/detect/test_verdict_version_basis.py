"""The verdict cache shares verdicts between hosts whose Windows differs only in how it was
found (``WindowsVersion.basis`` names the host's service count), and never more than that.

Before: the basis text was part of every fingerprint, so on hosts with different numbers of
services no verdict was ever reused (measured on the v3 benchmark corpus: 107 ms of rules
per hive with the cache, 19 ms once the texts were equal).
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from hivescan.catalog.lookups import CATALOGS, CONTEXT_FIELDS_UNREAD
from hivescan.detect.engine import Engine
from hivescan.detect.fields import Subject
from hivescan.detect.verdicts import VerdictCache
from tests.detect.test_compiled import RULES, _scenario_subjects


def _with_basis(subject: Subject, basis: tuple[str, ...]) -> Subject:
    context = dict(subject.context)
    context["windows"] = replace(context["windows"], basis=basis)
    return Subject(subject.record, context)


def _versioned() -> list[Subject]:
    subjects = [s for s in _scenario_subjects() if s.context.get("windows") is not None]
    assert subjects, "the scenarios carry the hive's Windows"
    return subjects


def test_the_lookups_read_nothing_of_the_fields_left_out() -> None:
    """Every lookup gives the same answer whatever those fields hold (what makes leaving them out sound)."""
    for subject in _versioned()[:200]:
        other = _with_basis(subject, ("another text", "naming 123 services"))
        for name, lookup in CATALOGS.items():
            assert lookup(subject.record, subject.context) == lookup(other.record, other.context), name
    assert CONTEXT_FIELDS_UNREAD["windows"] == ("basis",)


@given(st.lists(st.text(max_size=20), max_size=3))
def test_a_different_basis_gives_the_same_fingerprint(basis: list[str]) -> None:
    cache = VerdictCache(RULES.by_id)
    for subject in _versioned()[:20]:
        assert cache.fingerprint(subject) == cache.fingerprint(_with_basis(subject, tuple(basis)))


def test_what_the_rules_read_of_the_version_still_changes_the_fingerprint() -> None:
    cache = VerdictCache(RULES.by_id)
    subject = _versioned()[0]
    windows = subject.context["windows"]
    for changed in (
        replace(windows, nt_version="5.1"),
        replace(windows, build=(windows.build or 0) + 1),
        replace(windows, product="Windows Server 2016"),
        replace(windows, release="1607"),
        replace(windows, confidence="low"),
    ):
        assert cache.fingerprint(Subject(subject.record, {**subject.context, "windows": changed})) != cache.fingerprint(
            subject
        )


def test_a_rule_naming_the_basis_keeps_it_in_the_fingerprint() -> None:
    from hivescan.detect.rules import FieldTest

    rule = next(iter(RULES.by_id.values()))
    naming = replace(rule, id="names-basis", match=FieldTest("windows.basis", "exists", True))
    cache = VerdictCache({"names-basis": naming})
    subject = _versioned()[0]
    assert cache.fingerprint(subject) != cache.fingerprint(_with_basis(subject, ("other",)))


def test_findings_are_equal_with_and_without_the_cache_across_bases() -> None:
    subjects = _versioned()
    remembering, fresh = Engine(RULES, remember=True), Engine(RULES)
    for n, subject in enumerate(subjects):
        moved = _with_basis(subject, (f"host {n}: {n + 600} services",))
        assert [f.to_dict() for f in remembering.findings(moved)] == [f.to_dict() for f in fresh.findings(moved)]
    for subject in subjects:  # the same records again, other bases: answered from the cache
        moved = _with_basis(subject, ("yet another",))
        assert [f.to_dict() for f in remembering.findings(moved)] == [f.to_dict() for f in fresh.findings(moved)]
    assert remembering.verdicts is not None and remembering.verdicts.hits >= len(subjects)
