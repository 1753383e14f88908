"""The triage summary an analyst reads: the top findings across hosts, and true notes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hivescan.cli import app
from hivescan.errors import ExitCode
from hivescan.triage.summary import NO_ENGINE_NOTE, NOTHING_SCANNED_NOTE
from tests.triage.conftest import write_fleet

runner = CliRunner()


def test_summary_lists_top_findings_most_severe_then_rarest(tmp_path: Path) -> None:
    write_fleet(tmp_path / "in", hosts=3)
    out = tmp_path / "out"
    result = runner.invoke(app, ["triage", str(tmp_path / "in"), "-o", str(out), "-j", "1", "-q"], terminal_width=200)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    top = summary["findings"]["top"]
    assert top, summary["findings"]
    order = ["critical", "high", "medium", "low", "info"]
    keys = [(order.index(r["severity"]), r["hosts"]) for r in top]
    assert keys == sorted(keys)  # most severe first, then the rarest
    planted = [r for r in top if r["service"] == "UpdaterSvc" and r["rule_id"] == "image-in-user-writable-folder"]
    assert len(planted) == 1 and planted[0]["hosts"] == 1 and len(planted[0]["host_names"]) == 1
    assert sum(r["findings"] for r in top) <= summary["findings"]["total"]
    assert "Top findings across hosts" in result.stdout
    assert "image-in-user-writable-folder" in result.stdout
    assert summary["hivescan_version"]


def test_every_input_failing_says_so_not_that_no_engine_is_connected(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "SYSTEM").write_bytes(b"regf" + b"\0" * 8188)  # a signature and nothing readable
    out = tmp_path / "out"
    result = runner.invoke(app, ["triage", str(folder), "-o", str(out), "-j", "1", "-q"], terminal_width=200)
    assert result.exit_code == ExitCode.NOT_FOUND, result.output  # issue 13 (a): not 0, the summary still written
    assert "none of the 1 input(s) could be scanned (error 1)" in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["hives_scanned"] == 0 and summary["problems"]
    assert summary["findings"]["note"] == NOTHING_SCANNED_NOTE
    assert NO_ENGINE_NOTE not in result.stdout and "no detection engine" not in result.stdout
    assert "every input failed" in result.stdout


def test_top_findings_table_shows_hostile_names_as_text(tmp_path: Path) -> None:
    from hivescan.testing.regf import HiveWriter, WKey

    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1)
    root.key("ControlSet001\\Control\\ComputerName\\ComputerName").set_sz("ComputerName", "[red]HOST[/red]")
    svc = root.key("ControlSet001\\Services\\[bold]Evil\x1b[31m")
    svc.set_dword("Type", 16).set_dword("Start", 2).set_dword("ErrorControl", 1)
    svc.set_expand_sz("ImagePath", "C:\\Users\\Public\\evil.exe")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "SYSTEM").write_bytes(HiveWriter(root).build().data)  # type: ignore[arg-type]
    out = tmp_path / "out"
    result = runner.invoke(app, ["triage", str(folder), "-o", str(out), "-j", "1", "-q"], terminal_width=250)
    assert result.exit_code == 0, result.output
    top = json.loads((out / "summary.json").read_text())["findings"]["top"]
    assert top and top[0]["service"] == "[bold]Evil\x1b[31m"
    start = result.stdout.index("Top findings")
    table = result.stdout[start : result.stdout.index("by hosts (rarest first)", start)]  # this table only
    assert "[bold]Evil\\x1b[31m" in table and "\x1b" not in table
    assert "[red]HOST[/red]" in table
