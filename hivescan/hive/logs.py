"""Transaction logs of a dirty hive: find them, parse them, check them, replay them in memory.

Why: Windows 8.1 and later write registry changes to ``SYSTEM.LOG1``/``SYSTEM.LOG2`` first
and reconcile them into the primary file later, sometimes much later. An attacker's service
installed minutes before acquisition is often only in the logs. The kernel replays them
when it loads a dirty hive; hivescan does the same, in memory -- the evidence files are only
read, never written.

What is replayed, as the kernel does (msuhanov/regf specification):

* **new format** (file type 6, Windows 8.1+): log entries ``HvLE`` from offset 512, each
  with Marvin32 Hash-1 (page references and pages) and Hash-2 (header). Entries of all logs
  are ordered by sequence number -- not by file name -- starting with the first entry whose
  number is not older than the primary's secondary sequence number, and applied while the
  numbers run on without a gap. A corrupt entry (bad hash, bad size, pages out of bounds), a
  missing number or a truncated file stops the replay; what came before stays applied.
  Entries older than the primary are stale (already written into it). The image grows to each
  applied entry's hive-bins size.
* **old format** (file types 1/2, up to Windows 8): base block, ``DIRT`` dirty vector (one bit
  per 512-byte page of the hive bins) and the dirty pages. A log applies when its base block
  has the primary's last-written timestamp (hivescan accepts a later one, as yarp does);
  of several, the latest. A dirty page run that would leave an invalid hive-bin header stops
  the replay at that bin.

A log must have a valid base block (signature, checksum, equal sequence numbers) and belong
to the hive: when both base blocks carry the Windows 10 ``rmtm`` GUIDs they must match, else
the stored file names must. The replayed image gets a consistent base block (both sequence
numbers set to the last applied entry, hive-bins size, root cell, timestamp and flags from
the logs, type 0, checksum) so that every parser accepts it.

Nothing is trusted: every size, offset and count is bounded against the file it came from,
growth is bounded by the bytes the logs can supply, and problems become diagnostics.

For history and deleted-data recovery (issue 4, other items) the result keeps which entry
wrote which page (:attr:`ReplayResult.writes`), the entries left out and why, the valid
remnant entries past the active ones (:attr:`LogFile.remnants`), and ``replay(...,
stop_after=N)`` rebuilds the hive as of any applied sequence number.

References: msuhanov/regf "Windows registry file format specification", sections "Format of
transaction log files", "Dirty state of a hive", "Multiple transaction log files"; and
msuhanov's note "Missing log entries for a dirty primary file" (partial reconcile: the first
entry may be far above the primary's sequence number).
"""

from __future__ import annotations

import bisect
import hashlib
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hivescan.diagnostics import Diagnostic, info, warning
from hivescan.hive.header import BASE_BLOCK_SIZE, REGF_SIGNATURE, BaseBlock, base_block_checksum, parse_base_block
from hivescan.hive.marvin import marvin32_many

