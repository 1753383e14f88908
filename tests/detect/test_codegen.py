"""The generated rule-set function (detect/codegen.py) answers exactly what the closures and the
tree interpreter answer: on every record of the demo hive, the rules' example scenarios and
the shared real hives, and on edge values of every operator it writes out inline.
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hivescan.detect.codegen import cheap_first, cost, generate_rule_set
from hivescan.detect.compiled import compile_rule_set, compile_rules
from hivescan.detect.engine import Engine, _State, _test
from hivescan.detect.fields import Subject
from hivescan.detect.rules import Rule, parse_node
from tests.conftest import FIXTURES, shared_hive
from tests.detect.test_compiled import REAL_HIVES, RULES, _hive_subjects, _scenario_subjects

ENGINE = Engine(RULES)
GENERATED = generate_rule_set(ENGINE.by_id, ENGINE._compiled)
CLOSURES = compile_rule_set(ENGINE.by_id, ENGINE._compiled)


def _state(subject: Subject, rules: Any = None) -> _State:
    return _State(subject, ENGINE.lookups, rules if rules is not None else ENGINE.by_id)


def _assert_same(subjects: list[Subject]) -> None:
    assert subjects
    for subject in subjects:
        expected = tuple(r.id for r in RULES if _test(r.match, _state(subject)))
        assert GENERATED(_state(subject)) == expected, subject.record.name
        assert CLOSURES(_state(subject)) == expected, subject.record.name


def test_generated_equals_interpreted_on_the_demo_hive() -> None:
    software = FIXTURES / "demo-SOFTWARE"
    _assert_same(_hive_subjects(FIXTURES / "demo-SYSTEM", software if software.is_file() else None))


def test_generated_equals_interpreted_on_the_rule_example_scenarios() -> None:
    _assert_same(_scenario_subjects())


@pytest.mark.parametrize("name", REAL_HIVES)
def test_generated_equals_interpreted_on_real_hives(name: str) -> None:
    _assert_same(_hive_subjects(shared_hive(name)))


def test_the_engine_runs_the_generated_function() -> None:
    engine = Engine(RULES)
    engine.findings(_scenario_subjects()[0])
    source = getattr(engine._matching_rules, "__source__", "")
    assert source.startswith("def matching(state):")
    for rule in RULES:  # rules stay data: no text of a rule is written into the source
        assert rule.title not in source and rule.explain not in source


def _rule(match: dict[str, object]) -> Rule:
    return Rule("t", "t", "low", (), (), parse_node(match, "test"), "x", RULES.rules[0].examples)


MATCHES: list[dict[str, object]] = [
    {"field": "image_path", "equals": "C:\\ÄÖ\\x.EXE"},
    {"field": "image_path", "in": ["A", 5, True, 2.0]},
    {"field": "image_path", "contains": "temp\\"},
    {"field": "image_path", "regex": "(?i)cmd\\.exe|powershell"},
    {"field": "image_path", "regex": "^\\d+$"},
    {"field": "image_path", "glob": "*\\users\\*"},
    {"field": "start", "in": ["2", 2, True, 3.0]},
    {"field": "start", "equals": 2},
    {"field": "start", "equals": 2.0},
    {"field": "start", "equals": True},
    {"field": "start", "equals": "2"},
    {"field": "start", "bits_any": 6},
    {"field": "start", "lt": 3},
    {"field": "start", "ge": 2.5},
    {"field": "start", "gt": -1},
    {"field": "start", "le": 0},
    {"field": "start", "exists": True},
    {"field": "start", "exists": False},
    {"all": [{"field": "start", "in": [2, 3]}, {"not": {"field": "image_path", "contains": "x"}}]},
    {"any": [{"field": "start", "equals": 4}, {"field": "image_path", "regex": "a"}]},
    {"field": "image_file.exists", "equals": True},
    {"field": "image_file.exists", "exists": False},
    {"field": "image_file.signature.status", "in": ["valid", 2]},
    {"field": "image_file.signature.status", "regex": "(?i)^in"},
    {"field": "image_file.signature.status", "ge": 1},
]

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=8),
    st.floats(allow_nan=True, allow_infinity=False, width=32),
    st.sampled_from(["", "2", "C:\\TEMP\\a.exe", "c:\\äö\\X.exe", "cmd.exe", "C:\\Users\\x\\a.exe", "K\u212a", "42"]),
    st.text(max_size=12),
    st.lists(st.one_of(st.none(), st.integers(0, 5), st.sampled_from(["a", "CMD.EXE", "temp\\x"])), max_size=3),
)


# what a dotted path is read through (image_file.signature.status): plain dicts walked in line by
# the generated code, anything else (a list fans out, a mapping that is no dict) left to resolve
FILES = st.one_of(
    VALUES,
    st.fixed_dictionaries(
        {},
        optional={
            "exists": VALUES,
            "signature": st.one_of(VALUES, st.fixed_dictionaries({}, optional={"status": VALUES})),
        },
    ),
    st.builds(lambda d: MappingProxyType(d), st.fixed_dictionaries({"exists": VALUES})),
)


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(MATCHES), VALUES, VALUES, FILES, st.sampled_from([None, "start", "image_path", "image_file"]), FILES
)
def test_generated_equals_interpreted_on_edge_values(
    match: dict[str, object], start: object, path: object, files: object, shadowed: str | None, shadow: object
) -> None:
    """Values of other types than the constants (bools, floats, strings of numbers, lists that
    fan out, no value), non-ASCII case folding, dotted paths through dicts and other objects,
    a context entry shadowing the record attribute (read in line by the generated code): the
    inline tests and reads fall back exactly as the predicates and resolvers do."""
    record = _hive_subjects(FIXTURES / "demo-SYSTEM")[0].record if not _RECORD else _RECORD[0]
    _RECORD[:] = [record]
    context = {shadowed: shadow} if shadowed is not None else {}
    subject = Subject(replace(record, start=start, image_path=path, image_file=files), context)  # type: ignore[arg-type]
    rules = {"t": _rule(match)}
    generated = generate_rule_set(rules, compile_rules(rules))
    expected = ("t",) if _test(rules["t"].match, _state(subject, rules)) else ()
    assert generated(_state(subject, rules)) == expected


_RECORD: list[Any] = []


def test_cheap_conditions_first_spare_the_dear_lookups() -> None:
    """An ``all`` tests its cheaper conditions first (codegen.cheap_first): on a stock service,
    "not a stock service" fails before LOLRMM's globs are looked up at all -- and the answer is
    the interpreter's, in the rule's own order (the tests above)."""
    stock = [s for s in _scenario_subjects() if ENGINE.lookups["windows-services"](s.record, s.context) is not None]
    assert stock
    for subject in stock:
        state = _state(subject)
        GENERATED(state)
        assert "windows-services" in state.catalog_hits and "lolrmm" not in state.catalog_hits


def test_cheap_first_is_a_stable_order_by_cost() -> None:
    nodes = [
        parse_node({"catalog": "lolrmm"}, "t"),
        parse_node({"field": "name", "exists": True}, "t"),
        parse_node({"not": {"catalog": "windows-services"}}, "t"),
        parse_node({"field": "type", "exists": True}, "t"),
    ]
    assert cheap_first(nodes) == [nodes[1], nodes[3], nodes[2], nodes[0]]
    assert [cost(n) for n in cheap_first(nodes)] == sorted(cost(n) for n in nodes)
