"""The verdict cache in two parts (detect/parts.py): rules reading the start type remembered
apart, so a stock service whose Start differs between hosts is a hit for the other rules --
and never a wrong answer for the rules that read it.
"""

from __future__ import annotations

from dataclasses import replace

from hivescan.detect.engine import Engine
from hivescan.detect.fields import Subject
from hivescan.detect.parts import VOLATILE, SplitVerdicts, names_read
from hivescan.detect.rules import FieldTest, Logic, RuleRef, RuleSet
from tests.detect.test_compiled import RULES, _scenario_subjects


def _dicts(engine: Engine, subject: Subject) -> list[dict[str, object]]:
    return [f.to_dict() for f in engine.findings(subject)]


def test_the_parts_hold_every_rule_once_and_only_start_readers_apart() -> None:
    engine = Engine(RULES, remember=True)
    assert engine.split is not None and len(engine.split.parts) == 2
    steady, volatile = engine.split.parts
    assert sorted(steady.ids + volatile.ids) == sorted(RULES.by_id)
    assert "security-service-disabled" in volatile.ids and len(volatile.ids) < 10
    for rule_id in volatile.ids:
        assert names_read(rule_id, RULES.by_id) & VOLATILE
    assert "start" not in steady.cache.attributes and "start" not in steady.cache.context_names
    assert "start" in volatile.cache.attributes


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
    steady, volatile = remembering.split.parts
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
