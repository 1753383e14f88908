"""The free-space scanner: cell map, key records in free and merged cells, reused cells, fuzzing."""

from __future__ import annotations

import struct
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hivescan.hive.header import BASE_BLOCK_SIZE, parse_base_block
from hivescan.hive.recover import KeyScan, RecoveredKey, map_cells
from hivescan.testing.regf import BuiltHive, HiveWriter, WKey


def _hive() -> BuiltHive:
    root = WKey("ROOT")
    root.key("Services\\Live").set_dword("Type", 16).set_expand_sz("ImagePath", "C:\\live.exe")
    gone = root.key("Services\\Gone")
    gone.set_dword("Type", 16).set_expand_sz("ImagePath", "C:\\Windows\\Temp\\gone.exe").set_dword("Start", 3)
    gone.key("Parameters").set_sz("Application", "C:\\payload.exe")
    gone.deleted = True
    return HiveWriter(root).build()


def _scan(data: bytes) -> KeyScan:
    return KeyScan(data, parse_base_block(data))


def _size(data: bytes | bytearray, off: int) -> int:
    return struct.unpack_from("<i", data, BASE_BLOCK_SIZE + off)[0]


def test_cell_map_covers_every_bin_and_knows_free_cells() -> None:
    built = _hive()
    base = parse_base_block(built.data)
    cmap = map_cells(built.data, base)
    assert not cmap.problems and not cmap.damaged
    assert cmap.starts[0] == 32  # the first cell follows the first hbin header
    gone = built.key_offsets["Services\\Gone"]
    live = built.key_offsets["Services\\Live"]
    assert cmap.state(gone, 0x50) == "free"
    assert cmap.state(live, 0x50) == "allocated"
    assert cmap.state(live + 8, 8) == "overwritten"
    assert cmap.state(0xFFFFFFFF, 4) == "outside"


def test_deleted_key_and_its_subkey_come_back_with_their_values() -> None:
    built = _hive()
    scan = _scan(built.data)
    off = built.key_offsets["Services\\Gone"]
    found = scan.keys[off]
    assert found.free and found.where == "free"
    assert scan.keys[built.key_offsets["Services\\Live"]].where == "allocated"
    key = RecoveredKey(scan, found, "Services\\Gone")
    assert key.state == "deleted"
    values = {v.name: v.data for v in key.values()}
    assert values["ImagePath"] == "C:\\Windows\\Temp\\gone.exe\0".encode("utf-16-le")
    assert key.recovery is not None and key.recovery.attached == "linked" and key.recovery.unreadable == 0
    (params,) = key.subkeys()
    assert params.name == "Parameters" and params.state == "deleted"
    assert [v.name for v in params.values()] == ["Application"]


def test_key_inside_a_merged_free_cell_is_found() -> None:
    """Windows merges a freed cell with free neighbours; the key record then sits inside a
    bigger free cell. Merge the deleted key's cell into the cell before it."""
    built = _hive()
    data = bytearray(built.data)
    gone = built.key_offsets["Services\\Gone"]
    cmap = map_cells(bytes(data), parse_base_block(bytes(data)))
    i = cmap.starts.index(gone)
    prev_start, prev_end = cmap.starts[i - 1], cmap.ends[i - 1]
    assert prev_end == gone
    struct.pack_into("<i", data, BASE_BLOCK_SIZE + prev_start, (cmap.ends[i] - prev_start))  # one free cell
    scan = _scan(bytes(data))
    assert gone in scan.keys and scan.keys[gone].free


def test_a_reused_value_cell_is_never_read_as_the_deleted_keys() -> None:
    built = _hive()
    data = bytearray(built.data)
    vk = built.value_offsets["Services\\Gone:ImagePath"]
    struct.pack_into("<i", data, BASE_BLOCK_SIZE + vk, -abs(_size(data, vk)))  # allocated again by someone else
    scan = _scan(bytes(data))
    key = RecoveredKey(scan, scan.keys[built.key_offsets["Services\\Gone"]], "Services\\Gone")
    names = [v.name for v in key.values()]
    assert "ImagePath" not in names and "Type" in names
    assert [d.code for d in key.diagnostics] == ["recovered_value_unreadable"]
    assert "reused" in key.diagnostics[0].message


def test_values_a_key_no_longer_links_are_found_by_proximity() -> None:
    """hivex (and deleting every value first) clears the key's value count before freeing it."""
    built = _hive()
    data = bytearray(built.data)
    off = built.key_offsets["Services\\Gone"]
    payload = BASE_BLOCK_SIZE + off + 4
    struct.pack_into("<II", data, payload + 0x24, 0, 0xFFFFFFFF)  # value count, value list
    scan = _scan(bytes(data))
    key = RecoveredKey(scan, scan.keys[off], "Services\\Gone")
    assert {v.name for v in key.values()} == {"Type", "ImagePath", "Start"}
    assert key.recovery is not None and key.recovery.attached == "nearby_list"
    assert "recovered_values_by_proximity" in [d.code for d in key.diagnostics]


