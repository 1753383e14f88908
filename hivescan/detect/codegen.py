"""The whole rule set as one generated Python function: the cold path of the detection rules.

Why: on a record no cache has seen, the compiled closures (:mod:`hivescan.detect.compiled`)
cost about 0.11 ms, spread over some 250 Python calls per record -- a closure per node, a
memo look-up per field test, a predicate call per value. One function written from the rule
trees does the same work with the calls gone where the test is simple: each field path is
resolved once per record into a local variable (lazily, the first time a test reads it) --
in line, without the resolver's call, when it is a record attribute (walked down plain dicts,
``image_file.signature.status``) ending at one string or number, as most are -- an
``all``/``any``/``not`` is Python's own ``and``/``or``/``not``, and the common string tests on
a field holding one string (``equals``, ``in``, ``contains``) are written out inline. Regex
and glob tests, other operators and other shapes of values call the very predicates the
closures use (``compiled._predicate``); catalog tests and references to other rules call the
closures themselves (their answers are remembered in the state, as before).

Rules stay data: the source is generated from the parsed YAML trees, names only generated
identifiers, and holds no text of the rules (constants are passed in by name; field paths
appear as ``repr`` literals). Same answers as the closures by construction -- every inline
test is the closure's predicate for its case, and every other case calls that predicate --
and by test: ``tests/detect/test_codegen.py`` compares the generated function with the rule
set of closures and the tree interpreter on every record of the demo hive, the rules'
examples and the shared hives, and on edge values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hivescan.catalog.lookups import LOOKUP_COST
from hivescan.detect.compiled import RuleSetTest, Test, _leaf_key, _predicate, compile_node
from hivescan.detect.fields import DERIVED_FIELDS, ONE_VALUE, path_resolver
from hivescan.detect.literals import required_literals
from hivescan.detect.rules import CatalogTest, FieldTest, Logic, Node, Rule, RuleRef
from hivescan.hive.tree import upcase

_UNSET = object()  # a path not resolved yet in this call


UNKNOWN_COST = 6  # a catalog without a declared cost, or a referenced rule: assumed dear


def cost(node: Node) -> int:
    """What testing a node may cost, roughly: the lookups it may call (``LOOKUP_COST``); a field
    test counts as nothing when its path is read in line (a few tenths of a microsecond), as a
    cheap lookup when the resolver derives it (``driver_file``, ``parameters.<Name>``...)."""
    if isinstance(node, FieldTest):
        return 0 if _Writer.inline_parts(node.field) is not None else 1
    if isinstance(node, CatalogTest):
        return LOOKUP_COST.get(node.catalog, UNKNOWN_COST)
    if isinstance(node, Logic):
        return sum(cost(c) for c in node.children)
    if isinstance(node, RuleRef):
        return UNKNOWN_COST
    return 0


def cheap_first(children: tuple[Node, ...] | list[Node]) -> list[Node]:
    """The conditions of an ``all`` in the order the generated code tests them: the cheaper
    first, the rule's order among equals (a stable sort). Why: an ``all`` fails on its first
    false condition, so a cheap one that rules most records out ("not a stock service")
    spares the dear ones ("a remote access tool by LOLRMM's globs"). The same answer in any
    order: every condition is a pure test of the record (lookups and resolved paths are
    remembered per record, and raise nothing), and ``and`` is commutative over such tests."""
    return sorted(children, key=cost)


def _pairs(values: tuple[Any, ...] | None) -> tuple[tuple[Any, Any], ...] | None:
    """(value, its upper case) for each value, as ``engine._State.resolve_upper`` pairs them."""
    if values is None:
        return None
    return tuple([(v, upcase(v) if isinstance(v, str) else v) for v in values])


def _any_upper(predicate: Any, pairs: tuple[tuple[Any, Any], ...]) -> bool:
    for value, upper in pairs:  # noqa: SIM110 - a loop: any() builds a generator per call
        if predicate(value, upper):
            return True
    return False


def _any_value(predicate: Any, values: tuple[Any, ...]) -> bool:
    for value in values:  # noqa: SIM110 - as above
        if predicate(value, value):
            return True
    return False


class _Writer:
    """Source text for the rule set, and the namespace its constants live in."""

    def __init__(self, compiled: Mapping[str, Test]) -> None:
        self.compiled = compiled
        self.names: dict[str, Any] = {
            "_N": _UNSET,
            "_anyu": _any_upper,
            "_anyv": _any_value,
            "_pairs": _pairs,
            "_ONE": ONE_VALUE,
        }
        self.uppers: dict[str, str] = {}  # path -> local holding its (value, upper) pairs
        self.values: dict[str, str] = {}  # path -> local holding its values
        self.catalogs: dict[str, str] = {}  # catalog -> local holding the row it matched
        # (kind, path) read in line once: at the first site in the source, where most records read
        # it first; the other sites call the resolver (the same answer), so the source, compiled
        # when the engine starts, does not grow by a read per site (84 KB against 46 KB)
        self.inlined: set[tuple[str, str]] = set()
        self.temps = 0

    def const(self, value: Any) -> str:
        name = f"k{len(self.names)}"
        self.names[name] = value
        return name

    def temp(self) -> str:
        self.temps += 1
        return f"t{self.temps}"

    def upper_of(self, path: str) -> str:
        """The path's (value, upper case) pairs, as ``_State.resolve_upper`` makes them: a path
        read in line (see :meth:`read`) that ends at one string or number is paired here, without
        a call (``upcase`` of an ASCII string is its ``str.upper()``; a number is its own pair)."""
        local = self.uppers.setdefault(path, f"u{len(self.uppers)}")
        slow = f"_pairs({self.const(path_resolver(path))}(subject))"
        if ("u", path) in self.inlined:  # read in line at an earlier site: the resolver here
            return f"({local} if {local} is not _N else ({local} := {slow}))"
        self.inlined.add(("u", path))
        t = self.temp()
        one = (
            f"((({t}, {t}.upper()),) if {t}.isascii() else _pairs(({t},))) if type({t}) is str "
            f"else (({t}, {t}),) if type({t}) in _ONE else {slow}"
        )
        return f"({local} if {local} is not _N else ({local} := {self.read(path, t, one, slow)}))"

    def values_of(self, path: str) -> str:
        """The path's values, as ``_State.resolve`` gives them (``fields.path_resolver``): a path
        read in line (see :meth:`read`) that ends at one string or number is that value alone."""
        local = self.values.setdefault(path, f"v{len(self.values)}")
        slow = f"{self.const(path_resolver(path))}(subject)"
        if ("v", path) in self.inlined:
            return f"({local} if {local} is not _N else ({local} := {slow}))"
        self.inlined.add(("v", path))
        t = self.temp()
        one = f"({t},) if type({t}) in _ONE else {slow}"
        return f"({local} if {local} is not _N else ({local} := {self.read(path, t, one, slow)}))"

    @staticmethod
    def inline_parts(path: str) -> tuple[str, ...] | None:
        """The root and the keys of a path read in line, or None: what ``fields.path_resolver``
        reads without ``resolve`` -- a root that is not derived (nor empty nor private), keys
        neither empty nor private."""
        parts = tuple(path.split("."))
        if parts[0] in DERIVED_FIELDS or any(not p or p.startswith("_") for p in parts):
            return None
        return parts

    def read(self, path: str, t: str, one: str, slow: str) -> str:
        """``path`` resolved in line, as ``fields.path_resolver`` resolves it: the context's entry
        through ``resolve`` when it holds the root (``slow``: the resolver called); else the
        record's attribute, walked down plain dicts key by key (any other object on the way:
        ``slow``, as ``one`` does for anything but one string or number); None at any step is no
        value; at the end ``one`` with the value in ``t``."""
        parts = self.inline_parts(path)
        if parts is None:
            return slow
        root, *keys = parts
        # after each step ``t`` holds its value: the value so far, None (no value), or _N (not a
        # plain dict on the way: no later step is a dict, and ``one`` asks the resolver for it)
        got = f"({t} := getattr(record, {root!r}, None))"
        for key in keys:
            got = f"({t} := (None if {got} is None else {t}.get({key!r}) if type({t}) is dict else _N))"
        walked = f"(None if {got} is None else {one})"
        return f"({slow} if {root!r} in context else {walked})"

    def node(self, node: Node) -> str:
        if isinstance(node, FieldTest):
            return self.field(node)
        if isinstance(node, Logic):
            children = [self.node(c) for c in (cheap_first(node.children) if node.op == "all" else node.children)]
            if node.op == "not":
                return f"(not {children[0]})"
            if not children:
                return "True" if node.op == "all" else "False"
            return "(" + (" and " if node.op == "all" else " or ").join(children) + ")"
        if isinstance(node, CatalogTest):  # the row looked up once per record, in the state (findings read it)
            local = self.catalogs.setdefault(node.catalog, f"c{len(self.catalogs)}")
            found = f"({local} if {local} is not _N else ({local} := state.lookup({node.catalog!r})))"
            if not node.where:
                return f"({found} is not None)"  # what engine._catalog_ok answers with nothing to compare
            return f"_catalog_ok({self.const(node)}, {found})"
        return f"{self.const(compile_node(node, self.compiled))}(state)"  # a referenced rule (remembered in the state)

    def field(self, node: FieldTest) -> str:
        if node.op == "exists":
            return f"(({self.values_of(node.field)} is not None) is {self.const(node.arg)})"
        predicate, wants_upper = _predicate(node)
        call = self.const(predicate)
        t = self.temp()
        if not wants_upper:
            single = f"{call}({t}[0], {t}[0])"
            number = self.inline_int(node, f"{t}[0]")
            if number is not None:
                single = f"({number} if type({t}[0]) is int else {single})"
            many = f"_anyv({call}, {t})"
            return f"(({t} := {self.values_of(node.field)}) is not None and ({single} if len({t}) == 1 else {many}))"
        single = f"{call}({t}[0][0], {t}[0][1])"
        inline = self.inline(node, f"{t}[0][0]", f"{t}[0][1]", single)
        number = self.inline_int(node, f"{t}[0][0]")
        if number is not None:
            single = f"({number} if type({t}[0][0]) is int else {single})"
        if inline is not None:  # the closure's own test for one string value, else its predicate
            single = f"({inline} if type({t}[0][0]) is str else {single})"
        many = f"_anyu({call}, {t})"
        return f"(({t} := {self.upper_of(node.field)}) is not None and ({single} if len({t}) == 1 else {many}))"

    def inline_int(self, node: FieldTest, value: str) -> str | None:
        """What ``engine.test_value`` answers for a value of exact type ``int`` (never a bool),
        written out for numeric constants, or None. ``_same(v, a)`` for such a value is False
        for a string or bool constant and ``v == a`` otherwise; ``bits_any`` is ``v & arg``; an
        order comparison compares."""
        op, arg = node.op, node.arg
        numeric = (int, float)
        if op == "equals" and type(arg) in numeric:
            return f"{value} == {self.const(arg)}"
        if op == "in" and isinstance(arg, list | tuple) and all(type(a) in (*numeric, str, bool) for a in arg):
            return f"{value} in {self.const(frozenset(a for a in arg if type(a) in numeric))}"
        if op == "bits_any" and type(arg) is int:
            return f"({value} & {self.const(arg)} != 0)"
        if op in ("lt", "le", "gt", "ge") and type(arg) in numeric:
            sign = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
            return f"({value} {sign} {self.const(arg)})"
        return None

    def inline(self, node: FieldTest, value: str, upper: str, call: str) -> str | None:
        """The test ``compiled._predicate`` makes for a ``str`` value, written out (``call``: the
        predicate called on the value), or None."""
        op, arg = node.op, node.arg
        if op == "equals" and isinstance(arg, str):
            return f"{upper} == {self.const(upcase(arg))}"
        if op == "in" and isinstance(arg, list | tuple):
            return f"{upper} in {self.const(frozenset(upcase(a) for a in arg if isinstance(a, str)))}"
        if op == "contains" and isinstance(arg, str):
            return f"{self.const(upcase(arg))} in {upper}"
        if op in ("regex", "glob") and node.pattern is not None:
            words = required_literals(node.pattern)
            if words is None:
                return None
            # the predicate's own screen (compiled._searched): an ASCII value holding none of the
            # words is no match; any other value is asked of the predicate itself
            held = " or ".join(f"{self.const(w)} in {upper}" for w in words) or "False"
            return f"(False if {value}.isascii() and not ({held}) else {call})"
        return None


def generate_rule_set(rules: Mapping[str, Rule], compiled: Mapping[str, Test]) -> RuleSetTest:
    """All rules as one generated function: state -> ids of the rules that match, in rule order.

    Grouped as :func:`hivescan.detect.compiled.compile_rule_set` groups them: rules whose
    ``all`` starts with the same field test run it once. The function's source is kept on it
    (``__source__``) for reading and debugging."""
    from hivescan.detect.engine import _catalog_ok  # the engine imports this module

    writer = _Writer(compiled)
    writer.names["_catalog_ok"] = _catalog_ok
    order = {rule_id: position for position, rule_id in enumerate(rules)}
    groups: dict[tuple[Any, ...], tuple[Node, list[tuple[int, tuple[Node, ...]]]]] = {}
    alone: list[tuple[int, Node]] = []
    for rule_id, rule in rules.items():
        node = rule.match
        key = _leaf_key(node.children[0]) if isinstance(node, Logic) and node.op == "all" and node.children else None
        if key is None or not isinstance(node, Logic):
            alone.append((order[rule_id], node))
            continue
        groups.setdefault(key, (node.children[0], []))[1].append((order[rule_id], node.children[1:]))
    body: list[str] = []
    for first, members in groups.values():
        body.append(f"    if {writer.node(first)}:")
        for position, rest in members:
            if not rest:
                body.append(f"        hits.append({position})")
                continue
            test = " and ".join(writer.node(c) for c in cheap_first(rest))
            body.append(f"        if {test}:")
            body.append(f"            hits.append({position})")
    for position, node in alone:
        body.append(f"    if {writer.node(node)}:")
        body.append(f"        hits.append({position})")
    ids = writer.const(tuple(rules))
    locals_ = [*writer.uppers.values(), *writer.values.values(), *writer.catalogs.values()]
    head = ["def matching(state):", "    hits = []", "    subject = state.subject"]
    head += ["    record = subject.record", "    context = subject.context"]
    if locals_:
        head.append(f"    {' = '.join(locals_)} = _N")
    tail = ["    hits.sort()", f"    return tuple([{ids}[p] for p in hits])"]
    source = "\n".join([*head, *body, *tail]) + "\n"
    namespace = dict(writer.names)
    exec(compile(source, "<hivescan rule set>", "exec"), namespace)
    function = namespace["matching"]
    function.__source__ = source
    return function  # type: ignore[no-any-return]
