"""FILETIME formatting: the ISO text is exactly what strftime gives, for every possible date."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hivescan.timeutil import _MAX_TICKS, datetime_to_filetime, filetime_to_datetime, filetime_to_iso


def _by_strftime(ticks: int) -> str | None:
    when = filetime_to_datetime(ticks)
    return None if when is None else when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@given(st.one_of(st.integers(-(2**64), 2**64), st.integers(0, _MAX_TICKS), st.sampled_from([0, 9, 10, _MAX_TICKS])))
def test_iso_text_equals_strftime(ticks: int) -> None:
    assert filetime_to_iso(ticks) == _by_strftime(ticks)


def test_known_values() -> None:
    assert filetime_to_iso(0) == "1601-01-01T00:00:00.000000Z"  # whole seconds keep their microseconds
    assert filetime_to_iso(None) is None and filetime_to_iso(-1) is None and filetime_to_iso(_MAX_TICKS + 1) is None
    when = filetime_to_datetime(131674000009461820)
    assert when is not None and datetime_to_filetime(when) == 131674000009461820
    assert filetime_to_iso(131674000009461820) == when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
