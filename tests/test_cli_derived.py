"""``hivescan boot-plan`` and ``hivescan show`` through Typer's CliRunner, checked against the library."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hivescan
from hivescan.cli import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SYSTEM = str(FIXTURES / "demo-SYSTEM")
SOFTWARE = str(FIXTURES / "demo-SOFTWARE")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_boot_plan_table(runner: CliRunner) -> None:
    result = runner.invoke(app, ["boot-plan", SYSTEM])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "starts at boot, in order" in out and "trigger-start" in out
    assert out.index("WdBoot") < out.index("Tcpip") < out.index("DoSvc")
    assert "not started at boot:" in out and "pending_delete" in out
    # no SOFTWARE: the assumed SystemRoot is an info-level note (the normal case offline), not a warning
    assert "systemroot_assumed" not in result.stderr


def test_boot_plan_json_matches_the_library(runner: CliRunner) -> None:
    result = runner.invoke(app, ["boot-plan", SYSTEM, "-f", "json", "--software", SOFTWARE, "-c", "all", "-q"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert {p.pop("hivescan_version") for p in data} == {hivescan.__version__}  # which build wrote it
    with hivescan.open_hive(SYSTEM, software=SOFTWARE) as hive:
        plans = hive.boot_plans("all")
    assert data == json.loads(json.dumps([p.to_dict() for p in plans]))
    assert [p["control_set"] for p in data] == [1, 2]
    assert result.stderr == ""


def test_boot_plan_jsonl_and_csv_rows(runner: CliRunner, tmp_path: Path) -> None:
    jsonl = runner.invoke(app, ["boot-plan", SYSTEM, "-f", "jsonl", "-q"])
    rows = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert rows[0]["name"] == "WdBoot" and rows[0]["phase"] == "boot" and rows[0]["order"] == 1
    assert rows[-1]["phase"] == "trigger"
    out = tmp_path / "plan.csv"
    result = runner.invoke(app, ["boot-plan", SYSTEM, "-f", "csv", "-o", str(out), "-q"])
    assert result.exit_code == 0 and result.stdout == ""
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["name"] for r in table] == [r["name"] for r in rows]
    assert table[0]["group_known"] == "False"


def test_boot_plan_rejects_parquet_and_bad_sets(runner: CliRunner) -> None:
    assert runner.invoke(app, ["boot-plan", SYSTEM, "-f", "parquet"]).exit_code == 2
    assert runner.invoke(app, ["boot-plan", SYSTEM, "-c", "nonsense"]).exit_code == 2
    missing = runner.invoke(app, ["boot-plan", SYSTEM, "-c", "7"])
    assert missing.exit_code == 7 and "Traceback" not in missing.stderr


def test_show_table_has_fields_values_context_and_diagnostics(runner: CliRunner) -> None:
    result = runner.invoke(app, ["show", SYSTEM, "netsvchelper", "--software", SOFTWARE])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for text in (
        "NetSvcHelper",
        "image_path_resolved",
        "values of the service key",
        "values of Parameters",
        "REG_EXPAND_SZ",
        "environment variables used",
        "C:\\ProgramData",  # %ProgramData% from SOFTWARE ProfileList
        "svchost_not_in_group",
        "SOFTWARE svchost group 'netsvcs'",
        "CoInitializeSecurityParam",
    ):
        assert text in out, text


def test_show_json_is_the_record(runner: CliRunner) -> None:
    result = runner.invoke(app, ["show", SYSTEM, "SCHEDULE", "-f", "json", "-c", "all", "-q"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert {d.pop("hivescan_version") for d in data} == {hivescan.__version__}
    with hivescan.open_hive(SYSTEM) as hive:
        expected = [r.to_dict() for r in hive.find_service("schedule", "all")]
    assert data == json.loads(json.dumps(expected))
    assert [d["control_set"] for d in data] == [1, 2]


def test_show_unknown_service_is_a_clear_error(runner: CliRunner) -> None:
    result = runner.invoke(app, ["show", SYSTEM, "Schedul"])
    assert result.exit_code == 3
    assert "no service named 'Schedul'" in result.stderr and "did you mean Schedule?" in result.stderr
    assert "Traceback" not in result.stderr


def test_software_option_checks_the_hive_kind(runner: CliRunner) -> None:
    result = runner.invoke(app, ["services", SYSTEM, "--software", SYSTEM])
    assert result.exit_code == 5 and "needs a SOFTWARE hive" in result.stderr
    result = runner.invoke(app, ["show", SYSTEM, "Schedule", "--software", str(FIXTURES / "nope")])
    assert result.exit_code == 3


def test_services_with_software(runner: CliRunner) -> None:
    result = runner.invoke(app, ["services", SYSTEM, "--software", SOFTWARE, "-f", "jsonl", "-q"])
    assert result.exit_code == 0, result.stderr
    rows = {r["name"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert rows["Schedule"]["svchost_listed"] is True
    assert rows["WinDiagHost"]["image_path_resolved"] == "C:\\Users\\Public\\Libraries\\svchost.exe"
