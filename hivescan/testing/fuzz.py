"""Mutation fuzzing of the whole reading path: ``python -m hivescan.testing.fuzz --cases 5000``.

Each case mutates a built hive (bit flips, interesting dwords in cell headers and key
records, absurd sizes and counts, cyclic subkey lists, truncation, copied pages) or changes
its structure the way an attacker would (:func:`structural_mutate`: subkey lists turned into
index roots naming themselves or each other, leaves listed twice, huge counts, value, big-data
and security records pointing at themselves or claiming gigabytes) and runs open -> info ->
every control set's services, live and deleted -> JSONL. Allowed outcomes: records (with
diagnostics) or a :class:`hivescan.errors.HivescanError`. Anything else -- another exception,
a case slower than the per-case limit -- is a failure, printed with the seed that reproduces
it. Run it in a child process with a memory limit (see tests/test_fuzz.py) so a runaway
allocation or a hang in native code is caught too.

``--cli N`` runs N mutants through the real command instead, each command in its own process
under an address-space limit and a timeout (:func:`cli_fuzz`): the exit code must be a
documented one, stderr one line per message and never a traceback or a native abort.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x1000, 0x7FFFFFFF, 0x80000000, 0x80000004, 0xFFFFFFFF, 0xFFFFFFF8, 20]


def _cell_starts(data: bytes) -> list[int]:
    """Offsets (absolute) of cells, walking hbins the way the format defines them."""
    starts: list[int] = []
    pos = 4096
    while pos + 32 <= len(data) and data[pos : pos + 4] == b"hbin" and len(starts) < 100_000:
        size = struct.unpack_from("<I", data, pos + 8)[0]
        if size < 4096 or size % 4096:
            break
        cell = pos + 32
        end = min(pos + size, len(data))
        while cell + 4 <= end:
            starts.append(cell)
            length = abs(struct.unpack_from("<i", data, cell)[0])
            if length < 8:
                break
            cell += length
        pos += size
    return starts


def service_key_cells(data: bytes, nk_offset: int) -> list[tuple[int, int]]:
    """File ranges (size field included) of the cells one service record is read from: the
    key, its security, value list, values and their data, and the same for its subkeys and
    theirs (TriggerInfo's). Where to damage a hive to fuzz one service key; a cell the walk
    does not read (a subkey's subkey) that is damaged already is skipped."""
    from hivescan.hive.cells import NO_OFFSET, CellError, Cells
    from hivescan.hive.header import BASE_BLOCK_SIZE

    cells = Cells(data)
    out: list[tuple[int, int]] = []

    def add(offset: int) -> None:
        start, end, _ = cells.cell(offset)
        out.append((start - 4, end))

    def key(offset: int, depth: int) -> None:
        nk = cells.nk(offset)
        add(offset)
        if nk.security != NO_OFFSET:
            add(nk.security)
        if nk.value_count:
            add(nk.value_list)
            for off in cells.value_offsets(nk):
                add(off)
                size, data_off = struct.unpack_from("<II", data, BASE_BLOCK_SIZE + off + 8)
                if size and not size & 0x80000000:
                    add(data_off)
        if nk.subkey_count and depth < 2:
            add(nk.subkey_list)
            for sub in cells.subkey_offsets(nk.subkey_list):
                try:
                    key(sub, depth + 1)
                except CellError:
                    continue

    key(nk_offset, 0)
    return out


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One mutation, random or structural; one that would not fit the buffer is skipped (the input is kept)."""
    buf = bytearray(data)
    try:
        kind = _mutate_into(buf, data, rng) if rng.random() < 0.5 else _structural_into(buf, data, rng)
    except (struct.error, IndexError, ValueError):
        return data, "skipped"
    return bytes(buf), kind


def structural_mutate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One structure-aware mutation (see :func:`_structural_into`)."""
    buf = bytearray(data)
    try:
        kind = _structural_into(buf, data, rng)
    except (struct.error, IndexError, ValueError):
        return data, "skipped"
    return bytes(buf), kind


STRUCTURAL = (
    "ri_self",
    "ri_mutual",
    "ri_chain",
    "leaf_twice",
    "list_count",
    "nk_list_self",
    "value_list_self",
    "vk_size",
    "vk_data_self",
    "db_segments",
    "sk_corrupt",
)


def _payload_room(buf: bytearray, cell: int) -> int:
    return abs(struct.unpack_from("<i", buf, cell)[0]) - 4


def _structural_into(buf: bytearray, data: bytes, rng: random.Random) -> str:
    """What an attacker shaping a hive would change: each kind keeps the rest of the hive intact.

    Offsets written are relative to the hive bins (as the format stores them); ``cells`` are
    absolute file offsets of cell headers.
    """
    cells = _cell_starts(data)

    def of(*sigs: bytes) -> list[int]:
        return [c for c in cells if bytes(buf[c + 4 : c + 6]) in sigs]

    def as_ri(cell: int, entries: Sequence[int]) -> None:
        if _payload_room(buf, cell) < 4 + 4 * len(entries):
            raise ValueError("list cell too small")
        buf[cell + 4 : cell + 6] = b"ri"
        struct.pack_into("<H", buf, cell + 6, len(entries))
        for i, entry in enumerate(entries):
            struct.pack_into("<I", buf, cell + 8 + 4 * i, entry - 4096)

    kind = rng.choice(STRUCTURAL)
    lists = of(b"lf", b"lh", b"li", b"ri")
    nks, vks, dbs, sks = of(b"nk"), of(b"vk"), of(b"db"), of(b"sk")
    if kind == "ri_self" and lists:
        target = rng.choice(lists)
        as_ri(target, [target])
    elif kind == "ri_mutual" and len(lists) >= 2:
        one, two = rng.sample(lists, 2)
        as_ri(one, [two])
        as_ri(two, [one])
    elif kind == "ri_chain" and len(lists) >= 3:
        one, two, leaf = rng.sample(lists, 3)
        as_ri(one, [two])
        as_ri(two, [leaf])
    elif kind == "leaf_twice" and len(lists) >= 2:
        one, leaf = rng.sample(lists, 2)
        as_ri(one, [leaf] * min(rng.randint(2, 64), _payload_room(buf, one) // 4 - 1))
    elif kind == "list_count" and lists:
        struct.pack_into("<H", buf, rng.choice(lists) + 6, rng.choice([0xFFFF, 0x8000, 0x1000]))
    elif kind == "nk_list_self" and nks:
        nk = rng.choice(nks)
        struct.pack_into("<I", buf, nk + 4 + 0x1C, rng.choice([nk, *lists[:1]]) - 4096)
        struct.pack_into("<I", buf, nk + 4 + 0x14, rng.choice([1, 0xFFFF, 0x7FFFFFFF]))
    elif kind == "value_list_self" and nks:
        nk = rng.choice(nks)
        struct.pack_into("<I", buf, nk + 4 + 0x28, nk - 4096)
        struct.pack_into("<I", buf, nk + 4 + 0x24, rng.choice([1, 0xFFFF, 0x7FFFFFFF]))
    elif kind == "vk_size" and vks:
        sizes = [0x7FFFFFF0, 0x80000010, 0xFFFFFFFF, 0x4000, 16345]
        struct.pack_into("<I", buf, rng.choice(vks) + 4 + 4, rng.choice(sizes))
    elif kind == "vk_data_self" and vks:
        vk = rng.choice(vks)
        struct.pack_into("<I", buf, vk + 4 + 8, vk - 4096)
        struct.pack_into("<I", buf, vk + 4 + 4, rng.choice([0x100000, 20000, 64]))
    elif kind == "db_segments" and dbs:
        db = rng.choice(dbs)
        struct.pack_into("<H", buf, db + 6, rng.choice([0xFFFF, 2, 1000]))
        if rng.random() < 0.5:
            struct.pack_into("<I", buf, db + 8, db - 4096)  # the segment list is the db itself
    elif kind == "sk_corrupt" and sks:
        sk = rng.choice(sks)
        field = rng.choice([4, 8, 12, 16])  # flink, blink, reference count, descriptor length
        struct.pack_into("<I", buf, sk + 4 + field, rng.choice([sk - 4096, 0xFFFFFFFF, 0x7FFFFFF8]))
    else:
        return "skipped"
    return kind


def _mutate_into(buf: bytearray, data: bytes, rng: random.Random) -> str:
    cells = _cell_starts(data)
    kind = rng.choice(
        ["flip", "dword", "cell_size", "nk_count", "list_entry", "truncate", "copy_page", "header", "zero_run"]
    )
    if kind == "flip":
        for _ in range(rng.randint(1, 24)):
            pos = rng.randrange(len(buf))
            buf[pos] ^= 1 << rng.randrange(8)
    elif kind == "dword" and cells:
        cell = rng.choice(cells)
        pos = cell + 4 + 4 * rng.randrange(20)
        if pos + 4 <= len(buf):
            struct.pack_into("<I", buf, pos, rng.choice([*INTERESTING, rng.choice(cells) - 4096]))
    elif kind == "cell_size" and cells:
        struct.pack_into("<i", buf, rng.choice(cells), rng.choice([0, 4, -4, 0x7FFFFFF8, -0x7FFFFFF8, 8, -8]))
    elif kind == "nk_count":
        nks = [c for c in cells if buf[c + 4 : c + 6] == b"nk"]
        if nks:
            nk = rng.choice(nks) + 4
            field = rng.choice([0x14, 0x18, 0x24, 0x48, 0x4A])  # subkeys, volatile, values, name len, class len
            fmt = "<H" if field >= 0x48 else "<I"
            struct.pack_into(
                fmt, buf, nk + field, rng.choice([0xFFFF, 0x7FFF, 1000]) if fmt == "<H" else rng.choice(INTERESTING)
            )
    elif kind == "list_entry":
        lists = [c for c in cells if buf[c + 4 : c + 6] in (b"lh", b"lf", b"li", b"ri")]
        nks = [c - 4096 for c in cells if buf[c + 4 : c + 6] == b"nk"]
        if lists and nks:
            lst = rng.choice(lists)
            count = struct.unpack_from("<H", buf, lst + 6)[0]
            if count:
                width = 4 if buf[lst + 4 : lst + 6] in (b"li", b"ri") else 8
                struct.pack_into("<I", buf, lst + 8 + width * rng.randrange(count), rng.choice(nks))  # often a cycle
    elif kind == "truncate":
        del buf[rng.randrange(4096, len(buf)) :]
    elif kind == "copy_page":
        pages = len(buf) // 4096
        if pages > 2:
            src, dst = rng.randrange(1, pages) * 4096, rng.randrange(1, pages) * 4096
            buf[dst : dst + 4096] = data[src : src + 4096]
    elif kind == "header":
        pos = rng.choice([4, 8, 20, 24, 36, 40, 44, 508])
        struct.pack_into("<I", buf, pos, rng.choice(INTERESTING))
    elif kind == "zero_run" and cells:
        start = rng.choice(cells)
        buf[start : start + rng.randint(8, 256)] = bytes(min(len(buf) - start, rng.randint(8, 256)))
    return kind


class CaseTimeout(Exception):
    pass


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise CaseTimeout


def run_case(data: bytes) -> int:
    """The reading path under test; returns how many records came out."""
    import hivescan
    from hivescan.errors import HivescanError
    from hivescan.hive.source import HiveSource

    try:
        with hivescan.open_hive(HiveSource.from_bytes(data, "fuzz")) as hive:
            hive.info()
            records = hive.services("all", deleted=True)
            for rec in records:
                json.dumps(rec.to_dict(), ensure_ascii=True)
            return len(records)
    except HivescanError:
        return -1


def fuzz(seeds: list[bytes], cases: int, seed: int, per_case_s: float, report: Callable[[str], None]) -> int:
    rng = random.Random(seed)
    failures = 0
    signal.signal(signal.SIGALRM, _alarm)
    started = time.perf_counter()
    for case in range(cases):
        base = rng.choice(seeds)
        data, kind = mutate(base, rng)
        for _ in range(rng.randint(0, 2)):  # stack a few mutations now and then
            data, more = mutate(data, rng)
            kind += "+" + more
        # the collector runs between cases: the rebuild promotes what it made to the oldest
        # generation (hivescan.gcpause), and a cycle left by an earlier case would otherwise
        # keep its hive's bytes alive while later cases run (the memory cap is per case)
        gc.collect()
        signal.setitimer(signal.ITIMER_REAL, per_case_s)
        try:
            run_case(data)
        except CaseTimeout:
            failures += 1
            report(f"case {case} ({kind}): slower than {per_case_s}s (seed {seed})")
        except Exception:  # anything but HivescanError is a bug
            failures += 1
            tb = traceback.format_exc(limit=-3)
            report(f"case {case} ({kind}) seed {seed}:\n{tb}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    report(f"{cases} cases in {time.perf_counter() - started:.1f}s, {failures} failure(s)")
    return failures


def default_seeds() -> list[bytes]:
    """The demo hive plus a small hive with big data, ri lists and odd values."""
    from hivescan.testing import FIXTURES
    from hivescan.testing.regf import HiveWriter, WKey

    seeds = []
    demo = FIXTURES / "demo-SYSTEM"
    if demo.is_file():
        seeds.append(demo.read_bytes())
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1)
    for i in range(12):
        svc = root.key(f"ControlSet001\\Services\\S{i}")
        svc.set_dword("Type", 16).set_dword("Start", 2).set_dword("ErrorControl", 1)
        svc.set_expand_sz("ImagePath", f"C:\\p\\{i}.exe " + "x" * (i * 40))
        svc.key("Parameters").set_expand_sz("ServiceDll", "%SystemRoot%\\d.dll")
    root.key("ControlSet001\\Services\\S0").set_binary("Blob", bytes(range(256)) * 80)  # big data
    seeds.append(HiveWriter(root, subkey_list="ri", ri_leaf_size=3).build().data)
    return seeds


# ---------------------------------------------------------------- the real command, one process per run

CLI_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("services", "--deleted", "-c", "all", "-f", "jsonl"),
    ("info",),
    ("scan", "-f", "jsonl"),
)
DOCUMENTED_EXIT_CODES = frozenset({0, 3, 4, 5, 6, 7})  # README "Exit codes" (no --fail-on, no images)
CLI_MEMORY_LIMIT = 1 << 30  # bytes of address space per run: the "under 1 GB"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CLI_MEMORY_LIMIT, CLI_MEMORY_LIMIT))


def cli_run(hive: Path, command: Sequence[str], timeout_s: float) -> subprocess.CompletedProcess[str] | str:
    """Run ``hivescan COMMAND HIVE`` in a child process with a memory cap: the finished run
    when it kept the rules (documented exit code, one-line stderr), else why it did not."""
    argv = [sys.executable, "-m", "hivescan", command[0], str(hive), *command[1:]]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, errors="replace", timeout=timeout_s, preexec_fn=_limit_memory
        )
    except subprocess.TimeoutExpired:
        return f"slower than {timeout_s}s"
    if done.returncode < 0:
        return f"killed by signal {-done.returncode}: {done.stderr[-500:]!r}"
    if done.returncode not in DOCUMENTED_EXIT_CODES:
        return f"exit {done.returncode}: {done.stderr[-500:]!r}"
    if "Traceback" in done.stderr or "panicked" in done.stderr:
        return f"a traceback on stderr: {done.stderr[-500:]!r}"
    stray = [line for line in done.stderr.splitlines() if line and not line.startswith("hivescan:")]
    if stray:
        return f"stderr lines that are not hivescan's one-line messages: {stray[:3]!r}"
    return done


def check_cli_run(hive: Path, command: Sequence[str], timeout_s: float) -> str | None:
    """Why ``hivescan COMMAND HIVE`` broke the rules (see :func:`cli_run`), or None."""
    done = cli_run(hive, command, timeout_s)
    return done if isinstance(done, str) else None


def cli_fuzz(
    seeds: list[bytes], cases: int, seed: int, timeout_s: float, report: Callable[[str], None], structural: bool = True
) -> int:
    """``cases`` mutants, each through every command of :data:`CLI_COMMANDS` in its own process."""
    rng = random.Random(seed)
    failures = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hivescan-fuzz-") as folder:
        hive = Path(folder) / "SYSTEM"
        for case in range(cases):
            data, kind = (structural_mutate if structural else mutate)(rng.choice(seeds), rng)
            if rng.random() < 0.3:
                data, more = mutate(data, rng)
                kind += "+" + more
            hive.write_bytes(data)
            for command in CLI_COMMANDS:
                why = check_cli_run(hive, command, timeout_s)
                if why is not None:
                    failures += 1
                    keep = Path(tempfile.gettempdir()) / f"hivescan-fuzz-{seed}-{case}.hive"
                    keep.write_bytes(data)
                    report(f"case {case} ({kind}) seed {seed}: hivescan {' '.join(command)}: {why} (hive: {keep})")
    runs = cases * len(CLI_COMMANDS)
    report(f"{cases} cli cases ({runs} runs) in {time.perf_counter() - started:.1f}s, {failures} failure(s)")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20241124)
    parser.add_argument("--per-case", type=float, default=5.0, help="seconds before a case counts as a hang")
    parser.add_argument("--cli", type=int, default=0, help="also run this many mutants through the real command")
    parser.add_argument("--invariant", type=int, default=0, help="structural mutants checked for unexplained loss")
    parser.add_argument("seeds", nargs="*", type=Path, help="hive files to mutate (default: built hives)")
    args = parser.parse_args(argv)
    seeds = [p.read_bytes() for p in args.seeds] or default_seeds()
    print_line: Callable[[str], None] = lambda line: print(line, flush=True)  # noqa: E731
    failures = fuzz(seeds, args.cases, args.seed, args.per_case, print_line) if args.cases else 0
    if args.invariant:
        from hivescan.testing.fuzz_check import hive_invariant_fuzz

        failures += hive_invariant_fuzz(seeds, args.invariant, args.seed, print_line)
    if args.cli:
        os.environ.setdefault("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
        failures += cli_fuzz(seeds, args.cli, args.seed, max(args.per_case, 30.0), print_line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
