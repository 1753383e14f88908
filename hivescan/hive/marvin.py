"""Marvin32, the keyed checksum that protects transaction-log entries (HvLE Hash-1/Hash-2).

Why here: Windows refuses a log entry whose hashes do not match, and so must hivescan; no
maintained Python package implements Marvin32, so it is written out from its published
description (the .NET runtime's reference algorithm) and tested against the published test
vectors (``tests/hive/test_marvin.py``).

The state is two 32-bit words seeded from the 64-bit key; every little-endian 32-bit word
of the input is added to the low word and mixed; the tail (0-3 bytes) is padded with 0x80
and mixed, then one more zero word. The result is ``high << 32 | low``.

Speed: the compiled extension ``hivescan.hive._marvin`` (``_marvin.c``, built by ``pip
install`` when a C compiler is present) hashes the 2.8 MB of logs of a real Windows 10 hive
in a few milliseconds. Without it the pure-Python code below runs, about 100 times slower,
with the same results (tested equal on random and real entries); :data:`IMPLEMENTATION`
says which one this process uses, and ``hivescan info`` reports it.

The pure-Python fallback, where the cost is per operation, not per bit. A left rotation is one
multiplication and one shift: ``x * (2**32 + 1)`` holds ``x`` twice side by side, and
shifting that right by ``32 - n`` leaves ``x`` rotated left by ``n`` in the low 32 bits.
:func:`marvin32_many` computes two hashes at once in the same integers ("lanes" 96 bits
apart, see :func:`_mix`), so each operation does the work of two: a log's entries are
hashed about twice as fast as one by one (about 20 MB/s). Only logs of dirty hives are
hashed, never the primary.

References: msuhanov/regf specification, "New format" / "Log entries" (notes 1-3).
"""

from __future__ import annotations

import itertools
import operator
import struct
import sys
import types
from collections.abc import Iterable, Iterator, Sequence

#: The seed Windows uses for log entries (bytes 82 EF 4D 88 7A 4E 55 C5, little-endian).
LOG_ENTRY_SEED = 0x82EF4D887A4E55C5

Buffer = bytes | bytearray | memoryview

_MASK = 0xFFFFFFFF
_DOUBLE = (1 << 32) | 1  # x * _DOUBLE == x << 32 | x for a 32-bit x
_LANE = 96  # bit distance of the second lane (see _mix)
_LANES = _MASK | _MASK << _LANE


_compiled: types.ModuleType | None
try:
    from hivescan.hive import _marvin as _compiled
except ImportError:  # no compiler at install time: the pure-Python code below
    _compiled = None

#: Which Marvin32 this process uses: ``"c"`` (the extension) or ``"python"`` (the fallback).
IMPLEMENTATION = "python" if _compiled is None else "c"


def marvin32(data: Buffer, seed: int = LOG_ENTRY_SEED) -> int:
    """The 64-bit Marvin32 hash of ``data`` under ``seed``."""
    if _compiled is not None:
        return int(_compiled.marvin32(data, seed))
    return python_marvin32(data, seed)


def marvin32_many(buffers: Sequence[Buffer], seed: int = LOG_ENTRY_SEED) -> list[int]:
    """``[marvin32(b, seed) for b in buffers]`` (two at a time in the pure-Python fallback)."""
    if _compiled is not None:
        return [int(_compiled.marvin32(b, seed)) for b in buffers]
    return python_marvin32_many(buffers, seed)


def python_marvin32(data: Buffer, seed: int = LOG_ENTRY_SEED) -> int:
    """:func:`marvin32` in pure Python (the fallback; also the reference the tests compare with)."""
    words, _count = _words(memoryview(data).cast("B"))
    lo, hi = _mix(words, seed & _MASK, (seed >> 32) & _MASK, _MASK)
    return (hi << 32) | lo


