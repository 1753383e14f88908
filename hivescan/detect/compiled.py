"""Rule trees compiled once into closures: the fast twin of ``engine._test``.

Why: evaluating every rule on every record by walking the rule tree (an ``isinstance``
chain per node, constants upper-cased again for every value, a generator per ``any``/``all``)
cost about 0.3 ms per record, most of a triage worker's time. Compiled, each node is one
closure that knows its operator; string constants are upper-cased once, ``in`` lists become
sets, and the upper-case form of a field's values is computed once per record and shared by
every rule that reads the field.

Same answers as the interpreter by construction (each closure does what ``test_value`` does
for its operator, falling back to it for anything but the common string case), and by test:
``tests/detect/test_compiled.py`` checks both agree on every rule, node and record of the demo
hive, the shared hives and the rules' own examples. The interpreter stays: it builds the
evidence tree of a hit (``engine._explain``) and is the reference.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from hivescan.detect.literals import required_literals
from hivescan.detect.rules import CatalogTest, FieldTest, Logic, Node, Rule
from hivescan.hive.tree import upcase

if TYPE_CHECKING:
    from hivescan.detect.engine import _State

Test = Callable[["_State"], bool]
Predicate = Callable[[Any, Any], bool]  # (value, its upper case or the value itself) -> matched


def compile_rules(rules: Mapping[str, Rule]) -> dict[str, Test]:
    """Every rule's match tree as one closure, by rule id (rule references resolved lazily)."""
    compiled: dict[str, Test] = {}
    for rule_id, rule in rules.items():
        compiled[rule_id] = compile_node(rule.match, compiled)
    return compiled


def compile_node(node: Node, rules: Mapping[str, Test]) -> Test:
    """One node as a closure over an evaluation state (``engine._State``)."""
    if isinstance(node, FieldTest):
        return _compile_field(node)
    if isinstance(node, Logic):
        children = tuple(compile_node(c, rules) for c in node.children)
        if node.op == "all":
            return _all(children)
        if node.op == "any":
            return _any(children)
        only = children[0]
        return lambda state: not only(state)
    if isinstance(node, CatalogTest):
        return _compile_catalog(node)
    name = node.rule

    def referenced(state: _State) -> bool:
        hits = state.rule_hits
        if name not in hits:
            hits[name] = rules[name](state)
        return hits[name]

    return referenced


def _all(children: tuple[Test, ...]) -> Test:
    def test(state: _State) -> bool:
        for child in children:  # noqa: SIM110 - a loop: any()/all() build a generator per call
            if not child(state):
                return False
        return True

    return test


def _any(children: tuple[Test, ...]) -> Test:
    def test(state: _State) -> bool:
        for child in children:  # noqa: SIM110 - a loop: any()/all() build a generator per call
            if child(state):
                return True
        return False

    return test


def _compile_catalog(node: CatalogTest) -> Test:
    from hivescan.detect.engine import _catalog_ok

    catalog = node.catalog
    return lambda state: _catalog_ok(node, state.lookup(catalog))


def _compile_field(node: FieldTest) -> Test:
    path = node.field
    if node.op == "exists":
        present = node.arg
        return lambda state: (state.resolve(path) is not None) is present
    predicate, wants_upper = _predicate(node)
    if wants_upper:

        def test_upper(state: _State) -> bool:
            uppers = state.uppers  # the memo read here: a method call per test costs as much as the test
            pairs = uppers[path] if path in uppers else state.resolve_upper(path)
            if pairs is None:
                return False
            for value, upper in pairs:  # noqa: SIM110 - as above
                if predicate(value, upper):
                    return True
            return False

        return test_upper

    def test(state: _State) -> bool:
        known = state.values
        values = known[path] if path in known else state.resolve(path)
        if values is None:
            return False
        for value in values:  # noqa: SIM110 - as above
            if predicate(value, value):
                return True
        return False

    return test


def _predicate(node: FieldTest) -> tuple[Predicate, bool]:
    """(value predicate, whether it wants the value's upper case) for one field operator."""
    from hivescan.detect.engine import _same, test_value

    op, arg = node.op, node.arg
    if op == "equals" and isinstance(arg, str):
        wanted = upcase(arg)
        return (lambda v, u: u == wanted if isinstance(v, str) else _same(v, arg)), True
    if op == "in" and isinstance(arg, list | tuple):
        strings = frozenset(upcase(a) for a in arg if isinstance(a, str))
        return (lambda v, u: u in strings if isinstance(v, str) else any(_same(v, a) for a in arg)), True
    if op == "contains" and isinstance(arg, str):
        needle = upcase(arg)
        return (lambda v, u: isinstance(v, str) and needle in u), True
    if op in ("regex", "glob") and node.pattern is not None:
        find = node.pattern.search if op == "regex" else node.pattern.match
        return _searched(find, required_literals(node.pattern)), True
    return (lambda v, u: test_value(node, v)), False


