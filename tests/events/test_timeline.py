"""``hivescan timeline``: Timesketch JSONL over key last writes, deleted keys, log replay and events."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hivescan.cli import app
from tests.events.conftest import shared_evtx, spec_hive

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _rows(*args: str) -> list[dict[str, object]]:
    result = runner.invoke(app, ["timeline", *args])
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_timeline_joins_keys_deleted_keys_and_events_in_order() -> None:
    evtx = shared_evtx("mitre-psexec-7045-7036.evtx")
    rows = _rows(str(ROOT / "fixtures" / "deleted-SYSTEM"), "--evtx", str(evtx))
    for row in rows:
        assert {"message", "datetime", "timestamp_desc", "timestamp", "source"} <= set(row)
        assert str(row["datetime"]).endswith("Z")
    assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows)  # type: ignore[type-var]
    sources = {r["source"] for r in rows}
    assert {"registry", "registry_deleted", "event_log"} <= sources
    install = next(r for r in rows if r.get("event_id") == 7045)
    assert install["service"] == "PSEXESVC" and install["evtx_sha256"] and install["record_id"] == 471480
    deleted = next(r for r in rows if r["source"] == "registry_deleted" and r["service"] == "PSEXESVC")
    assert deleted["hive_sha256"] and str(deleted["key_path"]).startswith("ControlSet00")


def test_timeline_has_parameters_rows_and_log_replay() -> None:
    rows = _rows(str(ROOT / "fixtures" / "dirty-SYSTEM"))
    assert any(r["source"] == "registry_log_replay" for r in rows)
    assert any(str(r["key_path"]).endswith("\\Parameters") for r in rows)
    without = _rows(str(ROOT / "fixtures" / "deleted-SYSTEM"), "--no-deleted")
    assert not any(r["source"] == "registry_deleted" for r in without)


def test_timeline_csv_has_the_timesketch_columns_first() -> None:
    result = runner.invoke(app, ["timeline", str(ROOT / "fixtures" / "demo-SYSTEM"), "-f", "csv"])
    assert result.exit_code == 0
    header = next(csv.reader(io.StringIO(result.stdout)))
    assert header[:4] == ["datetime", "timestamp", "timestamp_desc", "message"]


SERVICE = {"values": {"Type": 0x10, "Start": 2, "ErrorControl": 1, "ImagePath": "C:\\Windows\\System32\\svc.exe"}}


def test_timeline_has_the_changes_since_the_regback_copy(tmp_path: Path) -> None:
    config = tmp_path / "config"
    (config / "RegBack").mkdir(parents=True)
    drifted = {"values": {**SERVICE["values"], "ImagePath": "C:\\Users\\Public\\svc.exe"}}
    spec_hive(config, {"Kept": SERVICE, "Drifted": drifted, "Added": SERVICE}, last_written="2021-12-14T10:00:00Z")
    spec_hive(
        config / "RegBack",
        {"Kept": SERVICE, "Drifted": SERVICE, "Removed": SERVICE},
        last_written="2021-12-01T10:00:00Z",
    )
    rows = [r for r in _rows(str(config / "SYSTEM")) if r["source"] == "snapshot_history"]
    by_service = {(r["service"], r["change"]): r for r in rows}
    assert set(by_service) == {("Drifted", "changed"), ("Added", "appeared"), ("Removed", "disappeared")}
    drift = by_service[("Drifted", "changed")]
    assert drift["changes"] == [
        {"field": "image_path", "before": "C:\\Windows\\System32\\svc.exe", "after": "C:\\Users\\Public\\svc.exe"}
    ]
    assert str(drift["message"]).endswith("image_path: C:\\Windows\\System32\\svc.exe -> C:\\Users\\Public\\svc.exe")
    assert str(drift["previous_snapshot"]).startswith(str(config / "RegBack" / "SYSTEM"))
    assert (
        drift["snapshot_sha256"] and drift["previous_sha256"] and drift["snapshot_sha256"] != drift["previous_sha256"]
    )
    assert by_service[("Removed", "disappeared")]["timestamp_desc"] == "Snapshot Taken (service gone)"
    off = _rows(str(config / "SYSTEM"), "--no-snapshots")
    assert not any(r["source"] == "snapshot_history" for r in off)


def test_timeline_has_the_ntfs_times_of_service_binaries(tmp_path: Path) -> None:
    from hivescan.testing.disk import NtfsVolume, build_disk, missing_tools
    from hivescan.testing.pe import build_pe

    missing = missing_tools(("raw",))
    if missing:
        pytest.skip(f"disk-image tools not available: {', '.join(missing)}")
    pytest.importorskip("dfvfs", reason="disk images need the [images] extra")
    hive = spec_hive(tmp_path, {"Svc": SERVICE, "Other": SERVICE}).read_bytes()
    files = {"Windows/System32/config/SYSTEM": hive, "Windows/System32/svc.exe": build_pe()}
    disk = build_disk(tmp_path / "disk.raw", [NtfsVolume(16, files)])
    rows = [r for r in _rows(str(disk)) if r["source"] == "file_ntfs"]
    times = {r["file_time"] for r in rows}
    assert {"si_created", "si_modified", "fn_created"} <= times
    assert len(rows) == len(times)  # one row per file and time, though two services name the file
    assert all(str(r["file_path"]).upper().endswith("SVC.EXE") and r["file_sha256"] for r in rows)
