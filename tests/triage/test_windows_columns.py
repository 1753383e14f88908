"""Triage outputs name the Windows each host runs (detected from its hive) and the hivescan
version that wrote them: ``hives`` rows, ``summary.json`` and the summary table."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

import hivescan
from hivescan.cli import app
from hivescan.testing.regf import HiveWriter, WKey
from tests.conftest import FIXTURES

runner = CliRunner()


def _server_2019(host: str) -> bytes:
    """A hive whose build lab string says 17763 (exact: high), on a server product type."""
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1)
    root.key("ControlSet001\\Control\\ComputerName\\ComputerName").set_sz("ComputerName", host)
    root.key("ControlSet001\\Control\\ProductOptions").set_sz("ProductType", "ServerNT")
    root.key("ControlSet001\\Control\\Windows").set_sz(
        "ShutdownStopTimePerfCounterBuildLab", "17763.rs5_release.180914-1434"
    )
    svc = root.key("ControlSet001\\Services\\Planted")
    svc.set_dword("Type", 16).set_dword("Start", 2).set_dword("ErrorControl", 1)
    svc.set_expand_sz("ImagePath", "C:\\Windows\\planted.exe")
    return HiveWriter(root).build().data  # type: ignore[no-any-return]


def test_hives_rows_summary_and_table_carry_the_windows_version(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    for name in ("srv1", "srv2", "demo", "broken"):
        (folder / name).mkdir(parents=True)
    (folder / "srv1" / "SYSTEM").write_bytes(_server_2019("SRV-1"))
    (folder / "srv2" / "SYSTEM").write_bytes(_server_2019("[red]SRV-2[/red]"))
    shutil.copy(FIXTURES / "demo-SYSTEM", folder / "demo" / "SYSTEM")
    (folder / "broken" / "SYSTEM").write_bytes(b"regf" + b"\0" * 8188)
    out = tmp_path / "out"
    result = runner.invoke(app, ["triage", str(folder), "-o", str(out), "-j", "1", "-q"], terminal_width=200)
    assert result.exit_code == 0, result.output

    hives = pd.read_parquet(out / "hives").set_index("host", drop=False)
    server = "Windows Server 2019 (NT 10.0, build 17763)"
    for host in ("SRV-1", "[red]SRV-2[/red]"):
        row = hives.loc[host]
        assert row["windows_version"] == server, row["windows_version"]
        assert row["windows_build"] == 17763 and row["windows_confidence"] == "high"
        assert row["hivescan_version"] == hivescan.__version__
    demo = hives.loc["WS-DEMO-01"]  # SYSTEM alone, no build value: the generation from services, medium
    assert demo["windows_version"].startswith("Windows 10") and demo["windows_confidence"] == "medium"
    assert pd.isna(demo["windows_build"])
    broken = hives[hives["status"] == "error"].iloc[0]  # never read: nothing detected, nothing defaulted
    assert pd.isna(broken["windows_version"]) and pd.isna(broken["windows_build"])
    assert pd.isna(broken["windows_confidence"])

    summary = json.loads((out / "summary.json").read_text())
    assert summary["hivescan_version"] == hivescan.__version__
    first = summary["windows"][0]  # most hosts first
    assert first == {
        "windows_version": server,
        "windows_build": 17763,
        "windows_confidence": "high",
        "hosts": 2,
        "host_names": ["SRV-1", "[red]SRV-2[/red]"],
    }
    assert sum(r["hosts"] for r in summary["windows"]) == summary["hosts"] == 3

    assert "Windows versions detected (2 distinct)" in result.stdout
    assert server in result.stdout and "17763" in result.stdout
    assert "[red]SRV-2[/red]" in result.stdout  # a host name from the evidence, shown as text
    assert f"hivescan {hivescan.__version__}" in result.stdout
