"""Mutation fuzzing of the whole reading path: ``python -m hivescan.testing.fuzz --cases 5000``.

Each case mutates a built hive (bit flips, interesting dwords in cell headers and key
records, absurd sizes and counts, cyclic subkey lists, truncation, copied pages) and runs
open -> every control set's services -> JSONL -> frame-free summary. Allowed outcomes: records
(with diagnostics) or a :class:`hivescan.errors.HivescanError`. Anything else -- another
exception, a case slower than the per-case limit -- is a failure, printed with the seed that
reproduces it. Run it in a child process with a memory limit (see tests/test_fuzz.py) so a
runaway allocation or a hang in native code is caught too.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import struct
import sys
import time
import traceback
from collections.abc import Callable
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


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One random mutation; one that would not fit the buffer is skipped (the input is kept)."""
    buf = bytearray(data)
    try:
        kind = _mutate_into(buf, data, rng)
    except (struct.error, IndexError, ValueError):
        return data, "skipped"
    return bytes(buf), kind


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
            records = hive.services("all")
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20241124)
    parser.add_argument("--per-case", type=float, default=5.0, help="seconds before a case counts as a hang")
    parser.add_argument("seeds", nargs="*", type=Path, help="hive files to mutate (default: built hives)")
    args = parser.parse_args(argv)
    seeds = [p.read_bytes() for p in args.seeds] or default_seeds()
    failures = fuzz(seeds, args.cases, args.seed, args.per_case, lambda line: print(line, flush=True))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