SECTOR = 512
HBIN_ALIGNMENT = 4096
LOG_TYPES_OLD = (1, 2)
LOG_TYPE_NEW = 6
ENTRY_HEADER = 40
LOG_SUFFIXES = (".LOG1", ".LOG2", ".LOG")  # dual logging first (preferred on a tie), then single
_ENTRY = struct.Struct("<4sIIIIIQQ")
_U32 = 0xFFFFFFFF
_HALF = 1 << 31

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

    ``entries`` is the active run (consecutive sequence numbers from the base block's);
    ``remnants`` are valid entries found after it (older data the kernel ignores);
    ``rejected`` are entries that are damaged or cannot apply; ``usable`` is False when the
    file as a whole cannot be used (unreadable, not a log, bad base block).
    """

    path: str
    data: bytes
    sha256: str
    format: LogFormat = "unknown"
    base: BaseBlock | None = None
    entries: list[LogEntry] = field(default_factory=list)
    remnants: list[LogEntry] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    usable: bool = False

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def base_block_bytes(self) -> bytes:
        return self.data[:SECTOR]

    def page_bytes(self, page: PageRef) -> bytes:
        """The bytes a page reference of this log's entries writes (for history and carving)."""
        return self.data[page.log_offset : page.log_offset + page.size]

    def sequence_range(self) -> tuple[int, int] | None:
        if not self.entries:
            return None
        return self.entries[0].sequence, self.entries[-1].sequence

    def _note(self, diag: Diagnostic, reject: Rejected | None = None) -> None:
        self.diagnostics.append(diag)
        if reject is not None:
            self.rejected.append(reject)


#: ``"auto"`` (find them next to the hive), ``"none"``, or log files / parsed logs.
LogsOption = str | Sequence[str | os.PathLike[str] | LogFile]


def discover_logs(hive_path: str | os.PathLike[str]) -> list[Path]:
    """``HIVE.LOG1``, ``HIVE.LOG2``, ``HIVE.LOG`` next to the hive, names compared ignoring case."""
    hive = Path(hive_path)
    try:
        siblings = {p.name.casefold(): p for p in hive.parent.iterdir() if p.is_file()}
    except OSError:
        return []
    found = []
    for suffix in LOG_SUFFIXES:
        match = siblings.get((hive.name + suffix).casefold())
        if match is not None:
            found.append(match)
    return found


def read_log(path: str | os.PathLike[str]) -> LogFile:
    """Read and parse one log file; never raises (problems become diagnostics)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        log = LogFile(str(path), b"", "")
        log._note(
            warning("log_unreadable", str(path), f"{path}: cannot be read ({exc.strerror or exc})"),
            Rejected(str(path), None, 0, "file cannot be read"),
        )
        return log
    return parse_log(data, str(path))


def parse_log(data: bytes, path: str = "<memory>") -> LogFile:
    """Parse a log's base block and entries (hashes checked); never raises."""
    log = LogFile(path, bytes(data), hashlib.sha256(data).hexdigest())
    name = os.path.basename(path)
    if len(data) < SECTOR or data[:4] != REGF_SIGNATURE:
        why = "too short for a base block" if len(data) < SECTOR else "no 'regf' signature"
        log._note(
            warning("log_not_a_log", path, f"{name}: not a transaction log ({why})"), Rejected(path, None, 0, why)
        )
        return log
    base = parse_base_block(data[:SECTOR].ljust(BASE_BLOCK_SIZE, b"\0"))
    log.base = base
    if base.file_type == LOG_TYPE_NEW:
        log.format = "new"
    elif base.file_type in LOG_TYPES_OLD:
        log.format = "old"
    else:
        why = f"file type {base.file_type} (a primary file is 0; logs are 1, 2 or 6)"
        log._note(warning("log_not_a_log", path, f"{name}: not a transaction log: {why}"), Rejected(path, None, 0, why))
        return log
    if not base.checksum_ok or base.primary_sequence != base.secondary_sequence:
        why = (
            f"base block checksum 0x{base.stored_checksum:08x} != computed 0x{base.computed_checksum:08x}"
            if not base.checksum_ok
            else f"base block sequence numbers differ ({base.primary_sequence} != {base.secondary_sequence}): "
            "the log itself was being written"
        )
        log._note(
            warning("log_base_block_invalid", path, f"{name}: {why}; the kernel does not use this log"),
            Rejected(path, None, 0, why),
        )
        return log
    log.usable = True
    if log.format == "new":
        _parse_new_entries(log)
    else:
        _parse_old_log(log)
    return log


def _check_header(data: bytes, off: int) -> tuple[str | None, tuple[Any, ...]]:
    """Why the HvLE entry at ``off`` is unusable by its header alone (None if fine), and its fields."""
    fields = _ENTRY.unpack_from(data, off)
    _sig, size, _flags, _seq, bins, count, _hash1, _hash2 = fields
    if size < SECTOR or size % SECTOR:
        return f"entry size {size} is not a positive multiple of 512", fields
    if off + size > len(data):
        return f"truncated: the entry needs {size} bytes, the file ends after {len(data) - off}", fields
    if bins == 0 or bins % HBIN_ALIGNMENT:
        return f"hive bins size {bins} is not a positive multiple of 4096", fields
    if count == 0 or ENTRY_HEADER + 8 * count > size:
        return f"dirty page count {count} does not fit the entry ({size} bytes)", fields
    return None, fields


def _check_body(data: bytes, off: int, fields: tuple[Any, ...], hashes: tuple[int, int]) -> str | None:
    """Why an entry with a sound header is unusable (None if fine): its hashes, then its pages.

    ``hashes``: Marvin32 of the entry's first 32 bytes (Hash-2) and of its body (Hash-1).
    """
    _sig, size, _flags, _seq, bins, count, hash1, hash2 = fields
    if hashes[0] != hash2:
        return "Hash-2 (header) does not match"
    if hashes[1] != hash1:
        return "Hash-1 (pages) does not match"
    total = 0
    for i in range(count):
        page_off, page_size = struct.unpack_from("<II", data, off + ENTRY_HEADER + 8 * i)
        if page_size == 0 or page_off + page_size > bins:
            return f"page {i} (offset 0x{page_off:x}, {page_size} bytes) lies outside the hive bins ({bins})"
        total += page_size
    if ENTRY_HEADER + 8 * count + total > size:
        return f"the pages ({total} bytes) do not fit the entry ({size} bytes)"
    return None


def _entry_headers(data: bytes) -> list[tuple[int, str | None, tuple[Any, ...]]]:
    """``(offset, problem, fields)`` of each HvLE entry, in file order.

    Where the next entry starts depends on the headers only (never on the hashes), so the
    entries are found first and their hashes computed together (:func:`marvin32_many`).
    """
    found: list[tuple[int, str | None, tuple[Any, ...]]] = []
    off = SECTOR
    while off + ENTRY_HEADER <= len(data):  # each step advances by >= 512 bytes
        if data[off : off + 4] != b"HvLE":
            break  # end of the entries (zeros or older bytes)
        why, fields = _check_header(data, off)
        found.append((off, why, fields))
        size = fields[1]
        if why is not None and (why.startswith("truncated") or size < SECTOR or size % SECTOR):
            break
        off += size
    return found


def _parse_new_entries(log: LogFile) -> None:
    assert log.base is not None
    data, path, name = log.data, log.path, log.name
    expected = log.base.primary_sequence
    headers = _entry_headers(data)
    view = memoryview(data)
    parts: list[memoryview] = []
    for off, why, fields in headers:
        if why is None:  # Hash-2 covers the first 32 bytes, Hash-1 what follows the header
            parts += (view[off : off + 32], view[off + ENTRY_HEADER : off + fields[1]])
    hashed = iter(marvin32_many(parts))
    active = True
    stopped_by: str | None = None  # why the active run ended early (corrupt entry)
    for off, why, fields in headers:
        if why is None:
            why = _check_body(data, off, fields, (next(hashed), next(hashed)))
        _sig, size, flags, seq, bins, count = fields[:6]
        if why is not None:
            truncated = why.startswith("truncated")
            code = "log_truncated" if truncated else "log_entry_corrupt"
            if active:
                log._note(
                    warning(code, path, f"{name}: entry at offset {off} (sequence {seq}): {why}; replay stops here"),
                    Rejected(path, seq, off, why),
                )
                stopped_by = f"follows the unusable entry at offset {off} (sequence {seq})"
            active = False
            continue
        base = off + ENTRY_HEADER + 8 * count
        pages = []
        for i in range(count):
            page_off, page_size = struct.unpack_from("<II", data, off + ENTRY_HEADER + 8 * i)
            pages.append(PageRef(page_off, page_size, base))
            base += page_size
        entry = LogEntry(path, off, size, seq, flags, bins, tuple(pages))
        if active and seq == expected:
            log.entries.append(entry)
            expected = (seq + 1) & _U32
        elif stopped_by is not None:
            log.remnants.append(_with_note(entry, stopped_by))
            log.rejected.append(Rejected(path, seq, off, f"not applied: {stopped_by}"))
        else:
            if active:
                stopped_by_gap = (
                    f"sequence {seq} does not follow {(expected - 1) & _U32}"
                    if log.entries
                    else f"sequence {seq} differs from the log's base block ({expected})"
                )
                log.diagnostics.append(
                    info(
                        "log_remnant_entries",
                        path,
                        f"{name}: valid entries from offset {off} on are older data past the active run "
                        f"({stopped_by_gap}); not applied, kept for history",
                    )
                )
            active = False
            log.remnants.append(_with_note(entry, "remnant: older entry past the log's active run"))


def _with_note(entry: LogEntry, note: str) -> LogEntry:
    return LogEntry(
        entry.log, entry.file_offset, entry.size, entry.sequence, entry.flags, entry.hive_bins_size, entry.pages, note
    )


def _parse_old_log(log: LogFile) -> None:
    assert log.base is not None
    data, path, name = log.data, log.path, log.name
    bins = log.base.hive_bins_data_size
    if bins == 0 or bins % HBIN_ALIGNMENT:
        why = f"hive bins size {bins} in its base block is not a positive multiple of 4096"
        log._note(warning("log_entry_corrupt", path, f"{name}: {why}"), Rejected(path, None, SECTOR, why))
        log.usable = False
        return
    if data[SECTOR : SECTOR + 4] != b"DIRT":
        why = "no 'DIRT' dirty vector at offset 512"
        log._note(warning("log_entry_corrupt", path, f"{name}: {why}"), Rejected(path, None, SECTOR, why))
        log.usable = False
        return
    bitmap_len = bins // HBIN_ALIGNMENT  # one bit per 512-byte page
    bitmap_end = SECTOR + 4 + bitmap_len
    if bitmap_end > len(data):
        why = f"truncated: the dirty vector needs {bitmap_len} bytes, the file ends before"
        log._note(warning("log_truncated", path, f"{name}: {why}"), Rejected(path, None, SECTOR, why))
        log.usable = False
        return
    pages_at = -(-bitmap_end // SECTOR) * SECTOR
    runs: list[PageRef] = []
    index = 0
    bitmap = data[SECTOR + 4 : bitmap_end]
    for byte_no, byte in enumerate(bitmap):
        if not byte:
            continue
        for bit in range(8):
            if byte >> bit & 1:
                page_off = (byte_no * 8 + bit) * SECTOR
                log_off = pages_at + index * SECTOR
                last = runs[-1] if runs else None
                if last is not None and last.offset + last.size == page_off and last.log_offset + last.size == log_off:
                    runs[-1] = PageRef(last.offset, last.size + SECTOR, last.log_offset)
                else:
                    runs.append(PageRef(page_off, SECTOR, log_off))
                index += 1
    needed = pages_at + index * SECTOR
    if needed > len(data):
        why = f"truncated: {index} dirty pages need {needed} bytes, the file has {len(data)}"
        log._note(warning("log_truncated", path, f"{name}: {why}"), Rejected(path, log.base.primary_sequence, 0, why))
        log.usable = False
        return
    if index == 0:
        log.diagnostics.append(info("log_stale", path, f"{name}: the dirty vector marks no page; nothing to apply"))
        return
    log.entries.append(
        LogEntry(path, SECTOR, needed - SECTOR, log.base.primary_sequence, 0, bins, tuple(runs), "old-format log")
    )


# ---------------------------------------------------------------- replay


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
        i = bisect.bisect_right(ranges, (offset, _U32 + 1)) - 1
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


def _serial_after(seq: int, origin: int) -> int | None:
    """Distance of ``seq`` after ``origin`` in 32-bit serial arithmetic; None when before it."""
    delta = (seq - origin) & _U32
    return None if delta >= _HALF else delta


def _foreign_reason(primary_base: bytes, log: LogFile) -> str | None:
    """Why a log does not belong to this hive (None when it may)."""
    pb, lb = primary_base, log.data
    if pb[164:168] == b"rmtm" and lb[164:168] == b"rmtm":
        if pb[112:164] != lb[112:164]:
            return "its RmId/LogId/TmId GUIDs differ from the hive's"
        return None
    p_name, l_name = pb[48:112], lb[48:112]
    if p_name.strip(b"\0") and l_name.strip(b"\0") and p_name != l_name:
        p_text = p_name.decode("utf-16-le", "replace").split("\0", 1)[0]
        l_text = l_name.decode("utf-16-le", "replace").split("\0", 1)[0]
        return f"its base block names {l_text!r}, the hive's names {p_text!r}"
    return None


def replay(primary: bytes, logs: Sequence[LogFile], *, stop_after: int | None = None) -> ReplayResult:
    """Apply the logs to an in-memory copy of ``primary``, the way the kernel does at load.

    ``stop_after``: stop after the entry with this sequence number (new format), e.g. to see
    the hive as of an earlier log entry. Never raises on bad input.
    """
    run = _Run(primary, logs)
    for log in logs:
        run.diags += log.diagnostics
        run.rejected += log.rejected
    if len(primary) < BASE_BLOCK_SIZE or primary[:4] != REGF_SIGNATURE:
        return run.result(None, dirty=False)
    pbase = parse_base_block(primary)
    run.recovered = pbase.dirty and not pbase.checksum_ok
    usable: list[LogFile] = []
    for log in logs:
        if not log.usable:
            continue
        foreign = _foreign_reason(primary[:SECTOR], log)
        if foreign is not None:
            run.diags.append(warning("log_foreign", log.path, f"{log.name} does not belong to this hive: {foreign}"))
            run.rejected.append(Rejected(log.path, None, 0, f"foreign log: {foreign}"))
            continue
        usable.append(log)
    if not pbase.dirty:
        newer = [
            e
            for log in usable
            if log.format == "new"
            for e in log.entries
            if _serial_after(e.sequence, pbase.secondary_sequence)  # after it, not equal
        ]
        if newer:
            run.diags.append(
                info(
                    "log_entries_ignored",
                    "",
                    f"the hive is clean (sequence {pbase.primary_sequence}); {len(newer)} log entries numbered after "
                    "it are ignored, as Windows ignores them",
                )
            )
        return run.result(None, dirty=False)
    new_logs = [log for log in usable if log.format == "new"]
    old_logs = [log for log in usable if log.format == "old"]
    if new_logs:
        for log in old_logs:
            run.rejected.append(Rejected(log.path, None, 0, "not used: new-format logs are present"))
        return _replay_new(run, pbase, new_logs, stop_after)
    if old_logs:
        return _replay_old(run, pbase, old_logs)
    if logs:
        run.nothing_applied("no log could be used")
    return run.result(None)


@dataclass
class _Run:
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


def _base_sequence(log: LogFile) -> int:
    return log.base.primary_sequence if log.base is not None else 0


def _earliest_log(logs: Sequence[LogFile]) -> LogFile:
    """The log whose base-block sequence number comes first (32-bit serial order)."""
    first = logs[0]
    for log in logs[1:]:
        if _serial_after(_base_sequence(first), _base_sequence(log)):
            first = log
    return first


def _replay_new(run: _Run, pbase: BaseBlock, logs: list[LogFile], stop_after: int | None) -> ReplayResult:
    if run.recovered:
        first_log = _earliest_log(logs)
        origin = _base_sequence(first_log)
        run.diags.append(
            warning(
                "log_base_block_recovered",
                "",
                f"the primary base block checksum is wrong; its base block is taken from {first_log.name} "
                f"(sequence {origin})",
            )
        )
    else:
        origin = pbase.secondary_sequence
    chain = _chain(run, logs, origin, stop_after)
    if not chain:
        run.nothing_applied("no log entry applies")
        return run.result("new")
    log_by_path = {log.path: log for log in logs}
    applied: list[LogEntry] = []
    for index, entry in enumerate(chain):
        if BASE_BLOCK_SIZE + entry.hive_bins_size > run.growth_cap:
            why = f"hive bins size {entry.hive_bins_size} is larger than the logs can fill ({run.growth_cap} bytes)"
            run.diags.append(warning("log_entry_corrupt", entry.log, f"entry {entry.sequence}: {why}; replay stops"))
            run.rejected.append(Rejected(entry.log, entry.sequence, entry.file_offset, why))
            run.rejected += [
                Rejected(e.log, e.sequence, e.file_offset, "not applied: follows an unusable entry")
                for e in chain[index + 1 :]
            ]
            break
        applied.append(entry)
    if not applied:
        return run.result("new")
    last = applied[-1]
    pages = [(page, log_by_path[e.log].data) for e in applied for page in e.pages]
    image = run.image(BASE_BLOCK_SIZE + max(e.hive_bins_size for e in applied), pages)
    writes = [PageWrite(p.offset, p.size, e.log, e.sequence, p.log_offset) for e in applied for p in e.pages]
    last_log = log_by_path[last.log]
    assert last_log.base is not None
    primary = run.primary
    source = last_log.base_block_bytes + primary[SECTOR:BASE_BLOCK_SIZE] if run.recovered else primary[:BASE_BLOCK_SIZE]
    flags = (struct.unpack_from("<I", source, 144)[0] & ~1) | (last.flags & 1)
    image[:BASE_BLOCK_SIZE] = _consistent_base_block(source, last_log.base, last.sequence, last.hive_bins_size, flags)
    _starts, broken = _bin_starts(image, last.hive_bins_size)
    if broken is not None and any(w.offset <= broken < w.offset + w.size for w in writes):
        run.diags.append(
            warning(
                "log_hbin_invalid",
                "",
                f"after the replay the hive bin at offset 0x{broken:x} (written from a log) has an invalid header; "
                "keys beyond it may be unreadable (the kernel heals such bins)",
            )
        )
    _note_applied(run.diags, applied, "new")
    return run.result("new", image, applied, writes, last.sequence)


def _chain(run: _Run, logs: list[LogFile], origin: int, stop_after: int | None) -> list[LogEntry]:
    """The entries to apply: from the first not older than ``origin``, while numbers run on."""
    by_seq: dict[int, LogEntry] = {}
    for log in logs:
        for entry in log.entries:
            if _serial_after(entry.sequence, origin) is None:
                why = f"stale: older than the primary file's sequence number {origin} (already written into it)"
                run.rejected.append(Rejected(log.path, entry.sequence, entry.file_offset, why))
            elif entry.sequence in by_seq:
                kept = by_seq[entry.sequence]
                why = f"duplicate sequence number {entry.sequence}; the entry in {os.path.basename(kept.log)} is used"
                run.diags.append(warning("log_sequence_duplicate", log.path, f"{log.name}: {why}"))
                run.rejected.append(Rejected(log.path, entry.sequence, entry.file_offset, why))
            else:
                by_seq[entry.sequence] = entry
        if log.entries and all(_serial_after(e.sequence, origin) is None for e in log.entries):
            run.diags.append(
                info("log_stale", log.path, f"{log.name}: every entry is older than the primary file ({origin})")
            )
    if not by_seq:
        return []
    start = min(by_seq, key=lambda s: _serial_after(s, origin) or 0)
    if start != origin:
        run.diags.append(
            info(
                "log_sequence_jump",
                "",
                f"the first applicable log entry is {start}, the primary file's sequence number is {origin}: "
                "the entries in between were reconciled into the primary already (partial reconcile)",
            )
        )
    chain: list[LogEntry] = []
    seq = start
    while seq in by_seq:
        chain.append(by_seq.pop(seq))
        if seq == stop_after:
            break
        seq = (seq + 1) & _U32
    left = sorted(by_seq.values(), key=lambda e: _serial_after(e.sequence, origin) or 0)
    if left and stop_after is None:
        run.diags.append(
            warning(
                "log_sequence_gap",
                "",
                f"log entry {seq} is missing or unusable; {len(left)} later entries "
                f"({left[0].sequence}-{left[-1].sequence}) are not applied, as the kernel stops there",
            )
        )
    reason = (
        f"not applied: entry {seq} before it is missing or unusable"
        if stop_after is None
        else f"not applied: replay stopped after {stop_after} on request"
    )
    run.rejected += [Rejected(e.log, e.sequence, e.file_offset, reason) for e in left]
    return chain


def _replay_old(run: _Run, pbase: BaseBlock, logs: list[LogFile]) -> ReplayResult:
    primary = run.primary
    if run.recovered:  # the first hive bin keeps a copy of the timestamp
        primary_time = struct.unpack_from("<Q", primary, BASE_BLOCK_SIZE + 20)[0] if len(primary) >= 4124 else 0
    else:
        primary_time = pbase.last_written
    candidates: list[LogFile] = []
    for log in logs:
        assert log.base is not None
        if not log.entries:
            continue
        if log.base.last_written < primary_time:
            why = "stale: its last-written timestamp is older than the primary file's"
            run.diags.append(info("log_stale", log.path, f"{log.name}: {why}; not needed"))
            run.rejected.append(Rejected(log.path, log.base.primary_sequence, 0, why))
            continue
        candidates.append(log)
    if not candidates:
        run.nothing_applied("no old-format log applies (timestamps)")
        return run.result("old")
    chosen = max(candidates, key=_last_written)  # the first wins ties
    run.rejected += [
        Rejected(log.path, None, 0, f"not used: {chosen.name} is the latest applicable log")
        for log in candidates
        if log is not chosen
    ]
    assert chosen.base is not None
    entry = chosen.entries[0]
    need = BASE_BLOCK_SIZE + entry.hive_bins_size
    if need > run.growth_cap:
        why = f"hive bins size {entry.hive_bins_size} is larger than the log can fill ({run.growth_cap} bytes)"
        run.diags.append(warning("log_entry_corrupt", chosen.path, f"{chosen.name}: {why}"))
        run.rejected.append(Rejected(chosen.path, entry.sequence, 0, why))
        return run.result("old")
    pages = list(entry.pages)
    image = run.image(need, [(p, chosen.data) for p in pages])
    _starts, broken = _bin_starts(image, entry.hive_bins_size)
    if broken is not None and any(p.offset <= broken < p.offset + p.size for p in pages):
        # the kernel checks each dirty hive bin and stops at the first invalid one
        pages = [PageRef(p.offset, min(p.size, broken - p.offset), p.log_offset) for p in pages if p.offset < broken]
        image = run.image(need, [(p, chosen.data) for p in pages])
        run.diags.append(
            warning(
                "log_hbin_invalid",
                chosen.path,
                f"{chosen.name}: the dirty pages make the hive bin at offset 0x{broken:x} invalid; recovery stops "
                f"there ({sum(p.size for p in pages):,} of {entry.page_bytes:,} bytes applied)",
            )
        )
        why = f"dirty pages from hive-bins offset 0x{broken:x} on: invalid hive bin"
        run.rejected.append(Rejected(chosen.path, entry.sequence, 0, why))
    writes = [PageWrite(p.offset, p.size, chosen.path, entry.sequence, p.log_offset) for p in pages]
    source = chosen.base_block_bytes + primary[SECTOR:BASE_BLOCK_SIZE]
    flags = struct.unpack_from("<I", source, 144)[0]
    sequence = chosen.base.primary_sequence
    image[:BASE_BLOCK_SIZE] = _consistent_base_block(source, chosen.base, sequence, entry.hive_bins_size, flags)
    applied = [_with_note(entry, f"{len(pages)} page runs")]
    _note_applied(run.diags, applied, "old")
    return run.result("old", image, applied, writes, sequence)


def _last_written(log: LogFile) -> int:
    return log.base.last_written if log.base is not None else 0


def _note_applied(diags: list[Diagnostic], applied: list[LogEntry], fmt: str) -> None:
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


def _consistent_base_block(source: bytes, log_base: BaseBlock, sequence: int, bins: int, flags: int) -> bytes:
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


def _bin_starts(image: bytes | bytearray, bins: int) -> tuple[list[int], int | None]:
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


def load_logs(hive_path: str | os.PathLike[str] | None, option: LogsOption) -> list[LogFile]:
    """The logs chosen by ``option``: ``"auto"`` (next to the hive), ``"none"``, or explicit
    paths / already parsed :class:`LogFile` objects."""
    if isinstance(option, str):
        if option == "none":
            return []
        if option != "auto":
            raise ValueError(f"logs: 'auto', 'none' or a list of log files, not {option!r}")
        if hive_path is None:
            return []
        return [read_log(p) for p in discover_logs(hive_path)]
    return [item if isinstance(item, LogFile) else read_log(item) for item in option]
