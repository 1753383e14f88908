"""Control-set resolution: Select values, fallbacks, odd set numbers, the CCS link (scm-spec §1)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import hivescan
from hivescan.errors import ControlSetError
from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import REG_BINARY, REG_DWORD, REG_LINK, REG_QWORD
from hivescan.scm.controlsets import (
    SelectValues,
    control_set_name,
    decode_ccs_link,
    existing_sets,
    parse_mode,
    read_select,
    resolve,
)
from hivescan.testing.regf import KEY_SYM_LINK, WKey, dword


def dw(name: str, value: int) -> RawValue:
    return RawValue(name, REG_DWORD, dword(value))


def test_names_are_zero_padded_never_concatenated() -> None:
    assert control_set_name(1) == "ControlSet001"
    assert control_set_name(10) == "ControlSet010"
    assert control_set_name(123) == "ControlSet123"


def test_read_select_and_current_ne_default() -> None:
    select, diags = read_select([dw("Current", 2), dw("Default", 1), dw("LastKnownGood", 3), dw("Failed", 0)])
    assert (select.current, select.default, select.last_known_good, select.failed) == (2, 1, 3, 0)
    assert {d.code for d in diags} == {"select_current_ne_default"}


def test_select_values_of_odd_types() -> None:
    select, diags = read_select(
        [RawValue("Current", REG_BINARY, dword(1)), RawValue("Default", REG_QWORD, (1).to_bytes(8, "little"))]
    )
    assert select.current == 1 and select.default is None
    assert {d.code for d in diags} >= {"select_type_mismatch", "select_value_unreadable"}


def test_missing_select_key() -> None:
    select, diags = read_select(None)
    assert not select.present and [d.code for d in diags] == ["select_missing"]


def test_existing_sets_and_odd_names() -> None:
    sets, diags = existing_sets(["ControlSet001", "controlset003", "ControlSet1", "Select", "ControlSet010"])
    assert sets.numbers == [1, 3, 10]
    assert sets.sets[3] == "controlset003"
    assert [d.code for d in diags] == ["odd_control_set_name"]


@pytest.mark.parametrize(
    ("mode", "select", "present", "want", "fallback"),
    [
        ("current", SelectValues(1, 1, 3, 0, True), [1, 3], 1, False),
        ("lkg", SelectValues(1, 1, 3, 0, True), [1, 3], 3, False),
        ("default", SelectValues(3, 1, 3, 0, True), [1, 3], 1, False),
        ("current", SelectValues(2, 1, 1, 0, True), [1], 1, True),  # Current names a missing set
        ("current", SelectValues(0, 0, 0, 0, True), [4, 7], 4, True),  # all zero: lowest existing
        ("failed", SelectValues(1, 1, 3, 0, True), [1, 3], 1, True),  # Failed=0 falls back to Current
        ("current", SelectValues(), [2], 2, True),  # no Select key at all
    ],
)
def test_resolve_with_fallbacks(mode: str, select: SelectValues, present: list[int], want: int, fallback: bool) -> None:
    existing, _ = existing_sets([control_set_name(n) for n in present])
    resolution = resolve(mode, select, existing)
    assert [c.number for c in resolution.chosen] == [want]
    assert any(d.code == "control_set_fallback" for d in resolution.diagnostics) == fallback
    assert ("fallback" in resolution.chosen[0].source) == fallback


def test_resolve_all_and_explicit() -> None:
    existing, _ = existing_sets(["ControlSet001", "ControlSet003", "ControlSet004"])
    select = SelectValues(1, 1, 3, 0, True)
    assert [c.number for c in resolve("all", select, existing).chosen] == [1, 3, 4]
    assert [c.number for c in resolve("4", select, existing).chosen] == [4]
    missing = resolve(2, select, existing)
    assert missing.chosen == () and missing.diagnostics[0].code == "control_set_missing"


@pytest.mark.parametrize("bad", ["bogus", "0", "1000", "-1", ""])
def test_parse_mode_rejects_nonsense(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_mode(bad)


def test_parse_mode_accepts_names_and_numbers() -> None:
    assert parse_mode("ALL") == "all"
    assert parse_mode("ControlSet003") == 3
    assert parse_mode("12") == 12


def test_ccs_link_decoding() -> None:
    target = "\\Registry\\Machine\\System\\ControlSet003".encode("utf-16-le")
    number, diags = decode_ccs_link(True, [RawValue("SymbolicLinkValue", REG_LINK, target)], 1)
    assert number == 3
    assert {d.code for d in diags} == {"ccs_link_present", "ccs_link_mismatch"}
    number, diags = decode_ccs_link(False, [], 1)
    assert number is None and [d.code for d in diags] == ["ccs_real_key"]


# ---------------------------------------------------------------- through real (built) hives


def _hive(current: int, sets: tuple[int, ...], lkg: int | None = None) -> WKey:
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", current).set_dword("Default", current).set_dword(
        "LastKnownGood", lkg if lkg is not None else sets[-1]
    ).set_dword("Failed", 0)
    for n in sets:
        root.key(f"ControlSet{n:03d}\\Services\\Only{n}").set_dword("Type", 16).set_dword("Start", 3).set_dword(
            "ErrorControl", 1
        )
    return root


def test_sets_001_and_003_never_assume_002(write_hive: Callable[..., Path]) -> None:
    path = write_hive(_hive(3, (1, 3), lkg=1))
    with hivescan.open_hive(path) as hive:
        assert [r.name for r in hive.services()] == ["Only3"]
        assert [r.name for r in hive.services("lkg")] == ["Only1"]
        everything = hive.services("all")
        assert [(r.control_set, r.name) for r in everything] == [(1, "Only1"), (3, "Only3")]
        assert {r.key_path for r in everything} == {r"ControlSet001\Services\Only1", r"ControlSet003\Services\Only3"}


def test_set_numbers_of_ten_and_more(write_hive: Callable[..., Path]) -> None:
    path = write_hive(_hive(10, (1, 10, 11)))
    with hivescan.open_hive(path) as hive:
        (rec,) = hive.services()
        assert rec.control_set == 10 and rec.key_path == r"ControlSet010\Services\Only10"
        assert [c.name for c in hive.control_sets()] == ["ControlSet001", "ControlSet010", "ControlSet011"]


def test_missing_current_falls_back_with_a_hive_warning(write_hive: Callable[..., Path]) -> None:
    path = write_hive(_hive(2, (1,), lkg=1))
    with hivescan.open_hive(path) as hive:
        (rec,) = hive.services()
        assert rec.control_set == 1
        # Current and Default both name the missing set 2, so LastKnownGood is used
        assert rec.control_set_source == "lkg (fallback from current)"
        assert any(d.code == "control_set_fallback" for d in hive.hive_diagnostics())


def test_explicit_missing_set_is_an_error(write_hive: Callable[..., Path]) -> None:
    path = write_hive(_hive(1, (1,)))
    with hivescan.open_hive(path) as hive, pytest.raises(ControlSetError, match="ControlSet005 does not exist"):
        hive.services(5)


def test_saved_ccs_link_is_reported_and_not_used(write_hive: Callable[..., Path]) -> None:
    root = _hive(1, (1, 2), lkg=2)
    ccs = root.key("CurrentControlSet")
    ccs.flags = KEY_SYM_LINK
    ccs.set("SymbolicLinkValue", REG_LINK, "\\Registry\\Machine\\System\\ControlSet002".encode("utf-16-le"))
    path = write_hive(root)
    with hivescan.open_hive(path) as hive:
        assert hive.ccs_link == 2
        assert {"ccs_link_present", "ccs_link_mismatch"} <= {d.code for d in hive.hive_diagnostics()}
        assert [r.control_set for r in hive.services()] == [1]
        assert hive.info().current_control_set_link == 2
