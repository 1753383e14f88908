"""``hivescan diff`` as an analyst reads it: removed rows, swapped arguments, no differences."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hivescan.cli import app
from hivescan.errors import ExitCode
from hivescan.testing.regf import HiveWriter, WKey
from tests.conftest import FIXTURES

DEMO = FIXTURES / "demo-SYSTEM"
runner = CliRunner()


def _hive(path: Path, services: dict[str, str]) -> Path:
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1)
    for name, image in services.items():
        svc = root.key(f"ControlSet001\\Services\\{name}")
        svc.set_dword("Type", 16).set_dword("Start", 2).set_dword("ErrorControl", 1)
        svc.set_expand_sz("ImagePath", image)
    path.write_bytes(HiveWriter(root).build().data)  # type: ignore[arg-type]
    return path


def test_removed_service_shows_its_image_path_before_and_added_after(tmp_path: Path) -> None:
    a = _hive(tmp_path / "A", {"Gone": "C:\\Old\\gone.exe", "Kept": "C:\\k.exe"})
    b = _hive(tmp_path / "B", {"Kept": "C:\\k.exe", "Fresh": "C:\\New\\fresh.exe"})
    result = runner.invoke(app, ["diff", str(a), str(b), "-q"], terminal_width=250)
    assert result.exit_code == 0, result.stderr
    rows = {
        cells[1]: cells
        for line in result.stdout.splitlines()
        if len(cells := [c.strip() for c in line.replace("│", "|").split("|")[1:-1]]) == 5
    }
    assert rows["Gone"] == ["removed", "Gone", "image_path", "C:\\Old\\gone.exe", ""]
    assert rows["Fresh"] == ["added", "Fresh", "image_path", "", "C:\\New\\fresh.exe"]


def test_no_differences_is_one_clear_line(tmp_path: Path) -> None:
    a = _hive(tmp_path / "A", {"Kept": "C:\\k.exe"})
    result = runner.invoke(app, ["diff", str(a), str(a), "-q"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"no differences: {a} -> {a}\n"
    as_json = runner.invoke(app, ["diff", str(a), str(a), "-q", "-f", "json"])
    assert as_json.exit_code == 0 and json.loads(as_json.stdout) == []


def test_baseline_given_first_is_refused_with_the_swap_to_make(tmp_path: Path) -> None:
    hive = _hive(tmp_path / "SYSTEM", {"Kept": "C:\\k.exe"})
    baseline = tmp_path / "golden.bin"  # not named .parquet: recognised by its magic
    built = runner.invoke(app, ["baseline", "build", str(hive), "-o", str(baseline), "-q"])
    assert built.exit_code == 0, built.stderr
    result = runner.invoke(app, ["diff", str(baseline), str(hive)])
    assert result.exit_code == ExitCode.USAGE
    assert result.stdout == ""
    assert result.stderr == (
        f"hivescan: error: {baseline}: a baseline (Parquet), not a hive: a baseline goes second as B "
        f"(hivescan diff {hive} {baseline})\n"
    )
    swapped = runner.invoke(app, ["diff", str(hive), str(baseline), "-q"])
    assert swapped.exit_code == 0 and swapped.stdout.startswith("no differences: baseline ")
