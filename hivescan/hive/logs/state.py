"""The state of one replay and the pieces of the replayed image: base block, hive-bin walk.

Shared by :mod:`.replay` (both formats) and :mod:`.chain` (which new-format entries apply).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from hivescan.diagnostics import Diagnostic, warning
from hivescan.hive.header import BASE_BLOCK_SIZE, BaseBlock, base_block_checksum
from hivescan.hive.logs.model import (
    HBIN_ALIGNMENT,
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

    def image(self, size: int, pages: Sequence[tuple[PageRef, bytes]]) -> bytearray:
        """A copy of the primary grown to ``size`` bytes with the pages written in order."""
        image = bytearray(self.primary)
        if len(image) < size:
            image.extend(bytes(size - len(image)))
        for page, data in pages:
            at = BASE_BLOCK_SIZE + page.offset
            image[at : at + page.size] = data[page.log_offset : page.log_offset + page.size]
        return image

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
        image: bytearray | None = None,
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


def bin_starts(image: bytes | bytearray, bins: int) -> tuple[list[int], int | None]:
    """Offsets of the hive bins found by walking their headers, and where the walk broke."""
    starts: list[int] = []
    pos = 0
    limit = min(bins, len(image) - BASE_BLOCK_SIZE)
    while pos < limit:  # each step advances by >= 4096
        at = BASE_BLOCK_SIZE + pos
        if image[at : at + 4] != b"hbin" or at + 12 > len(image):
            return starts, pos
        offset, size = struct.unpack_from("<II", image, at + 4)
        if offset != pos or size < HBIN_ALIGNMENT or size % HBIN_ALIGNMENT:
            return starts, pos
        starts.append(pos)
        pos += size
    return starts, None
