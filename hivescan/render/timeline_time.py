"""Where a fact goes on the timeline, by its time: Timesketch's ``datetime`` and ``timestamp``,
and what the time is worth.

Why a fact without a time is left off and said: a zero FILETIME (a key never stamped, or one
a tool zeroed) or an NTFS/event time of 0 is not an event in 1601, and Timesketch sorts and
plots by time, so such a row would sit on the first day of its chart as if it happened.
Each such fact becomes a ``timeline_no_time`` warning naming it and its raw value instead,
so nothing is dropped silently. A time that is a date but an implausible one (before 1990 or
from 2100 on) stays on the timeline, where it was written, with ``time_flag = implausible``
and the words in its message: it may be damage or a planted time, which an analyst must see.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hivescan.diagnostics import Diagnostic
from hivescan.timeutil import datetime_flag, filetime_to_datetime, time_flag

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Placed = tuple[str, int, str | None]  # datetime text, microseconds since 1970, time_flag


def stamp(when: datetime) -> tuple[str, int]:
    """Timesketch's ``datetime`` text and ``timestamp`` (microseconds since 1970)."""
    micros = (when - _EPOCH) // timedelta(microseconds=1)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), micros


def _gap(what: str, raw: str, gaps: list[Diagnostic]) -> None:
    gaps.append(Diagnostic("timeline_no_time", what, f"{what}: {raw}: not on the timeline"))


def place_filetime(ticks: int, what: str, gaps: list[Diagnostic]) -> Placed | None:
    """A registry time (raw FILETIME): None, with a gap noted, when it is 0 or no date."""
    flag = time_flag(ticks)
    when = filetime_to_datetime(ticks)
    if flag == "not set" or flag == "not a date" or when is None:
        _gap(what, "not set (FILETIME 0)" if ticks == 0 else f"not a date (FILETIME {ticks})", gaps)
        return None
    text, micros = stamp(when)
    return text, micros, flag


def place_datetime(when: datetime | None, raw: str | None, what: str, gaps: list[Diagnostic]) -> Placed | None:
    """A time known as text (events, NTFS times) and its parsed datetime: None, with a gap
    noted, when the text is no time or the time is the 1601 epoch (a zero FILETIME)."""
    flag = datetime_flag(when)
    if when is None or flag == "not set":
        _gap(what, "not set (1601-01-01, FILETIME 0)" if when is not None else f"no time ({raw!r})", gaps)
        return None
    text, micros = stamp(when)
    return text, micros, flag


def flagged(message: str, flag: str | None) -> str:
    """A row's message, with the time's flag said in it when it has one."""
    return f"{message} [time {flag}]" if flag else message


def row_head(placed: Placed, desc: str, message: str) -> dict[str, Any]:
    """The columns every timeline row starts with (Timesketch's, then the time's flag)."""
    text, micros, flag = placed
    return {
        "datetime": text,
        "timestamp": micros,
        "timestamp_desc": desc,
        "message": flagged(message, flag),
        "time_flag": flag,
    }
