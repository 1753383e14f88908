"""A service's history across labelled snapshots: when it appeared, changed, disappeared.

A *snapshot* is one control set of one hive: every control set of the hive under analysis,
of its RegBack copy and of older copies the analyst gives (``--history``). Snapshots are
ordered by time -- the hive's last-written time first, then the control set key's last
write within a hive -- and each service (by upper-cased name) is compared between
consecutive snapshots with :func:`hivescan.scm.compare.changed_fields`.

Pure functions over records: no hive is opened here (:mod:`hivescan.snapshots` loads them).

Caveat for analysts: control sets of one hive are not strictly a time series. The
LastKnownGood set is a copy taken at a successful boot; its key's last write says when that
copy was made, which is what the ordering uses.

References: peers.md §4 gap 6 (RegBack/VSS copies as a labelled history); style.md R12.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hivescan.diagnostics import Diagnostic
from hivescan.hive.tree import upcase
from hivescan.scm.compare import FieldChange, changed_fields
from hivescan.scm.record import ServiceRecord
from hivescan.timeutil import filetime_to_iso, flagged_iso, time_flag

EventKind = Literal["present", "appeared", "changed", "disappeared"]
SnapshotSource = Literal["hive", "regback", "history"]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The service records of one control set of one hive, with where they came from."""

    label: str  # e.g. "SYSTEM:ControlSet001", "RegBack/SYSTEM:ControlSet002"
    source: SnapshotSource  # the hive analysed, its RegBack copy, or an older copy given by the analyst
    hive_path: str
    hive_sha256: str
    control_set: int | None
    hive_last_written: int  # FILETIME of the base block
    control_set_last_write: int | None  # FILETIME of the ControlSetNNN key
    records: tuple[ServiceRecord, ...]
    roles: tuple[str, ...] = ()  # current, default, lkg, failed

    @property
    def sort_key(self) -> tuple[int, int, str]:
        return (self.hive_last_written, self.control_set_last_write or 0, self.label)

    @property
    def time_filetime(self) -> int:
        """The raw FILETIME :attr:`time` is made of: the control set key's last write, or the
        hive's base block time when the key's is missing or 0 (either may be 0: not set)."""
        return self.control_set_last_write or self.hive_last_written

    @property
    def time(self) -> str | None:
        """When this snapshot was taken, as far as the hive says (ISO 8601 UTC)."""
        return filetime_to_iso(self.time_filetime)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "source": self.source,
            "hive_path": self.hive_path,
            "hive_sha256": self.hive_sha256,
            "control_set": self.control_set,
            "roles": list(self.roles),
            "hive_last_written": filetime_to_iso(self.hive_last_written),
            "hive_last_written_filetime": self.hive_last_written,
            "control_set_last_write": filetime_to_iso(self.control_set_last_write),
            "control_set_last_write_filetime": self.control_set_last_write,
            "services": len(self.records),
        }


@dataclass(frozen=True, slots=True)
class ServiceEvent:
    """One step of one service's history between two consecutive snapshots."""

    name: str
    kind: EventKind
    snapshot: Snapshot  # where the event is seen (for ``disappeared``: the first snapshot without it)
    previous: Snapshot | None  # the snapshot compared against
    before: ServiceRecord | None
    after: ServiceRecord | None
    changes: tuple[FieldChange, ...] = ()
    # the service's events from event logs (history --evtx; hivescan/events/join.py: join_history)
    service_events: tuple[Mapping[str, Any], ...] = ()

    @property
    def key_last_write(self) -> str | None:
        """The service key's last write: when it was last changed before this snapshot."""
        record = self.after if self.after is not None else self.before
        return record.last_write if record is not None else None

    @property
    def key_last_write_filetime(self) -> int | None:
        """The raw FILETIME of :attr:`key_last_write` (0: the key holds no time)."""
        record = self.after if self.after is not None else self.before
        return record.origin.last_write_filetime if record is not None else None

    def to_dict(self) -> dict[str, Any]:
        record = self.after if self.after is not None else self.before
        return {
            "name": self.name,
            "event": self.kind,
            "snapshot": self.snapshot.label,
            "snapshot_time": self.snapshot.time,
            "previous": self.previous.label if self.previous is not None else None,
            "previous_time": self.previous.time if self.previous is not None else None,
            "key_last_write": self.key_last_write,
            "key_last_write_filetime": self.key_last_write_filetime,
            "key_path": record.key_path if record is not None else None,
            "hive_sha256": self.snapshot.hive_sha256,
            "image_path": record.image_path if record is not None else None,
            "changes": [c.to_dict() for c in self.changes],
            **({"service_events": [dict(e) for e in self.service_events]} if self.service_events else {}),
        }


