"""Evaluate rules on service records: short-circuit to find hits, then re-evaluate each hit in
full so its evidence tree shows every condition and the value it saw.

Pure: no printing, no I/O beyond the packaged catalogs the lookups read. A field the record
does not have is *no value* (see :mod:`hivescan.detect.fields`), never an error.

References: style.md R8 (capa's engine: match, then re-run the matched rule fully).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hivescan.catalog.lookups import CATALOGS
from hivescan.catalog.tables import CatalogEntry
from hivescan.detect.codegen import generate_rule_set
from hivescan.detect.compiled import compile_rules
from hivescan.detect.fields import Subject, path_resolver, resolve
from hivescan.detect.finding import Evidence, Finding, Match
from hivescan.detect.parts import SplitVerdicts
from hivescan.detect.rules import SEVERITY_RANK, CatalogTest, FieldTest, Logic, Node, Rule, RuleSet
from hivescan.hive.tree import upcase
from hivescan.textsafe import printable

# a catalog lookup: (record, the subject's context) -> the row it matched; the context tells
# version-specific catalogs which Windows the hive is (context["windows"])
Lookup = Callable[[Any, Mapping[str, Any]], CatalogEntry | None]


def _same(value: Any, wanted: Any) -> bool:
    if isinstance(value, str) and isinstance(wanted, str):
        return upcase(value) == upcase(wanted)
    if isinstance(value, bool) or isinstance(wanted, bool):
        return value is wanted
    return bool(value == wanted)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def test_value(node: FieldTest, value: Any) -> bool:
    """Whether one value satisfies a field operator."""
    op, arg = node.op, node.arg
    if op == "equals":
        return _same(value, arg)
    if op == "in":
        return any(_same(value, a) for a in arg)
    if op == "contains":
        return isinstance(value, str) and upcase(arg) in upcase(value)
    if op in ("regex", "glob"):
        assert node.pattern is not None
        text = value if isinstance(value, str) else str(value)
        return bool(node.pattern.search(text) if op == "regex" else node.pattern.match(text))
    if op == "bits_any":
        return isinstance(value, int) and not isinstance(value, bool) and bool(value & int(arg))
    if op == "longer_than":
        return isinstance(value, str) and len(value) > arg
    if op in ("lt", "le", "gt", "ge") and _number(value):
        return {"lt": value < arg, "le": value <= arg, "gt": value > arg, "ge": value >= arg}[op]
    return False


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _jsonable(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:  # the common cases first, by exact type: what the checks below return for them
        return value
    if kind is dict:
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return str(value)


@dataclass
class _State:
    """Per-subject memo: catalog lookups and referenced rules are computed once."""

    subject: Subject
    lookups: Mapping[str, Lookup]
    rules: Mapping[str, Rule]
    catalog_hits: dict[str, CatalogEntry | None] = field(default_factory=dict)
    rule_hits: dict[str, bool] = field(default_factory=dict)
    values: dict[str, tuple[Any, ...] | None] = field(default_factory=dict)
    uppers: dict[str, tuple[tuple[Any, Any], ...] | None] = field(default_factory=dict)

    def resolve(self, path: str) -> tuple[Any, ...] | None:
        values = self.values
        if path not in values:
            values[path] = path_resolver(path)(self.subject)
        return values[path]

    def resolve_upper(self, path: str) -> tuple[tuple[Any, Any], ...] | None:
        """(value, its upper case) for each value of ``path`` (non-strings paired with themselves):
        upper-cased once per record, whatever the number of rules comparing strings."""
        if path not in self.uppers:
            values = self.resolve(path)
            self.uppers[path] = (
                None if values is None else tuple((v, upcase(v) if isinstance(v, str) else v) for v in values)
            )
        return self.uppers[path]

    def lookup(self, name: str) -> CatalogEntry | None:
        if name not in self.catalog_hits:
            func = self.lookups.get(name)
            self.catalog_hits[name] = func(self.subject.record, self.subject.context) if func is not None else None
        return self.catalog_hits[name]


def _catalog_ok(node: CatalogTest, found: CatalogEntry | None) -> bool:
    if found is None:
        return False
    return all(_same(found.get(k), v) for k, v in node.where.items())


def _test(node: Node, state: _State) -> bool:
    """Short-circuiting evaluation: only whether the node matches."""
    if isinstance(node, FieldTest):
        values = state.resolve(node.field)
        if node.op == "exists":
            return (values is not None) is node.arg
        return values is not None and any(test_value(node, v) for v in values)
    if isinstance(node, Logic):
        if node.op == "all":
            return all(_test(c, state) for c in node.children)
        if node.op == "any":
            return any(_test(c, state) for c in node.children)
        return not _test(node.children[0], state)
    if isinstance(node, CatalogTest):
        return _catalog_ok(node, state.lookup(node.catalog))
    if node.rule not in state.rule_hits:
        state.rule_hits[node.rule] = _test(state.rules[node.rule].match, state)
    return state.rule_hits[node.rule]


def _explain(node: Node, state: _State) -> Match:
    """Full evaluation: every child, with the values seen."""
    if isinstance(node, FieldTest):
        values = state.resolve(node.field)
        if node.op == "exists":
            matched = (values is not None) is node.arg
            shown: Any = values
        elif values is None:
            matched, shown = False, None
        else:
            hits = [v for v in values if test_value(node, v)]
            matched = bool(hits)
            shown = hits if matched else list(values)
        if isinstance(shown, tuple | list) and len(shown) == 1:
            shown = shown[0]
        return Match("field", node.label, matched, _jsonable(shown), node.note, node.field)
    if isinstance(node, Logic):
        children = tuple(_explain(c, state) for c in node.children)
        if node.op == "all":
            matched = all(c.matched for c in children)
        elif node.op == "any":
            matched = any(c.matched for c in children)
        else:
            matched = not children[0].matched
        return Match(node.op, node.label, matched, None, node.note, children=children)
    if isinstance(node, CatalogTest):
        found = state.lookup(node.catalog)
        return Match(
            "catalog",
            node.label,
            _catalog_ok(node, found),
            found.key if found is not None else None,
            node.note,
            entry=_jsonable(found.to_dict()) if found is not None else None,
        )
    inner = _explain(state.rules[node.rule].match, state)
    return Match("rule", node.label, inner.matched, None, node.note, children=(inner,))


def _evidence(match: Match, out: list[Evidence]) -> None:
    """The fields and catalog rows the match rests on: matched leaves, skipping under ``not``."""
    if not match.matched or match.kind == "not":
        return
    if match.kind == "field" and match.field is not None:
        out.append(Evidence(match.field, match.value))
    elif match.kind == "catalog" and match.entry is not None:
        out.append(Evidence(f"catalog:{match.entry.get('catalog')}", match.entry))
    for child in match.children:
        _evidence(child, out)


# {name}, {alias.column}, and alternatives tried in order: {rmm.tool|suspicious.tool|"text"}
_NAME = r"[A-Za-z_][A-Za-z0-9_.]*"
_PLACEHOLDER = re.compile(rf'\{{({_NAME}(?:\|(?:{_NAME}|"[^"{{}}|]*"))*)\}}')
MAX_QUOTE = 200
NO_VALUE = "(no value)"
# [[ ...ServiceDll {service_dll_file.path} ... ]]: a part shown only when its first placeholder
# has a value, so a sentence about a file the service does not have is left out, not filled in
_OPTIONAL = re.compile(r"\[\[(.*?)\]\]", re.DOTALL)


def _quote(value: Any) -> str:
    if value is None:
        return NO_VALUE
    if isinstance(value, bool):  # as ``show`` and the report say it (not Python's True/False)
        return "yes" if value else "no"
    if isinstance(value, tuple | list):
        return ", ".join(_quote(v) for v in value) if value else NO_VALUE
    text = printable(str(value))
    if len(text) > MAX_QUOTE:
        return f"{text[:MAX_QUOTE]}… ({len(text)} characters in all, see evidence)"
    return text


_CONTEXTUAL = frozenset({"status", "type", "start"})


def _evidence_text(evidence: Sequence[Evidence]) -> str:
    parts = [
        f"{e.field} '{_quote(e.value)}'" if isinstance(e.value, str) else f"{e.field} {_quote(e.value)}"
        for e in evidence
        if e.field not in _CONTEXTUAL and not e.field.startswith("catalog:")
    ]
    return "; ".join(parts) or "(no field evidence)"


def _matched_values(evidence: Sequence[Evidence], path: str) -> list[Any]:
    """What the match saw of one field: its matched values only (e.g. the one diagnostic note a
    regex hit, not every note of the record); empty when the field is not in the evidence."""
    out: list[Any] = []
    for item in evidence:
        if item.field != path:
            continue
        for value in item.value if isinstance(item.value, list | tuple) else (item.value,):
            if value is not None and value not in out:
                out.append(value)
    return out


def render_explanation(
    template: str,
    subject: Subject,
    captures: Mapping[str, CatalogEntry | None],
    evidence: Sequence[Evidence] = (),
) -> str:
    """Fill ``{field}`` and ``{alias.column}`` placeholders; ``{evidence}`` quotes the matched
    fields; ``{a|b|"text"}`` takes the first alternative with a value (a rule whose branches
    capture different catalogs quotes whichever matched); ``{{``/``}}`` are literal braces.

    A field the match tested is quoted as the match saw it (its matched values), so the text
    shows the evidence the finding rests on; other fields are read from the record.

    ``[[...]]`` is an optional part: shown (brackets removed) when its first placeholder has a
    value, left out when it has none (the ServiceDll half of a sentence about a service that has
    no ServiceDll); literal alternatives of that placeholder do not count as a value."""

    def one(path: str) -> Any:
        if path.startswith('"'):
            return path[1:-1] or None
        if path == "evidence":
            return _evidence_text(evidence)
        head, _, rest = path.partition(".")
        if head in captures:
            found = captures[head]
            return found.get(rest) if found is not None and rest else (found.key if found else None)
        return _matched_values(evidence, path) or resolve(subject, path)

    def fill(match: re.Match[str]) -> str:
        for path in match.group(1).split("|"):
            value = one(path)
            if _has(value):
                return _quote(value)
        return NO_VALUE

    def optional(match: re.Match[str]) -> str:
        inner = match.group(1)
        first = _PLACEHOLDER.search(inner)
        if first is None:
            return inner
        fields = [p for p in first.group(1).split("|") if not p.startswith('"')]
        return inner if any(_has(one(p)) for p in fields) else ""

    parts = _OPTIONAL.sub(optional, template).split("{{")
    return "{".join(_PLACEHOLDER.sub(fill, p).replace("}}", "}") for p in parts)


def _has(value: Any) -> bool:
    return value is not None and value != "" and value != () and value != []


def aliases(node: Node) -> dict[str, str]:
    """``as:`` names of a rule's catalog nodes -> catalog name."""
    if isinstance(node, CatalogTest):
        return {node.alias: node.catalog} if node.alias else {}
    if isinstance(node, Logic):
        out: dict[str, str] = {}
        for child in node.children:
            out.update(aliases(child))
        return out
    return {}


