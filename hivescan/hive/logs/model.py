"""Transaction logs as parsed: page references, entries, logs, and what a replay did.

Plain data shared by :mod:`.parse` (which fills :class:`LogFile`) and :mod:`.replay` (which
makes a :class:`ReplayResult`); no parsing or replay logic lives here.
"""

from __future__ import annotations

import bisect
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from hivescan.diagnostics import Diagnostic
from hivescan.hive.header import BaseBlock

SECTOR = 512
HBIN_ALIGNMENT = 4096
LOG_TYPES_OLD = (1, 2)
LOG_TYPE_NEW = 6
ENTRY_HEADER = 40
LOG_SUFFIXES = (".LOG1", ".LOG2", ".LOG")  # dual logging first (preferred on a tie), then single
U32 = 0xFFFFFFFF
HALF = 1 << 31

LogFormat = Literal["new", "old", "unknown"]


# ---------------------------------------------------------------- parsed logs


@dataclass(frozen=True, slots=True)
class PageRef:
    """One run of bytes a log entry writes: ``size`` bytes at hive-bins ``offset``."""

    offset: int  # relative to the start of the hive bins (file offset - 4096)
    size: int
    log_offset: int  # where the bytes are in the log file


@dataclass(frozen=True, slots=True)
class LogEntry:
    """A log entry (new format) or the whole dirty-page set of an old-format log."""

    log: str  # path of the log file
    file_offset: int
    size: int
    sequence: int
    flags: int
    hive_bins_size: int
    pages: tuple[PageRef, ...]
    note: str = ""  # for remnants: why the entry is not part of the log's active run

    @property
    def page_bytes(self) -> int:
        return sum(p.size for p in self.pages)

    def to_dict(self) -> dict[str, Any]:
        """The entry as JSON output lists it (its pages are counted, not copied)."""
        return {
            "log": self.log,
            "sequence": self.sequence,
            "file_offset": self.file_offset,
            "size": self.size,
            "hive_bins_size": self.hive_bins_size,
            "pages": len(self.pages),
            "page_bytes": self.page_bytes,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Rejected:
    """A log entry (or a whole log) that was not applied, and why."""

    log: str
    sequence: int | None
    file_offset: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"log": self.log, "sequence": self.sequence, "file_offset": self.file_offset, "reason": self.reason}


@dataclass(slots=True)
class LogFile:
    """One transaction log file as read: its bytes, base block and entries.

    ``entries`` are the valid entries the replay may apply (numbered from the base block's
    sequence number on, in file order); ``remnants`` are valid older entries past them
    (previous states of the hive, never applied); ``stray`` are valid entries numbered before
    the base block's number at the start of the log (not applied; a warning);
    ``rejected`` are entries that are damaged or cannot apply; ``usable`` is False when the
    file as a whole cannot be used (unreadable, not a log, bad base block).
    """

    path: str
    data: bytes
    digest: str | None = None  # the sha256 (hex) once computed: see :attr:`sha256`
    format: LogFormat = "unknown"
    base: BaseBlock | None = None
    entries: list[LogEntry] = field(default_factory=list)
    remnants: list[LogEntry] = field(default_factory=list)
    stray: list[LogEntry] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    usable: bool = False

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def sha256(self) -> str:
        """The sha256 of the log file, computed on first use: only ``info``, the report and the
        evidence lists show it, and hashing a log costs as much as replaying it (8 MB logs)."""
        if self.digest is None:
            self.digest = hashlib.sha256(self.data).hexdigest()
        return self.digest

    @property
    def base_block_bytes(self) -> bytes:
        return self.data[:SECTOR]

    def page_bytes(self, page: PageRef) -> bytes:
        """The bytes a page reference of this log's entries writes (for history and carving)."""
        return self.data[page.log_offset : page.log_offset + page.size]

    def sequence_range(self) -> tuple[int, int] | None:
        """Lowest and highest number of :attr:`entries` (32-bit serial order from the base block's)."""
        if not self.entries:
            return None
        origin = self.base.primary_sequence if self.base is not None else self.entries[0].sequence
        ordered = sorted((e.sequence for e in self.entries), key=lambda s: serial_after(s, origin) or 0)
        return ordered[0], ordered[-1]

    def _note(self, diag: Diagnostic, reject: Rejected | None = None) -> None:
        self.diagnostics.append(diag)
        if reject is not None:
            self.rejected.append(reject)


@dataclass(frozen=True, slots=True)
class PageWrite:
    """Which log entry replaced which bytes of the hive (hive-bins relative offsets)."""

    offset: int
    size: int
    log: str
    sequence: int
    log_offset: int


