"""Mutation fuzzing of transaction-log replay: ``python -m hivescan.testing.fuzz_logs --cases 500``.

Why: logs come from the same compromised machine as the hive, and a valid-looking log entry
(its Marvin32 hashes recomputed after an edit) is as easy to forge as a key. Each case takes a
dirty hive -- built ones (:func:`built_dirty_seeds`) and, when given, a real one -- and changes
its ``.LOG1``/``.LOG2`` the way an attacker or a broken copy would (:data:`LOG_MUTATIONS`):
entries renumbered, reordered, duplicated, edited with their hashes recomputed, logs cut,
base blocks stale or garbled, one log of the pair missing. The primary file is never changed.

Each case is then checked against the evidence invariant (:mod:`hivescan.testing.fuzz_check`):
every service of the primary-alone run (``logs="none"``, ``--no-logs``) is in the replayed run
or a diagnostic says why (``log_replay_removed_service`` naming it, or reading damage), and
every valid entry the replay did not apply, not older than what it applied, is named by
sequence number in a ``log_*`` warning. ``--cli N`` runs N cases through ``info``,
``services -c all --deleted`` and ``scan`` in child processes under a memory cap and a
timeout (:func:`cli_log_fuzz`), with the same invariant read from their output.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from hivescan.hive.header import BASE_BLOCK_SIZE
from hivescan.hive.marvin import marvin32
from hivescan.testing.fuzz_check import Diag, Name, unexplained_losses, unwarned_entries
from hivescan.testing.logs import SECTOR, log_base_block, renumber_entry, split_log

if TYPE_CHECKING:
    from hivescan.hive.logs.model import ReplayResult

LOG_MUTATIONS = (
    "renumber",
    "reorder",
    "duplicate",
    "move_across",
    "rehash",
    "truncate",
    "stale_base",
    "garbled_base",
    "drop_log",
)


@dataclass(frozen=True)
class DirtySeed:
    """A dirty primary file and its logs (suffix -> bytes), ready to mutate."""

    name: str
    primary: bytes
    logs: Mapping[str, bytes]


def _rehash(entry: bytes) -> bytes:
    """Both Marvin32 hashes recomputed: the entry passes its checks whatever was edited."""
    raw = bytearray(entry)
    struct.pack_into("<Q", raw, 24, marvin32(bytes(raw[40:])))
    struct.pack_into("<Q", raw, 32, marvin32(bytes(raw[:32])))
    return bytes(raw)


def _edit_entry(entry: bytes, rng: random.Random) -> bytes:
    """A forged entry: a page byte, a page reference or the hive-bins size changed, then rehashed."""
    raw = bytearray(entry)
    pages = struct.unpack_from("<I", raw, 20)[0]
    choice = rng.randrange(3)
    if choice == 0 and len(raw) > 40 + 8 * pages:
        for _ in range(rng.randint(1, 16)):
            raw[rng.randrange(40 + 8 * pages, len(raw))] ^= 1 << rng.randrange(8)
    elif choice == 1 and pages:
        ref = 40 + 8 * rng.randrange(pages)
        struct.pack_into("<I", raw, ref + rng.choice([0, 4]), rng.choice([0, 4096, 0x7FFFF000, 0xFFFFFFFF, 512]))
    else:
        struct.pack_into("<I", raw, 16, rng.choice([0, 4096, 0x10000000, 0xFFFFF000]))
    return _rehash(bytes(raw))


def mutate_logs(seed: DirtySeed, rng: random.Random) -> tuple[dict[str, bytes], str]:
    """One log mutation of :data:`LOG_MUTATIONS`; the primary is left as it is."""
    logs = dict(seed.logs)
    kind = rng.choice(LOG_MUTATIONS)
    names = sorted(logs)
    if not names:
        return logs, "skipped"
    split = {name: split_log(data) for name, data in logs.items()}
    with_entries = [n for n in names if split[n][1]]
    if kind in ("renumber", "reorder", "duplicate", "rehash", "move_across") and not with_entries:
        return logs, "skipped"
    name = rng.choice(with_entries) if with_entries else rng.choice(names)
    base, entries = split[name]
    tail = logs[name][SECTOR + sum(len(e) for e in entries) :]  # remnants past the current entries stay
    if kind == "renumber":
        k = rng.randrange(len(entries))
        number = struct.unpack_from("<I", entries[k], 12)[0]
        entries[k] = renumber_entry(
            entries[k], rng.choice([number + 1, number - 1, number + 7, 0, 0xFFFFFFFF]) & 0xFFFFFFFF
        )
    elif kind == "reorder" and len(entries) >= 2:
        if rng.random() < 0.5:
            entries.reverse()
        else:
            i, j = rng.sample(range(len(entries)), 2)
            entries[i], entries[j] = entries[j], entries[i]
    elif kind == "duplicate":
        k = rng.randrange(len(entries))
        entries.insert(rng.randrange(len(entries) + 1), entries[k])
    elif kind == "move_across" and len(names) == 2:
        other = names[1 - names.index(name)]
        moved = entries.pop(rng.randrange(len(entries)))
        obase, oentries = split[other]
        oentries.insert(rng.randrange(len(oentries) + 1), moved)
        logs[other] = obase + b"".join(oentries)
    elif kind == "rehash":
        k = rng.randrange(len(entries))
        entries[k] = _edit_entry(entries[k], rng)
    elif kind == "truncate":
        logs[name] = logs[name][: rng.randrange(0, len(logs[name]) + 1)]
        return logs, kind
    elif kind == "stale_base":
        number = struct.unpack_from("<I", base, 8)[0]
        base = log_base_block(base, struct.unpack_from("<I", base, 28)[0], max(0, number - rng.choice([1, 5, 1000])))
    elif kind == "garbled_base":
        raw = bytearray(base)
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        base = bytes(raw)
    elif kind == "drop_log":
        del logs[name]
        return logs, kind
    else:
        return logs, "skipped"
    logs[name] = base + b"".join(entries) + tail
    return logs, kind


# ---------------------------------------------------------------- seeds


def built_dirty_seeds() -> list[DirtySeed]:
    """Dirty hives built by the project's writer: services added, changed and deleted by the
    logs, entries split over ``.LOG1`` and ``.LOG2`` (so a lost or dropped entry loses records),
    and one old-format (``DIRT``) log of the same changes."""
    from hivescan.testing.logs import make_dirty
    from hivescan.testing.regf import HiveWriter, WKey

    def state(present: Sequence[int], changed: int = -1) -> bytes:
        root = WKey("ROOT")
        root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1)
        for i in present:
            svc = root.key(f"ControlSet001\\Services\\Svc{i}")
            svc.set_dword("Type", 16).set_dword("Start", 2 if i != changed else 3).set_dword("ErrorControl", 1)
            svc.set_expand_sz("ImagePath", f"C:\\Program Files\\App{i}\\svc{i}.exe " + "p" * (i * 97 % 700))
        return HiveWriter(root, last_written=0x01D8000000000000 + len(present)).build().data

    everything = list(range(40))
    states = [
        state(everything[:30]),
        state(everything[:34]),  # four services added
        state([i for i in everything[:34] if i != 3]),  # one deleted
        state([i for i in everything[:36] if i != 3], changed=7),
        state([i for i in everything[:40] if i not in (3, 11)], changed=7),
    ]
    seeds = []
    for split in (2, 3):
        dirty = make_dirty(states, sequence=200, split=split)
        seeds.append(DirtySeed(f"built-split{split}", dirty.primary, dict(dirty.logs)))
    old = make_dirty(states, fmt="old", sequence=200)  # one DIRT log: cut, stale, garbled or missing
    seeds.append(DirtySeed("built-old", old.primary, dict(old.logs)))
    return seeds


def real_dirty_seed(primary: Path) -> DirtySeed | None:
    """A real dirty hive and the logs next to it (read only; the fuzzer writes mutants elsewhere)."""
    if not primary.is_file():
        return None
    paths = {s: primary.parent / (primary.name + s) for s in (".LOG1", ".LOG2")}
    logs = {s: p.read_bytes() for s, p in paths.items() if p.is_file()}
    return DirtySeed(primary.name, primary.read_bytes(), logs)


# ---------------------------------------------------------------- one case, in process


class CaseTimeout(Exception):
    pass


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise CaseTimeout


def _names_and_diags(primary: Path, logs: str | list[str]) -> tuple[set[Name], list[Diag], ReplayResult | None]:
    import hivescan

    with hivescan.open_hive(primary, logs=logs) as hive:
        info = hive.info()
        records = hive.services("all", deleted=True)
        for rec in records:
            json.dumps(rec.to_dict(), ensure_ascii=True)
        names = {(r.control_set, r.name) for r in records}
        diags: list[Diag] = [(d.code, d.level, d.field, d.message) for d in info.diagnostics]
        return names, diags, hive.log_replay


def check_case(folder: Path, seed: DirtySeed, logs: Mapping[str, bytes], baseline: set[Name] | None) -> list[str]:
    """Write the case, replay it in process and return what breaks the invariant (empty: fine)."""
    from hivescan.errors import HivescanError
    from hivescan.hive.header import parse_base_block

    primary = folder / "SYSTEM"
    for old in folder.glob("SYSTEM.LOG*"):
        old.unlink()
    primary.write_bytes(seed.primary)
    paths = []
    for suffix, data in logs.items():
        (folder / ("SYSTEM" + suffix)).write_bytes(data)
        paths.append(str(folder / ("SYSTEM" + suffix)))
    try:
        names, diags, replay = _names_and_diags(primary, paths)
    except HivescanError:
        return []  # a documented one-line error: the whole run says it is unusable
    problems = [f"lost without a diagnostic: {n}" for n in unexplained_losses(baseline or set(), names, diags)]
    base = parse_base_block(seed.primary[:BASE_BLOCK_SIZE])
    applied = [e.sequence for e in replay.applied] if replay is not None else []
    named = {f"SYSTEM{s}": d for s, d in logs.items()}
    problems += [
        f"valid entry not applied, no warning: {e}"
        for e in unwarned_entries(named, applied, base.secondary_sequence, base.dirty, diags)
    ]
    return problems


def baseline_names(folder: Path, seed: DirtySeed) -> set[Name]:
    """The services of the primary file alone (``--no-logs``)."""
    primary = folder / "SYSTEM"
    primary.write_bytes(seed.primary)
    return _names_and_diags(primary, "none")[0]


def log_fuzz(
    seeds: Sequence[DirtySeed], cases: int, seed: int, per_case_s: float, report: Callable[[str], None]
) -> int:
    """``cases`` log mutants (one or two mutations each) checked in process; failures counted and reported."""
    rng = random.Random(seed)
    failures = 0
    signal.signal(signal.SIGALRM, _alarm)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hivescan-logfuzz-") as tmp:
        folder = Path(tmp)
        baselines = [baseline_names(folder, s) for s in seeds]
        for case in range(cases):
            index = rng.randrange(len(seeds))
            logs, kind = mutate_logs(seeds[index], rng)
            if rng.random() < 0.3:
                logs, more = mutate_logs(DirtySeed(seeds[index].name, seeds[index].primary, logs), rng)
                kind += "+" + more
            signal.setitimer(signal.ITIMER_REAL, per_case_s)
            try:
                problems = check_case(folder, seeds[index], logs, baselines[index])
            except CaseTimeout:
                problems = [f"slower than {per_case_s}s"]
            except Exception:  # anything but HivescanError is a bug
                problems = [traceback.format_exc(limit=-3)]
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            if problems:
                failures += 1
                report(f"log case {case} ({seeds[index].name}: {kind}) seed {seed}: " + "; ".join(problems[:5]))
    report(f"{cases} log cases in {time.perf_counter() - started:.1f}s, {failures} failure(s)")
    return failures


# ---------------------------------------------------------------- the real command


def _cli_diags(stderr: str) -> list[Diag]:
    """``hivescan: warning: CODE: message`` lines as diagnostics (the CLI prints warnings and errors)."""
    out = []
    for line in stderr.splitlines():
        parts = line.split(": ", 3)
        if len(parts) == 4 and parts[0] == "hivescan" and parts[1] in ("warning", "error"):
            out.append((parts[2], parts[1], "", parts[3]))
    return out


def cli_log_fuzz(
    seeds: Sequence[DirtySeed], cases: int, seed: int, timeout_s: float, report: Callable[[str], None]
) -> int:
    """``cases`` log mutants through ``info``, ``services -c all --deleted`` and ``scan``, each in
    its own process under the memory cap; the invariant is read from ``services``' JSONL and stderr."""
    from hivescan.hive.header import parse_base_block
    from hivescan.testing.fuzz import CLI_COMMANDS, cli_run

    rng = random.Random(seed)
    failures = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hivescan-logfuzz-cli-") as tmp:
        folder = Path(tmp)
        primary = folder / "SYSTEM"
        baselines: dict[int, set[Name]] = {}
        for case in range(cases):
            index = rng.randrange(len(seeds))
            logs, kind = mutate_logs(seeds[index], rng)
            for old in folder.glob("SYSTEM*"):
                old.unlink()
            primary.write_bytes(seeds[index].primary)
            if index not in baselines:
                argv = ("services", "--deleted", "-c", "all", "-f", "jsonl", "--no-logs")
                baselines[index] = _jsonl_names(cli_run(primary, argv, timeout_s))
            for suffix, data in logs.items():
                (folder / ("SYSTEM" + suffix)).write_bytes(data)
            problems = []
            for command in CLI_COMMANDS:
                result = cli_run(primary, command, timeout_s)
                if isinstance(result, str):
                    problems.append(f"hivescan {' '.join(command)}: {result}")
                elif command[0] == "services" and result.returncode == 0:
                    diags = _cli_diags(result.stderr)
                    lost = unexplained_losses(baselines[index], _jsonl_names(result), diags)
                    problems += [f"lost without a diagnostic: {n}" for n in lost]
                    base = parse_base_block(seeds[index].primary[:BASE_BLOCK_SIZE])
                    applied = _applied_from_stderr(diags)
                    named = {f"SYSTEM{s}": d for s, d in logs.items()}
                    problems += [
                        f"valid entry not applied, no warning: {e}"
                        for e in unwarned_entries(named, applied, base.secondary_sequence, base.dirty, diags)
                    ]
            if problems:
                failures += 1
                keep = Path(tempfile.mkdtemp(prefix=f"hivescan-logfuzz-{seed}-{case}-"))
                for path in folder.iterdir():
                    (keep / path.name).write_bytes(path.read_bytes())
                report(f"log cli case {case} ({seeds[index].name}: {kind}) seed {seed}: {problems[:4]} (files: {keep})")
    runs = cases * len(CLI_COMMANDS)
    report(f"{cases} log cli cases ({runs} runs) in {time.perf_counter() - started:.1f}s, {failures} failure(s)")
    return failures


