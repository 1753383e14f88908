"""The hive editor (hivescan.testing.regf_edit): changes appended as Windows makes them, read as
the intended tree by hivescan's cell reader and python-registry, logs of a few pages that replay
to the edited file; corpus v3's dirty hosts built that way."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import statistics
import struct
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hivescan
from hivescan.hive.logs import parse_log, read_log, replay
from hivescan.hive.source import HiveSource
from hivescan.testing.fleet import append_planted
from hivescan.testing.logs import dirty_pages, make_dirty
from hivescan.testing.regf import BASE_BLOCK_SIZE, HiveWriter, WKey, WValue
from hivescan.testing.regf_edit import EditError, HiveEditor
from hivescan.testing.win10 import HostSpec, PlantedService, build_system_hive
from tests.conftest import shared_hive
from tests.hive.test_regf_writer import expected, names, read_cells, read_python_registry, trees, values

LATE = PlantedService("UpdSvcHelper", r"C:\Users\Public\Libraries\updsvc.exe")


def _paths(root: WKey) -> list[str]:
    """Every key's path as the editor takes it (from the root, the root itself "")."""
    return [p.split("\\", 1)[1] if "\\" in p else "" for p, _ in root.walk()]


def _cell_size(image: bytes, off: int) -> int:
    return int(struct.unpack_from("<i", image, BASE_BLOCK_SIZE + off)[0])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tree=trees(),
    added=trees(depth=2),
    where=st.integers(0, 10_000),
    edits=st.lists(st.tuples(st.integers(0, 10_000), names, values), max_size=3),
    subkey_list=st.sampled_from(["lh", "lf", "li", "ri", "windows"]),
)
def test_edited_hives_read_as_the_intended_tree(
    tmp_path_factory: pytest.TempPathFactory,
    tree: WKey,
    added: WKey,
    where: int,
    edits: list[tuple[int, str, tuple[int, bytes]]],
    subkey_list: str,
) -> None:
    """A key added anywhere and values set on any key: python-registry and hivescan's cell
    reader see exactly the tree the edits describe, and the file before the edit is the same
    bytes but for the cells an append touches (its first bins unchanged in size)."""
    root = WKey("ROOT", subkeys=[tree])
    options: dict[str, Any] = {"subkey_list": subkey_list, "ri_leaf_size": 2}
    before = HiveWriter(root, **options).build().data
    want = copy.deepcopy(root)
    editor = HiveEditor(before, **options)
    paths = _paths(want)
    parent_path = paths[where % len(paths)]
    parent = want.key(parent_path) if parent_path else want
    if any(k.name.upper() == added.name.upper() for k in parent.subkeys):
        with pytest.raises(EditError):
            editor.add_key(parent_path, added)
    else:
        editor.add_key(parent_path, copy.deepcopy(added))
        parent.subkeys.append(copy.deepcopy(added))
    for index, name, (reg_type, data) in edits:
        path = paths[index % len(paths)]
        editor.set_value(path, WValue(name, reg_type, data))
        (want.key(path) if path else want).set(name, reg_type, data)
    after = editor.image()
    out = tmp_path_factory.mktemp("edit") / "hive"
    out.write_bytes(after)
    assert read_cells(out) == expected(want)
    assert read_python_registry(out) == expected(want)
    assert (
        len(after) >= len(before)
        and after[BASE_BLOCK_SIZE + 4 : BASE_BLOCK_SIZE + 12] == (before[BASE_BLOCK_SIZE + 4 : BASE_BLOCK_SIZE + 12])
    )


def test_an_added_key_reallocates_the_parent_list_and_frees_the_old_one() -> None:
    """Windows' way: the parent's list is a new cell past the old end of the file, the old
    list cell is free, the parent nk stays where it was; an ri root keeps its cell and only
    the leaf that gains the key moves."""
    root = WKey("ROOT")
    for n in range(9):
        root.key(f"Parent\\k{n}")
    for kind, leaf in (("lh", 512), ("ri", 4)):
        built = HiveWriter(root, subkey_list=kind, ri_leaf_size=leaf).build()
        editor = HiveEditor(built.data, subkey_list=kind, ri_leaf_size=leaf)
        parent = built.key_offsets["Parent"]
        old_list = struct.unpack_from("<I", built.data, BASE_BLOCK_SIZE + parent + 4 + 0x1C)[0]
        editor.add_key("Parent", WKey("k45"))
        after = editor.image()
        new_list = struct.unpack_from("<I", after, BASE_BLOCK_SIZE + parent + 4 + 0x1C)[0]
        assert struct.unpack_from("<I", after, BASE_BLOCK_SIZE + parent + 4 + 0x14)[0] == 10
        if kind == "lh":
            assert new_list >= len(built.data) - BASE_BLOCK_SIZE and _cell_size(after, old_list) > 0
        else:
            assert new_list == old_list and _cell_size(after, old_list) < 0
            leaves = [struct.unpack_from("<I", after, BASE_BLOCK_SIZE + old_list + 8 + 4 * i)[0] for i in range(3)]
            assert sum(off >= len(built.data) - BASE_BLOCK_SIZE for off in leaves) == 1


