"""Benchmark EVTX reading: hivescan's reader beside the parsers it was chosen from, in one run.

    python bench/events.py [--records N] [--repeat N] [--python-evtx-records N] [--no-damage]

Builds a large System log (at least ``--records``, default 100,000) from the chunks of the
real sample ``../shared/evtx/mitre-tchopper-7045-x244.evtx`` (renumbered, checksums
recomputed: :func:`hivescan.testing.evtx.enlarge`), then times, on the same file:

* hivescan read -- :func:`hivescan.events.logs.read_log`: read and hash the file, check every
  chunk's structure and CRC32, parse every record with ``evtx`` and normalise the service events;
* ``hivescan events BIG -f jsonl`` as a whole process (Python start-up included);
* evtx (Rust, pyevtx-rs) alone -- ``PyEvtxParser.records_json()`` over every record;
* libevtx-python alone -- ``get_record(i).xml_string`` over every record (when installed);
* python-evtx -- ``Evtx.records()`` + ``xml()``; it is ~1,000x slower, so it reads only the
  first ``--python-evtx-records`` records (default 3,000) and its rate is scaled from those
  (the row says so).

Then (unless ``--no-damage``) the behaviour on damaged copies of the sample: how many events
each parser returns and whether anything tells the user (a raised error or a diagnostic).
Prints a table, appends one row to ``bench/results/events.csv`` (commit, machine, figures).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = Path(os.environ.get("HIVESCAN_SHARED", ROOT.parent / "shared")) / "evtx" / "mitre-tchopper-7045-x244.evtx"


def median_time(task: Callable[[], int], repeat: int) -> tuple[float, int]:
    times, result = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = task()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def hivescan_read(path: Path) -> int:
    from hivescan.events.logs import read_log

    return read_log(path).events_read


def evtx_rs(path: Path) -> int:
    import evtx

    return sum(1 for _ in evtx.PyEvtxParser(str(path)).records_json())


def libevtx(path: Path) -> int:
    import pyevtx

    log = pyevtx.file()
    log.open(str(path))
    count = 0
    for index in range(log.number_of_records):
        _ = log.get_record(index).xml_string
        count += 1
    log.close()
    return count


def python_evtx(path: Path, limit: int) -> int:
    import Evtx.Evtx as pyevtx_py

    count = 0
    with pyevtx_py.Evtx(str(path)) as log:
        for record in log.records():
            record.xml()
            count += 1
            if count >= limit:
                break
    return count


def cli_process(path: Path) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "hivescan", "events", str(path), "-f", "jsonl", "-q"],
        check=True,
        capture_output=True,
        env=env,
    )
    return out.stdout.count(b"\n")


# ------------------------------------------------------------------ damage


def _count(task: Callable[[], int]) -> tuple[str, bool]:
    """(events or the error, whether the user was told)."""
    try:
        return str(task()), False
    except Exception as exc:  # each parser raises its own types
        return f"error: {type(exc).__name__}", True


def damage_table(source: bytes, work: Path) -> list[list[str]]:
    from hivescan.events.logs import read_log
    from hivescan.events.reader import NotEvtxError
    from hivescan.testing import evtx as damage

    cases = {
        "clean": source,
        "truncated mid-chunk 4": damage.truncate(source, 4096 + 65536 * 3 + 30000),
        "chunk 3 zeroed": damage.zero_chunk(source, 2),
        "a record's byte flipped": damage.corrupt_record_data(source, 1, 5),
        "checksums wrong": damage.bad_checksums(source, 1),
        "file header zeroed": bytes(4096) + source[4096:],
        "not EVTX (random)": os.urandom(70_000),
    }
    rows = [["damage", "evtx", "python-evtx", "libevtx", "hivescan", "hivescan diagnostics"]]
    for name, data in cases.items():
        path = work / f"damaged-{len(rows)}.evtx"
        path.write_bytes(data)
        row = [name]
        for task in (evtx_rs, lambda p: python_evtx(p, 10**9), libevtx):
            count, _told = _count(lambda task=task, path=path: task(path))  # type: ignore[misc]
            row.append(count)
        try:
            log = read_log(path)
            row += [str(log.events_read), ", ".join(sorted({d.code for d in log.diagnostics})) or "-"]
        except NotEvtxError:
            row += ["refused", "not an EVTX event log (exit 4)"]
        rows.append(row)
    return rows


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--python-evtx-records", type=int, default=3_000)
    parser.add_argument("--no-damage", action="store_true")
    args = parser.parse_args()
    if not SAMPLE.is_file():
        print(f"sample log {SAMPLE} missing (../shared/evtx)", file=sys.stderr)
        return 3
    sys.path.insert(0, str(ROOT))
    from hivescan.testing.evtx import enlarge

    source = SAMPLE.read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        big = work / "System-big.evtx"
        big.write_bytes(enlarge(source, args.records))
        size_mb = big.stat().st_size / 1e6
        tasks: list[tuple[str, Callable[[], int], int]] = [
            ("hivescan read (check + evtx + rows)", lambda: hivescan_read(big), args.repeat),
            ("hivescan events -f jsonl (process)", lambda: cli_process(big), args.repeat),
            ("evtx (Rust) records_json", lambda: evtx_rs(big), args.repeat),
        ]
        try:
            import pyevtx  # noqa: F401

            tasks.append(("libevtx-python xml_string", lambda: libevtx(big), args.repeat))
        except ImportError:
            print("libevtx-python not installed: skipped", file=sys.stderr)
        limit = args.python_evtx_records
        tasks.append((f"python-evtx xml() (first {limit} records, rate scaled)", lambda: python_evtx(big, limit), 1))
        results = []
        total = 0
        print(f"log: {size_mb:.1f} MB, built from {SAMPLE.name}")
        for name, task, repeat in tasks:
            seconds, count = median_time(task, repeat)
            if name.startswith("hivescan read"):
                total = count
            rate = count / seconds if seconds else 0.0
            results.append((name, seconds, count, rate))
            print(f"{name:58s} {seconds:8.3f} s  {count:7d} records  {rate:10.0f} records/s")
        damage = [] if args.no_damage else damage_table(source, work)
    for row in damage:
        print(" | ".join(row))
    out = ROOT / "bench" / "results" / "events.csv"
    new = not out.exists()
    with out.open("a", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(
                ["date", "commit", "machine", "python", "records", "mb", "task", "seconds", "records_per_s"]
            )
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        machine = f"{platform.machine()} {os.cpu_count()} cpu"
        for name, seconds, _records, rate in results:
            writer.writerow(
                [
                    stamp,
                    _commit(),
                    machine,
                    platform.python_version(),
                    total,
                    f"{size_mb:.1f}",
                    name,
                    f"{seconds:.4f}",
                    f"{rate:.0f}",
                ]
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
