"""The key tree survives damage: junk subkey entries, zeroed lists, cycles, broken value cells."""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hivescan
from hivescan.errors import HiveDamaged, NotAHive
from hivescan.hive.cells import CellError, Cells
from hivescan.hive.header import parse_base_block
from hivescan.hive.source import HiveSource
from hivescan.hive.tree import HiveReader
from hivescan.testing.regf import BuiltHive, HiveWriter, WKey
from tests.conftest import system_root


def service_hive(n: int = 3) -> tuple[WKey, list[str]]:
    root = system_root()
    names = [f"Svc{i}" for i in range(n)]
    for name in names:
        root.key(f"ControlSet001\\Services\\{name}").set_dword("Type", 16).set_dword("Start", 3).set_dword(
            "ErrorControl", 1
        ).set_expand_sz("ImagePath", f"C:\\x\\{name}.exe")
    return root, names


def nk_field(data: bytearray, nk_off: int, field_at: int) -> int:
    return struct.unpack_from("<I", data, 4096 + nk_off + 4 + field_at)[0]


def subkey_list_of(data: bytearray, built: BuiltHive, path: str) -> int:
    return nk_field(data, built.key_offsets[path], 0x1C)


def test_subkey_entry_pointing_at_a_value_cell_is_skipped_and_explained(tmp_path: Path) -> None:
    root, _names = service_hive()
    built = HiveWriter(root).build()
    data = bytearray(built.data)
    lst = subkey_list_of(data, built, r"ControlSet001\Services")
    # lh entry 1 now points at a vk cell: what damage looks like to a naive parser
    struct.pack_into("<I", data, 4096 + lst + 4 + 4 + 8, built.value_offsets[r"ControlSet001\Services\Svc0:Type"])
    path = tmp_path / "SYSTEM"
    path.write_bytes(bytes(data))
    with hivescan.open_hive(path) as hive:
        recs = hive.services()
        assert [r.name for r in recs] == ["Svc0", "Svc2"]
        services = hive.reader.key(r"ControlSet001\Services")
        assert services is not None
        notes = {d.code: d for d in services.diagnostics}
        assert "subkey_entries_invalid" in notes and "entry 1 " in notes["subkey_entries_invalid"].message
        assert "subkey_list_incomplete" in {d.code for d in hive.hive_diagnostics()}


def test_zeroed_subkey_list_yields_a_warning_not_a_crash(tmp_path: Path) -> None:
    root, _ = service_hive()
    root.key("ControlSet002\\Services\\Kept").set_dword("Type", 1).set_dword("Start", 0).set_dword("ErrorControl", 1)
    built = HiveWriter(root).build()
    data = bytearray(built.data)
    lst = subkey_list_of(data, built, "ControlSet001")
    size = -struct.unpack_from("<i", data, 4096 + lst)[0]
    data[4096 + lst + 4 : 4096 + lst + size] = b"\0" * (size - 4)
    path = tmp_path / "SYSTEM"
    path.write_bytes(bytes(data))
    with hivescan.open_hive(path) as hive:
        assert hive.services("all") and {r.control_set for r in hive.services("all")} == {2}
        codes = {d.code for d in hive.hive_diagnostics()}
        assert {"subkey_list_incomplete", "services_key_missing"} <= codes


def test_cycle_back_to_an_ancestor_is_cut(tmp_path: Path) -> None:
    root, _ = service_hive(1)
    root.key(r"ControlSet001\Services\Svc0\Parameters").set_dword("x", 1)
    built = HiveWriter(root).build()
    data = bytearray(built.data)
    # Svc0\Parameters lists itself... its parent chain: make Svc0's list point at ControlSet001
    lst = subkey_list_of(data, built, r"ControlSet001\Services\Svc0")
    struct.pack_into("<I", data, 4096 + lst + 4 + 4, built.key_offsets["ControlSet001"])
    path = tmp_path / "SYSTEM"
    path.write_bytes(bytes(data))
    with hivescan.open_hive(path) as hive:
        (rec,) = hive.services()
        assert rec.name == "Svc0" and rec.subkey_names == ()
        assert any("cycle" in d.message for d in rec.diagnostics)


