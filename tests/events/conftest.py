"""Event-log test helpers: the real logs of ../shared/evtx (skipped when absent) and hives
built from specs whose services match, drift from or lack those logs' services."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from hivescan.testing.spec import build_from_spec

ROOT = Path(__file__).resolve().parents[2]
SHARED_EVTX = Path(os.environ.get("HIVESCAN_SHARED", ROOT.parent / "shared")) / "evtx"


def shared_evtx(name: str) -> Path:
    """A real event log from ../shared/evtx, or skip the test saying why."""
    path = SHARED_EVTX / name
    if not path.is_file():
        pytest.skip(f"real event log {name} not available ({SHARED_EVTX} missing; see ../shared/evtx/SOURCES.md)")
    return path


def private_copy(name: str, tmp_path: Path, data: bytes | None = None) -> Path:
    """A copy of a real log (or of ``data`` made from it) in tmp: evidence is never edited in place."""
    out = tmp_path / name
    out.write_bytes(shared_evtx(name).read_bytes() if data is None else data)
    return out


def spec_hive(
    tmp_path: Path,
    services: Mapping[str, Any],
    *,
    computer: str = "JUMP01",
    name: str = "SYSTEM",
    last_written: str = "2021-12-14T10:00:00Z",
) -> Path:
    """A SYSTEM hive with ControlSet001 holding ``services`` (spec form) and a ComputerName."""
    spec = {
        "hive": {"file_name": "SYSTEM", "last_written": last_written},
        "default_last_write": "2021-04-21T09:27:56Z",
        "keys": {"Select": {"values": {"Current": 1, "Default": 1, "LastKnownGood": 1, "Failed": 0}}},
        "control_sets": [
            {
                "number": 1,
                "keys": {"Control\\ComputerName\\ComputerName": {"values": {"ComputerName": computer}}},
                "services": dict(services),
            }
        ],
    }
    path = tmp_path / name
    path.write_bytes(build_from_spec(spec).data)
    return path