def _jsonl_names(result: subprocess.CompletedProcess[str] | str) -> set[Name]:
    if isinstance(result, str) or result.returncode != 0:
        return set()
    names = set()
    for line in result.stdout.splitlines():
        if line.strip():
            rec = json.loads(line)
            names.add((rec.get("control_set"), rec["name"]))
    return names


def _applied_from_stderr(diags: Sequence[Diag]) -> list[int]:
    """The applied range from ``log_replayed`` ("... (sequence A-B) ...": new format entries are applied in order)."""
    import re

    for code, _, _, message in diags:
        found = re.search(r"\(sequence (\d+)-(\d+)\)", message) if code == "log_replayed" else None
        if found:
            return list(range(int(found.group(1)), int(found.group(2)) + 1))
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--per-case", type=float, default=20.0, help="seconds before a case counts as a hang")
    parser.add_argument("--cli", type=int, default=0, help="also run this many mutants through the real command")
    parser.add_argument("--only-given", action="store_true", help="mutate only the hives given, not the built ones")
    parser.add_argument("primaries", nargs="*", type=Path, help="real dirty hives (logs next to them) to add")
    args = parser.parse_args(argv)
    seeds = [] if args.only_given else built_dirty_seeds()
    seeds += [s for s in (real_dirty_seed(p) for p in args.primaries) if s is not None]
    if not seeds:
        parser.error("no seeds: the hives given are missing")
    print_line: Callable[[str], None] = lambda line: print(line, flush=True)  # noqa: E731
    failures = log_fuzz(seeds, args.cases, args.seed, args.per_case, print_line) if args.cases else 0
    if args.cli:
        os.environ.setdefault("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
        failures += cli_log_fuzz(seeds, args.cli, args.seed, max(args.per_case, 30.0), print_line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
