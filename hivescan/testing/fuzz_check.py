"""The fuzzers' evidence invariant: no service record is lost without a diagnostic saying why.

A mutated hive (or a hive whose logs were mutated) may legitimately give fewer records than
the intact one -- but only when hivescan says so. These checkers compare two runs by service
name and list every loss nothing explains, and they re-read the transaction logs on their
own (walking entries by size, checking both Marvin32 hashes) to list every valid entry the
replay did not apply without a warning naming its sequence number.

They work on plain data (names, ``(code, level, field, message)`` tuples) so the in-process
fuzzers and the command-line runs (JSONL on stdout, ``hivescan: warning: CODE: ...`` on
stderr, ``info -f json``) share them.
"""

from __future__ import annotations

import random
import re
import struct
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from hivescan.hive.marvin import marvin32

SECTOR = 512

# Hive-level diagnostics that say keys may be missing: reading damage (docs/diagnostics.md,
# "Hive and key reading") and control sets that could not be used.
EXPLAINS_LOSS = frozenset(
    {
        "hive_truncated",
        "first_hbin_missing",
        "root_cell_unverified",
        "subkey_entries_invalid",
        "subkey_list_unsound",
        "subkey_list_incomplete",
        "subkeys_unreadable",
        "subkeys_unverified",
        "key_depth_limit",
        "duplicate_ci_name",
        "hive_file_tail_not_read",
        "no_control_sets",
        "services_key_missing",
        "control_set_fallback",
        "free_space_scan_incomplete",
        "log_hbin_invalid",
    }
)

Name = tuple[int | None, str]  # (control set number, service name)
Diag = tuple[str, str, str, str]  # (code, level, field, message)


def unexplained_losses(intact: Iterable[Name], mutated: Iterable[Name], diagnostics: Iterable[Diag]) -> list[str]:
    """Service names of the intact run absent from the mutated one with no hive-level
    diagnostic that explains a loss (:data:`EXPLAINS_LOSS`, or ``log_replay_removed_service``
    naming the service). Names are compared case-insensitively, as Windows compares keys."""
    diags = list(diagnostics)
    damaged = any(code in EXPLAINS_LOSS and level != "info" for code, level, _, _ in diags)
    removed = " ".join(message.casefold() for code, _, _, message in diags if code == "log_replay_removed_service")
    present = {(cs, name.casefold()) for cs, name in mutated}
    lost = []
    for cs, name in sorted(set(intact), key=lambda n: (n[0] or 0, n[1])):
        if (cs, name.casefold()) in present or damaged or name.casefold() in removed:
            continue
        lost.append(f"ControlSet{cs or 0:03d}\\Services\\{name}")
    return lost


@dataclass(frozen=True)
class WalkedEntry:
    """A new-format log entry found walking a log from its first sector by entry sizes."""

    log: str
    offset: int
    sequence: int
    valid: bool  # both Marvin32 hashes correct


def walk_log(name: str, data: bytes) -> list[WalkedEntry]:
    """Every ``HvLE`` entry from offset 512 on, by size, valid or not (as the format lays them out)."""
    out: list[WalkedEntry] = []
    off = SECTOR
    while off + 40 <= len(data) and data[off : off + 4] == b"HvLE":
        size, _flags, sequence = struct.unpack_from("<III", data, off + 4)
        if size < SECTOR or size % SECTOR or off + size > len(data):
            break
        hash1, hash2 = struct.unpack_from("<QQ", data, off + 24)
        valid = marvin32(data[off : off + 32]) == hash2 and marvin32(data[off + 40 : off + size]) == hash1
        out.append(WalkedEntry(name, off, sequence, valid))
        off += size
    return out


_RANGE = re.compile(r"(?<![\w.])(\d+)(?:\s*-\s*(\d+))?(?![\w.])")


def named_sequences(messages: Iterable[str]) -> set[int]:
    """Sequence numbers the messages name, singly or as ``first-last`` ranges (ranges of at most 100,000)."""
    named: set[int] = set()
    for message in messages:
        for first, last in _RANGE.findall(message):
            lo = int(first)
            hi = int(last) if last else lo
            if 0 <= hi - lo <= 100_000:
                named.update(range(lo, hi + 1))
    return named


def unwarned_entries(
    logs: Mapping[str, bytes], applied: Iterable[int], primary_sequence: int, dirty: bool, diagnostics: Iterable[Diag]
) -> list[str]:
    """Valid entries not applied, not older than what the replay applied (or than the primary
    when nothing was), that no ``log_*`` warning names by sequence number."""
    applied = sorted(set(applied))
    if not dirty:
        floor = (primary_sequence + 1) & 0xFFFFFFFF  # a clean hive: entries after it are ignored, with a warning
    else:
        floor = applied[0] if applied else primary_sequence
    warned = named_sequences(
        message for code, level, _, message in diagnostics if code.startswith("log_") and level != "info"
    )
    missing = []
    for name, data in logs.items():
        for entry in walk_log(name, data):
            if entry.valid and _not_before(entry.sequence, floor) and entry.sequence not in warned:
                if entry.sequence in applied:  # which copy of a duplicate is used is the replay's choice
                    continue
                missing.append(f"{name} entry {entry.sequence} at 0x{entry.offset:x}")
    return missing


def _not_before(sequence: int, floor: int) -> bool:
    """32-bit serial order, as the format numbers entries (0xFFFFFFFF comes just before 0)."""
    return (sequence - floor) % (1 << 32) < (1 << 31)


# ---------------------------------------------------------------- hive mutations against the invariant


def hive_names(data: bytes) -> tuple[set[Name], list[Diag]] | None:
    """Services (every control set, live, deleted and orphaned) and hive diagnostics of a hive
    read from bytes with its logs off; None when hivescan refuses it with a documented error
    (one line: the whole run is then declared unusable, nothing is lost silently)."""
    import hivescan
    from hivescan.errors import HivescanError
    from hivescan.hive.source import HiveSource

    try:
        with hivescan.open_hive(HiveSource.from_bytes(data, "fuzz"), logs="none") as hive:
            info = hive.info()
            records = hive.services("all", deleted=True)
            diags: list[Diag] = [(d.code, d.level, d.field, d.message) for d in info.diagnostics]
            return {(r.control_set, r.name) for r in records}, diags
    except HivescanError:
        return None


def hive_invariant_fuzz(seeds: Sequence[bytes], cases: int, seed: int, report: Callable[[str], None]) -> int:
    """``cases`` structure-aware mutants (:func:`hivescan.testing.fuzz.structural_mutate`: they
    damage lists, counts and cells but never rename a key) whose every service missing against
    the intact hive must be explained by a hive-level diagnostic (:func:`unexplained_losses`)."""
    from hivescan.testing.fuzz import structural_mutate

    rng = random.Random(seed)
    intact = [hive_names(s) for s in seeds]
    failures = 0
    started = time.perf_counter()
    for case in range(cases):
        index = rng.randrange(len(seeds))
        before = intact[index]
        data, kind = structural_mutate(seeds[index], rng)
        after = hive_names(data) if before is not None and kind != "skipped" else None
        if before is None or after is None:
            continue
        lost = unexplained_losses(before[0], *after)
        if lost:
            failures += 1
            report(f"invariant case {case} ({kind}) seed {seed}: lost without a diagnostic: {lost[:5]}")
    report(f"{cases} invariant cases in {time.perf_counter() - started:.1f}s, {failures} failure(s)")
    return failures
