"""FILETIME <-> datetime, without ever raising on absurd values from a damaged hive."""

from __future__ import annotations

import re
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


# -- how a time is shown to people. A key or file time of 0 is what Windows leaves in a key it
# never stamped (or what wiping tools write); it is not an event in 1601. A time before 1990 or
# after 2100 can be a date, but not one a Windows NT registry wrote honestly: it is shown with a
# flag, never silently, so that a planted or damaged time is not read as a plain date.
PLAUSIBLE_FROM = datetime(1990, 1, 1, tzinfo=UTC)
PLAUSIBLE_UNTIL = datetime(2100, 1, 1, tzinfo=UTC)
_PLAUSIBLE_FROM_TICKS = (PLAUSIBLE_FROM - _EPOCH_1601) // timedelta(microseconds=1) * 10
_PLAUSIBLE_UNTIL_TICKS = (PLAUSIBLE_UNTIL - _EPOCH_1601) // timedelta(microseconds=1) * 10


def time_flag(ticks: int | None) -> str | None:
    """What is wrong with a FILETIME as a date: ``not set`` (0), ``not a date`` (negative or
    past year 9999), ``implausible`` (before 1990 or from 2100 on); None for a plausible time
    or no time at all."""
    if ticks is None:
        return None
    if ticks == 0:
        return "not set"
    if ticks < 0 or ticks > _MAX_TICKS:
        return "not a date"
    if ticks < _PLAUSIBLE_FROM_TICKS or ticks >= _PLAUSIBLE_UNTIL_TICKS:
        return "implausible"
    return None


def datetime_flag(when: datetime | None) -> str | None:
    """:func:`time_flag` for an aware datetime already decoded (event and NTFS times): the
    1601 epoch itself (a zero FILETIME) is ``not set``."""
    if when is None:
        return None
    if when == _EPOCH_1601:
        return "not set"
    if when < PLAUSIBLE_FROM or when >= PLAUSIBLE_UNTIL:
        return "implausible"
    return None


def _no_date_words(ticks: int, flag: str) -> str:
    """What every renderer says of a FILETIME that is 0 or no date (one wording, one place)."""
    return "not set (0)" if flag == "not set" else f"not a date (FILETIME {ticks})"


def shown_filetime(ticks: int | None) -> str:
    """A FILETIME for a table cell or a line of text, to the second, UTC, never a bare date the
    evidence does not hold: 0 is ``not set (0)``; a value that is no date is ``not a date
    (FILETIME n)``; a date before 1990 or from 2100 on keeps the date and says
    ``(implausible; FILETIME n)``. JSON keeps the ISO text and the raw FILETIME."""
    if ticks is None:
        return ""
    flag = time_flag(ticks)
    if flag in ("not set", "not a date"):
        return _no_date_words(ticks, flag)
    text = (_EPOCH_1601_NAIVE + timedelta(microseconds=ticks // 10)).isoformat(sep=" ", timespec="seconds")
    return f"{text} (implausible; FILETIME {ticks})" if flag else text


def iso_to_datetime(iso: str | None) -> datetime | None:
    """An ISO 8601 time (``Z`` or an offset, up to 7 fraction digits) as an aware UTC datetime;
    None when it is no such text."""
    if not iso:
        return None
    body = iso[:-1] + "+00:00" if iso.endswith("Z") else iso
    match = re.fullmatch(r"([^.]*)(?:\.(\d+))?(.*)", body)
    if match is None:
        return None
    head, frac, tail = match.groups()
    try:
        when = datetime.fromisoformat(f"{head}.{(frac or '0')[:6].ljust(6, '0')}{tail}")
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def shown_iso_time(iso: str | None) -> str:
    """:func:`shown_filetime` for a time known only as its ISO text (an NTFS time in a file's
    facts, a finished record's mapping): the same words for 0 and implausible dates. Text that
    is no ISO time is shown as it is, never dropped."""
    if not iso:
        return ""
    when = iso_to_datetime(iso)
    if when is None:
        return iso
    return shown_filetime(datetime_to_filetime(when))


def flagged_iso(ticks: int | None) -> str:
    """The full ISO text of a FILETIME (microseconds, ``Z``) for lines that keep the precision,
    with the same words as :func:`shown_filetime` for 0, no date and implausible dates."""
    if ticks is None:
        return ""
    flag = time_flag(ticks)
    if flag in ("not set", "not a date"):
        return _no_date_words(ticks, flag)
    iso = filetime_to_iso(ticks) or ""
    return f"{iso} (implausible; FILETIME {ticks})" if flag else iso
