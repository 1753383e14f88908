"""Replaying transaction logs onto an in-memory copy of the primary file, as the kernel does.

See the package docstring for the rules; :func:`replay` never raises on bad input.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from hivescan.diagnostics import info, warning
from hivescan.hive.header import BASE_BLOCK_SIZE, REGF_SIGNATURE, BaseBlock, parse_base_block
from hivescan.hive.logs.chain import absent_partner, base_sequence, chain_entries, earliest_log, note_remnants
from hivescan.hive.logs.model import (
    SECTOR,
    U32,
    LogEntry,
    LogFile,
    PageRef,
    PageWrite,
    Rejected,
    ReplayResult,
    sequence_ranges,
    serial_after,
)
from hivescan.hive.logs.parse import with_note
from hivescan.hive.logs.state import Run, bin_starts, consistent_base_block, note_applied


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
    run = Run(primary, logs)
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
            held = [e.sequence for e in (*log.entries, *log.stray, *log.remnants)]
            tail = f"; its valid entries (sequence {sequence_ranges(held)}) are not applied" if held else ""
            run.diags.append(
                warning("log_foreign", log.path, f"{log.name} does not belong to this hive: {foreign}{tail}")
            )
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
        note_remnants(run, [log for log in usable if log.format == "new"], (after + 1) & U32, after, newer_ids)
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


def _replay_new(run: Run, pbase: BaseBlock, logs: list[LogFile], stop_after: int | None) -> ReplayResult:
    if run.recovered:
        first_log = earliest_log(logs)
        origin = base_sequence(first_log)
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
    absent = absent_partner(run.logs)
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
    chain = chain_entries(run, logs, origin, stop_after)
    note_remnants(run, logs, chain[0].sequence if chain else origin, origin)
    if not chain:
        run.nothing_applied("no log entry applies")
        return run.result("new")
    log_by_path = {log.path: log for log in logs}
    applied: list[LogEntry] = []
    for index, entry in enumerate(chain):
        if BASE_BLOCK_SIZE + entry.hive_bins_size > run.growth_cap:
            why = f"hive bins size {entry.hive_bins_size} is larger than the logs can fill ({run.growth_cap} bytes)"
            later = chain[index + 1 :]
            lost = (
                f": {len(later)} later valid entries ({sequence_ranges(e.sequence for e in later)}) are not applied"
                if later
                else ""
            )
            run.diags.append(
                warning("log_entry_corrupt", entry.log, f"entry {entry.sequence}: {why}; replay stops{lost}")
            )
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
    writes = [PageWrite(p.offset, p.size, e.log, e.sequence, p.log_offset) for e in applied for p in e.pages]
    last_log = log_by_path[last.log]
    assert last_log.base is not None
    primary = run.primary
    source = last_log.base_block_bytes + primary[SECTOR:BASE_BLOCK_SIZE] if run.recovered else primary[:BASE_BLOCK_SIZE]
    flags = (struct.unpack_from("<I", source, 144)[0] & ~1) | (last.flags & 1)
    base = consistent_base_block(source, last_log.base, last.sequence, last.hive_bins_size, flags)
    image = run.image(BASE_BLOCK_SIZE + max(e.hive_bins_size for e in applied), pages, base)
    _starts, broken = bin_starts(image, last.hive_bins_size)
    if broken is not None and any(w.offset <= broken < w.offset + w.size for w in writes):
        run.diags.append(
            warning(
                "log_hbin_invalid",
                "",
                f"after the replay the hive bin at offset 0x{broken:x} (written from a log) has an invalid header; "
                "keys beyond it may be unreadable (the kernel heals such bins)",
            )
        )
    note_applied(run.diags, applied, "new")
    return run.result("new", image, applied, writes, last.sequence)


def _replay_old(run: Run, pbase: BaseBlock, logs: list[LogFile]) -> ReplayResult:
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
    source = chosen.base_block_bytes + primary[SECTOR:BASE_BLOCK_SIZE]
    flags = struct.unpack_from("<I", source, 144)[0]
    sequence = chosen.base.primary_sequence
    base = consistent_base_block(source, chosen.base, sequence, entry.hive_bins_size, flags)
    image = run.image(need, [(p, chosen.data) for p in pages], base)
    _starts, broken = bin_starts(image, entry.hive_bins_size)
    if broken is not None and any(p.offset <= broken < p.offset + p.size for p in pages):
        # the kernel checks each dirty hive bin and stops at the first invalid one
        pages = [PageRef(p.offset, min(p.size, broken - p.offset), p.log_offset) for p in pages if p.offset < broken]
        image = run.image(need, [(p, chosen.data) for p in pages], base)
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
    applied = [with_note(entry, f"{len(pages)} page runs")]
    note_applied(run.diags, applied, "old")
    return run.result("old", image, applied, writes, sequence)


def _last_written(log: LogFile) -> int:
    return log.base.last_written if log.base is not None else 0
