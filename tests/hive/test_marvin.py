"""Marvin32 against the published test vectors, and against real Windows log entries.

Vectors: the .NET runtime's Marvin tests (System.Runtime tests, ``MarvinTests.cs``), the
reference implementation's own expected 64-bit hashes for three seeds and 0-7 byte inputs.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hivescan.hive.marvin import LOG_ENTRY_SEED, marvin32, marvin32_many, python_marvin32

SEED1 = 0x004FB61A001BDBCC
SEED2 = 0x804FB61A001BDBCC
SEED3 = 0x804FB61A801BDBCC

VECTORS = [
    (SEED1, "", 0x30ED35C100CD3C7D),
    (SEED1, "af", 0x48E73FC77D75DDC1),
    (SEED1, "e70f", 0xB5F6E1FC485DBFF8),
    (SEED1, "37f495", 0xF0B07C789B8CF7E8),
    (SEED1, "8642dc59", 0x7008F2E87E9CF556),
    (SEED1, "153fb79826", 0xE6C08C6DA2AFA997),
    (SEED1, "0932e6246c47", 0x6F04BF1A5EA24060),
    (SEED1, "ab427ea8d10fc7", 0xE11847E4F0678C41),
    (SEED2, "", 0x10A9D5D3996FD65D),
    (SEED2, "af", 0x68201F91960EBF91),
    (SEED2, "e70f", 0x64B581631F6AB378),
    (SEED2, "37f495", 0xE1F2DFA6E5131408),
    (SEED2, "8642dc59", 0x36289D9654FB49F6),
    (SEED2, "153fb79826", 0x0A06114B13464DBD),
    (SEED2, "0932e6246c47", 0xD6DD5E40AD1BC2ED),
    (SEED2, "ab427ea8d10fc7", 0xE203987DBA252FB3),
    (SEED3, "00", 0xA37FB0DA2ECAE06C),
    (SEED3, "FF", 0xFECEF370701AE054),
    (SEED3, "00FF", 0xA638E75700048880),
    (SEED3, "FF00", 0xBDFB46D969730E2A),
    (SEED3, "FF00FF", 0x9D8577C0FE0D30BF),
    (SEED3, "00FF00", 0x4F9FBDDE15099497),
    (SEED3, "00FF00FF", 0x24EAA279D9A529CA),
    (SEED3, "FF00FF00", 0xD3BEC7726B057943),
    (SEED3, "FF00FF00FF", 0x920B62BBCA3E0B72),
    (SEED3, "00FF00FF00", 0x1D7DDF9DFDF3C1BF),
    (SEED3, "00FF00FF00FF", 0xEC21276A17E821A5),
    (SEED3, "FF00FF00FF00", 0x6911A53CA8C12254),
    (SEED3, "FF00FF00FF00FF", 0xFDFD187B1D3CE784),
    (SEED3, "00FF00FF00FF00", 0x71876F2EFB1B0EE8),
]


@pytest.mark.parametrize(("seed", "data", "expected"), VECTORS)
def test_published_vectors(seed: int, data: str, expected: int) -> None:
    assert marvin32(bytes.fromhex(data), seed) == expected
    assert python_marvin32(bytes.fromhex(data), seed) == expected  # the fallback, whichever one runs


def test_accepts_views_and_bytearrays() -> None:
    data = bytes(range(251))
    expected = marvin32(data)
    assert marvin32(bytearray(data)) == expected
    assert marvin32(memoryview(b"xx" + data)[2:]) == expected


def test_windows_log_entries_verify(shared: Callable[[str], Path]) -> None:
    """Every HvLE entry Windows wrote to the shared logs carries both Marvin32 hashes."""
    log = shared("win10-dirty-SYSTEM.LOG1").read_bytes()
    off, checked = 512, 0
    while log[off : off + 4] == b"HvLE":
        size = struct.unpack_from("<I", log, off + 4)[0]
        hash1, hash2 = struct.unpack_from("<QQ", log, off + 24)
        assert marvin32(log[off + 40 : off + size], LOG_ENTRY_SEED) == hash1
        assert marvin32(log[off : off + 32], LOG_ENTRY_SEED) == hash2
        off += size
        checked += 1
    assert checked == 4


def test_many_matches_one_by_one_on_the_published_vectors() -> None:
    for seed in (SEED1, SEED2, SEED3):
        data = [bytes.fromhex(d) for s, d, _ in VECTORS if s == seed]
        assert marvin32_many(data, seed) == [e for s, _, e in VECTORS if s == seed]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=300),
            st.integers(0, 4100).map(lambda n: b"\xff" * n),  # all ones: every carry that can happen, happens
            st.integers(0, 600).map(lambda n: bytes(range(256)) * (n // 256) + bytes(n % 256)),
        ),
        max_size=9,
    ),
    st.integers(0, 2**64 - 1),
)
def test_many_equals_one_by_one(buffers: list[bytes], seed: int) -> None:
    assert marvin32_many(buffers, seed) == [marvin32(b, seed) for b in buffers]


def test_many_accepts_views_and_unequal_sizes() -> None:
    big = bytes(range(256)) * 64
    views = [memoryview(big)[3:], bytearray(b"abc"), b"", memoryview(big)[: 1 << 12], b"\xff" * 10_001]
    assert marvin32_many(views) == [marvin32(v) for v in views]
    assert marvin32_many([]) == []


def test_many_verifies_windows_log_entries(shared: Callable[[str], Path]) -> None:
    """All entries of both real logs, hashed two at a time, carry the hashes Windows wrote."""
    buffers, expected = [], []
    for name in ("win10-dirty-SYSTEM.LOG1", "win10-dirty-SYSTEM.LOG2"):
        log = shared(name).read_bytes()
        off = 512
        while log[off : off + 4] == b"HvLE":
            size = struct.unpack_from("<I", log, off + 4)[0]
            buffers += [log[off + 40 : off + size], log[off : off + 32]]
            expected += list(struct.unpack_from("<QQ", log, off + 24))
            off += size
    assert len(buffers) == 48
    assert marvin32_many(buffers) == expected
