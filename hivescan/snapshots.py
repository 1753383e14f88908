"""Load the labelled snapshots of a service history: control sets, RegBack, older copies.

``load_history(hive, [older, ...])`` opens the hive under analysis, its RegBack copy
(``config/RegBack/SYSTEM`` next to ``config/SYSTEM``, when present and not empty) and every
older copy given, makes one :class:`hivescan.history.Snapshot` per control set of each, and
computes the events with :func:`hivescan.history.service_history`.

Windows 10 1803 and later stop filling RegBack (the files exist with 0 bytes): such a copy
is skipped with a ``regback_empty`` note rather than reported as unreadable.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hivescan.diagnostics import Diagnostic
from hivescan.errors import HivescanError
from hivescan.history import ServiceEvent, Snapshot, SnapshotSource, order_snapshots, service_history
from hivescan.hive.logs import LogEntry
from hivescan.system import SystemHive, open_hive


@dataclass(frozen=True, slots=True)
class History:
    """Snapshots (oldest first), the events between them, and notes about loading."""

    snapshots: tuple[Snapshot, ...]
    events: tuple[ServiceEvent, ...]
    diagnostics: tuple[Diagnostic, ...] = ()
    # valid older entries left in the hive's transaction logs (yarp's remnant log entries):
    # previous states of the hive, listed, not rebuilt (their pages alone are not a whole hive)
    log_remnants: tuple[LogEntry, ...] = ()


def regback_path(hive_path: str | os.PathLike[str]) -> Path | None:
    """``RegBack/<name>`` next to a hive (names compared case-insensitively), if it exists."""
    path = Path(hive_path)
    parent = path.parent
    try:
        folder = next((p for p in parent.iterdir() if p.is_dir() and p.name.upper() == "REGBACK"), None)
        if folder is None:
            return None
        return next((p for p in folder.iterdir() if p.is_file() and p.name.upper() == path.name.upper()), None)
    except OSError:
        return None


def hive_snapshots(hive: SystemHive, source: SnapshotSource, label: str) -> list[Snapshot]:
    """One snapshot per control set of an open hive."""
    roles = hive.roles()
    out = []
    base = hive.reader.base
    for number in hive.existing.numbers:
        key = hive.control_set_key(number)
        records = tuple(hive.services(number))
        out.append(
            Snapshot(
                label=f"{label}:{hive.existing.sets[number]}",
                source=source,
                hive_path=hive.path,
                hive_sha256=hive.sha256,
                control_set=number,
                hive_last_written=base.last_written,
                control_set_last_write=key.last_write if key is not None else None,
                records=records,
                roles=roles.get(number, ()),
            )
        )
    return out


def load_history(
    hive_path: str | os.PathLike[str],
    history_paths: Sequence[str | os.PathLike[str]] = (),
    *,
    regback: bool = True,
    include_present: bool = False,
    **open_options: Any,
) -> History:
    """Snapshots of the hive, its RegBack copy and older copies, and the service events.

    The hive and every copy given explicitly must open (errors propagate); a RegBack copy
    that is empty or unreadable becomes a note.
    """
    diags: list[Diagnostic] = []
    snapshots: list[Snapshot] = []
    from hivescan.hive.images import input_kind

    if input_kind(hive_path) == "image":
        snapshots += _image_snapshots(hive_path, regback=regback, diags=diags, **open_options)
        for extra in history_paths:
            with open_hive(extra, **open_options) as old:
                snapshots += hive_snapshots(old, "history", str(extra))
        ordered = order_snapshots(snapshots)
        return History(tuple(ordered), tuple(service_history(ordered, include_present=include_present)), tuple(diags))
    with open_hive(hive_path, **open_options) as hive:
        snapshots += hive_snapshots(hive, "hive", str(hive_path))
        diags += [d for d in hive.hive_diagnostics() if d.level != "info"]
        replayed = hive.log_replay
        remnants = tuple(e for log in replayed.logs for e in log.remnants) if replayed is not None else ()
    if regback:
        copy = regback_path(hive_path)
        if copy is not None and copy.stat().st_size == 0:
            diags.append(
                Diagnostic("regback_empty", "", f"{copy} is empty (Windows 10 1803+ no longer fills RegBack)", "info")
            )
        elif copy is not None:
            try:
                with open_hive(copy, **open_options) as old:
                    snapshots += hive_snapshots(old, "regback", str(copy))
            except HivescanError as exc:
                diags.append(Diagnostic("regback_unreadable", "", f"{copy}: {exc}"))
    for extra in history_paths:
        with open_hive(extra, **open_options) as old:
            snapshots += hive_snapshots(old, "history", str(extra))
    ordered = order_snapshots(snapshots)
    events = service_history(ordered, include_present=include_present)
    return History(tuple(ordered), tuple(events), tuple(diags), remnants)


def _image_snapshots(
    image_path: str | os.PathLike[str], *, regback: bool, diags: list[Diagnostic], **open_options: Any
) -> list[Snapshot]:
    """Every copy of the SYSTEM hive inside a disk image: live, RegBack, each shadow copy."""
    from hivescan.hive.images import open_image

    install = open_options.pop("install", None)
    open_options.pop("snapshot", None)
    out: list[Snapshot] = []
    with open_image(image_path) as image:
        sources = image.snapshot_sources(install)
        diags += [d for d in image.diagnostics if d.level != "info"]
    for source in sources:
        label = source.location.get("snapshot", "live")
        if label == "regback" and not regback:
            continue
        kind: SnapshotSource = "hive" if label == "live" else "regback" if label == "regback" else "history"
        try:
            with open_hive(source, **open_options) as hive:
                out += hive_snapshots(hive, kind, source.path)
        except HivescanError as exc:
            if label == "live":
                raise
            if label == "regback":
                diags.append(Diagnostic("regback_unreadable", "", f"{source.path}: {exc}"))
            else:
                diags.append(Diagnostic("shadow_copy_hive_unreadable", "", f"{source.path}: {exc}"))
    return out


__all__ = ["History", "hive_snapshots", "load_history", "regback_path"]
