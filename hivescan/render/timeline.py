"""One timeline of what happened to services, in Timesketch's JSONL format (and CSV).

Rows come from finished records and event rows only: the last write of each service key
and of its Parameters subkey, per control set; the last write of deleted keys recovered
from free cells; keys the transaction-log replay changed; and every service event of the
logs. Each row names its ``source`` and carries its provenance (hive and sha256, control
set and key path; or log, sha256 and record number), so a row can be checked against the
evidence.

Timesketch needs ``message``, ``datetime`` (ISO 8601) and ``timestamp_desc``; ``timestamp``
(microseconds since 1970) is added so that it does not parse the text again.

References: Timesketch documentation, "Import from JSON or CSV"; issue 15 ("Timeline").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hivescan.events.join import parse_time
from hivescan.events.logs import EventLog
from hivescan.render.formats import text_output, write_csv, write_jsonl
from hivescan.scm.record import ServiceRecord
from hivescan.timeutil import filetime_to_datetime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _stamp(when: datetime) -> tuple[str, int]:
    micros = (when - _EPOCH) // timedelta(microseconds=1)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), micros


def _record_rows(record: ServiceRecord) -> Iterable[dict[str, Any]]:
    where = f"ControlSet{record.control_set:03d}" if record.control_set is not None else "no control set"
    common = {
        "service": record.name,
        "status": record.status,
        "control_set": record.control_set,
        "key_path": record.key_path,
        "image_path": record.image_path,
        "hive_path": record.origin.hive_path,
        "hive_sha256": record.origin.hive_sha256,
    }
    if record.status == "event_only":
        return  # its events are rows of their own
    written = record.origin.last_write_datetime
    if written is not None:
        if record.status in ("deleted", "orphaned"):
            source, desc = f"registry_{record.status}", f"{record.status.capitalize()} Key Last Written"
            message = f"{record.status} service key {record.name} ({where}) last written; ImagePath {record.image_path}"
        elif record.origin.from_log:
            source, desc = "registry_log_replay", "Key Last Written (transaction log)"
            changes = ", ".join(record.log_replay_changes) or "changed"
            message = f"service key {record.name} ({where}) written per the transaction logs: {changes}"
        else:
            source, desc = "registry", "Key Last Written"
            message = f"service key {record.name} ({where}) last written; ImagePath {record.image_path}"
        text, micros = _stamp(written)
        yield {
            "datetime": text,
            "timestamp": micros,
            "timestamp_desc": desc,
            "message": message,
            "source": source,
            **common,
        }
    for subkey, filetime in record.subkey_last_writes.items():
        if subkey.upper() != "PARAMETERS":
            continue
        when = filetime_to_datetime(filetime)
        if when is None:
            continue
        text, micros = _stamp(when)
        yield {
            "datetime": text,
            "timestamp": micros,
            "timestamp_desc": "Key Last Written",
            "message": f"{record.name}\\{subkey} ({where}) last written; ServiceDll {record.service_dll}",
            "source": "registry" if record.status not in ("deleted", "orphaned") else f"registry_{record.status}",
            **common,
            "key_path": f"{record.key_path}\\{subkey}",
        }


def _event_rows(logs: Sequence[EventLog]) -> Iterable[dict[str, Any]]:
    for log in logs:
        for event in log.events:
            when = parse_time(event.time)
            if when is None:
                continue
            text, micros = _stamp(when)
            name = event.service_name or event.display_name or ""
            detail = event.image_path or event.state or event.registry_key or ""
            by = f" by {event.subject_user}" if event.subject_user else ""
            yield {
                "datetime": text,
                "timestamp": micros,
                "timestamp_desc": "Event Recorded",
                "message": " ".join(
                    part for part in (event.channel, str(event.event_id), event.kind, name, detail, by.strip()) if part
                ),
                "source": "event_log",
                "service": name or None,
                "event_id": event.event_id,
                "record_id": event.record_id,
                "computer": event.computer,
                "image_path": event.image_path,
                "account": event.account,
                "subject_user": event.subject_user,
                "evtx_path": event.evtx_path,
                "evtx_sha256": event.evtx_sha256,
            }


def timeline_rows(records: Sequence[ServiceRecord], logs: Sequence[EventLog] = ()) -> list[dict[str, Any]]:
    """Every timed fact of ``records`` and ``logs``, oldest first."""
    rows = [row for record in records for row in _record_rows(record)]
    rows.extend(_event_rows(logs))
    rows.sort(key=lambda r: (r["timestamp"], r["source"], r.get("service") or ""))
    return rows


def write_timeline(rows: Sequence[dict[str, Any]], fmt: str, output: Path | None) -> None:
    """``jsonl`` (Timesketch) or ``csv`` (the same columns, ``datetime`` first)."""
    with text_output(output) as out:
        if fmt == "jsonl":
            write_jsonl(rows, out)
        else:
            write_csv(rows, out)