def python_marvin32_many(buffers: Sequence[Buffer], seed: int = LOG_ENTRY_SEED) -> list[int]:
    """``[python_marvin32(b, seed) for b in buffers]``, computed two at a time.

    The buffers are dealt to two lanes, longest first to the lane with less work, so that
    both finish together; the lanes run side by side until one has no buffer left, and the
    other finishes alone.
    """
    views = [memoryview(b).cast("B") for b in buffers]
    results = [0] * len(views)
    lanes: tuple[list[int], list[int]] = ([], [])
    load = [0, 0]
    for index in sorted(range(len(views)), key=lambda i: len(views[i]), reverse=True):
        lane = 0 if load[0] <= load[1] else 1
        lanes[lane].append(index)
        load[lane] += len(views[index])
    streams: list[Iterator[int]] = []
    ends: list[list[int]] = []  # per lane: the word count after which each of its buffers is done
    for dealt in lanes:
        parts: list[Iterable[int]] = []
        total, lane_ends = 0, []
        for index in dealt:
            words, count = _words(views[index])
            parts.append(words)
            total += count
            lane_ends.append(total)
        streams.append(itertools.chain(*parts))
        ends.append(lane_ends)
    seed_lo, seed_hi = seed & _MASK, (seed >> 32) & _MASK
    both = map(operator.or_, streams[0], map(operator.lshift, streams[1], itertools.repeat(_LANE)))
    lo, hi = seed_lo | seed_lo << _LANE, seed_hi | seed_hi << _LANE
    done, pos = [0, 0], 0
    while done[0] < len(lanes[0]) and done[1] < len(lanes[1]):
        stop = min(ends[0][done[0]], ends[1][done[1]])
        lo, hi = _mix(itertools.islice(both, stop - pos), lo, hi, _LANES)
        pos = stop
        if ends[0][done[0]] == stop:
            results[lanes[0][done[0]]] = (hi & _MASK) << 32 | (lo & _MASK)
            lo, hi = lo & ~_MASK | seed_lo, hi & ~_MASK | seed_hi
            done[0] += 1
        if ends[1][done[1]] == stop:
            results[lanes[1][done[1]]] = (hi >> _LANE) << 32 | (lo >> _LANE)
            lo, hi = lo & _MASK | seed_lo << _LANE, hi & _MASK | seed_hi << _LANE
            done[1] += 1
    for lane in (0, 1):  # at most one lane has buffers left: it finishes alone
        lane_lo, lane_hi = (lo >> (_LANE * lane)) & _MASK, (hi >> (_LANE * lane)) & _MASK
        for at in range(done[lane], len(lanes[lane])):
            stop = ends[lane][at]
            lane_lo, lane_hi = _mix(itertools.islice(streams[lane], stop - pos), lane_lo, lane_hi, _MASK)
            pos = stop
            results[lanes[lane][at]] = lane_hi << 32 | lane_lo
            lane_lo, lane_hi = seed_lo, seed_hi
    return results


def _mix(words: Iterable[int], lo: int, hi: int, mask: int) -> tuple[int, int]:
    """The Marvin32 block function over ``words``, on one lane (``mask`` 32 bits) or two.

    Two lanes: the second state sits 96 bits above the first, and its words arrive shifted
    there too. Additions, xors and masks act on each lane separately as long as nothing
    crosses from one lane into the other, which the layout guarantees: a lane's doubled value
    spans 64 bits; shifting it right spills at most 23 bits into the top of the lane below,
    at bit 73 or higher of that lane, while the lane's own sum there stays below bit 60
    (a value of at most 64 - 5 bits plus a 32-bit addend), so no carry reaches the spill
    and the mask removes it. The states are masked after every step, so they start each one clean.
    """
    for w in words:
        lo = (lo + w) & mask
        hi ^= lo
        lo = ((lo * _DOUBLE >> 12) + hi) & mask  # rotl(lo, 20) + hi
        hi = (hi * _DOUBLE >> 23 & mask) ^ lo  # rotl(hi, 9) ^ lo
        lo = ((lo * _DOUBLE >> 5) + hi) & mask  # rotl(lo, 27) + hi
        hi = hi * _DOUBLE >> 13 & mask  # rotl(hi, 19)
    return lo, hi


def _words(view: memoryview) -> tuple[Iterable[int], int]:
    """The words Marvin32 mixes for ``view`` (little-endian words, padded tail, a zero word)
    and how many there are."""
    full = len(view) & ~3
    final = 0x80  # the 0-3 tail bytes, padded with 0x80, then one zero word
    for byte in reversed(view[full:].tobytes()):
        final = (final << 8) | byte
    body: Iterable[int]
    if sys.byteorder == "little":
        body = view[:full].cast("I")
    else:  # pragma: no cover - little-endian CI
        body = [w for (w,) in struct.iter_unpack("<I", view[:full])]
    return itertools.chain(body, (final, 0)), full // 4 + 2
