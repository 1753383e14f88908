"""The verdict cache in parts (detect/parts.py): rules reading the start type, the hive's
Windows or the diagnostics remembered apart, so a stock service whose Start, Windows build or
diagnostics differ between hosts is a hit for the other rules -- and never a wrong answer for
the rules that read them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hivescan.detect.engine import Engine
from hivescan.detect.fields import Subject
from hivescan.detect.parts import VOLATILE, VOLATILE_GROUPS, SplitVerdicts, names_read
from hivescan.detect.rules import FieldTest, Logic, RuleRef, RuleSet
from hivescan.diagnostics import Diagnostic
from tests.detect.test_compiled import RULES, _scenario_subjects


def _dicts(engine: Engine, subject: Subject) -> list[dict[str, object]]:
    return [f.to_dict() for f in engine.findings(subject)]


def test_the_parts_hold_every_rule_once_and_only_the_readers_of_each_group_apart() -> None:
    engine = Engine(RULES, remember=True)
    assert engine.split is not None and len(engine.split.parts) == 1 + len(VOLATILE_GROUPS)
    steady, *volatile = engine.split.parts
    assert sorted(i for part in engine.split.parts for i in part.ids) == sorted(RULES.by_id)
    assert "security-service-disabled" in volatile[0].ids
    assert "imagepath-differs-from-windows" in volatile[1].ids and "hidden-data-in-value" in volatile[2].ids
    for number, part in enumerate(volatile):
        assert 0 < len(part.ids) < 10
        for rule_id in part.ids:  # reads its group's input, and none of an earlier group's
            read = names_read(rule_id, RULES.by_id)
            assert read & VOLATILE_GROUPS[number] and not read & frozenset().union(*VOLATILE_GROUPS[:number])
    for rule_id in steady.ids:
        assert not names_read(rule_id, RULES.by_id) & VOLATILE
    for name in VOLATILE:  # the large part's fingerprint holds none of them
        assert name not in steady.cache.attributes and name not in steady.cache.context_names
    assert not any(path.startswith("diagnostic_notes") for path in steady.cache.derived)
    assert "start" in volatile[0].cache.attributes and "windows" in volatile[1].cache.context_names
    assert "diagnostic_notes" in volatile[2].cache.derived


def test_a_rule_referencing_a_start_reader_is_with_it_and_reads_what_it_reads() -> None:
    base = RULES.rules[0]
    reader = replace(base, id="reads-start", match=FieldTest("start", "equals", 4))
    both = Logic("all", (FieldTest("name", "exists", True), RuleRef("reads-start")))
    referring = replace(base, id="refers", match=both)
    plain = replace(base, id="plain", match=FieldTest("name", "exists", True))
    rules = RuleSet((plain, referring, reader)).by_id
    engine = Engine(RuleSet((plain, referring, reader)))
    split = SplitVerdicts(rules, engine._compiled)
    steady, volatile = split.parts
    assert steady.ids == ("plain",) and volatile.ids == ("refers", "reads-start")
    record = _scenario_subjects()[0].record
    for start in (2, 4, 2, 4):  # answered from the caches the second time round, in rule order
        subject = Subject(replace(record, start=start))
        found, _ = split.matching(subject, engine._state)
        assert found == (("plain", "refers", "reads-start") if start == 4 else ("plain",))


def test_a_start_change_alone_hits_the_large_part_and_finds_what_a_fresh_engine_finds() -> None:
    subjects = [s for s in _scenario_subjects() if s.record.start in (2, 3)]
    remembering, fresh = Engine(RULES, remember=True), Engine(RULES)
    assert remembering.split is not None
    steady, volatile = remembering.split.parts[:2]
    for subject in subjects:
        assert _dicts(remembering, subject) == _dicts(fresh, subject)
    before = steady.cache.hits, volatile.cache.misses
    changed = 0
    for subject in subjects:
        disabled = Subject(replace(subject.record, start=4), subject.context)
        got = _dicts(remembering, disabled)
        assert got == _dicts(fresh, disabled), subject.record.name
        changed += got != _dicts(fresh, subject)
    assert changed > 0  # some service disabled is a finding: the test can tell
    assert steady.cache.hits - before[0] >= len(subjects) // 2  # the 73 rules were not evaluated again
    assert volatile.cache.misses - before[1] > 0  # the start readers were


def _changed_alone(subjects: list[Subject], change: Any, part: int) -> None:
    """Each subject remembered, then ``change``d: the findings are a fresh engine's, the whole
    verdict and the large part's are never evaluated again for it (no miss there: a hit, or
    the same edit met before), the part of the input changed is, and some finding differs from
    the unchanged subject's (the test can tell)."""
    remembering, fresh = Engine(RULES, remember=True), Engine(RULES)
    assert remembering.split is not None
    steady, changed_part = remembering.split.parts[0], remembering.split.parts[part]
    for subject in subjects:
        assert _dicts(remembering, subject) == _dicts(fresh, subject)
    hits, misses, changed_misses, differs = steady.cache.hits, steady.cache.misses, changed_part.cache.misses, 0
    for subject in subjects:
        edited = change(subject)
        got = _dicts(remembering, edited)
        assert got == _dicts(fresh, edited), subject.record.name
        differs += got != _dicts(fresh, subject)
    assert differs > 0
    assert steady.cache.misses == misses and steady.cache.hits > hits
    assert changed_part.cache.misses - changed_misses > 0


