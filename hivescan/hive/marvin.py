"""Marvin32, the keyed checksum that protects transaction-log entries (HvLE Hash-1/Hash-2).

Why here: Windows refuses a log entry whose hashes do not match, and so must hivescan; no
maintained Python package implements Marvin32, so it is written out from its published
description (the .NET runtime's reference algorithm) and tested against the published test
vectors (``tests/hive/test_marvin.py``).

The state is two 32-bit words seeded from the 64-bit key; every little-endian 32-bit word
of the input is added to the low word and mixed; the tail (0-3 bytes) is padded with 0x80
and mixed, then one more zero word. The result is ``high << 32 | low``.

Speed: pure Python, about 7 MB/s. Only logs of dirty hives are hashed, never the primary.

References: msuhanov/regf specification, "New format" / "Log entries" (notes 1-3).
"""

from __future__ import annotations

import itertools
import sys

#: The seed Windows uses for log entries (bytes 82 EF 4D 88 7A 4E 55 C5, little-endian).
LOG_ENTRY_SEED = 0x82EF4D887A4E55C5

_MASK = 0xFFFFFFFF


def marvin32(data: bytes | bytearray | memoryview, seed: int = LOG_ENTRY_SEED) -> int:
    """The 64-bit Marvin32 hash of ``data`` under ``seed``."""
    view = memoryview(data).cast("B")
    full = len(view) & ~3
    lo = seed & _MASK
    hi = (seed >> 32) & _MASK
    words = view[:full].cast("I") if sys.byteorder == "little" else _words_big_endian_host(view[:full])
    final = 0x80  # the 0-3 tail bytes, padded with 0x80, then one zero word
    for byte in reversed(view[full:].tobytes()):
        final = (final << 8) | byte
    for word in itertools.chain(words, (final, 0)):
        lo = (lo + word) & _MASK
        hi ^= lo
        lo = (((lo << 20) | (lo >> 12)) + hi) & _MASK
        hi = ((hi << 9) | (hi >> 23)) & _MASK ^ lo
        lo = (((lo << 27) | (lo >> 5)) + hi) & _MASK
        hi = ((hi << 19) | (hi >> 13)) & _MASK
    return (hi << 32) | lo


def _words_big_endian_host(view: memoryview) -> list[int]:  # pragma: no cover - little-endian CI
    import struct

    return [w for (w,) in struct.iter_unpack("<I", view)]