MEMO_TEXTS = 1024  # texts whose answer one regex test remembers (then emptied: bounded)
MEMO_LONGEST = 260  # longer texts are searched every time (a hostile value is not kept alive)


def _searched(find: Callable[[str], Any], words: tuple[str, ...] | None = None) -> Predicate:
    """A regex (or glob) test's predicate: ruled out by its words, else remembered per text.

    ``words``: upper-case words one of which every ASCII text the pattern matches holds
    (:func:`hivescan.detect.literals.required_literals`); an ASCII value whose upper case
    (the ``upper`` the engine pairs with each string value: ``upcase``, plain ``str.upper``
    for ASCII) holds none of them is no match, without a search. Why: a case-insensitive
    alternation of words costs ``re`` about 20 µs per ImagePath, a substring test about 0.1.

    The answer of a search is then remembered per text. Why: about 90 regex tests read
    ``image_path`` and a few other fields, and the same texts come back record after record
    (dozens of services of a hive share one svchost command line, stock drivers repeat from
    host to host). Sound: the answer is a pure function of the text, for one compiled
    pattern (the memo belongs to this closure, so to one pattern of one engine); only exact
    ``str`` values are remembered (a subclass could compare otherwise), texts of at most
    ``MEMO_LONGEST`` characters, at most ``MEMO_TEXTS`` of them (emptied when full)."""
    memo: dict[str, bool] = {}

    def predicate(value: Any, upper: Any) -> bool:
        plain = type(value) is str
        if words is not None and plain and value.isascii():
            for word in words:
                if word in upper:
                    break
            else:
                return False
        if not plain or len(value) > MEMO_LONGEST:
            return bool(find(value if isinstance(value, str) else str(value)))
        found = memo.get(value)
        if found is None:
            if len(memo) >= MEMO_TEXTS:
                memo.clear()
            found = memo[value] = bool(find(value))
        return found

    return predicate


RuleSetTest = Callable[["_State"], tuple[str, ...]]


def _leaf_key(node: Node) -> tuple[Any, ...] | None:
    """What makes two field tests the same test (their notes aside), or None for other nodes."""
    if not isinstance(node, FieldTest):
        return None
    return (node.field, node.op, repr(node.arg), node.pattern.pattern if node.pattern is not None else None)


def compile_rule_set(rules: Mapping[str, Rule], compiled: Mapping[str, Test]) -> RuleSetTest:
    """All rules as one function: state -> ids of the rules that match, in the rules' order.

    Why: 63 of the 75 shipped rules start with the same test (``status in [database,
    pending_delete, deleted]``). Rules whose ``all`` starts with the same field test are
    grouped: that test runs once per record, and when it fails the whole group is skipped; when
    it passes, each rule's remaining conditions run as its ``all`` would have run them. Tests
    are pure functions of the record (values, lookups and referenced rules are memoised in the
    state), so the order in which rules are evaluated changes no answer; the answer lists the
    matching rules in the rules' own order. ``tests/detect/test_compiled.py`` compares it with
    each rule's own closure on every record of the test hives."""
    order = {rule_id: position for position, rule_id in enumerate(rules)}
    groups: dict[tuple[Any, ...], tuple[Test, list[tuple[int, str, Test | None]]]] = {}
    alone: list[tuple[int, str, Test]] = []
    for rule_id, rule in rules.items():
        node = rule.match
        key = _leaf_key(node.children[0]) if isinstance(node, Logic) and node.op == "all" and node.children else None
        if key is None or not isinstance(node, Logic):
            alone.append((order[rule_id], rule_id, compiled[rule_id]))
            continue
        rest = node.children[1:]
        if key not in groups:
            groups[key] = (compile_node(node.children[0], compiled), [])
        tests = tuple(compile_node(c, compiled) for c in rest)
        then = None if not tests else tests[0] if len(tests) == 1 else _all(tests)  # no loop around one test
        groups[key][1].append((order[rule_id], rule_id, then))
    plan = tuple((first, tuple(members)) for first, members in groups.values())
    singles = tuple(alone)

    def matching(state: _State) -> tuple[str, ...]:
        hits: list[tuple[int, str]] = []
        for first, members in plan:
            if not first(state):
                continue
            for position, rule_id, rest in members:
                if rest is None or rest(state):
                    hits.append((position, rule_id))
        for position, rule_id, test in singles:
            if test(state):
                hits.append((position, rule_id))
        hits.sort()
        return tuple([rule_id for _, rule_id in hits])

    return matching