def test_another_windows_alone_hits_the_large_part_and_finds_what_a_fresh_engine_finds() -> None:
    subjects = [s for s in _scenario_subjects() if s.context.get("windows") is not None and s.context["windows"].known]
    assert subjects

    def older(subject: Subject) -> Subject:  # the same services on XP: the Windows 10 expectations do not apply
        xp = replace(subject.context["windows"], nt_version="5.1", build=2600, product="Windows XP", release=None)
        return Subject(subject.record, {**subject.context, "windows": xp})

    _changed_alone(subjects, older, 2)


def test_other_diagnostics_alone_hit_the_large_part_and_find_what_a_fresh_engine_finds() -> None:
    subjects = [s for s in _scenario_subjects() if s.record.status == "database"][:40]
    assert subjects
    hidden = Diagnostic("hidden_tail", "ImagePath", "4 characters after the terminating NUL", "warning")

    def noted(subject: Subject) -> Subject:
        record = subject.record
        return Subject(replace(record, diagnostics=(*record.diagnostics, hidden)), subject.context)

    _changed_alone(subjects, noted, 3)


def test_plain_keys_tell_types_apart_and_every_input_changes_them() -> None:
    """The start readers' cache keys a record by a tuple of its plain values (verdicts.py):
    ``1``, ``True`` and ``1.0`` never share a key, and any one input changed alone misses."""
    from hivescan.detect.verdicts import VerdictCache
    from tests.detect.test_verdicts import _other

    engine = Engine(RULES, remember=True)
    assert engine.split is not None
    volatile = engine.split.parts[1]
    cache = VerdictCache({i: RULES.by_id[i] for i in volatile.ids})
    subject = next(s for s in _scenario_subjects() if "windows" in s.context and s.record.image_path)
    base = cache.fingerprint(subject)
    assert isinstance(base, tuple)  # the plain path is the one under test
    keys = {cache.fingerprint(Subject(replace(subject.record, start=v), subject.context)) for v in (1, True, 1.0)}
    assert len(keys) == 3 and None not in keys
    for name in cache.attributes:
        edited = replace(subject.record, **{name: _other(getattr(subject.record, name))})
        assert cache.fingerprint(Subject(edited, subject.context)) != base, name
    for name in sorted(cache.context_names):
        changed = {**subject.context, name: _other(subject.context.get(name))}
        assert cache.fingerprint(Subject(subject.record, changed)) != base, name
    assert any(isinstance(k, bytes) for k in keys)  # a bool or float value: serialised instead


def test_the_whole_verdict_is_asked_first_and_a_changed_input_misses_it() -> None:
    """A record met before just as it is is answered by the whole-set cache alone (no part is
    asked); the same record with one input changed (its start type) misses it, is asked of the
    parts, and its joined verdict -- a fresh engine's -- is then remembered whole."""
    remembering, fresh = Engine(RULES, remember=True), Engine(RULES)
    split = remembering.split
    assert split is not None and split.whole is not None and remembering.verdicts is split.whole
    subjects = [s for s in _scenario_subjects() if s.record.start in (2, 3)]
    for subject in subjects:
        assert _dicts(remembering, subject) == _dicts(fresh, subject)

    def asked() -> list[int]:
        return [part.cache.hits + part.cache.misses for part in split.parts]

    before, hits = asked(), split.whole.hits
    for subject in subjects:
        assert _dicts(remembering, subject) == _dicts(fresh, subject)
    assert asked() == before and split.whole.hits - hits == len(subjects)

    for subject in subjects:
        disabled = Subject(replace(subject.record, start=4), subject.context)
        misses, parts = split.whole.misses, asked()
        assert _dicts(remembering, disabled) == _dicts(fresh, disabled), subject.record.name
        if split.whole.misses > misses:  # not met before: every part was asked
            assert all(now > then for now, then in zip(asked(), parts, strict=True))
        parts, hits = asked(), split.whole.hits
        assert _dicts(remembering, disabled) == _dicts(fresh, disabled)
        assert asked() == parts and split.whole.hits == hits + 1  # remembered whole
    assert split.whole.misses >= len({s.record.name for s in subjects}) // 2
