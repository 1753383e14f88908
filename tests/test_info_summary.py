"""``hivescan info`` names the host and its Windows, and says "not set" for a zero timestamp
instead of printing 1601-01-01 as if it were a date."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hivescan.cli import app
from hivescan.testing.regf import HiveWriter
from tests.conftest import FIXTURES, shared_hive, system_root

runner = CliRunner()


def _info(*args: str) -> str:
    result = runner.invoke(app, ["info", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_zero_timestamp_is_not_set(tmp_path: Path) -> None:
    root = system_root()
    root.key("ControlSet001\\Control\\ComputerName\\ComputerName").set_sz("ComputerName", "WS-[b]01")
    path = tmp_path / "SYSTEM"
    path.write_bytes(HiveWriter(root, last_written=0).build().data)
    data = json.loads(_info(str(path), "-f", "json"))
    assert data["last_written"] is None and data["last_written_filetime"] == 0
    table = _info(str(path))
    assert "not set" in table and "1601" not in table
    assert "WS-[b]01" in table  # evidence text, not console markup


def test_dirty_windows_10_names_its_host_and_build() -> None:
    data = json.loads(_info(str(shared_hive("win10-dirty-SYSTEM")), "-f", "json"))
    assert data["computer_name"] == "DESKTOP-PM6C56D"
    assert data["windows"]["build"] == 16299 and data["windows"]["release"] == "1709"
    assert data["windows"]["confidence"] == "high"
    assert data["last_written"] is None  # the base block of this dirty hive holds a zero FILETIME
    table = _info(str(shared_hive("win10-dirty-SYSTEM")))
    assert "DESKTOP-PM6C56D" in table and "Windows 10 1709" in table and "1601" not in table


def test_software_hive_gives_the_edition() -> None:
    data = json.loads(_info(str(FIXTURES / "demo-SYSTEM"), "--software", str(FIXTURES / "demo-SOFTWARE"), "-f", "json"))
    assert data["computer_name"] == "WS-DEMO-01"
    assert data["windows"]["label"] == "Windows 10 Pro 22H2 (NT 10.0, build 19045)"
    assert data["windows"]["source"] == "system+software"
