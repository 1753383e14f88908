"""The triage summary an analyst reads: the top findings across hosts, and true notes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hivescan.cli import app
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
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["hives_scanned"] == 0 and summary["problems"]
    assert summary["findings"]["note"] == NOTHING_SCANNED_NOTE
    assert NO_ENGINE_NOTE not in result.stdout and "no detection engine" not in result.stdout
    assert "every input failed" in result.stdout
