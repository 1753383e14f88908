"""Plain value decoders read values the way the SCM does and never raise (scm-spec §9.2, §4.5)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import (
    REG_BINARY,
    REG_DWORD,
    REG_DWORD_BIG_ENDIAN,
    REG_EXPAND_SZ,
    REG_MULTI_SZ,
    REG_NONE,
    REG_QWORD,
    REG_SZ,
)
from hivescan.scm.decode import decode_binary, decode_dword, decode_multi_sz, decode_string
from hivescan.testing.regf import multi_sz, sz


def codes(diags: list) -> set[str]:
    return {d.code for d in diags}


# ---------------------------------------------------------------- DWORD


def test_dword_clean() -> None:
    assert decode_dword("Start", RawValue("Start", REG_DWORD, b"\x02\0\0\0")) == (2, [])


def test_dword_short_data_is_zero_extended_and_flagged() -> None:
    value, diags = decode_dword("Start", RawValue("Start", REG_BINARY, b"\x02"))
    assert value == 2
    assert codes(diags) == {"type_mismatch", "dword_short_data"}


def test_dword_longer_than_four_bytes_counts_as_missing() -> None:
    value, diags = decode_dword("Type", RawValue("Type", REG_QWORD, (0x10).to_bytes(8, "little")))
    assert value is None
    assert codes(diags) == {"dword_too_long"}


def test_big_endian_dword_is_not_swapped() -> None:
    value, diags = decode_dword("Start", RawValue("Start", REG_DWORD_BIG_ENDIAN, b"\0\0\0\x02"))
    assert value == 0x02000000
    assert codes(diags) == {"dword_big_endian"}


def test_reencoded_value_is_flagged() -> None:
    _, diags = decode_dword("Tag", RawValue("Tag", REG_DWORD, b"\x01\0\0\0", "regipy", False))
    assert "value_reencoded" in codes(diags)


@given(data=st.binary(max_size=12), reg_type=st.integers(0, 0xFFFF))
def test_dword_never_raises_and_reads_like_a_four_byte_buffer(data: bytes, reg_type: int) -> None:
    value, diags = decode_dword("X", RawValue("X", reg_type, data))
    if len(data) > 4:
        assert value is None and "dword_too_long" in codes(diags)
    else:
        assert value == int.from_bytes(data.ljust(4, b"\0"), "little")
        assert ("dword_short_data" in codes(diags)) == (len(data) < 4)


# ---------------------------------------------------------------- strings


def test_string_clean() -> None:
    decoded, diags = decode_string("ImagePath", RawValue("ImagePath", REG_EXPAND_SZ, sz(r"C:\a.exe")))
    assert (decoded.value, decoded.hidden_tail, diags) == (r"C:\a.exe", None, [])


def test_data_after_the_nul_is_kept_and_reported() -> None:
    decoded, diags = decode_string(
        "DisplayName", RawValue("DisplayName", REG_SZ, sz("Windows Helper") + sz("c2=1.2.3.4"))
    )
    assert decoded.value == "Windows Helper"
    assert decoded.hidden_tail == "c2=1.2.3.4"
    assert codes(diags) == {"hidden_tail"}
    assert "c2=1.2.3.4" in diags[0].message


def test_unterminated_string_is_whole_and_flagged_info() -> None:
    decoded, diags = decode_string("X", RawValue("X", REG_SZ, sz("abc", terminate=False)))
    assert decoded.value == "abc"
    assert [(d.code, d.level) for d in diags] == [("unterminated", "info")]


def test_odd_length_string_reports_the_stray_byte() -> None:
    decoded, diags = decode_string("X", RawValue("X", REG_SZ, sz("ab") + b"\x41"))
    assert decoded.value == "ab"
    assert "odd_length" in codes(diags)
    assert "0x41" in next(d.message for d in diags if d.code == "odd_length")


def test_lone_surrogate_is_kept() -> None:
    decoded, diags = decode_string("X", RawValue("X", REG_SZ, b"\x00\xd8a\x00\x00\x00"))
    assert decoded.value == "\ud800a"
    assert "invalid_utf16" in codes(diags)


def test_multi_sz_read_as_string_takes_the_first_item() -> None:
    decoded, diags = decode_string("Group", RawValue("Group", REG_MULTI_SZ, multi_sz(["first", "second"])))
    assert decoded.value == "first"
    assert "type_mismatch" in codes(diags)


@given(text=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=300))
def test_clean_strings_round_trip_without_notes(text: str) -> None:
    decoded, diags = decode_string("X", RawValue("X", REG_SZ, sz(text)))
    assert decoded.value == text and decoded.hidden_tail is None and diags == []


@given(data=st.binary(max_size=200), reg_type=st.integers(0, 12))
def test_strings_never_raise_and_never_contain_nul(data: bytes, reg_type: int) -> None:
    decoded, _ = decode_string("X", RawValue("X", reg_type, data))
    assert "\0" not in decoded.value
    if decoded.hidden_tail is not None:
        assert decoded.hidden_tail and not decoded.hidden_tail.endswith("\0")


# ---------------------------------------------------------------- multi-strings


def test_items_after_an_empty_string_are_hidden_from_the_scm() -> None:
    decoded, diags = decode_multi_sz("DependOnService", RawValue("D", REG_MULTI_SZ, multi_sz(["RpcSs", "", "Evil"])))
    assert decoded.items == ("RpcSs",)
    assert decoded.hidden_items == ("Evil",)
    assert "multi_sz_hidden_items" in codes(diags)


def test_multi_sz_without_final_terminator_is_info_only() -> None:
    decoded, diags = decode_multi_sz("D", RawValue("D", REG_MULTI_SZ, multi_sz(["a", "b"], final_terminator=False)))
    assert decoded.items == ("a", "b")
    assert [(d.code, d.level) for d in diags] == [("multi_sz_unterminated", "info")]


def test_reg_sz_is_a_one_item_list() -> None:
    decoded, diags = decode_multi_sz("D", RawValue("D", REG_SZ, sz("RpcSs")))
    assert decoded.items == ("RpcSs",)
    assert "type_mismatch" in codes(diags)


def test_empty_multi_sz() -> None:
    for data in (b"", b"\0\0", b"\0\0\0\0"):
        decoded, _ = decode_multi_sz("D", RawValue("D", REG_MULTI_SZ, data))
        assert decoded.items == ()


@given(
    items=st.lists(
        st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), min_size=1), max_size=8
    )
)
def test_clean_multi_sz_round_trips(items: list[str]) -> None:
    decoded, diags = decode_multi_sz("D", RawValue("D", REG_MULTI_SZ, multi_sz(items)))
    assert decoded.items == tuple(items)
    assert decoded.hidden_items == ()
    assert diags == []


@given(data=st.binary(max_size=200), reg_type=st.sampled_from([REG_MULTI_SZ, REG_SZ, REG_BINARY, REG_NONE]))
def test_multi_sz_never_raises_and_items_are_never_empty(data: bytes, reg_type: int) -> None:
    decoded, _ = decode_multi_sz("D", RawValue("D", reg_type, data))
    assert all(item and "\0" not in item for item in decoded.items)


# ---------------------------------------------------------------- binary


def test_binary_of_another_type_is_parsed_and_flagged() -> None:
    data, diags = decode_binary("FailureActions", RawValue("FailureActions", REG_NONE, b"\x01\x02"))
    assert data == b"\x01\x02"
    assert [(d.code, d.level) for d in diags] == [("type_mismatch", "info")]
