"""What the analyst reads about binaries says it in analyst words: no internal field names in
signature reasons, no Python literals (True/False) in finding explanations."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from hivescan.cli import app
from hivescan.files.facts import FileAnalyser
from hivescan.files.source import FolderSource
from hivescan.testing.pe import TestCA, build_pe
from hivescan.testing.spec import build_from_spec

runner = CliRunner()
IDENTIFIER = re.compile(r"\b[a-z]+_[a-z_]+\b")  # snake_case: a field name, not a word


def _put(volume: Path, relative: str, data: bytes) -> None:
    path = volume.joinpath(*relative.split("\\"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _hive(services: dict[str, Any]) -> bytes:
    spec = {
        "keys": {"Select": {"values": {"Current": 1, "Default": 1, "LastKnownGood": 1, "Failed": 0}}},
        "control_sets": [{"number": 1, "services": services}],
    }
    return build_from_spec(spec).data


def test_untimestamped_signature_reason_in_analyst_words(tmp_path: Path, test_ca: TestCA) -> None:
    unsigned = tmp_path / "u.exe"
    unsigned.write_bytes(build_pe())
    signed = test_ca.sign(unsigned, tmp_path / "s.exe")  # no countersignature: no trusted timestamp
    _put(tmp_path / "vol", "Program Files\\Acme\\agent.exe", signed.read_bytes())
    facts = FileAnalyser(FolderSource(tmp_path / "vol")).facts("C:\\Program Files\\Acme\\agent.exe")
    assert facts is not None
    reasons = facts["signature"]["reasons"]
    assert any("checked as of the time of this analysis" in r for r in reasons), reasons
    assert not [r for r in reasons if IDENTIFIER.search(r)], reasons
    assert facts["signature"]["chain_checked_at"]  # the time itself is still a fact of its own


def test_missing_binary_explanation_says_no_not_false(tmp_path: Path) -> None:
    volume = tmp_path / "kape" / "C"
    svc = {"Type": 0x10, "Start": 2, "ErrorControl": 1, "ImagePath": "C:\\Windows\\System32\\gone.exe"}
    _put(volume, "Windows\\System32\\config\\SYSTEM", _hive({"GoneSvc": {"values": svc}}))
    _put(volume, "Windows\\System32\\ntoskrnl.exe", build_pe(subsystem=1))  # binaries were collected
    result = runner.invoke(app, ["scan", str(tmp_path / "kape"), "-f", "jsonl"])
    assert result.exit_code == 0, result.output
    (missing,) = [
        f for f in map(json.loads, result.stdout.splitlines()) if f and f["rule_id"] == "service-binary-missing"
    ]
    assert "(exists: no)" in missing["explanation"], missing["explanation"]
    assert not re.search(r"\b(True|False)\b", missing["explanation"] + missing.get("evidence_text", ""))
