"""``Cells.values`` reads most values on an inlined fast path; it must give exactly what the
careful per-value reader (``Cells.vk``) gives, on intact and on damaged cells.

Hives come from the project's regf writer with values of every storage kind (inline 0-4
bytes, one data cell, big data, UTF-16 names, a cap by ``max_value_bytes``); Hypothesis
then overwrites bytes in and around the value cells.
"""

from __future__ import annotations

import contextlib
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hivescan.hive.cells import CellError, Cells, NkCell
from hivescan.hive.header import BASE_BLOCK_SIZE, parse_base_block
from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import REG_BINARY, REG_DWORD, REG_NONE, REG_SZ
from hivescan.testing.regf import HiveWriter, WKey


def _hive() -> bytes:
    root = WKey("ROOT")
    key = root.key("Values")
    for size in range(5):
        key.set(f"inline{size}", REG_DWORD, bytes(range(1, size + 1)))
    key.set_sz("Text", "C:\\Windows\\system32\\svchost.exe -k netsvcs")
    key.set_binary("Blob", bytes(range(256)) * 3)
    key.set_binary("Big", bytes(range(256)) * 80)  # > 16344 bytes: big data
    key.set("", REG_NONE, b"")  # the default value, empty
    key.set("Wide\u0101", REG_SZ, "x".encode("utf-16-le") + b"\0\0")  # a UTF-16 name
    root.key("Values\\Sub").set_dword("Start", 3).set_binary("Exact", bytes(16344))
    return HiveWriter(root).build().data


DATA = _hive()
BASE = parse_base_block(DATA)


def _keys(cells: Cells) -> list[NkCell]:
    found, todo, seen = [], [BASE.root_cell_offset], set()
    while todo and len(found) < 50:
        off = todo.pop()
        if off in seen:
            continue
        seen.add(off)
        try:
            nk = cells.nk(off)
        except CellError:
            continue
        found.append(nk)
        if nk.subkey_count:
            with contextlib.suppress(CellError):
                todo += cells.subkey_offsets(nk.subkey_list)
    return found


def _same_as_careful(data: bytes, max_value_bytes: int = 1 << 20) -> int:
    cells = Cells(data, minor_version=BASE.minor_version, max_value_bytes=max_value_bytes)
    compared = 0
    for nk in _keys(cells):
        try:
            expected: tuple[list[RawValue], list[str]] | str = cells.values(nk, inline=False)
        except CellError as exc:
            expected = str(exc)
        try:
            got: tuple[list[RawValue], list[str]] | str = cells.values(nk)
        except CellError as exc:
            got = str(exc)
        assert got == expected
        compared += 1
    return compared


def _value_cells() -> list[int]:
    cells = Cells(DATA, minor_version=BASE.minor_version)
    return [off for nk in _keys(cells) for off in cells.value_offsets(nk)]


VALUE_CELLS = _value_cells()


def test_intact_hive_reads_the_same_both_ways() -> None:
    assert _same_as_careful(DATA) >= 3
    assert _same_as_careful(DATA, max_value_bytes=100) >= 3  # capped values take the careful path
    cells = Cells(DATA, minor_version=BASE.minor_version)
    values = {v.name: v for nk in _keys(cells) for v in cells.values(nk)[0]}
    assert [values[f"inline{n}"].data for n in range(5)] == [bytes(range(1, n + 1)) for n in range(5)]
    assert values["Big"].data == bytes(range(256)) * 80 and values["Exact"].data == bytes(16344)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(VALUE_CELLS), st.integers(-8, 40), st.integers(0, 255)),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from([1 << 20, 100, 4]),
)
def test_damaged_value_cells_read_the_same_both_ways(damage: list[tuple[int, int, int]], cap: int) -> None:
    data = bytearray(DATA)
    for cell, delta, byte in damage:
        at = BASE_BLOCK_SIZE + cell + delta
        if BASE_BLOCK_SIZE <= at < len(data):
            data[at] = byte
    _same_as_careful(bytes(data), max_value_bytes=cap)


def test_value_list_damage_reads_the_same_both_ways() -> None:
    cells = Cells(DATA, minor_version=BASE.minor_version)
    for nk in _keys(cells):
        if not nk.value_count:
            continue
        for size in (-8, -12, 4, 0x7FFFFFF0, -0x7FFFFFF0):  # the list cell's own size field
            data = bytearray(DATA)
            struct.pack_into("<i", data, BASE_BLOCK_SIZE + nk.value_list, size)
            _same_as_careful(bytes(data))
        for value_list in (nk.value_list + 4, 0xFFFFFFF8, len(DATA)):  # the nk's pointer to it
            data = bytearray(DATA)
            struct.pack_into("<I", data, BASE_BLOCK_SIZE + nk.offset + 4 + 0x28, value_list)
            _same_as_careful(bytes(data))


def test_type_mismatch_and_plain_values_survive() -> None:
    cells = Cells(DATA, minor_version=BASE.minor_version)
    values = {v.name: v for nk in _keys(cells) for v in cells.values(nk)[0]}
    assert values["Blob"].type == REG_BINARY and values["Wide\u0101"].data == "x".encode("utf-16-le") + b"\0\0"
    assert values[""].data == b""


def test_key_records_keep_every_field_they_declare() -> None:
    """``Cells.nk`` unpacks only the fields it keeps; each must sit where the format puts it."""
    whole = struct.Struct("<2sHQIIIIIIIIIIIIIIIHH")  # every field of the 0x4C-byte nk header
    cells = Cells(DATA, minor_version=BASE.minor_version)
    keys = _keys(cells)
    assert len(keys) >= 3
    for nk in keys:
        f = whole.unpack_from(DATA, BASE_BLOCK_SIZE + nk.offset + 4)
        name = DATA[BASE_BLOCK_SIZE + nk.offset + 4 + 0x4C :][: f[18]]
        assert nk == (nk.offset, True, f[1], f[2], f[4], f[5], f[6], f[7], f[9], f[10], f[11], f[12], f[19],
                      name.decode("latin-1"), name, (f[3] >> 8) & 0xFF)  # fmt: skip


def test_boot_type_and_recover_are_read_after_the_thaw_guids() -> None:
    """The base block's last two DWORDs (0xFF8, 0xFFC) are boot type and boot recover; 0xFC8
    starts ThawTmId, a GUID that was read in their place."""
    block = bytearray(DATA[:BASE_BLOCK_SIZE])
    block[0xFC8:0xFF8] = bytes(range(1, 49))  # ThawTmId, ThawRmId, ThawLogId
    struct.pack_into("<II", block, 0xFF8, 2, 1)
    base = parse_base_block(bytes(block))
    assert (base.boot_type, base.boot_recover) == (2, 1)