def test_broken_value_cell_is_reported_and_other_values_kept(tmp_path: Path) -> None:
    root, _ = service_hive(1)
    built = HiveWriter(root).build()
    data = bytearray(built.data)
    off = built.value_offsets[r"ControlSet001\Services\Svc0:ImagePath"]
    data[4096 + off + 4 : 4096 + off + 6] = b"XX"  # vk signature gone
    path = tmp_path / "SYSTEM"
    path.write_bytes(bytes(data))
    with hivescan.open_hive(path) as hive:
        (rec,) = hive.services()
    assert rec.status == "database" and rec.start == 3
    assert rec.image_path is None
    assert "value_unreadable" in rec.diagnostic_codes


def test_truncated_hive_keeps_what_is_before_the_cut(tmp_path: Path) -> None:
    root, names = service_hive(40)
    data = HiveWriter(root).build().data
    path = tmp_path / "SYSTEM"
    path.write_bytes(data[: len(data) - 4096])
    with hivescan.open_hive(path) as hive:
        codes = {d.code for d in hive.hive_diagnostics()}
        recs = hive.services()
    assert "hive_truncated" in codes
    assert recs and {r.name for r in recs} <= set(names)


@pytest.mark.parametrize(
    ("blob", "error"),
    [(b"", NotAHive), (b"regf" + b"\0" * 100, HiveDamaged), (b"MZ\x90\0" * 2000, NotAHive)],
)
def test_unreadable_inputs_raise_the_documented_errors(blob: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        HiveReader(HiveSource.from_bytes(blob))


def test_backends_agree_on_a_clean_hive(tmp_path: Path) -> None:
    root, _ = service_hive(5)
    path = tmp_path / "SYSTEM"
    path.write_bytes(HiveWriter(root).build().data)

    def strip(r: hivescan.ServiceRecord) -> dict:
        d = r.to_dict()
        d.pop("parser")
        return d

    outputs = []
    for backend in ("regipy-rs", "regipy", "python-registry"):
        with hivescan.open_hive(path, backend=backend) as hive:
            recs = hive.services()
            assert {r.origin.parser for r in recs} == {backend}
            outputs.append([strip(r) for r in recs])
    assert outputs[0] == outputs[1] == outputs[2]


# ---------------------------------------------------------------- cells: fast path == careful path

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
raw_values = st.tuples(st.text(min_size=0, max_size=12), st.integers(0, 12), st.binary(max_size=40))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(raw_values, max_size=12, unique_by=lambda v: v[0].upper()), big=st.booleans())
def test_fast_and_careful_value_paths_agree(values: list[tuple[str, int, bytes]], big: bool) -> None:
    root = WKey("ROOT")
    key = root.key("K")
    for name, reg_type, data in values:
        key.set(name, reg_type, data)
    if big:
        key.set("big", 3, bytes(range(256)) * 70)
    data = HiveWriter(root).build().data
    cells = Cells(data, minor_version=parse_base_block(data).minor_version)
    nk = cells.nk(cells.subkey_offsets(cells.nk(parse_base_block(data).root_cell_offset).subkey_list)[0])
    fast, problems = cells.values(nk)
    assert not problems
    careful = [cells.vk(off) for off in cells.value_offsets(nk)]
    assert [(v.name, v.type, v.data) for v in fast] == [(v.name, v.type, v.data) for v in careful]
    assert [(v.name, v.type, v.data) for v in fast] == [(v.name, v.type, v.data) for v in key.values]


@settings(max_examples=300, deadline=None)
@given(blob=st.binary(min_size=0, max_size=600), offset=st.integers(0, 700))
def test_cells_never_raise_anything_but_cell_error(blob: bytes, offset: int) -> None:
    cells = Cells(b"\0" * 4096 + blob)
    for read in (cells.nk, cells.vk, cells.security, cells.subkey_offsets):
        with contextlib.suppress(CellError):
            read(offset)  # type: ignore[operator]