def test_a_missing_parent_or_existing_key_is_refused() -> None:
    built = HiveWriter(WKey("ROOT", subkeys=[WKey("A")])).build().data
    editor = HiveEditor(built)
    with pytest.raises(EditError, match="missing"):
        editor.add_key("B\\C", WKey("x"))
    with pytest.raises(EditError, match="exists"):
        editor.add_key("", WKey("a"))
    with pytest.raises(EditError, match="not a regf"):
        HiveEditor(b"\0" * 8192)


def test_a_new_descriptor_gets_an_sk_cell_in_the_list() -> None:
    """A key whose security descriptor the hive lacks: a new sk cell linked into the circular
    list (python-registry walks it), every key's descriptor read back as written."""
    from Registry import Registry

    built = HiveWriter(WKey("ROOT", subkeys=[WKey("A")])).build().data
    editor = HiveEditor(built)
    odd = bytes.fromhex("0100048014000000200000000000000000000000") + bytes.fromhex("010100000000000512000000") * 2
    editor.add_key("A", WKey("Locked", security=odd))
    editor.add_key("A", WKey("Plain"))
    image = editor.image()
    reg = Registry.Registry(io.BytesIO(image))
    locked = reg.open("A\\Locked")._nkrecord.sk_record()
    assert locked.unpack_binary(0x14, len(odd)) == odd
    plain = reg.open("A\\Plain")._nkrecord.sk_record()
    assert plain.offset() == reg.open("A")._nkrecord.sk_record().offset()
    refs = plain.unpack_dword(12)
    assert refs == 3  # ROOT, A, Plain


def _records(data: bytes, logs: str = "none") -> list[str]:
    with hivescan.open_hive(HiveSource.from_bytes(data), logs=logs) as hive:
        rows = [r.to_dict() for r in hive.services()]
    drop = ("hive_path", "hive_sha256", "changed_by_log_replay")
    return sorted(json.dumps({k: v for k, v in r.items() if k not in drop}, sort_keys=True, default=str) for r in rows)


@pytest.fixture(scope="module")
def v3_dirty() -> tuple[HostSpec, bytes, bytes]:
    """A v3 host (two control sets, no filler: fast) and the same host with the late service
    appended as Windows installs it."""
    spec = HostSpec("WS-00003", seed=4, shape="v3", update_level=3, control_sets=(1, 2), filler=False)
    built = build_system_hive(spec).data
    return spec, built, append_planted(built, spec, LATE)


def test_an_appended_service_reads_as_the_host_built_with_it(v3_dirty: tuple[HostSpec, bytes, bytes]) -> None:
    """The edited hive's service records are those of the hive built anew with the service
    planted (every control set); only the Services keys' own time differs, as on Windows."""
    spec, _, edited = v3_dirty
    later = build_system_hive(replace(spec, planted=(*spec.planted, LATE))).data
    assert _records(edited) == _records(later)
    assert any('"key_path": "ControlSet001\\\\Services\\\\UpdSvcHelper"' in r for r in _records(edited))
    from Registry import Registry

    services = Registry.Registry(io.BytesIO(edited)).open("ControlSet002\\Services")
    assert [k.name() for k in services.subkeys()].count("UpdSvcHelper") == 1


def test_its_log_holds_a_few_pages_and_replays_to_the_edit(
    tmp_path: Path, v3_dirty: tuple[HostSpec, bytes, bytes]
) -> None:
    """The log of the append: one entry of at most 16 pages (the laid-out-again hive's: hundreds)
    that replays to the edited file byte for byte, with the records of the edited hive."""
    spec, built, edited = v3_dirty
    pages = dirty_pages(built, edited)
    assert 3 <= len(pages) <= 16
    laid_out_again = build_system_hive(replace(spec, planted=(*spec.planted, LATE))).data
    assert len(dirty_pages(built, laid_out_again)) > 10 * len(pages)
    dirty = make_dirty([built, edited], fmt="new", sequence=2003, guid_seed=spec.host)
    assert sum(len(log) for log in dirty.logs.values()) < 100_000
    logs = [parse_log(data, f"SYSTEM{suffix}") for suffix, data in dirty.logs.items()]
    result = replay(dirty.primary, logs)
    assert hashlib.sha256(result.image).digest() == hashlib.sha256(dirty.replayed).digest()
    assert result.image[BASE_BLOCK_SIZE:] == edited[BASE_BLOCK_SIZE:]
    path = tmp_path / "SYSTEM"
    dirty.write(path)
    with hivescan.open_hive(path) as hive:
        changed = sorted(r.key_path for r in hive.services() if r.to_dict()["changed_by_log_replay"])
    assert changed == ["ControlSet001\\Services\\UpdSvcHelper"]


def test_real_windows_log_entries_are_as_small() -> None:
    """What the editor copies, on the real dirty Windows 10 hive: most of its log entries write
    a few pages (median at most 8: the new cells, the parent's nk and list, a bin header)."""
    hive = shared_hive("win10-dirty-SYSTEM")
    counts = [
        len(entry.pages)
        for suffix in (".LOG1", ".LOG2")
        for entry in read_log(hive.with_name(hive.name + suffix)).entries
    ]
    assert len(counts) >= 10 and statistics.median(counts) <= 8
