"""Replaying transaction logs onto an in-memory copy of the primary file, as the kernel does.

See the package docstring for the rules; :func:`replay` never raises on bad input.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from hivescan.diagnostics import Diagnostic, info, warning
from hivescan.hive.header import BASE_BLOCK_SIZE, REGF_SIGNATURE, BaseBlock, base_block_checksum, parse_base_block
from hivescan.hive.logs.model import (
    HBIN_ALIGNMENT,
    SECTOR,
    U32,
    LogEntry,
    LogFile,
    LogFormat,
    PageRef,
    PageWrite,
    Rejected,
    ReplayResult,
    sequence_ranges,
    serial_after,
)
from hivescan.hive.logs.parse import with_note


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
        after = pbase.secondary_sequence  # entries up to it are in the primary
        newer = [
            e
            for log in usable
            if log.format == "new"
            for e in (*log.entries, *log.stray, *log.remnants)
            if serial_after(e.sequence, after)  # after it, not equal
        ]
        if newer:
            run.diags.append(
                warning(
                    "log_entries_ignored",
                    "",
                    f"the hive is clean (sequence {pbase.primary_sequence}); {len(newer)} valid log entries numbered "
                    f"after it ({sequence_ranges(e.sequence for e in newer)}) are not applied, as Windows ignores "
                    "them: they may hold changes the primary does not",
                )
            )
        newer_ids = {id(e) for e in newer}
        _note_remnants(run, [log for log in usable if log.format == "new"], (after + 1) & U32, after, newer_ids)
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
        if serial_after(_base_sequence(first), _base_sequence(log)):
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
    absent = _absent_partner(run.logs)
    if absent is not None:
        present = "LOG2" if absent == "LOG1" else "LOG1"
        run.diags.append(
            warning(
                "log_pair_missing",
                "",
                f"only the {present} of the hive's dual transaction logs is present, its {absent} is absent: "
                f"entries the {absent} held cannot be replayed and recent changes may be missing",
            )
        )
    chain = _chain(run, logs, origin, stop_after)
    _note_remnants(run, logs, chain[0].sequence if chain else origin, origin)
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
            if serial_after(entry.sequence, origin) is None:
                why = f"stale: older than the primary file's sequence number {origin} (already written into it)"
                run.rejected.append(Rejected(log.path, entry.sequence, entry.file_offset, why))
            elif entry.sequence in by_seq:
                kept = by_seq[entry.sequence]
                why = f"duplicate sequence number {entry.sequence}; the entry in {os.path.basename(kept.log)} is used"
                run.diags.append(warning("log_sequence_duplicate", log.path, f"{log.name}: {why}"))
                run.rejected.append(Rejected(log.path, entry.sequence, entry.file_offset, why))
            else:
                by_seq[entry.sequence] = entry
        if log.entries and all(serial_after(e.sequence, origin) is None for e in log.entries):
            run.diags.append(
                info("log_stale", log.path, f"{log.name}: every entry is older than the primary file ({origin})")
            )
    if not by_seq:
        return []
    start = min(by_seq, key=lambda s: serial_after(s, origin) or 0)
    if start != origin:
        absent = _absent_partner(run.logs)
        why = (
            f"they are not among the current entries of the logs found: reconciled into the primary already, "
            f"or lost with the absent {absent}"
            if absent
            else "they are not among the logs' current entries: reconciled into the primary already (partial reconcile)"
        )
        run.diags.append(
            info(
                "log_sequence_jump",
                "",
                f"the first applicable log entry is {start}, the primary file's sequence number is {origin}: "
                f"entries {origin}-{(start - 1) & U32} are not applied; {why}",
            )
        )
    chain: list[LogEntry] = []
    seq = start
    while seq in by_seq:
        chain.append(by_seq.pop(seq))
        if seq == stop_after:
            break
        seq = (seq + 1) & U32
    left = sorted(by_seq.values(), key=lambda e: serial_after(e.sequence, origin) or 0)
    if left and stop_after is None:
        run.diags.append(
            warning(
                "log_sequence_gap",
                "",
                f"log entry {seq} is missing or unusable; {len(left)} later valid entries "
                f"({sequence_ranges(e.sequence for e in left)}) are not applied, as the kernel stops there",
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
    applied = [with_note(entry, f"{len(pages)} page runs")]
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


def _absent_partner(logs: Sequence[LogFile]) -> str | None:
    """``LOG1`` or ``LOG2`` when only the other log of the dual-logging pair is among ``logs``."""
    have = {os.path.splitext(log.path)[1].upper() for log in logs}
    if ".LOG1" in have and ".LOG2" not in have:
        return "LOG2"
    if ".LOG2" in have and ".LOG1" not in have:
        return "LOG1"
    return None


def _note_remnants(
    run: _Run, logs: Sequence[LogFile], reference: int, origin: int, reported: set[int] | None = None
) -> None:
    """Remnant and stray entries: a previous state (info) or valid data not applied (warning).

    A remnant numbered before ``reference`` (the first applied entry, else the primary's
    sequence) holds a state of the hive older than the replayed one: listed, never applied
    (yarp's remnant log entries). A remnant numbered from it on, or a stray entry not older
    than the primary (``origin``), may hold changes nothing else has: a warning names them.
    ``reported``: ids of entries another warning already names (clean hives).
    """
    reported = reported or set()
    for log in logs:
        older = [e for e in log.remnants if serial_after(e.sequence, reference) is None]
        unsure = [e for e in log.remnants if serial_after(e.sequence, reference) is not None]
        unsure += [e for e in log.stray if serial_after(e.sequence, origin) is not None]
        if older:
            run.diags.append(
                info(
                    "log_remnant_entries",
                    log.path,
                    f"{log.name}: {len(older)} valid remnant entries ({sequence_ranges(e.sequence for e in older)}) "
                    f"numbered before {reference} lie past the log's current entries: previous states of the hive, "
                    "not applied",
                )
            )
        for entry in log.stray:
            if serial_after(entry.sequence, origin) is None:
                why = f"stale: older than the primary file's sequence number {origin} (already written into it)"
                run.rejected.append(Rejected(log.path, entry.sequence, entry.file_offset, why))
        unsure = [e for e in unsure if id(e) not in reported]
        if unsure:
            numbers = sequence_ranges(e.sequence for e in unsure)
            run.diags.append(
                warning(
                    "log_entries_not_applied",
                    log.path,
                    f"{log.name}: {len(unsure)} valid entries ({numbers}) are not applied: they lie past the log's "
                    "current entries or are numbered before its base block, where the kernel does not read; "
                    "they may hold changes the replayed hive does not",
                )
            )
            run.rejected += [Rejected(log.path, e.sequence, e.file_offset, f"not applied: {e.note}") for e in unsure]
