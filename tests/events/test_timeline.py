"""``hivescan timeline``: Timesketch JSONL over key last writes, deleted keys, log replay and events."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from hivescan.cli import app
from tests.events.conftest import shared_evtx

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