@dataclass(frozen=True, slots=True)
class LogInfo:
    """One log as ``hivescan info`` reports it."""

    path: str
    sha256: str
    size: int
    format: LogFormat
    base_sequence: int | None
    entries: int
    sequence_first: int | None
    sequence_last: int | None
    applied: int
    rejected: int
    remnants: int
    status: str  # applied, partly applied, stale, not needed (clean hive), not used, rejected
    remnant_sequences: str = ""  # e.g. "1586-1603, 2035": the remnants' numbers (previous states)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "size": self.size,
            "format": self.format,
            "base_sequence": self.base_sequence,
            "entries": self.entries,
            "sequence_first": self.sequence_first,
            "sequence_last": self.sequence_last,
            "applied": self.applied,
            "rejected": self.rejected,
            "remnants": self.remnants,
            "status": self.status,
            "remnant_sequences": self.remnant_sequences,
        }


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What a replay did. ``image`` is the replayed hive (None when nothing was applied)."""

    primary_dirty: bool
    image: bytes | None
    format: LogFormat | None
    applied: tuple[LogEntry, ...]
    rejected: tuple[Rejected, ...]
    writes: tuple[PageWrite, ...]
    sequence: int | None  # sequence number of the replayed image (both fields)
    base_block_recovered: bool
    logs: tuple[LogFile, ...]
    diagnostics: tuple[Diagnostic, ...]
    _ranges: tuple[tuple[int, int], ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        merged: list[tuple[int, int]] = []
        for start, end in sorted((w.offset, w.offset + w.size) for w in self.writes):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        object.__setattr__(self, "_ranges", tuple(merged))

    @property
    def replayed(self) -> bool:
        return self.image is not None

    def note(self) -> str:
        """One line for the ``derived`` provenance of the replayed hive."""
        if not self.applied:
            return "no log entry applied"
        names = ", ".join(dict.fromkeys(os.path.basename(e.log) for e in self.applied))
        seqs = (
            f"sequence {self.applied[0].sequence}-{self.applied[-1].sequence}" if self.format == "new" else "old format"
        )
        return f"transaction logs replayed in memory: {len(self.applied)} entries ({seqs}) from {names}"

    def written_ranges(self) -> list[tuple[int, int]]:
        """Merged ``(start, end)`` hive-bins ranges written by the replay."""
        return list(self._ranges)

    def written(self, offset: int, length: int = 1) -> bool:
        """Whether any byte of hive-bins range ``[offset, offset + length)`` came from a log."""
        ranges = self._ranges
        i = bisect.bisect_right(ranges, (offset, U32 + 1)) - 1
        return any(start < offset + length and offset < end for start, end in ranges[max(i, 0) : i + 2])

    def log_infos(self) -> list[LogInfo]:
        applied_by_log: dict[str, int] = {}
        for entry in self.applied:
            applied_by_log[entry.log] = applied_by_log.get(entry.log, 0) + 1
        rejected_by_log: dict[str, int] = {}
        for rej in self.rejected:
            rejected_by_log[rej.log] = rejected_by_log.get(rej.log, 0) + 1
        out = []
        for log in self.logs:
            applied = applied_by_log.get(log.path, 0)
            rejected = rejected_by_log.get(log.path, 0)
            if not log.usable:
                status = "rejected"
            elif not self.primary_dirty:
                status = "not needed (hive clean)"
            elif applied and applied == len(log.entries):
                status = "applied"
            elif applied:
                status = "partly applied"
            elif any("stale" in r.reason for r in self.rejected if r.log == log.path):
                status = "stale"
            else:
                status = "not used"
            rng = log.sequence_range()
            out.append(
                LogInfo(
                    path=log.path,
                    sha256=log.sha256,
                    size=len(log.data),
                    format=log.format,
                    base_sequence=log.base.primary_sequence if log.base is not None else None,
                    entries=len(log.entries),
                    sequence_first=rng[0] if rng else None,
                    sequence_last=rng[1] if rng else None,
                    applied=applied,
                    rejected=rejected,
                    remnants=len(log.remnants),
                    status=status,
                    remnant_sequences=sequence_ranges(e.sequence for e in log.remnants),
                )
            )
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "primary_dirty": self.primary_dirty,
            "replayed": self.replayed,
            "format": self.format,
            "entries_applied": len(self.applied),
            "sequence_first": self.applied[0].sequence if self.applied else None,
            "sequence_last": self.applied[-1].sequence if self.applied else None,
            "resulting_sequence": self.sequence,
            "pages_written": len(self.writes),
            "bytes_written": sum(w.size for w in self.writes),
            "base_block_recovered": self.base_block_recovered,
            "rejected": [r.to_dict() for r in self.rejected],
        }


def serial_after(seq: int, origin: int) -> int | None:
    """Distance of ``seq`` after ``origin`` in 32-bit serial arithmetic; None when before it."""
    delta = (seq - origin) & U32
    return None if delta >= HALF else delta


def sequence_ranges(numbers: Iterable[int]) -> str:
    """``"7, 9-12"``: sequence numbers as sorted runs, for messages that must name every entry."""
    ordered = sorted(set(numbers))
    runs: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        runs.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ", ".join(runs)
