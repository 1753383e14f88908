"""Judgement that is true: explanations quote the evidence they rest on, Windows 10
expectations are applied to Windows 10 only, and rules fire on what the record says.

Hives are built here from specs (an XP-shaped and a Windows 10-shaped SYSTEM differing only
in what says which Windows it is) and read from the real shared hives where they exist.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hivescan.detect.engine import render_explanation
from hivescan.detect.fields import Subject
from hivescan.detect.finding import Evidence, Finding
from hivescan.detect.lint import lint
from hivescan.detect.rules import load_rules
from hivescan.detect.scan import ScanResult, scan_hive
from hivescan.scm.record import HiveRef, Origin, ServiceRecord
from hivescan.system import open_hive
from tests.conftest import FIXTURES, SHARED_HIVES, shared_hive

RULES = load_rules()
DIFFERS = {"servicedll-differs-from-windows", "imagepath-differs-from-windows"}


def _svchost(group: str, dll: str) -> dict[str, object]:
    return {
        "values": {
            "Type": 0x20,
            "Start": 2,
            "ErrorControl": 1,
            "ImagePath": {"expand_sz": rf"%SystemRoot%\System32\svchost.exe -k {group}"},
        },
        "keys": {"Parameters": {"values": {"ServiceDll": {"expand_sz": dll}}}},
    }


# stock XP services as XP registered them (Windows 10 moved Dhcp to dhcpcore.dll, AudioSrv and
# Themes to other svchost groups)
XP_SERVICES: dict[str, object] = {
    "Dhcp": _svchost("netsvcs", r"%SystemRoot%\System32\dhcpcsvc.dll"),
    "Themes": _svchost("netsvcs", r"%SystemRoot%\System32\shsvcs.dll"),
    "AudioSrv": _svchost("netsvcs", r"%SystemRoot%\System32\audiosrv.dll"),
    "helpsvc": _svchost("netsvcs", r"%SystemRoot%\PCHealth\HelpCtr\Binaries\pchsvc.dll"),
}
XP_CONTROL: dict[str, object] = {
    "Control\\Windows": {"values": {"CSDVersion": 0x300}},
    "Control\\ProductOptions": {"values": {"ProductType": "WinNT"}},
}
WIN10_CONTROL: dict[str, object] = {
    "Control\\Windows": {
        "values": {"CSDVersion": 0, "ShutdownStopTimePerfCounterBuildLab": "17763.rs5_release.180914"}
    },
    "Control\\ProductOptions": {"values": {"ProductType": "WinNT"}},
}


def _scan(path: Path, software: Path | None = None) -> ScanResult:
    with open_hive(path, software=software) as hive:
        return scan_hive(hive, rules=RULES)


def _ids(result: ScanResult) -> list[str]:
    return [f.rule_id for f in result.findings]


def test_windows_10_expectations_are_not_applied_to_an_xp_hive(spec_hive: Callable[..., Path]) -> None:
    xp = _scan(spec_hive(XP_SERVICES, control=XP_CONTROL))
    assert xp.windows is not None and xp.windows.nt_version == "5.1" and xp.windows.product == "Windows XP"
    assert not DIFFERS & set(_ids(xp)), [f.explanation for f in xp.findings if f.rule_id in DIFFERS]


def test_the_same_services_on_windows_10_are_compared_and_say_with_what(spec_hive: Callable[..., Path]) -> None:
    win10 = _scan(spec_hive(XP_SERVICES, control=WIN10_CONTROL))
    assert win10.windows is not None and win10.windows.label == "Windows 10 1809 (NT 10.0, build 17763)"
    dhcp = [f for f in win10.findings if f.rule_id == "servicedll-differs-from-windows" and f.service == "Dhcp"]
    assert len(dhcp) == 1
    text = dhcp[0].explanation
    assert "expected on Windows 10/11 and Server 2016 or later (NT 10.0)" in text
    assert r"<drive>:\Windows\system32\dhcpcore.dll" in text  # the expectation read as a path
    assert "this hive: Windows 10 1809 (NT 10.0, build 17763)" in text
    assert dhcp[0].windows is not None and dhcp[0].windows["build"] == 17763
    assert Finding.from_dict(dhcp[0].to_dict()).windows == dhcp[0].windows


def test_an_undetected_windows_is_not_compared(spec_hive: Callable[..., Path]) -> None:
    result = _scan(spec_hive({"Dhcp": XP_SERVICES["Dhcp"]}))
    assert result.windows is not None and result.windows.confidence == "none"
    assert not DIFFERS & set(_ids(result))


def test_an_empty_service_dll_never_differs(spec_hive: Callable[..., Path]) -> None:
    empty = {"Dhcp": _svchost("LocalServiceNetworkRestricted", ""), "Themes": XP_SERVICES["Themes"]}
    result = _scan(spec_hive(empty, control=WIN10_CONTROL))
    assert [f.service for f in result.findings if f.rule_id == "servicedll-differs-from-windows"] == ["Themes"]


@pytest.mark.parametrize("name", ["xp-corrupted-SYSTEM", "nt4-SYSTEM", "win7-SYSTEM"])
def test_older_real_hives_get_no_windows_10_expectation(name: str) -> None:
    result = _scan(shared_hive(name))
    assert result.windows is not None and result.windows.nt_version in ("4.0", "5.1", "6.1")
    wrong = [f"{f.rule_id} {f.service}: {f.explanation}" for f in result.findings if f.rule_id in DIFFERS]
    assert wrong == []


def test_windows_10_real_hive_is_still_compared() -> None:
    result = _scan(shared_hive("win10-dirty-SYSTEM"))
    differs = [f for f in result.findings if f.rule_id == "imagepath-differs-from-windows"]
    assert differs, "the Windows 10 hive lost its Windows 10 comparisons"
    assert all(f.windows is not None and f.windows["release"] == "1709" for f in differs)


def test_no_explanation_quotes_no_value_on_the_real_hives() -> None:
    hives = [SHARED_HIVES / n for n in ("nt4-SYSTEM", "xp-corrupted-SYSTEM", "win7-SYSTEM", "win10-dirty-SYSTEM")]
    if not all(p.is_file() for p in hives):
        pytest.skip(f"real test hives not available ({SHARED_HIVES} missing; see ../shared/hives/SOURCES.md)")
    problems = lint(hives=[*hives, FIXTURES / "demo-SYSTEM"])
    assert [str(p) for p in problems] == []


def test_lint_fails_an_explanation_that_quotes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "persistence"
    folder.mkdir()
    (folder / "quotes-nothing.yaml").write_text(
        "id: quotes-nothing\ntitle: t\nseverity: low\nmatch: {field: name, equals: capcom}\n"
        "explain: 'Driver {name} at {image_path}'\nexamples: {hit: [drivers/capcom], miss: [drivers/gdrv]}\n",
        encoding="utf-8",
    )
    (folder / "quotes-fallback.yaml").write_text(
        "id: quotes-fallback\ntitle: t\nseverity: low\nmatch: {field: name, equals: capcom}\n"
        "explain: 'Driver {name} at {image_path|driver_file}'\n"
        "examples: {hit: [drivers/capcom], miss: [drivers/gdrv]}\n",
        encoding="utf-8",
    )
    found = [(p.rule, p.check) for p in lint(tmp_path, fixtures=FIXTURES)]
    assert found == [("quotes-nothing", "explanation-quotes")]


def _demo() -> ScanResult:
    return _scan(FIXTURES / "demo-SYSTEM", FIXTURES / "demo-SOFTWARE")


def _one(result: ScanResult, rule: str, service: str) -> str:
    texts = [f.explanation for f in result.findings if f.rule_id == rule and f.service == service]
    assert len(texts) == 1, (rule, service, texts)
    return texts[0]


def test_remote_access_tool_found_by_its_name_quotes_the_tool() -> None:
    text = _one(_demo(), "remote-access-tool-service", "PSEXESVC")
    assert "(no value)" not in text
    assert "psexec" in text and "suspicious-services pattern PSEXESVC matched its name" in text


def test_hidden_data_lists_only_hidden_data() -> None:
    text = _one(_demo(), "hidden-data-in-value", "WinDiagHost")
    assert "hidden_tail DisplayName" in text and "c2=185.225.17.40:8443" in text
    assert "svchost_masquerade" not in text and "svchost_group_missing" not in text


def test_paths_in_explanations_read_as_windows_writes_them() -> None:
    text = _one(_demo(), "image-in-user-writable-folder", "WinDiagHost")
    assert r"'C:\Users\Public\Libraries\svchost.exe -k diag'" in text
    assert "\\\\" not in text


def test_unquoted_path_rule_takes_the_records_word() -> None:
    """MsUpdateCheck runs ``%COMSPEC% /b /c start /b /min powershell.exe ...``: no earlier
    CreateProcess candidate (the record says unquoted_path_risk false); AcmeBackup has one."""
    result = _demo()
    unquoted = {f.service for f in result.findings if f.rule_id == "unquoted-path-with-spaces"}
    assert "MsUpdateCheck" not in unquoted and "AcmeBackup" in unquoted


def test_real_win7_explanations_quote_their_evidence_and_skip_stock_termdd() -> None:
    result = _scan(shared_hive("win7-SYSTEM"))
    pending = _one(result, "pending-delete-service", "mfeavfk01")
    assert pending.startswith("Service mfeavfk01 (mfeavfk01.sys) is pending_delete")
    assert "(no value)" not in _one(result, "remote-access-tool-service", "PSEXESVC")
    assert not [f for f in result.findings if f.rule_id == "vulnerable-driver" and f.service.lower() == "termdd"]


def _record(**fields: object) -> ServiceRecord:
    return ServiceRecord(
        name="Svc", status="database", origin=Origin(HiveRef("S", "0" * 64), 1, "Svc", 0, "t"), **fields
    )  # type: ignore[arg-type]


def test_explanation_alternatives_and_matched_values() -> None:
    subject = Subject(_record(image_path="C:\\a b\\x.exe"))
    assert (
        render_explanation('{display_name|"no DisplayName"} {image_path}', subject, {})
        == "no DisplayName C:\\a b\\x.exe"
    )
    assert render_explanation("{display_name}", subject, {}) == "(no value)"
    notes = [Evidence("diagnostic_notes", ["hidden_tail X: 'y'"])]
    assert render_explanation("{diagnostic_notes}", subject, {}, notes) == "hidden_tail X: 'y'"
    assert (
        render_explanation("{{literal}} {evidence}", subject, {}, notes)
        == "{literal} diagnostic_notes hidden_tail X: 'y'"
    )


def test_explanations_show_control_characters_not_act_on_them() -> None:
    subject = Subject(_record(image_path="C:\\x.exe\x1b[2J\u202e"))
    assert render_explanation("{image_path}", subject, {}) == "C:\\x.exe\\x1b[2J\\u202e"


def test_diagnostics_print_paths_as_windows_writes_them() -> None:
    with open_hive(FIXTURES / "demo-SYSTEM", software=FIXTURES / "demo-SOFTWARE") as hive:
        records = {r.name: r for r in hive.services()}
    messages = {d.code: d.message for r in records.values() for d in r.diagnostics}
    assert r"'C:\Users\Public\Libraries\svchost.exe'" in messages["svchost_masquerade"]
    assert r"'C:\Program Files\Acme Backup\bin\agent.exe'" in messages["image_module_guessed"]
    assert not [m for m in messages.values() if "\\\\" in m and "\\\\127.0.0.1" not in m]


def test_hidden_data_keeps_control_characters_visible(spec_hive: Callable[..., Path]) -> None:
    tail = "run\x1b[8m C:\\Temp\\x.exe"
    path = spec_hive({"Svc": {"values": {"Type": 0x10, "Start": 3, "DisplayName": {"sz": "Svc", "tail": tail}}}})
    with open_hive(path) as hive:
        (record,) = hive.services()
    (message,) = [d.message for d in record.diagnostics if d.code == "hidden_tail"]
    assert message.endswith(r"'run\x1b[8m C:\Temp\x.exe'")


def test_stock_interactive_services_of_xp_are_not_findings() -> None:
    result = _scan(shared_hive("xp-corrupted-SYSTEM"))
    assert [f.service for f in result.findings if f.rule_id == "interactive-service"] == []
    assert any(d.code == "catalog_not_applied" and "Windows XP SP3" in d.message for d in result.diagnostics)


def test_an_unknown_windows_is_said_not_guessed(spec_hive: Callable[..., Path]) -> None:
    result = _scan(spec_hive({"Dhcp": XP_SERVICES["Dhcp"]}))
    (note,) = [d for d in result.diagnostics if d.code == "windows_version_unknown"]
    assert note.level == "warning" and "windows_expected.csv" in note.message


def test_nt4_stock_service_in_system32_is_not_unknown() -> None:
    """The stock-name catalogs describe Windows 10/11 and Server 2016; NT 4's LicenseService
    (llssrv.exe in System32) is missing from them for that reason only."""
    result = _scan(shared_hive("nt4-SYSTEM"))
    assert [f.service for f in result.findings if f.rule_id == "system32-exe-unknown-autostart"] == []
    win7 = _scan(shared_hive("win7-SYSTEM"))
    (mcafee,) = [f for f in win7.findings if f.rule_id == "system32-exe-unknown-autostart"]
    assert mcafee.service == "mfevtp" and "this hive: Windows 7 SP1" in mcafee.explanation


def test_changes_between_control_sets_quote_paths_as_windows_writes_them(spec_hive: Callable[..., Path]) -> None:
    svc = {"values": {"Type": 0x10, "Start": 2, "ErrorControl": 1, "ImagePath": r"C:\Program Files\A\a.exe"}}
    changed = {"values": {**svc["values"], "ImagePath": r"C:\Users\Public\a.exe", "DependOnService": [r"X\Y"]}}
    spec = {
        "keys": {"Select": {"values": {"Current": 1, "Default": 1, "LastKnownGood": 2, "Failed": 0}}},
        "control_sets": [{"number": 1, "services": {"Svc": changed}}, {"number": 2, "services": {"Svc": svc}}],
    }
    result = _scan(spec_hive(raw=spec))
    changes = [f for f in result.findings if f.rule_id == "service-changed-between-control-sets"]
    (text,) = [f.explanation for f in changes if f.control_set == 1]
    assert r"'C:\Users\Public\a.exe'" in text and r"['X\Y']" in text
    assert "\\\\" not in text


def test_rules_lint_scans_the_hives_it_is_given() -> None:
    from typer.testing import CliRunner

    from hivescan.cli import app

    runner = CliRunner()
    ok = runner.invoke(app, ["rules", "lint", "--no-examples", "--hive", str(FIXTURES / "demo-SYSTEM")])
    assert ok.exit_code == 0 and ok.stdout.strip().endswith("0 failed, 0 warnings"), ok.output
    wrong = runner.invoke(app, ["rules", "lint", "--no-examples", "--hive", str(FIXTURES / "demo-SOFTWARE")])
    assert wrong.exit_code == 1 and "[hive] cannot scan" in wrong.stdout, wrong.output


@given(st.text(min_size=1, max_size=19))  # escaped, still under the 200-character quote limit
def test_any_value_is_quoted_as_it_is_with_controls_escaped(text: str) -> None:
    shown = render_explanation("{image_path}", Subject(_record(image_path=text)), {})
    assert shown.isprintable()
    assert shown.count("\\") == text.count("\\") + sum(1 for c in text if not c.isprintable())
