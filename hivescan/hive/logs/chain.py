"""Which new-format log entries apply: the chain by sequence number, the dual-log pair, remnants.

Entries of all logs are ordered by number, whatever log or file position they come from;
the replay applies them from the first not older than the primary while the numbers run on.
Every valid entry left out is named: a warning when it may hold changes the replayed hive
lacks, an info when it is older than what was applied (see the package docstring).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from hivescan.diagnostics import info, warning
from hivescan.hive.logs.model import (
    U32,
    LogEntry,
    LogFile,
    Rejected,
    sequence_ranges,
    serial_after,
)
from hivescan.hive.logs.state import Run


def base_sequence(log: LogFile) -> int:
    return log.base.primary_sequence if log.base is not None else 0


def earliest_log(logs: Sequence[LogFile]) -> LogFile:
    """The log whose base-block sequence number comes first (32-bit serial order)."""
    first = logs[0]
    for log in logs[1:]:
        if serial_after(base_sequence(first), base_sequence(log)):
            first = log
    return first


def chain_entries(run: Run, logs: list[LogFile], origin: int, stop_after: int | None) -> list[LogEntry]:
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
        absent = absent_partner(run.logs)
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


def absent_partner(logs: Sequence[LogFile]) -> str | None:
    """``LOG1`` or ``LOG2`` when only the other log of the dual-logging pair is among ``logs``."""
    have = {os.path.splitext(log.path)[1].upper() for log in logs}
    if ".LOG1" in have and ".LOG2" not in have:
        return "LOG2"
    if ".LOG2" in have and ".LOG1" not in have:
        return "LOG1"
    return None


def note_remnants(
    run: Run, logs: Sequence[LogFile], reference: int, origin: int, reported: set[int] | None = None
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
