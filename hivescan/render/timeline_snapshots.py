"""Timeline rows for the changes between snapshots: the hive against its RegBack copy and
its shadow copies (and older copies given with ``history``).

Why only the pairs that involve a copy: two control sets of the same hive already appear
as their own key last-writes; what a copy adds is the state *before*, so a service that
appeared, changed or disappeared since the copy was taken gets a row saying so, timed when
the registry says it happened (the key's last write in the later snapshot) or, for a
disappearance, when the later snapshot was taken (the deletion happened before then).

Each row names both snapshots (label, time, hive sha256), so it can be checked against the
evidence with ``hivescan history``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from hivescan.events.join import parse_time

if TYPE_CHECKING:
    from hivescan.history import ServiceEvent
    from hivescan.snapshots import History

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def stamp(when: datetime) -> tuple[str, int]:
    """Timesketch's ``datetime`` text and ``timestamp`` (microseconds since 1970)."""
    micros = (when - _EPOCH) // timedelta(microseconds=1)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), micros


def _changes(event: ServiceEvent) -> str:
    """Every changed field as ``field: before -> after`` (all of them: nothing is cut)."""
    return "; ".join(f"{c.field}: {_shown(c.before)} -> {_shown(c.after)}" for c in event.changes)


def _shown(value: Any) -> str:
    """A value as read (paths keep single backslashes); a missing one as ``(none)``."""
    return "(none)" if value is None else str(value)


def _row(event: ServiceEvent) -> dict[str, Any] | None:
    previous = event.previous
    if previous is None or event.kind == "present":
        return None
    if event.snapshot.source == "hive" and previous.source == "hive":
        return None  # control sets of one hive: their last writes are rows already
    record = event.after if event.after is not None else event.before
    span = f"{previous.label} ({previous.time}) -> {event.snapshot.label} ({event.snapshot.time})"
    if event.kind == "disappeared":
        when, desc = parse_time(event.snapshot.time), "Snapshot Taken (service gone)"
        message = f"service {event.name} gone between snapshots {span}"
    else:
        when = parse_time(event.key_last_write) or parse_time(event.snapshot.time)
        desc = "Key Last Written (snapshot change)"
        detail = f": {_changes(event)}" if event.kind == "changed" else ""
        message = f"service {event.name} {event.kind} between snapshots {span}{detail}"
    if when is None:
        return None
    text, micros = stamp(when)
    return {
        "datetime": text,
        "timestamp": micros,
        "timestamp_desc": desc,
        "message": message,
        "source": "snapshot_history",
        "service": event.name,
        "change": event.kind,
        "changes": [c.to_dict() for c in event.changes],
        "snapshot": event.snapshot.label,
        "snapshot_time": event.snapshot.time,
        "snapshot_sha256": event.snapshot.hive_sha256,
        "previous_snapshot": previous.label,
        "previous_time": previous.time,
        "previous_sha256": previous.hive_sha256,
        "key_path": record.key_path if record is not None else None,
        "image_path": record.image_path if record is not None else None,
    }


def snapshot_rows(history: History) -> Iterable[dict[str, Any]]:
    """A row per appearance, change and disappearance seen against a RegBack or shadow copy."""
    for event in history.events:
        row = _row(event)
        if row is not None:
            yield row
