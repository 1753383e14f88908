"""The compiled Marvin32 (``hivescan.hive._marvin``) against the pure-Python fallback.

The extension is optional (built by ``pip install`` when a C compiler is present); these
tests check that both give the same hashes on random inputs and on the entries Windows
wrote, and that a process without the extension uses the fallback, says so in ``hivescan
info``, and replays logs to the same result.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hivescan.hive import marvin

ROOT = Path(__file__).resolve().parents[2]

compiled = pytest.mark.skipif(
    marvin._compiled is None, reason="the C extension hivescan.hive._marvin is not built (no compiler at install)"
)


def _log_entries(log: bytes) -> list[tuple[bytes, bytes, int, int]]:
    """(body, header, Hash-1, Hash-2) of each HvLE entry of a new-format log."""
    out, off = [], 512
    while log[off : off + 4] == b"HvLE":
        size = struct.unpack_from("<I", log, off + 4)[0]
        hash1, hash2 = struct.unpack_from("<QQ", log, off + 24)
        out.append((log[off + 40 : off + size], log[off : off + 32], hash1, hash2))
        off += size
    return out


@compiled
@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=2000),
        st.integers(0, 9000).map(lambda n: b"\xff" * n),  # every carry that can happen, happens
    ),
    st.integers(0, 2**64 - 1),
    st.integers(0, 3),
)
def test_compiled_equals_python_on_random_input(data: bytes, seed: int, skip: int) -> None:
    view = memoryview(data)[min(skip, len(data)) :]  # unaligned views too
    assert marvin._compiled.marvin32(view, seed) == marvin.python_marvin32(view, seed)
    assert marvin.marvin32(bytearray(view), seed) == marvin.python_marvin32(view, seed)


@compiled
@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=600), max_size=7), st.integers(0, 2**64 - 1))
def test_compiled_many_equals_python_many(buffers: list[bytes], seed: int) -> None:
    assert marvin.marvin32_many(buffers, seed) == marvin.python_marvin32_many(buffers, seed)


@compiled
def test_compiled_seed_wider_than_64_bits_is_masked_like_python() -> None:
    seed = (1 << 70) | marvin.LOG_ENTRY_SEED
    assert marvin._compiled.marvin32(b"abcde", seed) == marvin.python_marvin32(b"abcde", seed)


@compiled
def test_compiled_equals_python_on_windows_log_entries(shared: Callable[[str], Path]) -> None:
    """Every entry of both real logs: both implementations give the hashes Windows wrote."""
    entries = [
        e
        for name in ("win10-dirty-SYSTEM.LOG1", "win10-dirty-SYSTEM.LOG2")
        for e in _log_entries(shared(name).read_bytes())
    ]
    assert len(entries) == 24
    for body, header, hash1, hash2 in entries:
        assert marvin._compiled.marvin32(body, marvin.LOG_ENTRY_SEED) == hash1 == marvin.python_marvin32(body)
        assert marvin._compiled.marvin32(header, marvin.LOG_ENTRY_SEED) == hash2 == marvin.python_marvin32(header)


def test_compiled_rejects_what_is_not_bytes() -> None:
    if marvin._compiled is None:
        pytest.skip("the C extension hivescan.hive._marvin is not built")
    with pytest.raises(TypeError):
        marvin._compiled.marvin32("text", 1)


_WITHOUT_EXTENSION = (
    "import sys; sys.modules['hivescan.hive._marvin'] = None; sys.argv = ['hivescan', *sys.argv[1:]]; "
    "from hivescan.cli import main; main()"
)


def _info(hive: Path, *, extension: bool) -> dict[str, object]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-c", _WITHOUT_EXTENSION] if not extension else [sys.executable, "-m", "hivescan"]
    done = subprocess.run([*command, "info", str(hive), "-f", "json"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_without_the_extension_the_fallback_replays_and_says_so(shared: Callable[[str], Path]) -> None:
    """A process where the extension cannot be imported: info reports "python", and the replay
    is the same as with whichever implementation this install has."""
    hive = shared("win10-dirty-SYSTEM")
    fallback = _info(hive, extension=False)
    default = _info(hive, extension=True)
    assert fallback["marvin32"] == "python"
    assert default["marvin32"] == marvin.IMPLEMENTATION
    assert fallback["log_replay"] == default["log_replay"]
    assert fallback["log_replay"]["entries_applied"] == 24  # type: ignore[index]
    assert fallback["logs"] == default["logs"]


@compiled
def test_info_reports_the_compiled_extension(shared: Callable[[str], Path]) -> None:
    assert _info(shared("win10-dirty-SYSTEM"), extension=True)["marvin32"] == "c"
