"""ServiceGroupOrder\\List and GroupOrderList tag vectors (scm-spec §4.2, §6.1)."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import REG_BINARY, REG_DWORD, REG_MULTI_SZ, REG_SZ
from hivescan.scm.groups import build_group_order, decode_tag_vector
from hivescan.testing.regf import multi_sz, sz


def vector(*tags: int, count: int | None = None) -> bytes:
    return struct.pack(f"<I{len(tags)}I", len(tags) if count is None else count, *tags)


def test_tag_vector_in_load_order() -> None:
    tags, diags = decode_tag_vector("Base", RawValue("Base", REG_BINARY, vector(3, 1, 2)))
    assert tags == (3, 1, 2) and diags == []


def test_count_larger_than_the_data_uses_what_fits() -> None:
    tags, diags = decode_tag_vector("G", RawValue("G", REG_BINARY, vector(1, 2, count=5)))
    assert tags == (1, 2)
    assert [d.code for d in diags] == ["group_tags_short"]


def test_bytes_after_the_counted_tags_are_reported() -> None:
    tags, diags = decode_tag_vector("G", RawValue("G", REG_BINARY, vector(1, 2, count=1)))
    assert tags == (1,)
    assert [(d.code, d.level) for d in diags] == [("group_tags_trailing", "info")]


def test_too_short_for_a_count_means_no_vector() -> None:
    tags, diags = decode_tag_vector("G", RawValue("G", REG_BINARY, b"\x01\x00"))
    assert tags is None and [d.code for d in diags] == ["group_tags_short"]


def test_count_only_is_an_empty_vector() -> None:
    # NT 4's "Video" vector is 4 bytes: count 0
    assert decode_tag_vector("Video", RawValue("Video", REG_BINARY, vector())) == ((), [])


def test_zero_tag_and_duplicates_are_flagged() -> None:
    tags, diags = decode_tag_vector("G", RawValue("G", REG_BINARY, vector(0, 4, 4)))
    assert tags == (0, 4, 4)
    assert [d.code for d in diags] == ["group_tag_zero", "group_tags_duplicate"]


def test_wrong_type_is_read_anyway() -> None:
    tags, diags = decode_tag_vector("G", RawValue("G", REG_DWORD, vector(7)))
    assert tags == (7,) and [d.code for d in diags] == ["type_mismatch"]


@given(st.binary(max_size=64), st.sampled_from([REG_BINARY, REG_DWORD, REG_SZ]))
def test_decoding_never_raises(data: bytes, reg_type: int) -> None:
    tags, _ = decode_tag_vector("G", RawValue("G", reg_type, data))
    assert tags is None or len(tags) <= max(0, (len(data) - 4) // 4)


@given(st.lists(st.integers(0, 2**32 - 1), max_size=20))
def test_round_trip(tags: list[int]) -> None:
    assert decode_tag_vector("G", RawValue("G", REG_BINARY, vector(*tags)))[0] == tuple(tags)


def test_group_order_positions_and_tags_case_insensitive() -> None:
    order = build_group_order(
        RawValue("List", REG_MULTI_SZ, multi_sz(["Boot Bus Extender", "SCSI Class", "scsi class", "Base"])),
        [RawValue("SCSI CLASS", REG_BINARY, vector(2, 1)), RawValue("Network", REG_BINARY, vector(1))],
    )
    assert order.position("scsi CLASS") == 1
    assert order.position("Base") == 3
    assert order.position("Network") is None and order.position("") is None and order.position(None) is None
    assert order.tag_position("SCSI Class", 1) == 1
    assert order.tag_position("SCSI Class", 9) is None
    assert order.tag_position("Network", 1) is None  # not listed: its vector orders nothing
    assert [d.code for d in order.diagnostics] == ["group_order_duplicate"]
    assert order.to_dict()["tag_vectors"] == {"SCSI CLASS": [2, 1], "Network": [1]}


def test_missing_list_is_flagged() -> None:
    order = build_group_order(None, None)
    assert order.names == () and [d.code for d in order.diagnostics] == ["group_order_missing"]


def test_list_stored_as_reg_sz_is_one_group() -> None:
    order = build_group_order(RawValue("List", REG_SZ, sz("Base")), [])
    assert order.names == ("Base",)
    assert "type_mismatch" in [d.code for d in order.diagnostics]
