"""Benchmark reading the binaries every service points at: hashing alone, then full facts.

    python bench/files.py [HIVE] [--catalogs N] [--wine DIR]

Builds a volume folder (in a temporary directory) holding the hive and one file per distinct
ImagePath/ServiceDll of its control sets (real PE files from Debian's libwine, each made
unique by a few appended bytes), a CatRoot with N catalogs (default 2,000: a few signed by a
test CA listing real members, the rest filler lists of random hashes, as large as Windows'
own), then times, each the median of --repeat runs:

* hashing alone -- reading every planted file once with md5/sha1/sha256 (the floor);
* full facts -- ``open_hive(folder)`` + ``services("all")``: hashes, Authenticode hash, PE
  headers, version info, embedded signatures, catalog index and catalog checks;
* full facts, second host -- the same with the sha256 cache of the first run (a triage run in
  which hosts share binaries: only the catalog index and per-path facts are redone).

Appends a row to ``bench/results/files.csv``. Needs openssl and osslsigncode (test CA), and
libwine's x86_64-windows folder (``apt-get download libwine && dpkg-deb -x``; --wine DIR).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_HIVE = ROOT.parent / "shared" / "hives" / "win10-dirty-SYSTEM"
DEFAULT_WINE = (
    Path(tempfile.gettempdir()) / "hivescan-test-debs" / "libwine" / "usr/lib/x86_64-linux-gnu/wine/x86_64-windows"
)
CATROOT = ("Windows", "System32", "CatRoot", "{F750E6C3-38EE-11D1-85E5-00C04FC295EE}")


def median_time(task: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = task()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def build_volume(hive: Path, wine: Path, folder: Path, catalogs: int) -> list[Path]:
    """The volume folder; returns the planted binaries."""
    import hivescan
    from hivescan.files.facts import FileAnalyser, volume_path
    from hivescan.files.source import FolderSource
    from hivescan.testing.pe import TestCA, build_catalog

    config = folder.joinpath("Windows", "System32", "config")
    config.mkdir(parents=True)
    shutil.copy(hive, config / "SYSTEM")
    for log in hive.parent.glob(hive.name + ".LOG*"):
        shutil.copy(log, config / ("SYSTEM" + log.name[len(hive.name) :]))
    with hivescan.open_hive(config / "SYSTEM", files=None) as opened:
        records = opened.services("all")
    wanted = sorted({p for r in records for p in (r.image_path_resolved, r.service_dll_expanded) if p})
    pool = sorted(p for p in wine.iterdir() if p.suffix in (".exe", ".dll", ".sys"))
    planted = []
    for index, path in enumerate(wanted):
        relative, _ = volume_path(path)
        if relative is None:
            continue
        target = folder.joinpath(*relative.split("\\"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(pool[index % len(pool)].read_bytes() + index.to_bytes(8, "little"))
        planted.append(target)
    # catalogs: the first planted files' authentihashes in a few signed catalogs, then fillers
    probe = FileAnalyser(FolderSource(folder))
    members = [
        bytes.fromhex(f["authentihash"])
        for p in planted[:200]
        if (f := probe.facts("C:\\" + str(p.relative_to(folder)).replace("/", "\\"))) and f["authentihash"]
    ]
    cat_dir = folder.joinpath(*CATROOT)
    cat_dir.mkdir(parents=True)
    work = Path(tempfile.mkdtemp(prefix="cats-"))
    ca = TestCA(work / "ca")
    for index in range(0, len(members), 50):
        unsigned = work / f"u{index}.cat"
        unsigned.write_bytes(build_catalog(members[index : index + 50]))
        ca.sign(unsigned, cat_dir / f"Package_{index:04d}.cat")
    rng = random.Random(14)
    for index in range(catalogs):
        count = rng.choice((5, 20, 60, 200))
        (cat_dir / f"Filler_{index:05d}.cat").write_bytes(build_catalog([rng.randbytes(32) for _ in range(count)]))
    shutil.rmtree(work, ignore_errors=True)
    return planted


def hash_alone(files: list[Path]) -> int:
    total = 0
    for path in files:
        digests = [hashlib.md5(), hashlib.sha1(), hashlib.sha256()]
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                total += len(chunk)
                for d in digests:
                    d.update(chunk)
    return total


def full_facts(folder: Path, cache: dict | None = None) -> tuple[int, dict]:
    import hivescan

    with hivescan.open_hive(folder) as opened:
        if cache is not None and opened.files is not None:
            opened.files.cache = cache
        records = opened.services("all")
        used = opened.files.cache if opened.files is not None else {}
    return sum(1 for r in records if r.image_file or r.service_dll_file), used


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hive", nargs="?", type=Path, default=DEFAULT_HIVE)
    parser.add_argument("--catalogs", type=int, default=2000)
    parser.add_argument("--wine", type=Path, default=DEFAULT_WINE)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--volume", type=Path, help="build the volume folder here and keep it (reused when present)")
    args = parser.parse_args()
    if not args.hive.is_file():
        print(f"no hive at {args.hive}", file=sys.stderr)
        return 2
    if not args.wine.is_dir():
        print(f"no libwine folder at {args.wine} (run tests/files once, or give --wine)", file=sys.stderr)
        return 2
    folder = args.volume or Path(tempfile.mkdtemp(prefix="bench-files-"))
    try:
        start = time.perf_counter()
        listing = folder / "planted.txt"
        if args.volume is not None and listing.is_file():
            planted = [folder / line for line in listing.read_text().splitlines()]
        else:
            planted = build_volume(args.hive, args.wine, folder, args.catalogs)
            listing.write_text("\n".join(str(p.relative_to(folder)) for p in planted))
        setup = time.perf_counter() - start
        size = sum(p.stat().st_size for p in planted)
        t_hash, _ = median_time(lambda: hash_alone(planted), args.repeat)
        t_full, result = median_time(lambda: full_facts(folder), args.repeat)
        records, cache = result  # type: ignore[misc]
        t_cached, _ = median_time(lambda: full_facts(folder, dict(cache)), args.repeat)
    finally:
        if args.volume is None:
            shutil.rmtree(folder, ignore_errors=True)
    rows = {
        "files": len(planted),
        "bytes": size,
        "catalogs": args.catalogs,
        "records with files": records,
        "setup (s)": round(setup, 1),
        "hashing alone (s)": round(t_hash, 2),
        "full facts (s)": round(t_full, 2),
        "full facts, second host with the sha256 cache (s)": round(t_cached, 2),
    }
    for key, value in rows.items():
        print(f"{key:>52}: {value}")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    out = ROOT / "bench" / "results" / "files.csv"
    new = not out.exists()
    with out.open("a", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(["date", "commit", "machine", "hive", *rows])
        machine = f"{platform.machine()}/{os.cpu_count()}cores"
        writer.writerow(
            [datetime.now(UTC).isoformat(timespec="seconds"), commit, machine, args.hive.name, *rows.values()]
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
