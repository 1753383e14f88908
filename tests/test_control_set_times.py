"""``info`` tells a control set key last written 0 (kept as 0, shown "not set (0)") from a
missing key (None)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hivescan.cli import app
from hivescan.testing.regf import HiveWriter
from tests.conftest import system_root


def test_info_keeps_a_zero_control_set_time_as_zero_not_as_no_key(tmp_path: Path) -> None:
    root = system_root(sets=(1, 2))
    root.key("ControlSet001").last_write = 0  # never stamped (or wiped): the key is there
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(HiveWriter(root).build().data)
    runner = CliRunner()
    shown = runner.invoke(app, ["info", str(hive), "-f", "json"], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.stderr
    sets = {cs["name"]: cs for cs in json.loads(shown.stdout)["control_sets"]}
    assert sets["ControlSet001"]["last_write_filetime"] == 0 and sets["ControlSet001"]["last_write"] is None
    assert sets["ControlSet002"]["last_write_filetime"] > 0
    table = runner.invoke(app, ["info", str(hive)], env={"COLUMNS": "250"}).stdout
    row = next(line for line in table.splitlines() if "ControlSet001" in line and "current" in line)
    assert "not set (0)" in row and "1601" not in table
