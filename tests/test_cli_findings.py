"""The findings commands end to end: scan, demo, explain, diff, rules, baseline."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

import hivescan
from hivescan.cli import app
from hivescan.detect.finding import Finding
from hivescan.errors import ExitCode
from hivescan.hive.regtypes import REG_SZ
from hivescan.render.findings import read_findings
from hivescan.testing.regf import sz
from tests.conftest import system_root

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_scan_jsonl_reads_back_and_explain_renders_without_the_engine(demo_hive: Path, tmp_path: Path) -> None:
    out = tmp_path / "f.jsonl"
    code, _, err = run("scan", str(demo_hive), "-f", "jsonl", "-o", str(out))
    assert code == 0, err
    findings = read_findings(out.read_text(encoding="utf-8").splitlines(keepends=True))
    assert findings and all(isinstance(f, Finding) for f in findings)
    assert findings[0].severity == "critical"
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert first.pop("hivescan_version") == hivescan.__version__  # the build that wrote the row
    assert Finding.from_dict(first).to_dict() == first  # lossless round trip
    code, text, _ = run("explain", str(out), "--rule", "svchost-masquerade")
    assert code == 0
    assert text.startswith("svchost-masquerade   critical")
    assert r"C:\Users\Public\Libraries\svchost.exe -k diag" in text
    assert "not matched (under not)" in text  # the negated condition is shown with its state
    assert r"ControlSet002\Services\WinDiagHost" in text


def test_scan_formats(demo_hive: Path) -> None:
    code, text, _ = run("scan", str(demo_hive), "-f", "json", "--min-severity", "high")
    assert code == 0
    rows = json.loads(text)
    assert rows and {r["severity"] for r in rows} <= {"high", "critical"}
    assert {"rule_id", "attack", "evidence", "explanation", "key_path", "hive_sha256", "match"} <= set(rows[0])
    code, text, _ = run("scan", str(demo_hive), "-f", "csv", "--min-severity", "critical")
    table = list(csv.DictReader(io.StringIO(text)))
    assert {r["service"] for r in table} == {"BTOBTO", "MsUpdateCheck", "WinDiagHost"}
    code, text, err = run("scan", str(demo_hive))
    assert code == 0 and "impacket-command-service" in text and "findings:" in err


def test_fail_on_sets_exit_code_for_scripts(demo_hive: Path) -> None:
    assert run("scan", str(demo_hive), "-f", "json", "--fail-on", "critical")[0] == ExitCode.FINDINGS
    # LastKnownGood predates the intrusion: nothing critical there (AcmeBackup's vendor weakness,
    # high, is in both sets)
    assert run("scan", str(demo_hive), "-f", "json", "-c", "1", "--fail-on", "critical")[0] == 0
    assert run("scan", str(demo_hive), "-f", "json", "-c", "1", "--fail-on", "high")[0] == ExitCode.FINDINGS
    assert run("scan", str(demo_hive), "--fail-on", "severe")[0] == ExitCode.USAGE


def test_html_report_is_self_contained_and_escapes_hive_data(write_hive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = system_root()
    svc = root.key(r"ControlSet001\Services\<script>alert(1)</script>")
    svc.set_dword("Type", 0x10).set_dword("Start", 2).set_dword("ErrorControl", 1)
    svc.set("ImagePath", REG_SZ, sz(r"C:\Users\Public\"><img src=x onerror=alert(2)>.exe"))
    report = tmp_path / "r.html"
    code, _, err = run("scan", str(write_hive(root)), "-f", "html", "-o", str(report))
    assert code == 0, err
    html = report.read_text(encoding="utf-8")
    # the report's own inline script (folding, filters) is the only one; nothing from the hive is markup
    assert html.count("<script>") == 1 and html.index("<script>") > html.index("</footer>")
    assert "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "http://" not in html and "https://" not in html and "src=" not in html.replace("src=x", "")
    assert "image-in-user-writable-folder" in html


def test_demo_command(demo_hive: Path) -> None:
    code, text, _ = run("demo", "-f", "jsonl", "--min-severity", "critical")
    assert code == 0
    services = {json.loads(line)["service"] for line in text.splitlines()}
    assert services == {"BTOBTO", "MsUpdateCheck", "WinDiagHost"}


def test_demo_reads_its_software_hive() -> None:
    # NetSvcHelper claims svchost's netsvcs group, which demo-SOFTWARE does not list it in:
    # only decidable with the SOFTWARE hive, so the finding shows demo read it
    code, text, _ = run("demo", "-f", "jsonl", "--min-severity", "medium")
    assert code == 0
    fired = {(f["service"], f["rule_id"]) for f in map(json.loads, text.splitlines())}
    assert ("NetSvcHelper", "svchost-service-not-in-group") in fired
    assert not any(rule == "svchost-service-not-in-group" for service, rule in fired if service != "NetSvcHelper")


def test_diff_control_sets_and_hives(demo_hive: Path) -> None:
    code, text, _ = run("diff", str(demo_hive), "-c", "1", "--against-control-set", "2", "-f", "json")
    assert code == 0
    changes = {c["name"]: c for c in json.loads(text)}
    assert changes["LegacyFilter"]["kind"] == "removed" and changes["PSEXESVC"]["kind"] == "added"
    dll = next(f for f in changes["wercplsupport"]["fields"] if f["field"] == "service_dll")
    assert dll["after"].startswith(r"C:\ProgramData")
    assert changes["wercplsupport"]["before"]["control_set"] == 1
    assert changes["wercplsupport"]["after"]["control_set"] == 2
    code, text, _ = run("diff", str(demo_hive), str(demo_hive), "-f", "jsonl")
    assert code == 0 and text == ""
    code, text, _ = run("diff", str(demo_hive), "-c", "1", "--against-control-set", "2", "-f", "csv")
    assert "service_dll" in text
    assert run("diff", str(demo_hive))[0] == ExitCode.USAGE


def test_baseline_build_then_scan_and_diff_against_it(demo_hive: Path, tmp_path: Path) -> None:
    golden = tmp_path / "golden.parquet"
    code, _, err = run("baseline", "build", str(demo_hive), "-c", "1", "-o", str(golden))
    assert code == 0 and golden.is_file(), err
    code, text, _ = run("scan", str(demo_hive), "-c", "current", "--baseline", str(golden), "-f", "jsonl")
    assert code == 0
    found = {(json.loads(x)["rule_id"], json.loads(x)["service"]) for x in text.splitlines()}
    assert ("service-absent-from-baseline", "PSEXESVC") in found
    assert ("service-differs-from-baseline", "wercplsupport") in found
    assert not any(s == "Schedule" for r, s in found if r.startswith("service-")), "identical to the baseline"
    code, text, _ = run("diff", str(demo_hive), str(golden), "-f", "json")
    changes = {c["name"]: c["kind"] for c in json.loads(text)}
    assert changes["PSEXESVC"] == "added" and changes["LegacyFilter"] == "removed"
    bad = tmp_path / "bad.parquet"
    bad.write_text("nope")
    assert run("scan", str(demo_hive), "--baseline", str(bad))[0] == ExitCode.USAGE


def test_rules_lint_and_list() -> None:
    code, text, _ = run("rules", "lint")
    assert code == 0, text
    assert text.rstrip().endswith("warnings") and text.splitlines()[-1].startswith("0 failed")
    code, text, _ = run("rules", "list")
    assert code == 0 and "psexec-service" in text and "service-key-subkeys-creatable" in text


def test_rules_lint_fails_on_a_broken_rule_folder(tmp_path: Path, demo_hive: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "a.yaml").write_text("id: b\n", encoding="utf-8")
    code, text, _ = run("rules", "lint", "--rules", str(tmp_path), "--no-examples")
    assert code == ExitCode.FINDINGS and "FAIL" in text
    assert run("scan", str(demo_hive), "--rules", str(tmp_path))[0] == ExitCode.USAGE


def test_explain_rejects_files_that_are_not_findings(tmp_path: Path) -> None:
    junk = tmp_path / "x.jsonl"
    junk.write_text('{"a": 1}\n', encoding="utf-8")
    code, _, err = run("explain", str(junk))
    assert code == ExitCode.USAGE and "not findings" in err
    assert run("explain", str(tmp_path / "missing.jsonl"))[0] == ExitCode.NOT_FOUND


def test_scan_analyses_deleted_services_by_default() -> None:
    """Remote-execution tools delete their services; the scan looks in the free cells too."""
    hive = str(Path(__file__).resolve().parents[1] / "fixtures" / "deleted-SYSTEM")
    code, text, _ = run("scan", hive, "-f", "jsonl", "--min-severity", "medium")
    assert code == 0
    found = {(d["service"], d["status"]) for d in map(json.loads, text.splitlines())}
    assert {("PSEXESVC", "deleted"), ("BTOBTO", "deleted")} <= found
    code, text, _ = run("scan", hive, "-f", "jsonl", "--no-deleted")
    assert code == 0 and not any(json.loads(x)["status"] == "deleted" for x in text.splitlines())
