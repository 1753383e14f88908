"""FILETIME <-> datetime, without ever raising on absurd values from a damaged hive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH_1601 = datetime(1601, 1, 1, tzinfo=UTC)
_MAX_TICKS = (datetime(9999, 12, 31, tzinfo=UTC) - _EPOCH_1601) // timedelta(microseconds=1) * 10


def filetime_to_datetime(ticks: int | None) -> datetime | None:
    """UTC datetime of a FILETIME; None when it cannot be a date (negative or past year 9999)."""
    if ticks is None or ticks < 0 or ticks > _MAX_TICKS:
        return None
    return _EPOCH_1601 + timedelta(microseconds=ticks // 10)


def filetime_to_iso(ticks: int | None) -> str | None:
    """ISO 8601 UTC with a ``Z`` and microseconds, e.g. ``2018-04-06T03:48:11.946182Z``."""
    when = filetime_to_datetime(ticks)
    if when is None:
        return None
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def datetime_to_filetime(when: datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - _EPOCH_1601) // timedelta(microseconds=1) * 10
