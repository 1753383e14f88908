"""Event logs found in the input itself: a folder holding a Windows volume, a zipped
collection, or a disk image (its live volume and every shadow copy of it).

Why automatic: the analyst who hands hivescan a KAPE folder or an E01 already handed it the
System, Security and Sysmon logs; asking for ``--evtx`` again would leave the join undone
whenever it is forgotten. Why every snapshot: a shadow copy's log may still hold the 7045 of
an install the live log has since overwritten or lost to a clear.

The same record read from two snapshots is one event: later copies (shadow copies after the
live volume) keep only the events the earlier ones lacked, and say how many were already read.
Nothing here knows how files are stored: a location is any object with the
:class:`hivescan.files.source.FileSource` methods ``stat`` and ``chunks``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from hivescan.diagnostics import Diagnostic
from hivescan.events.logs import EventLog, service_log
from hivescan.events.reader import NotEvtxError, check_evtx

if TYPE_CHECKING:
    from hivescan.events.rows import ServiceEvent
    from hivescan.files.source import FileSource

# the logs holding service events, relative to the Windows directory
LOG_NAMES = ("System.evtx", "Security.evtx", "Microsoft-Windows-Sysmon%4Operational.evtx")
MAX_LOG_BYTES = 4 << 30  # Windows caps a log far below this; larger is damage or a hostile input


@dataclass(frozen=True, slots=True)
class LogLocation:
    """Where the logs of one snapshot are read: the source, its snapshot label, and the
    Windows directory of the installation (``\\Windows`` unless the image says otherwise)."""

    snapshot: str  # live, vss1, vss2, ...
    source: FileSource
    windows_dir: str = "Windows"


def log_paths(windows_dir: str) -> list[str]:
    """The volume-relative paths of the service logs under ``windows_dir``."""
    base = windows_dir.strip("\\")
    return [f"{base}\\System32\\winevt\\Logs\\{name}" for name in LOG_NAMES]


def _shown(source: FileSource, path: str) -> str:
    """How a found log is named in ``evtx_path``: the local file of a folder, else SOURCE:PATH."""
    local = getattr(source, "local_path", None)
    if local is not None:
        try:
            return str(local(path))
        except OSError:
            pass
    return f"{source.label}:{path}"


def _read(source: FileSource, path: str, size: int) -> bytes:
    """The whole file, bounded by its stated size."""
    data = bytearray()
    for chunk in source.chunks(path):
        data += chunk
        if len(data) > size:
            break
    return bytes(data)


def read_found_logs(locations: Sequence[LogLocation]) -> tuple[list[EventLog], list[Diagnostic]]:
    """Every service log present in ``locations`` (first location first), each event once.

    Returns the logs read and what was noticed on the way (a log that cannot be read, is not
    EVTX, is too large, or repeats an earlier snapshot's copy); no exception for one bad log."""
    logs: list[EventLog] = []
    notes: list[Diagnostic] = []
    seen_files: dict[str, str] = {}  # sha256 -> the log first read with it
    seen_events: set[tuple[object, ...]] = set()
    for location in locations:
        for path in log_paths(location.windows_dir):
            where = f"{location.source.label}:{path}"
            try:
                found = location.source.stat(path)
            except OSError as exc:
                notes.append(Diagnostic("evtx_found_unreadable", where, f"{where}: cannot be read ({exc})", "warning"))
                continue
            if found is None:
                continue
            shown = _shown(location.source, found.path)
            if found.size > MAX_LOG_BYTES:
                notes.append(
                    Diagnostic(
                        "evtx_found_too_large",
                        shown,
                        f"{shown}: {found.size:,} bytes, more than the {MAX_LOG_BYTES:,} read (not read)",
                        "warning",
                    )
                )
                continue
            try:
                checked = check_evtx(_read(location.source, found.path, found.size), shown)
            except OSError as exc:
                notes.append(Diagnostic("evtx_found_unreadable", shown, f"{shown}: cannot be read ({exc})", "warning"))
                continue
            except NotEvtxError as exc:
                notes.append(Diagnostic("evtx_found_not_evtx", shown, str(exc), "warning"))
                continue
            if checked.sha256 in seen_files:
                notes.append(
                    Diagnostic(
                        "evtx_snapshot_duplicate",
                        shown,
                        f"{shown}: the same file (sha256) as {seen_files[checked.sha256]}: its events are read once",
                        "info",
                    )
                )
                continue
            seen_files[checked.sha256] = shown
            log = service_log(checked)
            log, repeated = _new_events(log, seen_events)
            if repeated:
                notes.append(
                    Diagnostic(
                        "evtx_snapshot_events_already_read",
                        shown,
                        f"{shown} ({location.snapshot}): {repeated} service event(s) already read from an earlier "
                        "copy of this log are listed once",
                        "info",
                    )
                )
            logs.append(log)
    return logs, notes


def _event_key(event: ServiceEvent) -> tuple[object, ...]:
    """What makes a logged record the same record in two copies of the log."""
    return (event.channel, event.computer, event.record_id, event.event_id, event.time)


def _new_events(log: EventLog, seen: set[tuple[object, ...]]) -> tuple[EventLog, int]:
    """``log`` with only the events not read before, and how many were dropped as repeats."""
    kept: list[ServiceEvent] = []
    for event in log.events:
        key = _event_key(event)
        if key in seen:
            continue
        seen.add(key)
        kept.append(event)
    repeated = len(log.events) - len(kept)
    return (replace(log, events=tuple(kept)) if repeated else log), repeated