def untimed_snapshots(snapshots: Iterable[Snapshot]) -> list[Diagnostic]:
    """``history_snapshot_untimed`` warnings: where :func:`order_snapshots` has no time to go
    by, it still puts a snapshot first, but its place in time is not known, so what
    ``appeared`` or ``disappeared`` around it may be the other way round. Said for each
    snapshot without any time (hive and control set key both 0 or no date), and for each
    other hive whose base block holds no time when several hives are compared (hives are
    ordered by that time before their control sets)."""
    snaps = list(snapshots)
    out = []
    for snap in snaps:
        ticks = snap.time_filetime
        if time_flag(ticks) in ("not set", "not a date"):
            out.append(
                Diagnostic(
                    "history_snapshot_untimed",
                    snap.label,
                    f"{snap.label}: no time (hive and control set key: {flagged_iso(ticks)}): ordered as the oldest; "
                    "its place in the history is not known",
                )
            )
    hives = {(s.hive_path, s.hive_sha256): s for s in snaps}
    if len(hives) > 1:
        said = {d.field for d in out}
        for (path, _), snap in hives.items():
            if time_flag(snap.hive_last_written) in ("not set", "not a date") and snap.label not in said:
                out.append(
                    Diagnostic(
                        "history_snapshot_untimed",
                        path,
                        f"{path}: the hive's base block holds no time ({flagged_iso(snap.hive_last_written)}): "
                        "its snapshots are ordered before the other hives'; their place in the history is not known",
                    )
                )
    return out


def order_snapshots(snapshots: Iterable[Snapshot]) -> list[Snapshot]:
    """Oldest first: by the hive's last-written time, then the control set key's last write."""
    return sorted(snapshots, key=lambda s: s.sort_key)


def _by_name(records: Iterable[ServiceRecord]) -> dict[str, ServiceRecord]:
    out: dict[str, ServiceRecord] = {}
    for record in records:
        out.setdefault(upcase(record.name), record)  # a duplicate name (ci) keeps the first, as lookups do
    return out


def service_history(snapshots: Sequence[Snapshot], *, include_present: bool = False) -> list[ServiceEvent]:
    """Every appearance, change and disappearance, per service (by name), oldest first.

    ``include_present``: also a ``present`` event for each service of the oldest snapshot,
    so that every service has a first row.
    """
    ordered = order_snapshots(snapshots)
    events: list[tuple[str, int, ServiceEvent]] = []
    previous: Snapshot | None = None
    before: dict[str, ServiceRecord] = {}
    for index, snap in enumerate(ordered):
        now = _by_name(snap.records)
        if previous is None:
            if include_present:
                for upper, rec in now.items():
                    events.append((upper, index, ServiceEvent(rec.name, "present", snap, None, None, rec)))
        else:
            for upper, rec in now.items():
                old = before.get(upper)
                if old is None:
                    events.append((upper, index, ServiceEvent(rec.name, "appeared", snap, previous, None, rec)))
                    continue
                changes = changed_fields(old, rec)
                if changes:
                    events.append(
                        (upper, index, ServiceEvent(rec.name, "changed", snap, previous, old, rec, tuple(changes)))
                    )
            for upper, old in before.items():
                if upper not in now:
                    events.append((upper, index, ServiceEvent(old.name, "disappeared", snap, previous, old, None)))
        previous, before = snap, now
    events.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in events]


__all__ = ["ServiceEvent", "Snapshot", "order_snapshots", "service_history", "untimed_snapshots"]
