"""Rules as data: one YAML file per rule, ``hivescan/rules/<tactic>/<id>.yaml``.

The matching language (documented in ``docs/rules.md``) is small on purpose::

    match:
      all:                                   # all / any: lists of conditions; not: one
        - {field: status, in: [database, pending_delete, deleted]}
        - any:
            - {field: name, regex: '^psexesvc$', note: Sysinternals default}
            - {field: image_path, glob: '*\\PSEXESVC.exe'}
        - not: {catalog: windows-services}   # a catalog lookup hits when it returns a row
        - {rule: service-is-driver}          # reuse another rule's condition

Field operators: ``equals``, ``in``, ``contains``, ``regex``, ``glob``, ``lt``/``le``/``gt``/
``ge``, ``bits_any``, ``longer_than``, ``exists``. String comparisons are case-insensitive
(registry data is), regexes are searched (add ``^``/``$`` to anchor), globs match whole
strings. A field with several values (lists) matches when any value does; a field without a
value matches nothing except ``exists: false``.

Parsing turns the YAML into frozen node objects and rejects anything malformed with a
:class:`InvalidRule` naming the file and the place.

References: style.md R8-R9 (capa's rule format, trimmed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from hivescan import yamlload
from hivescan.catalog.globs import glob_regex_text

SEVERITIES = ("info", "low", "medium", "high", "critical")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
FIELD_OPERATORS = (
    "equals",
    "in",
    "contains",
    "regex",
    "glob",
    "lt",
    "le",
    "gt",
    "ge",
    "bits_any",
    "longer_than",
    "exists",
)
_RULE_KEYS = {"id", "title", "severity", "attack", "references", "description", "match", "explain", "examples"}
_ATTACK_ID = re.compile(r"T\d{4}(\.\d{3})?")


class InvalidRule(ValueError):
    """A rule file that cannot be used; the message names the file and what is wrong."""


# -- nodes


@dataclass(frozen=True, slots=True)
class FieldTest:
    field: str
    op: str
    arg: Any
    note: str | None = None
    pattern: re.Pattern[str] | None = None  # compiled regex/glob

    @property
    def label(self) -> str:
        symbol = {
            "equals": "=",
            "in": "in",
            "contains": "contains",
            "regex": "~",
            "glob": "like",
            "lt": "<",
            "le": "<=",
            "gt": ">",
            "ge": ">=",
            "bits_any": "has bits",
            "longer_than": "longer than",
            "exists": "exists" if self.arg else "has no value",
        }[self.op]
        if self.op == "exists":
            return f"{self.field} {symbol}"
        arg = f"0x{self.arg:x}" if self.op == "bits_any" else self.arg
        if isinstance(arg, list):
            arg = "[" + ", ".join(str(a) for a in arg) + "]"
        return f"{self.field} {symbol} {arg}"


@dataclass(frozen=True, slots=True)
class CatalogTest:
    catalog: str
    where: Mapping[str, Any] = field(default_factory=dict)
    alias: str | None = None
    note: str | None = None

    @property
    def label(self) -> str:
        where = ", ".join(f"{k}={v}" for k, v in self.where.items())
        return f"catalog {self.catalog}" + (f" where {where}" if where else "")


@dataclass(frozen=True, slots=True)
class RuleRef:
    rule: str
    note: str | None = None

    @property
    def label(self) -> str:
        return f"rule {self.rule}"


@dataclass(frozen=True, slots=True)
class Logic:
    op: str  # all | any | not
    children: tuple[Node, ...]
    note: str | None = None

    @property
    def label(self) -> str:
        return self.op


Node = FieldTest | CatalogTest | RuleRef | Logic


@dataclass(frozen=True, slots=True)
class Examples:
    hit: tuple[str, ...]
    miss: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    severity: str
    attack: tuple[str, ...]
    references: tuple[str, ...]
    match: Node
    explain: str
    examples: Examples
    description: str = ""
    namespace: str = ""  # the tactic folder
    path: str = ""  # where it was loaded from

    @property
    def rank(self) -> int:
        return SEVERITY_RANK[self.severity]


# -- parsing


def _text(value: Any, where: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRule(f"{where}: {what} must be a non-empty string")
    return value


def _strings(value: Any, where: str, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRule(f"{where}: {what} must be a list of strings")
    return tuple(value)


def parse_node(spec: Any, where: str) -> Node:
    if not isinstance(spec, Mapping):
        raise InvalidRule(f"{where}: a condition is a mapping, got {type(spec).__name__}")
    note = spec.get("note")
    if note is not None and not isinstance(note, str):
        raise InvalidRule(f"{where}: note must be a string")
    kinds = [k for k in ("all", "any", "not", "field", "catalog", "rule") if k in spec]
    if len(kinds) != 1:
        raise InvalidRule(f"{where}: a condition needs exactly one of all/any/not/field/catalog/rule, got {kinds}")
    kind = kinds[0]
    if kind in ("all", "any"):
        items = spec[kind]
        if not isinstance(items, list) or not items:
            raise InvalidRule(f"{where}.{kind}: a non-empty list of conditions")
        _only(spec, {kind, "note"}, where)
        return Logic(kind, tuple(parse_node(s, f"{where}.{kind}[{i}]") for i, s in enumerate(items)), note)
    if kind == "not":
        _only(spec, {"not", "note"}, where)
        return Logic("not", (parse_node(spec["not"], f"{where}.not"),), note)
    if kind == "rule":
        _only(spec, {"rule", "note"}, where)
        return RuleRef(_text(spec["rule"], where, "rule"), note)
    if kind == "catalog":
        _only(spec, {"catalog", "where", "as", "note"}, where)
        where_spec = spec.get("where") or {}
        if not isinstance(where_spec, Mapping):
            raise InvalidRule(f"{where}: where must be a mapping of column: value")
        alias = spec.get("as")
        if alias is not None and (not isinstance(alias, str) or not re.fullmatch(r"[a-z_][a-z0-9_]*", alias)):
            raise InvalidRule(f"{where}: as must be a lower-case identifier")
        return CatalogTest(_text(spec["catalog"], where, "catalog"), dict(where_spec), alias, note)
    return _parse_field(spec, where, note)


def _only(spec: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = set(spec) - allowed
    if extra:
        raise InvalidRule(f"{where}: unexpected key(s) {sorted(extra)}")


def _parse_field(spec: Mapping[str, Any], where: str, note: str | None) -> FieldTest:
    name = _text(spec["field"], where, "field")
    ops = [k for k in spec if k not in ("field", "note")]
    if len(ops) != 1 or ops[0] not in FIELD_OPERATORS:
        raise InvalidRule(
            f"{where}: field {name!r} needs exactly one operator of {', '.join(FIELD_OPERATORS)}; got {ops}"
        )
    op = ops[0]
    arg = spec[op]
    pattern: re.Pattern[str] | None = None
    if op == "regex":
        try:
            pattern = re.compile(_text(arg, where, "regex"), re.IGNORECASE)
        except re.error as exc:
            raise InvalidRule(f"{where}: regex {arg!r} does not compile: {exc}") from None
    elif op == "glob":
        globs = _strings(arg, where, "glob")
        if not globs:
            raise InvalidRule(f"{where}: glob needs at least one pattern")
        pattern = re.compile(r"\A(?:" + "|".join(glob_regex_text(g) for g in globs) + r")\Z", re.IGNORECASE | re.DOTALL)
        arg = list(globs) if len(globs) > 1 else globs[0]
    elif op == "in":
        if not isinstance(arg, list) or not arg:
            raise InvalidRule(f"{where}: in needs a non-empty list")
    elif op in ("lt", "le", "gt", "ge", "bits_any", "longer_than"):
        if isinstance(arg, bool) or not isinstance(arg, int | float):
            raise InvalidRule(f"{where}: {op} needs a number")
    elif op == "exists":
        if not isinstance(arg, bool):
            raise InvalidRule(f"{where}: exists needs true or false")
    elif op in ("equals", "contains"):
        if arg is None or isinstance(arg, list | Mapping):
            raise InvalidRule(f"{where}: {op} needs a single string, number or boolean")
        if op == "contains" and not isinstance(arg, str):
            raise InvalidRule(f"{where}: contains needs a string")
    return FieldTest(name, op, arg, note, pattern)


def parse_rule(spec: Any, where: str, *, namespace: str = "") -> Rule:
    if not isinstance(spec, Mapping):
        raise InvalidRule(f"{where}: a rule file holds one mapping")
    missing = {"id", "title", "severity", "match", "explain", "examples"} - set(spec)
    if missing:
        raise InvalidRule(f"{where}: missing {sorted(missing)}")
    _only(spec, _RULE_KEYS, where)
    rule_id = _text(spec["id"], where, "id")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", rule_id):
        raise InvalidRule(f"{where}: id {rule_id!r} must be lower-case words joined by '-'")
    severity = spec["severity"]
    if severity not in SEVERITIES:
        raise InvalidRule(f"{where}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    attack = _strings(spec.get("attack"), where, "attack")
    for technique in attack:
        if not _ATTACK_ID.fullmatch(technique):
            raise InvalidRule(f"{where}: {technique!r} is not an ATT&CK technique id (T1234 or T1234.001)")
    examples = spec["examples"]
    if not isinstance(examples, Mapping):
        raise InvalidRule(f"{where}: examples must be a mapping with hit and miss lists")
    _only(examples, {"hit", "miss"}, f"{where}.examples")
    return Rule(
        id=rule_id,
        title=_text(spec["title"], where, "title"),
        severity=severity,
        attack=attack,
        references=_strings(spec.get("references"), where, "references"),
        match=parse_node(spec["match"], f"{where}: match"),
        explain=_text(spec["explain"], where, "explain"),
        examples=Examples(
            _strings(examples.get("hit"), where, "examples.hit"), _strings(examples.get("miss"), where, "examples.miss")
        ),
        description=str(spec.get("description") or "").strip(),
        namespace=namespace,
        path=where,
    )


def load_rule_file(path: Path, *, root: Path | None = None, shipped: bool = False) -> Rule:
    """One rule file; ``shipped``: one of hivescan's own (read by libyaml: hivescan/yamlload.py)."""
    load = yamlload.load_shipped if shipped else yamlload.load
    try:
        spec = load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidRule(f"{path}: {exc}") from None
    namespace = path.parent.name if root is None else str(path.parent.relative_to(root)).replace("\\", "/")
    return parse_rule(spec, str(path), namespace=namespace)


