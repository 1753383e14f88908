"""The matching language: operators, no-value semantics, logic, reuse, evidence, explanations."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest
import yaml

from hivescan.detect.engine import Engine, render_explanation
from hivescan.detect.fields import Subject
from hivescan.detect.rules import InvalidRule, RuleSet, check_references, parse_rule
from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import REG_SZ
from hivescan.scm.record import HiveRef, Origin, ServiceRecord
from hivescan.testing.regf import sz


def record(name: str = "Svc", **fields: Any) -> ServiceRecord:
    origin = Origin(HiveRef("SYSTEM", "0" * 64), 1, f"ControlSet001\\Services\\{name}", 133_000_000_000_000_000, "test")
    fields.setdefault("status", "database")
    return ServiceRecord(name=name, origin=origin, **fields)


def rule(match: str, **meta: Any) -> Any:
    spec = {
        "id": meta.pop("id", "t"),
        "title": "test",
        "severity": meta.pop("severity", "high"),
        "match": yaml.safe_load(textwrap.dedent(match)),
        "explain": meta.pop("explain", "{name}"),
        "examples": {"hit": ["x/a"], "miss": ["x/b"]},
        **meta,
    }
    return parse_rule(spec, "t.yaml")


def hits(r: Any, rec: ServiceRecord, **context: Any) -> bool:
    engine = Engine(RuleSet((r,)))
    subject = Subject(rec, context)
    fast = engine.matches(r, subject)
    assert fast == engine.explain(r, subject).matched, "short-circuit and full evaluation disagree"
    return fast


@pytest.mark.parametrize(
    ("match", "fields", "expected"),
    [
        ("{field: name, equals: psexesvc}", {}, False),
        ("{field: name, equals: SVC}", {}, True),  # case-insensitive, like the registry
        ("{field: start, equals: 2}", {"start": 2}, True),
        ("{field: start, equals: 2}", {"start": 3}, False),
        ("{field: start, in: [0, 1, 2]}", {"start": 1}, True),
        ("{field: image_path, contains: '\\TEMP\\'}", {"image_path": r"C:\Windows\Temp\x.exe"}, True),
        ("{field: image_path, regex: '^c:\\\\windows\\\\'}", {"image_path": r"C:\Windows\x.exe"}, True),
        ("{field: image_path, regex: 'x\\.exe$'}", {"image_path": r"C:\x.exe -k"}, False),
        ("{field: image_path, glob: 'C:\\Windows\\*.exe'}", {"image_path": r"c:\windows\a[1].exe"}, True),
        ("{field: image_path, glob: '*.sys'}", {"image_path": r"C:\x.sys.bak"}, False),
        ("{field: type, bits_any: 0x100}", {"type": 0x110}, True),
        ("{field: type, bits_any: 0x100}", {"type": 0x10}, False),
        ("{field: start, lt: 2}", {"start": 1}, True),
        ("{field: start, ge: 2}", {"start": 1}, False),
        ("{field: image_path, longer_than: 5}", {"image_path": "abcdef"}, True),
        ("{field: depend_on_service, equals: rpcss}", {"depend_on_service": ("Tcpip", "RpcSs")}, True),
        ("{field: depend_on_service, exists: true}", {"depend_on_service": ()}, False),
        ("{field: failure_command, exists: false}", {}, True),
        ("{field: failure_command, exists: true}", {"failure_command": ""}, True),  # empty string is a value
    ],
)
def test_operators(match: str, fields: dict[str, Any], expected: bool) -> None:
    assert hits(rule(match), record(**fields)) is expected


def test_missing_field_is_no_value_never_an_error() -> None:
    r = rule("{field: security_sddl, regex: '\\(D;'}")  # a field other engineers are adding
    assert hits(r, record()) is False
    assert hits(rule("{field: security_sddl, exists: false}"), record()) is True
    # once it is there (here as context), the same rule matches
    assert hits(r, record(), security_sddl="D:(D;;DCLCWPDTSD;;;IU)") is True


def test_dotted_paths_fan_out_over_lists() -> None:
    actions = {"reset_period_s": 0, "actions": [{"action": "restart", "delay_ms": 1}, {"action": "run_command"}]}
    r = rule("{field: failure_actions.actions.action, equals: run_command}")
    assert hits(r, record(), failure_actions=actions) is True
    assert hits(r, record(), failure_actions={"actions": [{"action": "restart"}]}) is False


def test_values_and_parameters_paths_decode_raw_values() -> None:
    params = (RawValue("Application", REG_SZ, sz(r"C:\Users\Public\x.exe") + sz("hidden")),)
    rec = record(parameters_raw=params)
    assert hits(rule("{field: parameters.application, regex: 'public\\\\x\\.exe$'}"), rec) is True
    assert hits(rule("{field: parameters.application, contains: hidden}"), rec) is False  # effective value only
    assert hits(rule("{field: values.ImagePath, exists: true}"), rec) is False


def test_logic_and_not() -> None:
    r = rule(
        """
        all:
          - {field: start, equals: 2}
          - any:
              - {field: name, equals: a}
              - {field: name, equals: svc}
          - not: {field: image_path, contains: system32}
        """
    )
    assert hits(r, record(start=2, image_path=r"C:\x.exe")) is True
    assert hits(r, record(start=2, image_path=r"C:\Windows\System32\x.exe")) is False
    assert hits(r, record(start=3, image_path=r"C:\x.exe")) is False


def test_full_evaluation_records_every_branch_and_the_values_seen() -> None:
    r = rule(
        """
        any:
          - {field: name, equals: svc, note: first}
          - {field: image_path, regex: 'temp'}
          - {field: service_dll, exists: true}
        """
    )
    engine = Engine(RuleSet((r,)))
    (finding,) = engine.findings(Subject(record(image_path=r"C:\Temp\a.exe")))
    tree = finding.match
    assert tree.kind == "any" and tree.matched
    assert [c.matched for c in tree.children] == [True, True, False]  # not short-circuited
    assert tree.children[0].note == "first" and tree.children[1].value == r"C:\Temp\a.exe"
    assert tree.children[2].value is None  # no value
    assert finding.evidence_map == {"name": "Svc", "image_path": r"C:\Temp\a.exe"}


def test_evidence_skips_conditions_under_not() -> None:
    r = rule("all: [{field: name, equals: svc}, {not: {field: image_path, contains: system32}}]")
    (finding,) = Engine(RuleSet((r,))).findings(Subject(record(image_path=r"C:\x.exe")))
    assert list(finding.evidence_map) == ["name"]


def test_rule_reuse_and_cycles() -> None:
    base = rule("{field: type, in: [1, 2, 8]}", id="is-driver")
    user = rule("all: [{rule: is-driver}, {field: start, equals: 0}]", id="boot-driver")
    engine = Engine(RuleSet((base, user)))
    assert engine.matches(user, Subject(record(type=1, start=0)))
    assert not engine.matches(user, Subject(record(type=0x10, start=0)))
    tree = engine.explain(user, Subject(record(type=1, start=0)))
    assert tree.children[0].kind == "rule" and tree.children[0].children[0].value == 1
    a = rule("{rule: b}", id="a")
    b = rule("{rule: a}", id="b")
    with pytest.raises(InvalidRule, match="cycle"):
        check_references([a, b])
    with pytest.raises(InvalidRule, match="not defined"):
        check_references([rule("{rule: nowhere}", id="c")])


def test_catalog_nodes_cite_the_row() -> None:
    r = rule(
        "{catalog: loldrivers, where: {category: vulnerable}, as: lol}",
        explain="{driver_file} is listed ({lol.category}, {lol.entry_ids})",
    )
    rec = record(type=1, image_path=r"\??\C:\Windows\Temp\RTCore64.sys")
    (finding,) = Engine(RuleSet((r,))).findings(Subject(rec))
    entry = finding.match.entry
    assert entry is not None and entry["row"]["file_name"] == "rtcore64.sys"
    assert entry["file"].endswith("loldrivers.csv") and entry["line"] > 6
    assert finding.explanation.startswith("rtcore64.sys is listed (vulnerable, ")
    assert not hits(rule("{catalog: loldrivers, where: {category: malicious}}"), rec)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"field": "name", "regex": "("}, "does not compile"),
        ({"field": "name", "matches": "x"}, "exactly one operator"),
        ({"field": "name", "equals": "a", "regex": "b"}, "exactly one operator"),
        ({"all": []}, "non-empty list"),
        ({"any": [{"field": "x", "equals": 1}], "all": [{"field": "x", "equals": 1}]}, "exactly one of"),
        ({"field": "start", "lt": "two"}, "needs a number"),
        ({"catalog": "loldrivers", "as": "Bad-Name"}, "identifier"),
        ("just text", "a mapping"),
    ],
)
def test_malformed_conditions_are_rejected_with_the_place(spec: Any, message: str) -> None:
    with pytest.raises(InvalidRule, match=message) as info:
        parse_rule(
            {"id": "t", "title": "t", "severity": "low", "match": spec, "explain": "x", "examples": {}}, "rules/t.yaml"
        )
    assert "rules/t.yaml" in str(info.value)


def test_rule_metadata_is_checked() -> None:
    good = {"id": "t", "title": "t", "severity": "low", "match": {"field": "name", "equals": "x"}, "explain": "x"}
    with pytest.raises(InvalidRule, match="severity"):
        parse_rule({**good, "severity": "severe", "examples": {}}, "t.yaml")
    with pytest.raises(InvalidRule, match="ATT&CK"):
        parse_rule({**good, "attack": ["T15"], "examples": {}}, "t.yaml")
    with pytest.raises(InvalidRule, match="missing"):
        parse_rule(good, "t.yaml")


def test_explanation_quotes_long_values_with_their_length() -> None:
    long_path = "C:\\" + "a" * 500 + ".exe"
    text = render_explanation("runs {image_path}; braces {{kept}}", Subject(record(image_path=long_path)), {})
    assert "(507 characters in all, see evidence)" in text and text.endswith("braces {kept}")
    assert render_explanation("{failure_command}", Subject(record()), {}) == "(no value)"
