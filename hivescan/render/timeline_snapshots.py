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
from typing import TYPE_CHECKING, Any

from hivescan.diagnostics import Diagnostic
from hivescan.diff import DECODED, decoded_value
from hivescan.render.fields import change_lines, plain
from hivescan.render.timeline_time import place_filetime, row_head
from hivescan.timeutil import flagged_iso, time_flag

if TYPE_CHECKING:
    from hivescan.history import ServiceEvent
    from hivescan.scm.record import ServiceRecord
    from hivescan.snapshots import History


def _changes(event: ServiceEvent) -> str:
    """Every changed field as ``field: before -> after`` (all of them: nothing is cut)."""
    return "; ".join(
        f"{c.field}: {_shown(c.field, c.before, event.before)} -> {_shown(c.field, c.after, event.after)}"
        for c in event.changes
    )


def _shown(field: str, value: Any, record: ServiceRecord | None) -> str:
    """A value as read (paths keep single backslashes), a field with a decoded form as diff
    and history show it (``2 (auto)``; failure actions and triggers by field, raw beside);
    a missing one as ``(none)``."""
    if value is None:
        return "(none)"
    if field in DECODED:
        return ", ".join(change_lines(field, value, decoded_value(field, record)))
    return plain(value)  # a list as JSON (not a Python tuple), a flag as yes/no (not True)


def _row(event: ServiceEvent, gaps: list[Diagnostic]) -> dict[str, Any] | None:
    previous = event.previous
    if previous is None or event.kind == "present":
        return None
    if event.snapshot.source == "hive" and previous.source == "hive":
        return None  # control sets of one hive: their last writes are rows already
    record = event.after if event.after is not None else event.before
    span = (
        f"{previous.label} ({flagged_iso(previous.time_filetime)}) -> "
        f"{event.snapshot.label} ({flagged_iso(event.snapshot.time_filetime)})"
    )
    key_time = event.key_last_write_filetime
    if event.kind == "disappeared":
        ticks, desc = event.snapshot.time_filetime, "Snapshot Taken (service gone)"
        message = f"service {event.name} gone between snapshots {span}"
    else:
        # the key's last write says when; a key without one (0, no date) leaves the snapshot's time
        usable = key_time is not None and time_flag(key_time) not in ("not set", "not a date")
        ticks = key_time if usable and key_time is not None else event.snapshot.time_filetime
        desc = "Key Last Written (snapshot change)"
        detail = f": {_changes(event)}" if event.kind == "changed" else ""
        message = f"service {event.name} {event.kind} between snapshots {span}{detail}"
    placed = place_filetime(ticks, f"snapshot change of {event.name} ({event.kind}) in {event.snapshot.label}", gaps)
    if placed is None:
        return None
    return {
        **row_head(placed, desc, message),
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


def snapshot_rows(history: History, gaps: list[Diagnostic]) -> Iterable[dict[str, Any]]:
    """A row per appearance, change and disappearance seen against a RegBack or shadow copy
    (a ``timeline_no_time`` warning in ``gaps`` for one without any time)."""
    for event in history.events:
        row = _row(event, gaps)
        if row is not None:
            yield row
