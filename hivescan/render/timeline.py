"""One timeline of what happened to services, in Timesketch's JSONL format (and CSV).

Rows come from finished records, event rows and snapshots only: the last write of each
service key and of its Parameters subkey, per control set; the last write of deleted keys
recovered from free cells; keys the transaction-log replay changed; every service event of
the logs; the changes between the hive and its RegBack and shadow-copy snapshots
(:mod:`hivescan.render.timeline_snapshots`); and the NTFS times of the service binaries.
Each row names its ``source`` and carries its provenance (hive and sha256, control set and
key path; log, sha256 and record number; snapshots and their sha256; file path and sha256),
so a row can be checked against the evidence.

Timesketch needs ``message``, ``datetime`` (ISO 8601) and ``timestamp_desc``; ``timestamp``
(microseconds since 1970) is added so that it does not parse the text again. ``time_flag``
is ``implausible`` for a time before 1990 or from 2100 on (kept, and said in the message);
a fact whose time is 0 or no date is not a row but a ``timeline_no_time`` warning
(:mod:`hivescan.render.timeline_time` says why).

References: Timesketch documentation, "Import from JSON or CSV"; issue 15 ("Timeline").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hivescan.diagnostics import Diagnostic
from hivescan.events.join import parse_time
from hivescan.events.logs import EventLog
from hivescan.render.formats import text_output, write_csv, write_jsonl
from hivescan.render.timeline_snapshots import snapshot_rows
from hivescan.render.timeline_time import place_datetime, place_filetime, row_head
from hivescan.scm.record import ServiceRecord

if TYPE_CHECKING:
    from hivescan.snapshots import History


def _record_rows(record: ServiceRecord, gaps: list[Diagnostic]) -> Iterable[dict[str, Any]]:
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
    key_place = place_filetime(
        record.origin.last_write_filetime, f"{record.name} ({where}) key {record.key_path} last write", gaps
    )
    if key_place is not None:
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
        yield {**row_head(key_place, desc, message), "source": source, **common}
    for subkey, filetime in record.subkey_last_writes.items():
        if subkey.upper() != "PARAMETERS":
            continue
        placed = place_filetime(filetime, f"{record.name} ({where}) key {record.key_path}\\{subkey} last write", gaps)
        if placed is None:
            continue
        message = f"{record.name}\\{subkey} ({where}) last written; ServiceDll {record.service_dll}"
        yield {
            **row_head(placed, "Key Last Written", message),
            "source": "registry" if record.status not in ("deleted", "orphaned") else f"registry_{record.status}",
            **common,
            "key_path": f"{record.key_path}\\{subkey}",
        }


def _event_rows(logs: Sequence[EventLog], gaps: list[Diagnostic]) -> Iterable[dict[str, Any]]:
    for log in logs:
        for event in log.events:
            what = f"event {event.event_id} record {event.record_id} of {event.evtx_path}"
            placed = place_datetime(parse_time(event.time), event.time, what, gaps)
            if placed is None:
                continue
            name = event.service_name or event.display_name or ""
            detail = event.image_path or event.state or event.registry_key or ""
            by = f" by {event.subject_user}" if event.subject_user else ""
            message = " ".join(
                part for part in (event.channel, str(event.event_id), event.kind, name, detail, by.strip()) if part
            )
            yield {
                **row_head(placed, "Event Recorded", message),
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


_FILE_TIMES = {
    "si_created": "$SI Created",
    "si_modified": "$SI Modified",
    "si_changed": "$SI Entry Modified",
    "si_accessed": "$SI Accessed",
    "fn_created": "$FN Created",
    "fn_modified": "$FN Modified",
    "fn_changed": "$FN Entry Modified",
    "fn_accessed": "$FN Accessed",
}


def _file_rows(records: Sequence[ServiceRecord], gaps: list[Diagnostic]) -> Iterable[dict[str, Any]]:
    """The NTFS times of each service binary (``image_file``, ``service_dll_file``; disk
    images only), once per file and time however many records name the file."""
    seen: set[tuple[str, str]] = set()
    for record in records:
        for role, facts in (("image", record.image_file), ("service_dll", record.service_dll_file)):
            if not facts or not isinstance(facts.get("timestamps"), dict):
                continue
            path = str(facts.get("path") or "")
            for key, value in facts["timestamps"].items():
                if not isinstance(value, str) or (path.upper(), key) in seen:
                    continue  # None: the file has no such time (no $FILE_NAME attribute read)
                seen.add((path.upper(), key))
                desc = _FILE_TIMES.get(key, key)
                placed = place_datetime(parse_time(value), value, f"{desc} of {path}", gaps)
                if placed is None:
                    continue
                yield {
                    **row_head(placed, desc, f"{desc}: {path} ({role} of service {record.name})"),
                    "source": "file_ntfs",
                    "service": record.name,
                    "file_path": path,
                    "file_role": role,
                    "file_time": key,
                    "file_sha256": facts.get("sha256"),
                    "image_path": record.image_path,
                    "hive_path": record.origin.hive_path,
                }


def build_timeline(
    records: Sequence[ServiceRecord], logs: Sequence[EventLog] = (), history: History | None = None
) -> tuple[list[dict[str, Any]], list[Diagnostic]]:
    """Every timed fact of ``records``, ``logs`` and the snapshot ``history``, oldest first,
    and a ``timeline_no_time`` warning for each fact whose time is 0 or no date."""
    gaps: list[Diagnostic] = []
    rows = [row for record in records for row in _record_rows(record, gaps)]
    rows.extend(_event_rows(logs, gaps))
    rows.extend(_file_rows(records, gaps))
    if history is not None:
        rows.extend(snapshot_rows(history, gaps))
    rows.sort(key=lambda r: (r["timestamp"], r["source"], r.get("service") or ""))
    return rows, gaps


def timeline_rows(
    records: Sequence[ServiceRecord], logs: Sequence[EventLog] = (), history: History | None = None
) -> list[dict[str, Any]]:
    """The rows of :func:`build_timeline` (its warnings are the caller's to show)."""
    return build_timeline(records, logs, history)[0]


def write_timeline(rows: Sequence[dict[str, Any]], fmt: str, output: Path | None) -> None:
    """``jsonl`` (Timesketch) or ``csv`` (the same columns, ``datetime`` first)."""
    with text_output(output) as out:
        if fmt == "jsonl":
            write_jsonl(rows, out)
        else:
            write_csv(rows, out)