def default_rules_dir() -> Path:
    return Path(str(resources.files("hivescan").joinpath("rules")))


def rule_files(directory: Path | None = None) -> list[Path]:
    root = directory or default_rules_dir()
    return sorted(p for p in root.rglob("*.yaml") if p.is_file())


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Rules by id, in file order; references between rules are checked at load time."""

    rules: tuple[Rule, ...]

    @property
    def by_id(self) -> Mapping[str, Rule]:
        return {r.id: r for r in self.rules}

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.rules)


def referenced_rules(node: Node) -> list[str]:
    if isinstance(node, RuleRef):
        return [node.rule]
    if isinstance(node, Logic):
        return [r for child in node.children for r in referenced_rules(child)]
    return []


def check_references(rules: Sequence[Rule]) -> None:
    """Every ``rule:`` names a loaded rule, ids are unique, and reuse has no cycle."""
    by_id: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in by_id:
            raise InvalidRule(f"{rule.path}: id {rule.id!r} also used by {by_id[rule.id].path}")
        by_id[rule.id] = rule
    state: dict[str, int] = {}

    def visit(rule_id: str, chain: tuple[str, ...]) -> None:
        if state.get(rule_id) == 2:
            return
        if state.get(rule_id) == 1:
            raise InvalidRule(f"rule reuse forms a cycle: {' -> '.join((*chain, rule_id))}")
        state[rule_id] = 1
        for ref in referenced_rules(by_id[rule_id].match):
            if ref not in by_id:
                raise InvalidRule(f"{by_id[rule_id].path}: rule {ref!r} is not defined")
            visit(ref, (*chain, rule_id))
        state[rule_id] = 2

    for rule_id in by_id:
        visit(rule_id, ())


def load_rules(directory: Path | None = None) -> RuleSet:
    """Every rule under ``directory`` (default: the rules shipped with hivescan)."""
    root = directory or default_rules_dir()
    if not root.is_dir():
        raise InvalidRule(f"{root}: no such rules folder")
    shipped = directory is None
    rules = [load_rule_file(p, root=root, shipped=shipped) for p in rule_files(root)]
    check_references(rules)
    return RuleSet(tuple(rules))
