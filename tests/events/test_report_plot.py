"""The case file's timeline plot: an inline SVG strip (no network) with a lane per kind of
evidence, every label from the evidence escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from typer.testing import CliRunner

from hivescan.cli import app
from tests.events.conftest import shared_evtx, spec_hive

runner = CliRunner()
HOSTILE = "Evil<img src=x onerror=alert(1)>\x1b[2J"
SVG = ""  # inline SVG in HTML: no namespace (the page holds no URL)


def _report(tmp_path: Path) -> str:
    volume = tmp_path / "kape" / "C"
    config = volume / "Windows" / "System32" / "config"
    logs = volume / "Windows" / "System32" / "winevt" / "Logs"
    config.mkdir(parents=True)
    logs.mkdir(parents=True)
    service = {"values": {"Type": 0x10, "Start": 2, "ErrorControl": 1, "ImagePath": "C:\\Users\\Public\\x.exe"}}
    spec_hive(config, {HOSTILE: service}, computer="JUMP01")
    (logs / "System.evtx").write_bytes(shared_evtx("mitre-psexec-7045-7036.evtx").read_bytes())
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["scan", str(tmp_path / "kape"), "-f", "html", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_plot_is_inline_svg_with_registry_and_event_lanes_escaped(tmp_path: Path) -> None:
    page = _report(tmp_path)
    match = re.search(r"<svg class=\"timeline-plot\".*?</svg>", page, re.S)
    assert match is not None
    svg = ET.fromstring(match.group(0))  # well-formed: hostile names cannot break out
    titles = [t.text or "" for t in svg.iter(f"{SVG}title")]
    assert any("PSEXESVC: event 7045" in t for t in titles)
    hostile = [t for t in titles if t.count("Evil<img src=x onerror=alert(1)>")]
    assert hostile and all("\\x1b[2J" in t and "\x1b" not in t for t in hostile)
    assert "<img src=x" not in page and "http://" not in page and "https://" not in page
    lanes = {t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "lane"}
    assert lanes == {"registry", "event log", "file"}
    install = [c for c in svg.iter(f"{SVG}circle") if "install" in (c.get("class") or "")]
    assert install