def _exercise(data: bytes) -> None:
    """Everything a recovery run touches, on arbitrary bytes."""
    if len(data) < BASE_BLOCK_SIZE + 32:
        return
    scan = _scan(data)
    for off, found in list(scan.keys.items())[:200]:
        key = RecoveredKey(scan, found, found.nk.name)
        key.values()
        key.security_descriptor()
        for sub in key.subkeys()[:20]:
            sub.values()
        scan.ancestors(off)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 20_000), st.binary(min_size=1, max_size=16)), max_size=40))
def test_mutated_hives_never_raise(patches: list[tuple[int, bytes]]) -> None:
    data = bytearray(_hive().data)
    for offset, blob in patches:
        at = offset % len(data)
        data[at : at + len(blob)] = blob
    _exercise(bytes(data[: len(_hive().data)]))


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=0, max_size=9000), st.integers(0, 1 << 32))
def test_random_bins_never_raise(body: bytes, bins_size: int) -> None:
    header = bytearray(_hive().data[:BASE_BLOCK_SIZE])
    struct.pack_into("<I", header, 40, bins_size & 0xFFFFFFFF)
    _exercise(bytes(header) + b"hbin" + body)


def test_nk_signatures_everywhere_terminate() -> None:
    """A bin full of key-record signatures and self-referencing parents: bounded, no hang."""
    built = _hive()
    data = bytearray(built.data)
    filler = (struct.pack("<i", 0x58) + b"nk" + b"\x20\x00" + b"\x00" * 8 + struct.pack("<I", 0x20)).ljust(0x58, b"\0")
    for pos in range(BASE_BLOCK_SIZE + 4096, len(data) - 0x58, 0x58):
        data[pos : pos + 0x58] = filler
    _exercise(bytes(data))


def _misparented(parent_delta: int) -> tuple[bytes, int]:
    """A SYSTEM hive whose deleted service key ``Gone`` has its parent pointer moved by ``parent_delta``."""
    from tests.conftest import system_root

    root = system_root()
    root.key("ControlSet001\\Services\\Live").set_dword("Type", 16).set_dword("Start", 3).set_dword("ErrorControl", 1)
    gone = root.key("ControlSet001\\Services\\Gone")
    gone.set_dword("Type", 16).set_dword("Start", 3).set_dword("ErrorControl", 1)
    gone.set_expand_sz("ImagePath", "C:\\Windows\\Temp\\gone.exe")
    gone.key("Parameters").set_sz("Application", "C:\\payload.exe")
    gone.deleted = True
    built = HiveWriter(root).build()
    data = bytearray(built.data)
    off = built.key_offsets["ControlSet001\\Services\\Gone"]
    at = BASE_BLOCK_SIZE + off + 4 + 0x10  # the nk's parent field
    struct.pack_into("<I", data, at, struct.unpack_from("<I", data, at)[0] + parent_delta)
    return bytes(data), off


def test_deleted_key_with_a_misaligned_parent_pointer_is_kept_unattributed() -> None:
    """yarp's plausibility check threw such a key away and its Parameters subkey lost the
    ``Gone`` path component; now both stay, the chain broken (and said so) at ``Gone``."""
    data, off = _misparented(3)
    scan = _scan(data)
    assert off in scan.keys and scan.parent_problem(scan.keys[off].nk) is not None
    (params,) = [o for o, k in scan.keys.items() if k.nk.name == "Parameters"]
    path = scan.lost_path(params)
    assert path.endswith("Gone\\Parameters") and "not 8-byte aligned" in path


def test_misaligned_parent_gives_a_low_confidence_unattributed_record(tmp_path: Path) -> None:
    import hivescan

    data, _ = _misparented(0x7FFF0003)
    path = tmp_path / "SYSTEM"
    path.write_bytes(data)
    with hivescan.open_hive(path) as hive:
        assert "Gone" not in {r.name for r in hive.deleted_services()}  # not placed under Services
        assert "deleted_keys_unattributed" in {d.code for d in hive.hive_diagnostics()}
        (rec,) = [r for r in hive.deleted_services(unattributed=True) if r.name == "Gone"]
    assert rec.control_set is None and rec.recovery_confidence == "low"
    assert rec.origin.key_path.startswith("(parent pointer 0x")
    assert any("cannot be placed in the tree" in reason for reason in rec.recovery_reasons)
    assert "recovered_parent_invalid" in {d.code for d in rec.diagnostics}
