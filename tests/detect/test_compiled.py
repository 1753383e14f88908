"""The compiled rule engine (detect/compiled.py) gives exactly what the tree interpreter gives.

The interpreter (``engine._test``) is the engine as it was before compilation and stays the
reference; these tests compare the two on every rule *and every node of every rule* over every
record of the demo hive (with its SOFTWARE hive), the rule-example scenarios and the shared
real hives, and compare the complete findings (``to_dict``) of an engine that interprets with
those of the compiled one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import hivescan
from hivescan.detect.compiled import compile_node, compile_rules
from hivescan.detect.context import build_subjects
from hivescan.detect.engine import Engine, _State, _test
from hivescan.detect.examples import Examples
from hivescan.detect.fields import Subject, path_resolver, resolve
from hivescan.detect.rules import FieldTest, Logic, Node, Rule, RuleSet, load_rules, parse_node
from tests.conftest import FIXTURES, shared_hive

RULES = load_rules()
REAL_HIVES = ["win7-SYSTEM", "win10-dirty-SYSTEM", "nt4-SYSTEM", "xp-corrupted-SYSTEM"]


class InterpretingEngine(Engine):
    """The engine with every rule evaluated by the tree interpreter (the behaviour before compilation)."""

    def __init__(self, rules: RuleSet) -> None:
        super().__init__(rules)
        self._compiled = {r.id: (lambda state, rule=r: _test(rule.match, state)) for r in rules}
        self._matching_rules = lambda state: tuple(r.id for r in rules if _test(r.match, state))


def _nodes(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, Logic):
        for child in node.children:
            yield from _nodes(child)


PATHS = sorted({node.field for rule in RULES for node in _nodes(rule.match) if isinstance(node, FieldTest)})


def _hive_subjects(path: Path, software: Path | None = None) -> list[Subject]:
    with hivescan.open_hive(path, software=software) as hive:
        current = hive.resolve("current").chosen
        records = hive.services("all", deleted=True)
        return build_subjects(records, primary_set=current[0].number if current else None).subjects


def _scenario_subjects() -> list[Subject]:
    examples = Examples(FIXTURES)
    refs = {ref for rule in RULES for ref in (*rule.examples.hit, *rule.examples.miss)}
    out: list[Subject] = []
    for scenario in sorted({ref.partition("/")[0] for ref in refs}):
        examples.subjects(next(r for r in refs if r.startswith(scenario + "/")))
        out += [s for group in examples._cache[scenario].values() for s in group]
    return out


def _assert_same(subjects: list[Subject]) -> None:
    engine = Engine(RULES)
    compiled_nodes = {}
    for rule in RULES:
        for node in _nodes(rule.match):
            compiled_nodes[id(node)] = (node, compile_node(node, engine._compiled))
    for subject in subjects:
        for rule in RULES:
            fresh, compiled_state = engine._state(subject), engine._state(subject)
            assert engine._compiled[rule.id](compiled_state) is _test(rule.match, fresh), (rule.id, subject.record.name)
        state_a, state_b = engine._state(subject), engine._state(subject)
        for node, test in compiled_nodes.values():
            assert test(state_a) is _test(node, state_b), (node, subject.record.name)
        # all rules at once (shared first tests run once) == each rule interpreted, in rule order
        expected = tuple(r.id for r in RULES if _test(r.match, engine._state(subject)))
        assert engine._matching_rules(engine._state(subject)) == expected, subject.record.name
        # every path a rule names: the short resolver == fields.resolve
        for path in PATHS:
            assert path_resolver(path)(subject) == resolve(subject, path), (path, subject.record.name)
    interpreted = [f.to_dict() for f in InterpretingEngine(RULES).run(subjects)]
    assert [f.to_dict() for f in engine.run(subjects)] == interpreted


def test_compiled_equals_interpreted_on_the_demo_hive(demo_hive: Path) -> None:
    software = FIXTURES / "demo-SOFTWARE"
    subjects = _hive_subjects(demo_hive, software if software.is_file() else None)
    assert len(subjects) > 50
    _assert_same(subjects)


def test_compiled_equals_interpreted_on_the_rule_example_scenarios() -> None:
    subjects = _scenario_subjects()
    assert subjects
    _assert_same(subjects)


@pytest.mark.parametrize("name", REAL_HIVES)
def test_compiled_equals_interpreted_on_real_hives(name: str) -> None:
    _assert_same(_hive_subjects(shared_hive(name)))


def _rule(match: dict[str, object]) -> Rule:
    return Rule("t", "t", "low", (), (), parse_node(match, "test"), "x", RULES.rules[0].examples)


@pytest.mark.parametrize(
    ("match", "value"),
    [
        ({"field": "image_path", "equals": "C:\\ÄÖ\\x.EXE"}, "c:\\äö\\X.exe"),  # non-ASCII ordinal upper case
        ({"field": "image_path", "in": ["A", 5, True]}, "a"),
        ({"field": "start", "in": ["2", 2]}, 2),
        ({"field": "start", "equals": "2"}, 2),  # a string constant never equals a number
        ({"field": "delayed_auto_start", "equals": True}, True),
        ({"field": "image_path", "contains": "temp\\"}, "C:\\TEMP\\a.exe"),
        ({"field": "start", "contains": "2"}, 2),
        ({"field": "start", "regex": "^2$"}, 2),  # regex on a number reads its text
        ({"field": "image_path", "glob": "*\\users\\*"}, "C:\\Users\\x\\a.exe"),
        ({"field": "image_path", "exists": False}, None),
    ],
)
def test_compiled_equals_interpreted_on_edge_values(match: dict[str, object], value: object) -> None:
    """Operators on values of other types than the constant, and case folding beyond ASCII."""
    from dataclasses import replace

    record = _hive_subjects(FIXTURES / "demo-SYSTEM")[0].record
    field_name = str(match["field"])
    subject = Subject(replace(record, **{field_name: value}))
    rule = _rule(match)
    assert isinstance(rule.match, FieldTest)
    engine = Engine(RULES)
    compiled = compile_rules({"t": rule})["t"]
    assert compiled(_State(subject, engine.lookups, {"t": rule})) is _test(rule.match, engine._state(subject))


@pytest.mark.parametrize(
    "value", ["", "x", 0, 1, True, False, 1.5, None, (), ("a", None, "b"), [], ["a"], {}, {"a": 1}, frozenset({"a"})]
)
@pytest.mark.parametrize("shadowed", [False, True])
def test_the_short_resolver_equals_resolve_on_edge_values(value: object, shadowed: bool) -> None:
    """Empty and falsy values, sequences that fan out, mappings, and a context field that
    shadows the record attribute: the short path gives exactly what ``resolve`` gives."""
    from dataclasses import replace

    record = _hive_subjects(FIXTURES / "demo-SYSTEM")[0].record
    for name in ("image_path", "start", "display_name", "depend_on_service"):
        subject = (
            Subject(record, {name: value}) if shadowed else Subject(replace(record, **{name: value}), {"other": 1})
        )
        assert path_resolver(name)(subject) == resolve(subject, name), (name, value)


def test_a_rule_set_with_shared_first_tests_answers_in_rule_order() -> None:
    """Rules grouped by a shared first test, a rule alone, and a rule that is only the shared
    test: matches come back in the rules' order, whatever the grouping."""
    from hivescan.detect.compiled import compile_rule_set

    shared = {"field": "status", "in": ["database"]}
    matches = {
        "a": {"all": [shared, {"field": "start", "in": [2, 3, 4]}]},
        "b": {"any": [{"field": "name", "regex": "."}]},
        "c": {"all": [shared]},
        "d": {"all": [{"field": "status", "in": ["database"], "note": "same test"}, {"field": "name", "regex": "^$"}]},
        "e": {"all": [shared, {"rule": "b"}]},
    }
    rules = {
        rule_id: Rule(rule_id, rule_id, "low", (), (), parse_node(m, rule_id), "x", RULES.rules[0].examples)
        for rule_id, m in matches.items()
    }
    compiled = compile_rules(rules)
    together = compile_rule_set(rules, compiled)
    engine = Engine(RULES)
    for subject in _hive_subjects(FIXTURES / "demo-SYSTEM"):
        expected = tuple(
            rule_id for rule_id, rule in rules.items() if _test(rule.match, _State(subject, engine.lookups, rules))
        )
        assert together(_State(subject, engine.lookups, rules)) == expected


