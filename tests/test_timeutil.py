"""FILETIME formatting: the ISO text is exactly what strftime gives, for every possible date."""

from __future__ import annotations

from pathlib import Path

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


def test_a_zero_filetime_is_shown_as_not_set_in_tables() -> None:
    from hivescan.timeutil import shown_filetime

    assert shown_filetime(0) == "not set (0)"
    assert shown_filetime(None) == ""
    assert shown_filetime(133539127281234567) == "2024-03-03 04:12:08"


def test_services_table_says_not_set_for_a_zero_last_write(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hivescan.cli import app
    from hivescan.testing.regf import HiveWriter, WKey

    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1)
    services = root.key("ControlSet001\\Services")
    zeroed = services.key("Zeroed")
    zeroed.last_write = 0
    zeroed.set_dword("Type", 16).set_dword("Start", 2).set_dword("ErrorControl", 1)
    zeroed.set_expand_sz("ImagePath", "C:\\z.exe")
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(HiveWriter(root).build().data)
    result = CliRunner().invoke(app, ["services", str(hive), "-q"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    assert "not set (0)" in result.stdout and "1601" not in result.stdout
