"""Differencing (delta) hives: layered keys and tombstone values are reported, not misread (issue 11).

``System_Delta`` (Windows containers, Sandbox) has base block flag 0x2; its keys carry
layered-key bits (tombstone, supersede local/tree) and its values may be tombstones. Read as
an ordinary hive, tombstone keys became rejected services and tombstone values read as "".
The hive is built with the project's writer and the layered bits are set in the cells.
"""

from __future__ import annotations

import struct
from pathlib import Path

import hivescan
from hivescan.hive.cells import layer_semantics
from hivescan.hive.header import base_block_checksum, parse_base_block
from hivescan.hive.source import HiveSource
from hivescan.hive.tree import HiveReader
from hivescan.testing.regf import HiveWriter, WKey
from tests.conftest import system_root

SERVICES = "ControlSet001\\Services"


def delta_hive(*, differencing: bool = True) -> bytes:
    root: WKey = system_root()
    for name in ("Kept", "Edited"):
        svc = root.key(f"{SERVICES}\\{name}")
        svc.set_dword("Type", 16).set_dword("Start", 3).set_dword("ErrorControl", 1)
        svc.set_expand_sz("ImagePath", f"C:\\{name}.exe")
    root.key(f"{SERVICES}\\Gone")  # a tombstone key: no values
    built = HiveWriter(root).build()
    data = bytearray(built.data)
    if differencing:
        struct.pack_into("<I", data, 144, 0x2)
        struct.pack_into("<I", data, 508, base_block_checksum(bytes(data[:4096])))
    data[4096 + built.key_offsets[f"{SERVICES}\\Gone"] + 4 + 13] = 0x01  # layer semantics: tombstone
    data[4096 + built.key_offsets[f"{SERVICES}\\Edited"] + 4 + 13] = 0x82  # supersede local, inherit class
    vk = 4096 + built.value_offsets[f"{SERVICES}\\Edited:ImagePath"] + 4
    struct.pack_into("<IIIH", data, vk + 4, 0, 0xFFFFFFFF, 0, 0x0001 | 0x0002)  # size, offset, REG_NONE, flags
    return bytes(data)


def test_base_block_flag_and_layered_bits_are_read() -> None:
    data = delta_hive()
    assert parse_base_block(data).differencing
    assert not parse_base_block(delta_hive(differencing=False)).differencing
    with HiveReader(HiveSource.from_bytes(data)) as reader:
        assert "differencing_hive" in {d.code for d in reader.diagnostics}
        services = reader.key(SERVICES)
        assert services is not None
        by_name = {k.name: k for k in services.subkeys()}
        gone, edited, kept = by_name["Gone"]._nk, by_name["Edited"]._nk, by_name["Kept"]._nk
        assert gone is not None and edited is not None and kept is not None
        assert (layer_semantics(gone), layer_semantics(edited), layer_semantics(kept)) == (
            "tombstone",
            "supersede_local",
            "none",
        )
        notes = {d.code: d for d in by_name["Gone"].diagnostics}
        assert notes["layered_key"].level == "warning" and "deletes the key" in notes["layered_key"].message
        assert not by_name["Kept"].diagnostics
        (image,) = [v for v in by_name["Edited"].values() if v.name == "ImagePath"]
        assert image.data == b"" and image.type == 0  # kept as stored, raw
        tomb = [d for d in by_name["Edited"].diagnostics if d.code == "value_tombstone"]
        assert tomb and tomb[0].field == "ImagePath" and tomb[0].level == "warning"
        inherit = [d for d in by_name["Edited"].diagnostics if d.code == "layered_key"]
        assert inherit and "inherits its class name" in inherit[0].message


def test_service_records_of_a_delta_hive_say_what_they_overlay(tmp_path: Path) -> None:
    path = tmp_path / "System_Delta"
    path.write_bytes(delta_hive())
    with hivescan.open_hive(path) as hive:
        records = {r.name: r for r in hive.services("all")}
        assert "differencing_hive" in {d.code for d in hive.hive_diagnostics()}
    gone = {d.code: d for d in records["Gone"].diagnostics}
    assert "layered_key" in gone and "tombstone" in gone["layered_key"].message
    assert "value_tombstone" in {d.code for d in records["Edited"].diagnostics}
    assert "layered_key" not in {d.code for d in records["Kept"].diagnostics}


def test_careful_and_fast_value_paths_agree_on_tombstones() -> None:
    from hivescan.hive.cells import Cells

    data = delta_hive()
    with HiveReader(HiveSource.from_bytes(data)) as reader:
        edited = reader.key(f"{SERVICES}\\Edited")
        assert edited is not None and edited._nk is not None
        cells = Cells(data)
        assert cells.values(edited._nk) == cells.values(edited._nk, inline=False)


def _with_flags(data: bytes, flags: int) -> bytes:
    out = bytearray(data)
    struct.pack_into("<I", out, 144, flags)
    struct.pack_into("<I", out, 508, base_block_checksum(bytes(out[:4096])))
    return bytes(out)


def test_leftover_bytes_in_an_old_hives_flags_field_do_not_make_a_delta() -> None:
    """Before Vista the flags field held leftovers: the shared NT4 hive has 0x4D8D106A there,
    the XP one 0x00FFFFFF. Both have bit 0x2 set and were reported as differencing hives."""
    plain = delta_hive(differencing=False)
    for leftover in (0x4D8D106A, 0x00FFFFFF, 0xFFFFFFFE):
        data = _with_flags(plain, leftover)
        assert not parse_base_block(data).differencing, hex(leftover)
        with HiveReader(HiveSource.from_bytes(data)) as reader:
            assert "differencing_hive" not in {d.code for d in reader.diagnostics}
    assert parse_base_block(_with_flags(plain, 0x3)).differencing  # KTM locked and layered


def test_real_nt4_and_xp_hives_are_not_deltas() -> None:
    from tests.conftest import shared_hive

    for name in ("nt4-SYSTEM", "xp-corrupted-SYSTEM"):
        with hivescan.open_hive(shared_hive(name)) as hive:
            assert "differencing_hive" not in {d.code for d in hive.hive_diagnostics()}, name
