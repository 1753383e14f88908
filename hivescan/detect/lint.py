"""Check the rules like capa-rules checks its rules: one small class per check.

``hivescan rules lint`` and ``tests/detect/test_rules.py`` run the same checks: id = file name,
at least one hit and one miss example, severity valid, fields known, catalogs and ``where``
columns known, explanation placeholders resolvable, and (when the fixtures are there) that
every example hits or misses as it says, and that no explanation of a finding on a hit
example (or on the hives given with ``--hive``) prints ``(no value)`` where it should quote
the evidence it rests on. Regexes are compiled while parsing, so a rule with a
bad one fails to load with the file named.

References: style.md R9.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hivescan.catalog.lookups import CATALOG_ATTRIBUTES, CATALOGS
from hivescan.detect.engine import NO_VALUE, Engine, aliases
from hivescan.detect.examples import ExampleError, Examples
from hivescan.detect.fields import known_root
from hivescan.detect.rules import (
    SEVERITIES,
    CatalogTest,
    FieldTest,
    InvalidRule,
    Logic,
    Node,
    Rule,
    RuleSet,
    check_references,
    load_rule_file,
    rule_files,
)

if TYPE_CHECKING:
    from hivescan.detect.finding import Finding

_NAME = r"[A-Za-z_][A-Za-z0-9_.]*"
_PLACEHOLDER = re.compile(rf'(?<!\{{)\{{({_NAME}(?:\|(?:{_NAME}|"[^"{{}}|]*"))*)\}}')


@dataclass(frozen=True, slots=True)
class Problem:
    rule: str  # rule id or file
    check: str
    level: str  # fail | warn
    message: str

    def __str__(self) -> str:
        return f"{self.level.upper()} {self.rule}: [{self.check}] {self.message}"


def walk(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, Logic):
        for child in node.children:
            yield from walk(child)


def fields_used(rule: Rule) -> list[str]:
    return [n.field for n in walk(rule.match) if isinstance(n, FieldTest)]


class Check:
    name = ""
    level = "fail"
    hint = ""

    def problems(self, rule: Rule) -> Iterator[str]:  # pragma: no cover - interface
        raise NotImplementedError


class IdMatchesFileName(Check):
    name = "id-is-file-name"
    hint = "rename the file to <id>.yaml"

    def problems(self, rule: Rule) -> Iterator[str]:
        stem = Path(rule.path).stem
        if stem != rule.id:
            yield f"id {rule.id!r} but file {Path(rule.path).name}"


class HasExamples(Check):
    name = "examples"
    hint = "add fixture services under examples: hit: and miss:"

    def problems(self, rule: Rule) -> Iterator[str]:
        if not rule.examples.hit:
            yield "no hit example"
        if not rule.examples.miss:
            yield "no miss example"


class SeverityValid(Check):
    name = "severity"

    def problems(self, rule: Rule) -> Iterator[str]:
        if rule.severity not in SEVERITIES:
            yield f"severity {rule.severity!r}"


class FieldsExist(Check):
    name = "fields-exist"
    hint = "use a ServiceRecord field or property, or a derived/context field (docs/rules.md)"

    def problems(self, rule: Rule) -> Iterator[str]:
        for name in fields_used(rule):
            if not known_root(name):
                yield f"unknown field {name!r}"


class CatalogsExist(Check):
    name = "catalogs-exist"

    def problems(self, rule: Rule) -> Iterator[str]:
        for node in walk(rule.match):
            if isinstance(node, CatalogTest):
                if node.catalog not in CATALOGS:
                    yield f"unknown catalog {node.catalog!r} (known: {', '.join(sorted(CATALOGS))})"
                    continue
                for column in node.where:
                    if column not in CATALOG_ATTRIBUTES[node.catalog]:
                        yield f"catalog {node.catalog} has no column {column!r}"


class ExplanationResolves(Check):
    name = "explanation"
    hint = "placeholders are {field} or {alias.column} of a catalog node with as: alias"

    def problems(self, rule: Rule) -> Iterator[str]:
        named = aliases(rule.match)
        alternatives = [p for group in _PLACEHOLDER.findall(rule.explain) for p in group.split("|")]
        for placeholder in alternatives:
            head, _, rest = placeholder.partition(".")
            if placeholder == "evidence" or placeholder.startswith('"'):
                continue
            if head in named:
                catalog = named[head]
                if (
                    rest
                    and rest not in CATALOG_ATTRIBUTES.get(catalog, ())
                    and rest not in ("catalog", "key", "file", "line", "source", "citation")
                ):
                    yield f"{{{placeholder}}}: catalog {catalog} has no column {rest!r}"
            elif not known_root(placeholder):
                yield f"{{{placeholder}}} is neither a field nor a catalog alias"


CHECKS: Sequence[Check] = (
    IdMatchesFileName(),
    HasExamples(),
    SeverityValid(),
    FieldsExist(),
    CatalogsExist(),
    ExplanationResolves(),
)


def check_examples(rules: RuleSet, examples: Examples) -> Iterator[Problem]:
    """Every hit example hits and every miss example misses."""
    engine = Engine(rules)
    for rule in rules:
        for ref in rule.examples.hit:
            try:
                if not examples.hits(engine, rule, ref):
                    yield Problem(rule.id, "example-hits", "fail", f"{ref} should hit but does not")
            except ExampleError as exc:
                yield Problem(rule.id, "example-exists", "fail", str(exc))
        for ref in rule.examples.miss:
            try:
                if examples.hits(engine, rule, ref):
                    yield Problem(rule.id, "example-misses", "fail", f"{ref} should miss but hits")
            except ExampleError as exc:
                yield Problem(rule.id, "example-exists", "fail", str(exc))


def _quotes_nothing(finding: Finding) -> bool:
    return NO_VALUE in finding.explanation


def check_explanations(rules: RuleSet, examples: Examples) -> Iterator[Problem]:
    """Every finding on every service of the example scenarios (not only the hit examples: a
    rule also fires on look-alikes) quotes a value for every placeholder of its explanation."""
    engine = Engine(rules)
    scenarios = sorted({ref.partition("/")[0] for rule in rules for ref in (*rule.examples.hit, *rule.examples.miss)})
    for scenario in scenarios:
        try:
            by_name = examples.scenario(scenario)
        except ExampleError:
            continue  # reported by check_examples
        for subjects in by_name.values():
            for subject in subjects:
                for finding in engine.findings(subject):
                    if _quotes_nothing(finding):
                        yield Problem(
                            finding.rule_id,
                            "explanation-quotes",
                            "fail",
                            f"{scenario}/{finding.service}: {finding.explanation}",
                        )


def check_hive_explanations(rules: RuleSet, hives: Sequence[Path]) -> Iterator[Problem]:
    """Scan real hives (their logs replayed, every control set, deleted keys) and report every
    finding whose explanation prints ``(no value)``."""
    from hivescan.detect.scan import scan_hive
    from hivescan.errors import HivescanError
    from hivescan.system import open_hive

    for path in hives:
        try:
            with open_hive(path) as hive:
                result = scan_hive(hive, rules=rules)
        except (HivescanError, OSError, ValueError) as exc:
            yield Problem(str(path), "hive", "fail", f"cannot scan: {exc}")
            continue
        for finding in result.findings:
            if _quotes_nothing(finding):
                yield Problem(
                    finding.rule_id,
                    "explanation-quotes",
                    "fail",
                    f"{path} {finding.service}: {finding.explanation}",
                )


def lint(directory: Path | None = None, *, fixtures: Path | None = None, hives: Sequence[Path] = ()) -> list[Problem]:
    """All problems of the rules in ``directory`` (default: the shipped rules); ``hives``: real
    hives whose findings' explanations are checked too."""
    problems: list[Problem] = []
    rules: list[Rule] = []
    for path in rule_files(directory):
        try:
            rules.append(load_rule_file(path, root=directory))
        except InvalidRule as exc:
            problems.append(Problem(path.name, "parse", "fail", str(exc)))
    for rule in rules:
        for check in CHECKS:
            for message in check.problems(rule):
                problems.append(Problem(rule.id, check.name, check.level, message))
    try:
        check_references(rules)
    except InvalidRule as exc:
        problems.append(Problem("rules", "references", "fail", str(exc)))
        return problems
    ruleset = RuleSet(tuple(rules))
    if fixtures is not None and (fixtures / "scenarios").is_dir():
        examples = Examples(fixtures)
        problems.extend(check_examples(ruleset, examples))
        problems.extend(check_explanations(ruleset, examples))
    if hives:
        problems.extend(check_hive_explanations(ruleset, hives))
    return problems
