"""The hive bins walked cell by cell: where every cell starts and ends, and whether it is allocated.

Recovering deleted keys needs to know what occupies a byte range *now* (a free cell, an
allocated one that was reused, a damaged bin) before anything there is read as a deleted
key's; this map answers that. It reads only the bin and cell headers.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from collections.abc import Iterable
from typing import Literal

from hivescan.hive.cells import NO_OFFSET
from hivescan.hive.header import BASE_BLOCK_SIZE, BaseBlock

CellState = Literal["allocated", "free", "overwritten", "damaged", "outside"]

_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")


class CellMap:
    """Every cell found by walking the hive bins: start, end, allocated; damaged ranges.

    Offsets are relative to the first hive bin, like cell offsets in key records.
    """

    __slots__ = ("allocated", "bins", "damaged", "ends", "free_bytes", "problems", "size", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.allocated = bytearray()
        self.bins: list[tuple[int, int]] = []
        self.damaged: list[tuple[int, int]] = []
        self.problems: list[str] = []
        self.free_bytes = 0
        self.size = 0  # end of the mapped region (relative)

    def index(self, offset: int) -> int:
        """Index of the cell holding ``offset``, or -1."""
        i = bisect_right(self.starts, offset) - 1
        if i >= 0 and offset < self.ends[i]:
            return i
        return -1

    def state(self, offset: int, length: int) -> CellState:
        """What occupies ``length`` bytes from the cell header at ``offset`` now.

        ``allocated``: an allocated cell starts there and holds them. ``free``: they lie in
        free space (a free cell, possibly inside one that was merged with its neighbours).
        ``overwritten``: they overlap an allocated cell that does not start there (reused).
        ``damaged``: they lie in a bin whose cell chain could not be walked. ``outside``:
        not in the hive bins at all.
        """
        if offset == NO_OFFSET or offset % 8 or length < 0:
            return "outside"
        i = self.index(offset)
        if i < 0:
            if any(a <= offset < b for a, b in self.damaged):
                return "damaged"
            return "outside"
        end = offset + length
        if self.allocated[i]:
            return "allocated" if self.starts[i] == offset and end <= self.ends[i] else "overwritten"
        j = i
        count = len(self.starts)
        while end > self.ends[j]:  # free space may continue in the next (unmerged) free cell
            j += 1
            if j >= count or self.starts[j] != self.ends[j - 1] or self.allocated[j]:
                return "overwritten"
        return "free"

    def free_cells_between(self, low: int, high: int) -> Iterable[tuple[int, int]]:
        """(start, end) of the free cells starting in [low, high)."""
        i = max(bisect_right(self.starts, low) - 1, 0)
        count = len(self.starts)
        while i < count and self.starts[i] < high:
            if not self.allocated[i] and self.starts[i] >= low:
                yield self.starts[i], self.ends[i]
            i += 1


def map_cells(data: bytes, base: BaseBlock) -> CellMap:
    """Walk the hive bins. Bounded: each step moves forward by a checked, positive size."""
    cmap = CellMap()
    declared_end = BASE_BLOCK_SIZE + base.hive_bins_data_size
    end = len(data) if base.hive_bins_data_size <= 0 or declared_end > len(data) else declared_end
    end -= (end - BASE_BLOCK_SIZE) % 8 if end > BASE_BLOCK_SIZE else 0
    cmap.size = max(end - BASE_BLOCK_SIZE, 0)
    unpack_i32 = _I32.unpack_from
    starts, ends, allocated = cmap.starts, cmap.ends, cmap.allocated
    free_bytes = 0
    pos = BASE_BLOCK_SIZE
    while pos + 32 <= end:
        rel = pos - BASE_BLOCK_SIZE
        if data[pos : pos + 4] != b"hbin":
            span = min(4096, end - pos)
            cmap.damaged.append((rel, rel + span))
            cmap.problems.append(f"no hbin signature at 0x{rel:x}")
            pos += 4096
            continue
        (bin_size,) = _U32.unpack_from(data, pos + 8)
        if bin_size < 4096 or bin_size % 4096 or pos + bin_size > end:
            cmap.problems.append(f"hbin at 0x{rel:x} states an impossible size {bin_size}; 4096 assumed")
            bin_size = min(4096, end - pos)
        bin_end = pos + bin_size
        cmap.bins.append((rel, rel + bin_size))
        cell = pos + 32
        while cell + 4 <= bin_end:
            (raw,) = unpack_i32(data, cell)
            size = -raw if raw < 0 else raw
            if size < 8 or size % 8 or cell + size > bin_end:
                cmap.damaged.append((cell - BASE_BLOCK_SIZE, bin_end - BASE_BLOCK_SIZE))
                cmap.problems.append(f"cell at 0x{cell - BASE_BLOCK_SIZE:x} has an impossible size {raw}")
                break
            starts.append(cell - BASE_BLOCK_SIZE)
            ends.append(cell + size - BASE_BLOCK_SIZE)
            allocated.append(raw < 0)
            if raw > 0:
                free_bytes += size
            cell += size
        pos = bin_end
    cmap.free_bytes = free_bytes
    return cmap
