"""The test-hive writer produces hives that every parser reads the same way.

Each written hive is read by python-registry, regipy (pure Python), regipy-rs and hivescan's
own cell reader; all four must see the same keys, last-write times and values.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
import regipy_rs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from regipy.registry import RegistryHive as RegipyHive
from Registry import Registry

from hivescan.hive.cells import Cells
from hivescan.hive.header import base_block_checksum, parse_base_block
from hivescan.hive.regtypes import REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_QWORD, REG_SZ
from hivescan.testing.regf import HiveWriter, WKey, dword, filetime, multi_sz, name_hash, qword, sz

Tree = dict[str, tuple[int, dict[str, tuple[int, Any]]]]


def _plain(reg_type: int, data: bytes) -> Any:
    """Exact bytes -> the comparable form used by every reader below."""
    if reg_type in (REG_SZ, REG_EXPAND_SZ):
        val: Any = data.decode("utf-16-le").rstrip("\0")
    elif reg_type == REG_MULTI_SZ:
        val = data.decode("utf-16-le").split("\0")
    elif reg_type in (REG_DWORD, REG_QWORD):
        val = int.from_bytes(data, "little")
    else:
        val = data
    return _canonical(reg_type, val)


def _canonical(reg_type: int, value: Any) -> Any:
    if reg_type in (REG_SZ, REG_EXPAND_SZ):
        return str(value)
    if reg_type == REG_MULTI_SZ:
        return [v for v in value if v]
    if reg_type in (REG_DWORD, REG_QWORD):
        return int(value)
    return bytes(value)


def read_python_registry(path: Path) -> Tree:
    out: Tree = {}
    reg = Registry.Registry(str(path))

    def walk(key: Any, prefix: str) -> None:
        for sub in key.subkeys():
            p = f"{prefix}\\{sub.name()}" if prefix else sub.name()
            vals = {}
            for v in sub.values():
                vals[v.name()] = (v.value_type(), _plain(v.value_type(), v.raw_data()))
            out[p] = (sub._nkrecord.unpack_qword(0x4), vals)
            walk(sub, p)

    walk(reg.root(), "")
    return out


def read_regipy(path: Path) -> Tree:
    out: Tree = {}
    hive = RegipyHive(str(path))

    def walk(nk: Any, prefix: str) -> None:
        for sub in nk.iter_subkeys():
            p = f"{prefix}\\{sub.name}" if prefix else sub.name
            vals = {}
            for v in sub.iter_values(trim_values=False):
                t = {
                    "REG_SZ": 1,
                    "REG_EXPAND_SZ": 2,
                    "REG_BINARY": 3,
                    "REG_DWORD": 4,
                    "REG_MULTI_SZ": 7,
                    "REG_QWORD": 11,
                }[str(v.value_type)]
                vals[v.name] = (t, _canonical(t, v.value))
            out[p] = (int(sub.header.last_modified), vals)
            walk(sub, p)

    walk(hive.root, "")
    return out


def read_regipy_rs(path: Path) -> Tree:
    out: Tree = {}
    hive = regipy_rs.RegistryHive(str(path))
    names = {"REG_SZ": 1, "REG_EXPAND_SZ": 2, "REG_BINARY": 3, "REG_DWORD": 4, "REG_MULTI_SZ": 7, "REG_QWORD": 11}

    def walk(nk: Any, prefix: str) -> None:
        if not nk.subkey_count:
            return
        for sub in nk.subkeys():
            p = f"{prefix}\\{sub.name}" if prefix else sub.name
            vals = {}
            if sub.values_count:
                decoded, err = sub.values(as_json=False, trim_values=False, max_len=0)
                assert err is None
                for name, vtype, value, _c, _f in decoded:
                    t = names[vtype]
                    vals[name] = (t, _canonical(t, value))
            out[p] = (sub.header.last_modified, vals)
            walk(sub, p)

    walk(hive.root(), "")
    return out


def read_cells(path: Path) -> Tree:
    data = path.read_bytes()
    base = parse_base_block(data)
    cells = Cells(data, minor_version=base.minor_version)
    out: Tree = {}

    def walk(off: int, prefix: str) -> None:
        nk = cells.nk(off)
        if not nk.subkey_count:
            return
        for child in cells.subkey_offsets(nk.subkey_list):
            sub = cells.nk(child)
            p = f"{prefix}\\{sub.name}" if prefix else sub.name
            values, problems = cells.values(sub)
            assert not problems
            vals = {v.name: (v.type, _plain(v.type, v.data)) for v in values}
            out[p] = (sub.last_write, vals)
            walk(child, p)

    walk(base.root_cell_offset, "")
    return out


def expected(root: WKey) -> Tree:
    out: Tree = {}
    for path, key in root.walk():
        if key is root:
            continue
        rel = path.split("\\", 1)[1]
        out[rel] = (key.last_write, {v.name: (v.type, _plain(v.type, v.data)) for v in key.values})
    return out


# ---------------------------------------------------------------- strategies

# Names stay out of U+0080..U+00FF: the libraries mangle those (see the test below); names
# with higher characters are stored as UTF-16 and every parser reads them.
_name_chars = st.sampled_from(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.{}✓ŁΩ"))
names = st.text(_name_chars, min_size=1, max_size=16).filter(lambda s: s.strip() == s and s)
texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=40)
values = st.one_of(
    texts.map(lambda t: (REG_SZ, sz(t))),
    texts.map(lambda t: (REG_EXPAND_SZ, sz(t))),
    st.integers(0, 0xFFFFFFFF).map(lambda i: (REG_DWORD, dword(i))),
    st.integers(0, 2**64 - 1).map(lambda i: (REG_QWORD, qword(i))),
    st.binary(max_size=64).map(lambda b: (REG_BINARY, b)),
    st.lists(texts.filter(bool), max_size=4).map(lambda items: (REG_MULTI_SZ, multi_sz(items))),
)


@st.composite
def trees(draw: Any, depth: int = 0) -> WKey:
    node = WKey(
        draw(names), last_write=draw(st.integers(filetime("1990-01-01T00:00:00Z"), filetime("2030-01-01T00:00:00Z")))
    )
    for name in draw(st.lists(names, max_size=5, unique_by=str.upper)):
        reg_type, data = draw(values)
        node.set(name, reg_type, data)
    if depth < 3:
        for child in draw(st.lists(trees(depth + 1), max_size=4, unique_by=lambda k: k.name.upper())):
            node.subkeys.append(child)
    return node


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees(), subkey_list=st.sampled_from(["lh", "lf", "li", "ri"]))
def test_every_parser_reads_written_hives_the_same(
    tmp_path_factory: pytest.TempPathFactory, tree: WKey, subkey_list: str
) -> None:
    root = WKey("ROOT", subkeys=[tree])
    path = tmp_path_factory.mktemp("w") / "hive"
    path.write_bytes(HiveWriter(root, subkey_list=subkey_list, ri_leaf_size=2).build().data)
    want = expected(root)
    assert read_cells(path) == want
    assert read_python_registry(path) == want
    assert read_regipy_rs(path) == want
    assert read_regipy(path) == want


def test_big_data_values_round_trip(tmp_path: Path) -> None:
    big = bytes(range(256)) * 200  # 51,200 bytes: a db record with 4 segments
    text = "powershell -enc " + "QQBBAEEA" * 3000  # a long string, also stored as big data
    root = WKey("ROOT")
    root.key("K").set_binary("Big", big).set_sz("Long", text)
    path = tmp_path / "hive"
    path.write_bytes(HiveWriter(root).build().data)
    assert read_cells(path)["K"][1] == {"Big": (REG_BINARY, big), "Long": (REG_SZ, text)}
    assert read_python_registry(path)["K"][1]["Big"] == (REG_BINARY, big)
    assert read_regipy_rs(path)["K"][1]["Long"] == (REG_SZ, text)


def test_base_block_fields_and_checksum(tmp_path: Path) -> None:
    built = HiveWriter(
        WKey("ROOT"), primary_sequence=7, secondary_sequence=6, minor_version=3, file_name="SYSTEM"
    ).build()
    base = parse_base_block(built.data)
    assert (base.primary_sequence, base.secondary_sequence, base.version) == (7, 6, "1.3")
    assert base.dirty and base.checksum_ok
    assert base.file_name == "SYSTEM"
    assert base.stored_checksum == base_block_checksum(built.data[:4096])
    assert len(built.data) % 4096 == 0
    assert base.hive_bins_data_size == len(built.data) - 4096


def test_lh_hash_matches_windows_definition() -> None:
    # h = h*37 + upcase(char); "Services" computed by hand
    h = 0
    for ch in "SERVICES":
        h = (h * 37 + ord(ch)) & 0xFFFFFFFF
    assert name_hash("Services") == h == name_hash("services")


def test_deleted_keys_are_free_cells_unlinked_from_their_parent(tmp_path: Path) -> None:
    root = WKey("ROOT")
    root.key("Services\\Live").set_dword("Type", 16)
    gone = root.key("Services\\Gone")
    gone.set_sz("ImagePath", "C:\\Windows\\Temp\\x.exe")
    gone.deleted = True
    built = HiveWriter(root).build()
    path = tmp_path / "hive"
    path.write_bytes(built.data)
    assert set(read_python_registry(path)) == {"Services", "Services\\Live"}
    off = built.key_offsets["Services\\Gone"]
    (size,) = struct.unpack_from("<i", built.data, 4096 + off)
    assert size > 0  # freed, contents kept
    cells = Cells(built.data)
    nk = cells.nk(off, allow_free=True)
    assert nk.name == "Gone" and not nk.allocated


def test_latin1_names_are_read_from_the_cell_not_from_the_library(tmp_path: Path) -> None:
    """Windows stores names whose characters are all below U+0100 "compressed" (one byte per
    character, Latin-1). regipy-rs and regipy decode those bytes as ASCII and turn 'é' into
    U+FFFD; hivescan reads key names from its own cell parse. If this first assertion starts
    failing, the libraries were fixed and the workaround can go."""
    from hivescan.hive.tree import open_reader

    root = WKey("ROOT")
    root.key("Café").set_dword("Type", 16)
    path = tmp_path / "hive"
    path.write_bytes(HiveWriter(root).build().data)
    assert list(read_regipy_rs(path)) == ["Caf\ufffd"]
    assert list(read_python_registry(path)) == ["Café"]
    with open_reader(path) as reader:
        assert [k.name for k in reader.root().subkeys()] == ["Café"]
        assert reader.key("CAFÉ") is not None
