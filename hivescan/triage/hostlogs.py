"""Triage: each host's own event logs joined with its own hive.

Why only the input's own logs: a triage run holds many hosts, and a log is evidence of the
machine it was collected from; when the hive and the logs come from the same folder (a KAPE
or mounted volume) or the same disk image, they are the same machine's, so the join is
sound without guessing by computer name. Logs given with ``triage --evtx`` are not matched
to hives: they are stacked across hosts (``OUTDIR/events/``) instead.

A disk image's member joins the logs of its own snapshot (the live member: the live
volume's and every shadow copy's, as ``hivescan scan IMAGE``; a shadow-copy member: that
copy's). The join runs in the worker, before the analysis step, so the event rules' findings
land in ``OUTDIR/findings`` with the others and the records carry ``service_events``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hivescan.diagnostics import Diagnostic

if TYPE_CHECKING:
    from hivescan.events.logs import EventLog
    from hivescan.scm.record import ServiceRecord
    from hivescan.system import SystemHive
    from hivescan.triage.inputs import HiveInput

VOLUME_HIVE = ["WINDOWS", "SYSTEM32", "CONFIG", "SYSTEM"]  # <volume>\Windows\System32\config\SYSTEM


@dataclass(frozen=True, slots=True)
class HostLogs:
    """One input's own logs as the join in the worker read them, sent back with its batch so
    the driver does not read them a second time for ``OUTDIR/events`` (:func:`host_logs`).
    ``notes``: what reading them noticed (not the logs' own diagnostics, which are on them)."""

    key: str  # log_key(item): the same key host_logs reads under
    logs: tuple[EventLog, ...]
    notes: tuple[Diagnostic, ...]


def log_key(item: HiveInput) -> str | None:
    """Under what :func:`host_logs` reads an input's own logs, or None when it reads none: a
    disk image's live member (its own key), or the volume folder a hive file sits in (one
    key per volume: two inputs of one volume read its logs once)."""
    if item.member.endswith(":live"):
        return f"image:{item.path}\0{item.member}"
    path = Path(item.path)
    if item.kind not in ("hive", "other") or [p.upper() for p in path.parts[-4:]] != VOLUME_HIVE:
        return None
    return f"volume:{path.parents[3]}"


def _same_as_host_logs(item: HiveInput, hive: SystemHive) -> bool:
    """Whether the hive reads its logs where :func:`host_logs` reads this input's: the live
    snapshot of the volume folder the hive file sits in."""
    from hivescan.files.source import FolderSource

    key = log_key(item)
    if key is None or not key.startswith("volume:") or len(hive.event_locations) != 1:
        return False
    location = hive.event_locations[0]
    volume = Path(item.path).parents[3]
    return (
        location.snapshot == "live"
        and location.windows_dir == "Windows"
        and isinstance(location.source, FolderSource)
        and location.source.label == str(volume)
    )


def reader_logs(item: HiveInput, readers: Sequence[Any]) -> tuple[list[EventLog], list[Diagnostic]] | None:
    """The logs a container reader finds beside a member (a disk image's snapshot), or None
    when the item is no container member or its reader reads no logs."""
    for reader in readers:
        read = getattr(reader, "read_event_logs", None)
        if reader.name == item.kind and read is not None:
            try:
                found: tuple[list[EventLog], list[Diagnostic]] = read(item)
            except Exception as exc:  # the image library's own errors: the logs are lost, not the hive
                where = f"{item.path}:{item.member}"
                return [], [Diagnostic("evtx_found_unreadable", where, f"{where}: event logs: {exc}", "warning")]
            return found
    return None


def join_host_logs(
    hive: SystemHive,
    records: Sequence[ServiceRecord],
    host: str | None,
    item: HiveInput | None = None,
    readers: Sequence[Any] = (),
    read: list[HostLogs] | None = None,
) -> tuple[tuple[ServiceRecord, ...], list[Diagnostic]]:
    """``records`` joined with the host's own logs: those ``hive.event_locations`` holds (a
    volume folder), or those the container reader finds beside ``item`` (a disk image);
    unchanged when none. Also what reading and joining noticed (damage, another computer).

    ``read``: the logs are also appended there when they are the ones :func:`host_logs`
    would read for ``item`` (the driver's ``OUTDIR/events`` then needs no second read)."""
    from hivescan.events.found import read_found_logs
    from hivescan.events.join import join_events

    found = reader_logs(item, readers) if item is not None else None
    same = found is not None and item is not None and item.member.endswith(":live")
    if found is None:
        if not hive.event_locations:
            return tuple(records), []
        found = read_found_logs(hive.event_locations)
        same = item is not None and _same_as_host_logs(item, hive)
    logs, notes = found
    key = log_key(item) if item is not None else None
    if read is not None and same and key is not None:
        read.append(HostLogs(key, tuple(logs), tuple(notes)))
    notes = list(notes)
    for log in logs:
        notes += [replace(d, message=f"{log.path}: {d.message}") for d in log.diagnostics]
    if not logs:
        return tuple(records), notes
    joined = join_events(list(records), logs, computer_name=host)
    return tuple(joined.records), notes + list(joined.diagnostics)


def host_logs(
    inputs: Sequence[HiveInput], readers: Sequence[Any] = (), already: Mapping[str, HostLogs] | None = None
) -> tuple[list[EventLog], list[Diagnostic]]:
    """The event logs of every input that is a volume folder's SYSTEM hive (KAPE, mounted
    image) or a disk image's live member (the image's logs, its shadow copies' too), for
    ``OUTDIR/events`` and the install stack: each host's logs read on their own (a snapshot's
    repeats are dropped within a host, never across hosts), in input order.

    ``already``: the logs the workers' joins read, by :func:`log_key` (``RunReport.host_logs``);
    only the others are read here (an input done by an earlier run, a hive that could not be
    opened: its volume's logs are evidence all the same)."""
    from hivescan.events.found import LogLocation, read_found_logs
    from hivescan.files.source import FolderSource

    logs: list[EventLog] = []
    notes: list[Diagnostic] = []
    seen: set[str] = set()
    for item in inputs:
        key = log_key(item)
        if key is None or key in seen:
            continue
        seen.add(key)
        done = (already or {}).get(key)
        if done is not None:
            logs += done.logs
            notes += done.notes
        elif item.member.endswith(":live"):  # a disk image: the live member reads every snapshot's logs
            from_image = reader_logs(item, readers)
            if from_image is not None:
                logs += from_image[0]
                notes += from_image[1]
        else:
            found, found_notes = read_found_logs([LogLocation("live", FolderSource(Path(item.path).parents[3]))])
            logs += found
            notes += found_notes
    return logs, notes
