"""A regex test remembers its answer per text (detect/compiled.py ``_searched``): the answer
is always the pattern's own, whatever came before, for repeated, changed and long texts."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hivescan.detect import compiled
from hivescan.detect.compiled import MEMO_LONGEST, _searched, compile_rules
from hivescan.detect.engine import Engine, _State, _test
from hivescan.detect.fields import Subject
from hivescan.detect.rules import Rule, load_rules, parse_node
from tests.conftest import FIXTURES
from tests.detect.test_compiled import _hive_subjects

PATTERN = re.compile(r"\\temp\\|cachedump|^ab?c$", re.IGNORECASE)


class Text(str):
    """A str subclass: never remembered (it could compare otherwise)."""


@given(st.lists(st.sampled_from(["C:\\Temp\\x.exe", "ac", "ABC", "abbc", "x" * (MEMO_LONGEST + 1), ""]) | st.text()))
def test_remembered_answers_are_the_patterns_own(texts: list[str]) -> None:
    predicate = _searched(PATTERN.search)
    for text in texts + texts:  # every text twice: the second answer comes from the memo
        assert predicate(text, text) is bool(PATTERN.search(text)), text


@given(st.lists(st.text(alphabet="abc\\", max_size=4), min_size=1))
def test_a_full_memo_is_emptied_and_answers_stay_right(texts: list[str]) -> None:
    limit = compiled.MEMO_TEXTS
    compiled.MEMO_TEXTS = 3  # a tiny memo: it is emptied often
    try:
        predicate = _searched(PATTERN.search)
        for text in texts * 2:
            assert predicate(text, text) is bool(PATTERN.search(text))
        cells = dict(zip(predicate.__code__.co_freevars, predicate.__closure__ or (), strict=True))
        assert len(cells["memo"].cell_contents) <= 3
    finally:
        compiled.MEMO_TEXTS = limit


def test_a_changed_text_misses_the_memo() -> None:
    """The same node over records whose value changes: each answer is the interpreter's."""
    rule = Rule(
        "t",
        "t",
        "low",
        (),
        (),
        parse_node({"field": "image_path", "regex": r"\\temp\\"}, "t"),
        "x",
        load_rules().rules[0].examples,
    )
    test = compile_rules({"t": rule})["t"]
    engine = Engine(load_rules())
    record = _hive_subjects(FIXTURES / "demo-SYSTEM")[0].record
    seen = []
    for value in ["C:\\Temp\\a.exe", "C:\\Windows\\a.exe", "C:\\Temp\\a.exe", Text("C:\\TEMP\\b.exe"), 5, None]:
        subject = Subject(replace(record, image_path=value))
        answer = test(_State(subject, engine.lookups, {"t": rule}))
        assert answer is _test(rule.match, engine._state(subject)), value
        seen.append(answer)
    assert seen == [True, False, True, True, False, False]


@pytest.mark.parametrize("length", [MEMO_LONGEST, MEMO_LONGEST + 1, 100_000])
def test_long_texts_answer_like_the_pattern(length: int) -> None:
    predicate = _searched(PATTERN.search)
    for text in ("x" * (length - 9) + "cachedump", "x" * length):
        assert predicate(text, text) is bool(PATTERN.search(text))
