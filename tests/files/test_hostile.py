"""Hostile and odd files: diagnostics, never a traceback; bounded reads."""

from __future__ import annotations

import struct
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hivescan.files.facts import FileAnalyser
from hivescan.files.pe import read_layout
from hivescan.files.source import FolderSource
from hivescan.testing.pe import build_catalog, build_pe

E_LFANEW = 0x80
CERT_ENTRY = E_LFANEW + 24 + 112 + 4 * 8  # PE32+ optional header: data directory 4


def _facts(root: Path, name: str, data: bytes, **options: int) -> dict:
    folder = root / "Windows"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    catroot = root / "Windows" / "System32" / "CatRoot" / "{F750E6C3-38EE-11D1-85E5-00C04FC295EE}"
    catroot.mkdir(parents=True, exist_ok=True)
    (catroot / "Other.cat").write_bytes(build_catalog([bytes(32)]))
    facts = FileAnalyser(FolderSource(root), **options).facts(f"C:\\Windows\\{name}")  # type: ignore[arg-type]
    assert facts is not None
    return facts


def _codes(facts: dict) -> set[str]:
    return {d["code"] for d in facts["diagnostics"]}


def test_truncated_pe(tmp_path: Path) -> None:
    facts = _facts(tmp_path, "cut.exe", build_pe()[:0x90])
    assert facts["exists"] is True and facts["sha256"] is not None
    assert facts["pe"] is None and "pe_header_out_of_bounds" in _codes(facts)


def test_absurd_e_lfanew(tmp_path: Path) -> None:
    data = bytearray(build_pe())
    struct.pack_into("<I", data, 0x3C, 0xFFFFFFF0)
    facts = _facts(tmp_path, "far.exe", bytes(data))
    assert facts["pe"] is None and "pe_header_out_of_bounds" in _codes(facts)


def test_absurd_section_count_goes_to_pefile_and_comes_back_as_facts(tmp_path: Path) -> None:
    data = bytearray(build_pe())
    struct.pack_into("<H", data, E_LFANEW + 6, 0xFFFF)  # NumberOfSections
    facts = _facts(tmp_path, "many.exe", bytes(data))
    assert facts["pe"]["machine"] == "amd64"  # our own header reader still answers
    assert facts["signature"]["status"] == "unsigned"


def test_certificate_table_outside_the_file(tmp_path: Path) -> None:
    data = bytearray(build_pe())
    struct.pack_into("<II", data, CERT_ENTRY, 0x7FFFFF00, 0x1000)
    facts = _facts(tmp_path, "cert.exe", bytes(data))
    assert "pe_cert_table_out_of_bounds" in _codes(facts)
    assert facts["signature"]["status"] == "error"


def test_certificate_table_with_garbage(tmp_path: Path) -> None:
    data = build_pe()
    table = struct.pack("<IHH", 8 + 64, 0x200, 2) + b"\x30\x82\xff\xff" + b"\x00" * 60
    patched = bytearray(data + table)
    struct.pack_into("<II", patched, CERT_ENTRY, len(data), len(table))
    facts = _facts(tmp_path, "junk.exe", bytes(patched))
    assert facts["signature"]["status"] == "error"
    assert facts["signature"]["reasons"]


def test_two_gigabyte_sparse_file_is_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "Windows"
    folder.mkdir()
    with open(folder / "big.sys", "wb") as handle:
        handle.write(build_pe())
        handle.truncate(2 << 30)  # sparse: no disk used
    facts = FileAnalyser(FolderSource(tmp_path)).facts("C:\\Windows\\big.sys")
    assert facts is not None and facts["size"] == 2 << 30
    assert facts["sha256"] is None and "file_too_large" in _codes(facts)


def test_hash_limit_is_a_parameter(tmp_path: Path) -> None:
    facts = _facts(tmp_path, "small.exe", build_pe(), max_hash_bytes=100)
    assert facts["sha256"] is None and "file_too_large" in _codes(facts)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_read_layout_never_raises(data: bytes) -> None:
    layout, diags = read_layout(data, len(data))
    assert layout is not None or diags


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 0x5FF), st.integers(0, 255)), max_size=12))
def test_mutated_pe_never_raises(tmp_path_factory, edits: list[tuple[int, int]]) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(build_pe())
    for offset, value in edits:
        if offset < len(data):
            data[offset] = value
    root = tmp_path_factory.mktemp("mut")
    facts = _facts(root, "m.exe", bytes(data))
    assert facts["exists"] is True and facts["sha256"] is not None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_signed_data_check_never_raises(data: bytes) -> None:
    from hivescan.files.authenticode import check_signed_data

    check = check_signed_data(data)
    assert check.status in ("valid", "untrusted", "invalid", "error") and (check.status == "valid" or check.reasons)


def test_large_file_is_hashed_in_bounded_memory(tmp_path: Path) -> None:
    import hashlib
    import tracemalloc

    folder = tmp_path / "Windows"
    folder.mkdir()
    size = 256 << 20
    with open(folder / "blob.dat", "wb") as handle:
        handle.write(b"not a PE")
        handle.truncate(size)  # sparse
    tracemalloc.start()
    try:
        facts = FileAnalyser(FolderSource(tmp_path)).facts("C:\\Windows\\blob.dat")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    expected = hashlib.sha256()
    with open(folder / "blob.dat", "rb") as handle:
        while chunk := handle.read(1 << 20):
            expected.update(chunk)
    assert facts is not None and facts["sha256"] == expected.hexdigest() and facts["pe"] is None
    assert peak < 16 << 20, f"peak {peak:,} bytes while hashing {size:,}"
