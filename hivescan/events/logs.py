"""Several event logs at once: find the EVTX files of the inputs, read each, keep its service rows.

Why a summary per log (:class:`EventLog`): the analyst must see which logs were read, their
sha256, how many events each held and what was damaged, beside the rows themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hivescan.diagnostics import Diagnostic
from hivescan.events.reader import EventLogNotFound, EvtxFile, read_evtx
from hivescan.events.rows import KINDS, ServiceEvent, normalise


@dataclass(frozen=True, slots=True)
class EventLog:
    """One EVTX file read: provenance, counts, diagnostics and its service events."""

    path: str
    sha256: str
    size: int
    events_read: int
    events: tuple[ServiceEvent, ...]
    diagnostics: tuple[Diagnostic, ...] = field(default_factory=tuple)
    computers: tuple[str, ...] = ()


def collect_evtx(inputs: Iterable[str | Path]) -> list[Path]:
    """Files as given, and every ``*.evtx`` (any case) under folders, sorted; a missing path
    raises :class:`~hivescan.events.reader.EventLogNotFound`."""
    out: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".evtx"))
        elif path.exists():
            out.append(path)
        else:
            raise EventLogNotFound(f"{path}: no such file or folder")
    return out


def read_log(path: str | Path) -> EventLog:
    """One log: every record read (damage reported), the service events kept, sorted by time."""
    return service_log(read_evtx(path))


def service_log(log: EvtxFile) -> EventLog:
    """A log already checked (from a file, a collection or a disk image): its service events."""
    rows: list[ServiceEvent] = []
    computers: set[str] = set()
    for raw in log.events(frozenset(KINDS)):
        row = normalise(
            raw.event,
            evtx_path=log.path,
            evtx_sha256=log.sha256,
            file_record_id=raw.file_record_id,
            header_time=raw.header_time,
            chunk_state=raw.chunk_state,
        )
        if row is not None:
            rows.append(row)
            if row.computer:
                computers.add(row.computer)
    rows.sort(key=lambda r: (r.time, r.record_id or 0))
    return EventLog(
        log.path, log.sha256, log.size, log.records_read, tuple(rows), tuple(log.diagnostics), tuple(sorted(computers))
    )


def read_service_events(paths: Sequence[str | Path]) -> list[EventLog]:
    """Every log of ``paths`` (files or folders), in order."""
    return [read_log(p) for p in collect_evtx(paths)]