@pytest.mark.parametrize(
    "facts",
    [
        None,
        {},
        {"signature": None},
        {"signature": {"status": "unsigned"}},
        {"signature": {"status": ["a", None, "b"]}},
        {"signature": {"status": ""}},
        {"signature": {"status": 0}},
        {"signature": {"status": {"x": 1}}},
        {"signature": "text"},
        {"signature": [{"status": "a"}, {"status": "b"}]},
    ],
)
def test_the_short_resolver_follows_dicts_as_resolve_does(facts: object) -> None:
    from dataclasses import replace

    record = replace(_hive_subjects(FIXTURES / "demo-SYSTEM")[0].record, image_file=facts)
    subject = Subject(record)
    for path in ("image_file", "image_file.signature", "image_file.signature.status", "image_file.signature.upper"):
        assert path_resolver(path)(subject) == resolve(subject, path), (path, facts)
    assert path_resolver("image_file.__class__")(subject) == resolve(subject, "image_file.__class__")


def _jsonable_reference(value: object) -> object:
    """engine._jsonable as it was, before its exact-type shortcuts."""
    from collections.abc import Mapping

    if isinstance(value, tuple | list):
        return [_jsonable_reference(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable_reference(v) for k, v in value.items()}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return str(value)


class _Text(str):
    pass


_json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(), st.binary(max_size=4)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=3), st.integers()), inner, max_size=3),
        st.text(max_size=3).map(_Text),
    ),
    max_leaves=8,
)


@given(_json_values)
def test_jsonable_answers_as_before(value: object) -> None:
    from hivescan.detect.engine import _jsonable

    got, expected = _jsonable(value), _jsonable_reference(value)
    assert got == expected and type(got) is type(expected)