@pytest.mark.parametrize(("field_at", "what"), [(0x14, "subkeys"), (0x24, "values")])
def test_absurd_counts_are_bounded_by_the_cells(tmp_path: Path, field_at: int, what: str) -> None:
    root, _ = service_hive(3)
    built = HiveWriter(root).build()
    data = bytearray(built.data)
    nk = (
        built.key_offsets[r"ControlSet001\Services"]
        if what == "subkeys"
        else built.key_offsets[r"ControlSet001\Services\Svc1"]
    )
    struct.pack_into("<I", data, 4096 + nk + 4 + field_at, 0xFFFFFFFF)
    path = tmp_path / "SYSTEM"
    path.write_bytes(bytes(data))
    with hivescan.open_hive(path) as hive:
        recs = hive.services()
        codes = {d.code for r in recs for d in r.diagnostics} | {d.code for d in hive.hive_diagnostics()}
    if what == "subkeys":
        assert [r.name for r in recs] == ["Svc0", "Svc1", "Svc2"]  # the list itself is intact
        assert "subkey_list_incomplete" in codes
    else:
        assert "value_list_unreadable" in codes
        assert {r.name for r in recs} == {"Svc0", "Svc1", "Svc2"}


def test_absurd_value_sizes(tmp_path: Path) -> None:
    root, _ = service_hive(1)
    built = HiveWriter(root).build()
    data = bytearray(built.data)
    vk = built.value_offsets[r"ControlSet001\Services\Svc0:ImagePath"]
    struct.pack_into("<I", data, 4096 + vk + 4 + 4, 0x7FFFFFF0)  # data size: ~2 GiB
    path = tmp_path / "SYSTEM"
    path.write_bytes(bytes(data))
    with hivescan.open_hive(path) as hive:
        (rec,) = hive.services()
    raw = next(v for v in rec.raw_values if v.name == "ImagePath")
    assert len(raw.data) < 4096  # capped to what the cell holds ...
    assert {"value_truncated_by_tool", "value_data_short"} <= set(rec.diagnostic_codes)  # ... and said so


def test_closing_a_hive_frees_it_without_the_cycle_collector(tmp_path: Path) -> None:
    """Keys point at their reader; closing must break the reader -> root -> keys loop, or
    every closed hive (bytes, keys, values) waits for a cyclic collection (triage holds
    thousands in turn)."""
    import gc
    import weakref

    root, names = service_hive(5)
    path = tmp_path / "SYSTEM"
    path.write_bytes(HiveWriter(root).build().data)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with hivescan.open_hive(path) as hive:
            assert [r.name for r in hive.services()] == names
            cells = weakref.ref(hive.reader.cells)
        del hive
        assert cells() is None, "the closed hive's cells are still alive: a reference cycle"
    finally:
        if was_enabled:
            gc.enable()


def test_using_a_closed_hive_is_a_clear_error(tmp_path: Path) -> None:
    from hivescan.errors import HiveClosed

    root, _ = service_hive(1)
    path = tmp_path / "SYSTEM"
    path.write_bytes(HiveWriter(root).build().data)
    with hivescan.open_hive(path) as hive:
        pass
    with pytest.raises(HiveClosed, match="the hive was closed"):
        hive.reader.key("ControlSet001\\Services")


@pytest.mark.parametrize("offset", [-8, -4096, -(1 << 20)])
def test_negative_cell_offsets_are_refused(offset: int) -> None:
    """Offsets read from the hive are unsigned, but a library's (regipy-rs reports file
    positions) may come out negative: Python would then read from the end of the bytes."""
    root, _ = service_hive(1)
    cells = Cells(HiveWriter(root).build().data)
    for read in (cells.cell, cells.nk, cells.vk, cells.security):
        with pytest.raises(CellError, match="invalid cell offset"):
            read(offset)
