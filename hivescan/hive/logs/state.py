"""The state of one replay and the pieces of the replayed image: base block, hive-bin walk.

Shared by :mod:`.replay` (both formats) and :mod:`.chain` (which new-format entries apply).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from hivescan.diagnostics import Diagnostic, warning
from hivescan.hive.header import BASE_BLOCK_SIZE, BaseBlock, base_block_checksum
from hivescan.hive.logs.model import (
    HBIN_ALIGNMENT,
    SECTOR,
    LogEntry,
    LogFile,
    LogFormat,
    PageRef,
    PageWrite,
    Rejected,
    ReplayResult,
)


@dataclass
class Run:
    """The state of one replay: inputs, what was rejected and noted so far."""

    primary: bytes
    logs: Sequence[LogFile]
    rejected: list[Rejected] = field(default_factory=list)
    diags: list[Diagnostic] = field(default_factory=list)
    recovered: bool = False

    @property
    def growth_cap(self) -> int:
        """Largest image a replay can legitimately produce: every new byte must come from a log."""
        return len(self.primary) + sum(len(log.data) for log in self.logs) + HBIN_ALIGNMENT

    def image(self, size: int, pages: Sequence[tuple[PageRef, bytes]], base: bytes) -> bytes:
        """The primary grown to ``size`` bytes (zeros), the pages written in order (a later page
        wins), and the base block ``base``: the replayed hive, made in one copy.

        Why one copy: the image is 13 MB for a 700-service hive; a bytearray copy of the
        primary, the pages written into it and a bytes copy of that cost two copies. Pages
        come in whole 4 KiB pages (new format) or 512-byte sectors (old format), so which
        bytes a page run owns is kept per such unit and the image joined from views of the
        primary and the logs. Runs on other boundaries (only crafted logs) take the copy path,
        which gives the same bytes (a test checks both).
        """
        grain = _grain(page for page, _data in pages)
        if not grain:
            return self._image_copied(size, pages, base)
        owner: dict[int, tuple[bytes, int]] = {}  # unit -> (log data, where the unit is in it)
        for page, data in pages:
            first = page.offset // grain
            for k in range(page.size // grain):
                owner[first + k] = (data, page.log_offset + k * grain)
        primary = memoryview(self.primary)
        end = max(len(primary), size)
        parts: list[bytes | memoryview] = [base[:BASE_BLOCK_SIZE]]
        pos = BASE_BLOCK_SIZE
        for unit in sorted(owner):
            at = BASE_BLOCK_SIZE + unit * grain
            if at > pos:
                parts += _from_primary(primary, pos, at)
            data, log_at = owner[unit]
            parts.append(memoryview(data)[log_at : log_at + grain])
            pos = at + grain
        if end > pos:
            parts += _from_primary(primary, pos, end)
        return b"".join(parts)

    def _image_copied(self, size: int, pages: Sequence[tuple[PageRef, bytes]], base: bytes) -> bytes:
        """:meth:`image` by copying the primary and writing each page into it."""
        image = bytearray(self.primary)
        if len(image) < size:
            image.extend(bytes(size - len(image)))
        for page, data in pages:
            at = BASE_BLOCK_SIZE + page.offset
            image[at : at + page.size] = data[page.log_offset : page.log_offset + page.size]
        image[:BASE_BLOCK_SIZE] = base[:BASE_BLOCK_SIZE]
        return bytes(image)

    def nothing_applied(self, why: str) -> None:
        self.diags.append(
            warning(
                "log_nothing_applied",
                "",
                f"the hive is dirty but {why}; the primary file is analysed alone and recent changes may be missing",
            )
        )

    def result(
        self,
        fmt: LogFormat | None,
        image: bytes | None = None,
        applied: Sequence[LogEntry] = (),
        writes: Sequence[PageWrite] = (),
        sequence: int | None = None,
        *,
        dirty: bool = True,
    ) -> ReplayResult:
        return ReplayResult(
            dirty, None if image is None else bytes(image), fmt, tuple(applied), tuple(self.rejected), tuple(writes),
            sequence, self.recovered, tuple(self.logs), tuple(self.diags),
        )  # fmt: skip


def _grain(pages: Iterable[PageRef]) -> int:
    """The unit every page run is made of: 4096, 512, or 0 (runs on other boundaries)."""
    grain = HBIN_ALIGNMENT
    for page in pages:
        while grain and (page.offset % grain or page.size % grain):
            grain = SECTOR if grain == HBIN_ALIGNMENT else 0
    return grain


def _from_primary(primary: memoryview, start: int, stop: int) -> list[bytes | memoryview]:
    """Bytes ``start:stop`` of the image that no page wrote: the primary's, zeros past its end."""
    held = min(stop, len(primary))
    out: list[bytes | memoryview] = [primary[start:held]] if held > start else []
    if stop > max(start, held):
        out.append(bytes(stop - max(start, held)))
    return out


def note_applied(diags: list[Diagnostic], applied: list[LogEntry], fmt: str) -> None:
    names = ", ".join(dict.fromkeys(os.path.basename(e.log) for e in applied))
    seqs = f"sequence {applied[0].sequence}-{applied[-1].sequence}" if fmt == "new" else "old format"
    diags.append(
        warning(
            "log_replayed",
            "",
            f"the hive was dirty: {len(applied)} log entries ({seqs}) from {names} were replayed in memory; "
            "records show the replayed state (the evidence files are unchanged)",
        )
    )


def consistent_base_block(source: bytes, log_base: BaseBlock, sequence: int, bins: int, flags: int) -> bytes:
    """A base block the parsers accept: synchronised sequence numbers, type 0, checksum."""
    block = bytearray(source[:BASE_BLOCK_SIZE].ljust(BASE_BLOCK_SIZE, b"\0"))
    struct.pack_into("<II", block, 4, sequence, sequence)
    struct.pack_into("<Q", block, 12, log_base.last_written)
    struct.pack_into("<I", block, 24, log_base.minor_version)
    struct.pack_into("<I", block, 28, 0)  # primary file
    struct.pack_into("<I", block, 36, log_base.root_cell_offset)
    struct.pack_into("<I", block, 40, bins)
    struct.pack_into("<I", block, 144, flags)
    struct.pack_into("<I", block, 508, base_block_checksum(bytes(block)))
    return bytes(block)


_HBIN = struct.Struct("<4sII")  # signature, offset, size


def bin_starts(image: bytes | bytearray, bins: int) -> tuple[list[int], int | None]:
    """Offsets of the hive bins found by walking their headers, and where the walk broke."""
    starts: list[int] = []
    pos = 0
    limit = min(bins, len(image) - BASE_BLOCK_SIZE)
    end = len(image)
    unpack = _HBIN.unpack_from  # one call per bin: a 13 MB hive has over 3,000 of them
    while pos < limit:  # each step advances by >= 4096
        at = BASE_BLOCK_SIZE + pos
        if at + 12 > end:
            return starts, pos
        sig, offset, size = unpack(image, at)
        if sig != b"hbin" or offset != pos or size < HBIN_ALIGNMENT or size % HBIN_ALIGNMENT:
            return starts, pos
        starts.append(pos)
        pos += size
    return starts, None
