"""FILETIME <-> datetime, without ever raising on absurd values from a damaged hive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH_1601 = datetime(1601, 1, 1, tzinfo=UTC)
_EPOCH_1601_NAIVE = datetime(1601, 1, 1)
_MAX_TICKS = (datetime(9999, 12, 31, tzinfo=UTC) - _EPOCH_1601) // timedelta(microseconds=1) * 10


def filetime_to_datetime(ticks: int | None) -> datetime | None:
    """UTC datetime of a FILETIME; None when it cannot be a date (negative or past year 9999)."""
    if ticks is None or ticks < 0 or ticks > _MAX_TICKS:
        return None
    return _EPOCH_1601 + timedelta(microseconds=ticks // 10)


def filetime_to_iso(ticks: int | None) -> str | None:
    """ISO 8601 UTC with a ``Z`` and microseconds, e.g. ``2018-04-06T03:48:11.946182Z``.

    ``isoformat`` of a naive UTC datetime, not ``strftime``: the same text at a tenth of the
    cost (every record's JSON form carries several timestamps).
    """
    if ticks is None or ticks < 0 or ticks > _MAX_TICKS:
        return None
    return (_EPOCH_1601_NAIVE + timedelta(microseconds=ticks // 10)).isoformat(timespec="microseconds") + "Z"


def datetime_to_filetime(when: datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - _EPOCH_1601) // timedelta(microseconds=1) * 10


def shown_time(iso: str | None) -> str:
    """A last-write time for a table cell: seconds, a space for the ``T``; a zero FILETIME
    (1601-01-01, what a key never stamped or zeroed holds) is "not set (0)", not a date an
    analyst could put on a timeline. JSON keeps the ISO text and the raw FILETIME."""
    if not iso:
        return ""
    if iso.startswith("1601-01-01T00:00:00"):
        return "not set (0)"
    return iso[:19].replace("T", " ")