def _windows(subject: Subject) -> dict[str, Any] | None:
    found = subject.context.get("windows")
    return found.to_dict() if found is not None and hasattr(found, "to_dict") else None


class Engine:
    """Rules plus catalog lookups; :meth:`findings` evaluates every rule on one subject."""

    def __init__(self, rules: RuleSet, lookups: Mapping[str, Lookup] | None = None, *, remember: bool = False) -> None:
        """``remember``: keep which rules matched each record fingerprint (detect/verdicts.py), for an
        engine reused over many hives; only with the packaged lookups, whose reads are declared."""
        self.rules = rules
        self.by_id = rules.by_id
        self.lookups = dict(CATALOGS if lookups is None else lookups)
        self._aliases = {r.id: aliases(r.match) for r in rules}
        self._compiled = compile_rules(self.by_id)  # the fast twin of _test (detect/compiled.py)
        # all rules as one generated function, shared first tests once (detect/codegen.py); written
        # on first use (a remembering engine evaluates its parts' functions instead)
        self._matching_rules: Callable[[_State], tuple[str, ...]] = self._generate_all
        # verdicts remembered in parts: the rules reading the start type, the Windows or the diagnostics
        # apart (detect/parts.py)
        self.split = SplitVerdicts(self.by_id, self._compiled) if remember and lookups is None else None
        self.verdicts = self.split.main if self.split is not None else None

    def _matching(self, subject: Subject) -> tuple[tuple[str, ...], _State | None]:
        """Ids of the rules that match the subject, in rule order (remembered when asked), and the
        evaluation state when the rules were evaluated (None when the verdict was remembered:
        most records of a warm worker match nothing, and then no state is made at all)."""
        if self.split is not None:
            return self.split.matching(subject, self._state)
        state = self._state(subject)
        return self._matching_rules(state), state

    def _generate_all(self, state: _State) -> tuple[str, ...]:
        self._matching_rules = generate_rule_set(self.by_id, self._compiled)
        return self._matching_rules(state)

    def _state(self, subject: Subject) -> _State:
        return _State(subject, self.lookups, self.by_id)

    def matches(self, rule: Rule, subject: Subject) -> bool:
        test = self._compiled.get(rule.id) if self.by_id.get(rule.id) is rule else None
        return test(self._state(subject)) if test is not None else _test(rule.match, self._state(subject))

    def explain(self, rule: Rule, subject: Subject) -> Match:
        return _explain(rule.match, self._state(subject))

    def findings(self, subject: Subject) -> list[Finding]:
        matched, state = self._matching(subject)
        if not matched:
            return []
        if state is None:
            state = self._state(subject)
        out = []
        for rule_id in matched:
            rule = self.by_id[rule_id]
            tree = _explain(rule.match, state)
            evidence: list[Evidence] = []
            _evidence(tree, evidence)
            captures = {alias: state.lookup(cat) for alias, cat in self._aliases[rule.id].items()}
            record = subject.record
            out.append(
                Finding(
                    rule_id=rule.id,
                    severity=rule.severity,
                    title=rule.title,
                    attack=rule.attack,
                    service=record.name,
                    control_set=record.origin.control_set,
                    evidence=tuple(evidence),
                    explanation=render_explanation(rule.explain, subject, captures, evidence),
                    origin=record.origin,
                    match=tree,
                    references=rule.references,
                    status=record.status,
                    windows=_windows(subject),
                )
            )
        return out

    def run(self, subjects: Iterable[Subject]) -> list[Finding]:
        """Findings of every subject, most severe first (then service name, rule id)."""
        found = [f for s in subjects for f in self.findings(s)]
        return sort_findings(found)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(
        findings,
        key=lambda f: (-SEVERITY_RANK.get(f.severity, 0), upcase(f.service), f.control_set or 0, f.rule_id),
    )
