"""``hivescan triage``: the thin command over the library, its output folder and summary."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from hivescan.cli import app
from hivescan.errors import ExitCode
from tests.triage.conftest import write_fleet

runner = CliRunner()


def test_triage_writes_datasets_summary_and_table(tmp_path: Path) -> None:
    write_fleet(tmp_path / "in", hosts=3)
    (tmp_path / "in" / "README.txt").write_text("collected 2024-03-01")
    out = tmp_path / "out"

    result = runner.invoke(app, ["triage", str(tmp_path / "in"), "-o", str(out), "--jobs", "2", "--top", "100"])

    assert result.exit_code == 0, result.output
    assert "3 inputs (ok 3)" in result.stdout and "3 hosts" in result.stdout
    assert "UpdaterSvc" in result.stdout and "C:\\Users\\Public\\upd.exe" in result.stdout
    assert "1 file(s) met in the folders were not scanned" in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["hosts"] == 3 and summary["findings"]["available"] is True
    findings = pd.read_parquet(out / "findings")
    planted = findings[findings["service"] == "UpdaterSvc"]
    assert {"image-in-user-writable-folder"} <= set(planted["rule_id"]) and set(planted["severity"]) & {"high"}
    assert json.loads(planted.iloc[0]["finding_json"])["rule_id"] in set(planted["rule_id"])
    assert summary["stacking"]["services"][0]["hosts"] == 1
    assert len(pd.read_parquet(out / "services")) == summary["records"]

    again = runner.invoke(app, ["triage", str(tmp_path / "in"), "-o", str(out), "-f", "json", "-j", "1"])
    assert again.exit_code == 0
    assert "3 hive(s) already in" in again.stderr
    assert json.loads(again.stdout)["inputs"] == 3 and len(pd.read_parquet(out / "hives")) == 3


def test_no_hives_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["triage", str(tmp_path / "empty"), "-o", str(tmp_path / "out")])
    assert result.exit_code == ExitCode.NOT_FOUND and "no registry hive found" in result.stderr


def test_help_names_the_datasets() -> None:
    result = runner.invoke(app, ["triage", "--help"])
    text = " ".join(result.stdout.split())
    assert result.exit_code == 0
    assert "OUTDIR/findings/" in text and "disk images" in text


def test_output_must_be_a_folder(tmp_path: Path) -> None:
    write_fleet(tmp_path / "in", hosts=1)
    (tmp_path / "file").write_text("x")
    result = runner.invoke(app, ["triage", str(tmp_path / "in"), "-o", str(tmp_path / "file")])
    assert result.exit_code == ExitCode.OUTPUT and "is not a folder" in result.output


def test_every_file_not_scanned_is_on_stderr_and_in_the_summary(tmp_path: Path) -> None:
    """Issue 11 defect 8: only three were named ("... 5 more") and summary.json had none."""
    import os

    from tests.triage.conftest import write_host

    folder = tmp_path / "in"
    hive = write_host(folder / "A" / "SYSTEM", "HOST-A")
    (folder / "empty.bin").write_bytes(b"")
    (folder / "notes.txt").write_text("x")
    os.mkfifo(folder / "pipe")
    (folder / "loop").symlink_to("loop")
    (folder / "up").symlink_to(folder)
    (folder / "B").mkdir()
    lone_log = bytearray(hive.read_bytes()[:4096])
    lone_log[28:32] = (6).to_bytes(4, "little")  # file type 6: a new-format transaction log
    (folder / "B" / "SYSTEM.LOG1").write_bytes(bytes(lone_log))
    out = tmp_path / "out"
    result = runner.invoke(app, ["triage", str(folder), "-o", str(out), "-j", "1"])
    assert result.exit_code == 0, result.output
    lines = [line.split("not scanned: ", 1)[1] for line in result.stderr.splitlines() if "not scanned: " in line]
    listed = {Path(line.split(": ")[0]).name for line in lines}
    expected = {"empty.bin", "notes.txt", "pipe", "loop", "up", "SYSTEM.LOG1"}
    assert listed == expected and "more" not in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert {Path(i["path"]).name for i in summary["not_scanned"]} == expected


def _bad_inputs(folder: Path) -> list[Path]:
    """Two inputs given by name that cannot be scanned: a truncated hive and a text file."""
    from tests.triage.conftest import write_host

    hive = write_host(folder / "A" / "SYSTEM", "HOST-A")
    truncated = folder / "cut" / "SYSTEM"
    truncated.parent.mkdir(parents=True)
    truncated.write_bytes(hive.read_bytes()[:4096])  # the base block only: no root key
    text = folder / "notes.txt"
    text.write_text("not a hive")
    return [truncated, text]


def test_every_input_failing_is_an_error_exit(tmp_path: Path) -> None:
    """Issue 13 defect (a): a run where no input could be scanned exited 0, like a clean one."""
    bad = _bad_inputs(tmp_path / "in")
    out = tmp_path / "out"
    result = runner.invoke(app, ["triage", *map(str, bad), "-o", str(out), "-j", "1", "-f", "json"])
    assert result.exit_code == ExitCode.NOT_FOUND, result.output
    errors = [line for line in result.stderr.splitlines() if "could be scanned" in line]
    assert errors == [
        f"hivescan: error: none of the 2 input(s) could be scanned (error 2) (see 'problems' in {out / 'summary.json'})"
    ]
    summary = json.loads(result.stdout)  # the summary is still written and printed: the problems are evidence
    assert summary["status"] == {"error": 2} and len(summary["problems"]) == 2
    assert json.loads((out / "summary.json").read_text())["status"] == {"error": 2}


def test_one_input_scanned_among_failures_exits_0(tmp_path: Path) -> None:
    bad = _bad_inputs(tmp_path / "in")
    good = tmp_path / "in" / "A" / "SYSTEM"
    result = runner.invoke(app, ["triage", str(good), *map(str, bad), "-o", str(tmp_path / "out"), "-j", "1"])
    assert result.exit_code == 0, result.output
    assert "could be scanned" not in result.stderr


def test_a_rerun_with_everything_done_exits_0(tmp_path: Path) -> None:
    """Resuming: inputs already done are not failures, even when nothing new is scanned."""
    write_fleet(tmp_path / "in", hosts=1)
    out = tmp_path / "out"
    assert runner.invoke(app, ["triage", str(tmp_path / "in"), "-o", str(out), "-j", "1"]).exit_code == 0
    again = runner.invoke(app, ["triage", str(tmp_path / "in"), "-o", str(out), "-j", "1"])
    assert again.exit_code == 0, again.output
