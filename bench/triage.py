"""Benchmark batch triage: hives per minute, and peak memory per worker.

    python bench/triage.py [--hosts N] [--variants K] [--repeat R] [--modes in-process,jobs1,jobs2,dask2]

Corpus: N realistic Windows 10 SYSTEM hives of real size (about 13 MB, about 600 services,
built by ``hivescan.testing.win10``): K structurally different hosts (vendor software,
per-user service instances and key contents vary by seed), each copied to N/K hosts with
its ComputerName patched in place, so every file is a distinct host with its own sha256.
Built once and cached in ``$TMPDIR/hivescan-bench-triage/``.

Modes (each a full ``run_triage`` into a fresh output folder, worker start-up included):
``in-process`` (no executor), ``jobsN`` (a process pool of N workers, as ``hivescan triage
--jobs N``), ``daskN`` (a Dask LocalCluster of N worker processes; cluster start-up
reported separately, as a real cluster is started once). Each mode runs R times; the
range is printed, because the machine may be shared; the modes are interleaved run by
run so that a neighbour's load falls on all of them.

CPU time per hive (every process: driver, workers, Dask scheduler and nannies) is
printed too: unlike hives per minute it does not depend on what else the machine runs,
so ``2 * 60,000 / CPU ms`` is what two idle cores would do.

Also: the real hives of ../shared/hives when present (in-process), and where the time of
one hive goes in a worker (read, sha256, rebuild, rows, Arrow + Parquet), so a
bottleneck can be named. Appends one row per mode to ``bench/results/triage.csv``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HIVESCAN_SHARED", ROOT.parent / "shared")) / "hives"
CORPUS_VERSION = "v1"


def build_corpus(hosts: int, variants: int) -> Path:
    from hivescan.testing.win10 import HostSpec, build_system_hive, host_names, rename_host

    folder = Path(tempfile.gettempdir()) / "hivescan-bench-triage" / f"{CORPUS_VERSION}-{hosts}x{variants}"
    if (folder / "COMPLETE").is_file():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    names = host_names(hosts)
    built = [build_system_hive(HostSpec("WS-00000", seed=seed + 1)) for seed in range(variants)]
    for n, name in enumerate(names):
        target = folder / name / "Windows" / "System32" / "config" / "SYSTEM"
        target.parent.mkdir(parents=True)
        target.write_bytes(rename_host(built[n % variants], "WS-00000", name))
    (folder / "COMPLETE").write_text(f"{hosts} hosts, {variants} variants\n")
    print(f"built corpus {folder} in {time.perf_counter() - started:.1f} s")
    return folder


def descendants() -> dict[int, tuple[float, float]]:
    """{pid: (CPU seconds, peak RSS MiB)} of this process's live descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    out, todo = {}, list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        peak = 0
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = int(line.split()[1])
        except OSError:
            continue
        out[pid] = (cpu.get(pid, 0.0), peak / 1024)
    return out


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def engine(mode: str) -> Iterator[tuple[Any, int, float]]:
    """(executor, workers, start-up seconds) for a mode."""
    from hivescan.triage.engines import dask_executor, local_executor

    started = time.perf_counter()
    if mode == "in-process":
        yield None, 1, 0.0
    elif mode.startswith("jobs"):
        workers = int(mode[4:])
        with local_executor(workers) as pool:
            yield pool, workers, 0.0  # workers start on the first batch: inside the timed run
    elif mode.startswith("dask"):
        with dask_executor("local", int(mode[4:])) as (executor, workers):
            yield executor, workers, time.perf_counter() - started
    else:
        raise SystemExit(f"unknown mode {mode}")


def run_mode(mode: str, inputs: list[Any], batch_size: int) -> dict[str, float]:
    from hivescan.triage import run_triage

    out = Path(tempfile.mkdtemp(prefix="hivescan-bench-out-"))
    try:
        with engine(mode) as (executor, workers, startup):
            before, driver_before = descendants(), own_cpu_s()
            started = time.perf_counter()
            report = run_triage(inputs, out, executor=executor, workers=workers, batch_size=batch_size)
            elapsed = time.perf_counter() - started
            after, driver_cpu = descendants(), own_cpu_s() - driver_before
            worker_cpu = sum(c - before.get(pid, (0.0, 0.0))[0] for pid, (c, _) in after.items())
            worker_rss = max((rss for _, rss in after.values()), default=0.0) if executor is not None else 0.0
        bad = [o for o in report.outcomes if o.status != "ok"]
        if bad:
            raise SystemExit(f"{mode}: {len(bad)} hives not ok, e.g. {bad[0]}")
        return {
            "seconds": elapsed,
            "startup": startup,
            "per_minute": len(inputs) / elapsed * 60,
            "worker_rss_mib": worker_rss,
            "cpu_ms_per_hive": (worker_cpu + driver_cpu) / len(inputs) * 1000,
            "records": sum(o.records for o in report.outcomes),
        }
    finally:
        shutil.rmtree(out, ignore_errors=True)


def stages(path: Path, repeat: int) -> dict[str, float]:
    """Median milliseconds of each step of scanning one hive, in this process."""
    import pyarrow.parquet as pq

    import hivescan
    from hivescan.triage.schema import service_rows, services_schema, table_from_rows

    def timed(task: Callable[[], Any]) -> tuple[float, Any]:
        times, result = [], None
        for _ in range(repeat):
            begin = time.perf_counter()
            result = task()
            times.append(time.perf_counter() - begin)
        return statistics.median(times) * 1000, result

    def rebuild() -> Any:
        with hivescan.open_hive(path) as hive:
            return hive.computer_name()[0], hive.services(), hive.sha256

    out: dict[str, float] = {}
    out["read file"], data = timed(path.read_bytes)
    out["sha256"], _ = timed(lambda: hashlib.sha256(data).hexdigest())
    out["open + computer name + services (sha256 overlapped)"], (host, records, _) = timed(rebuild)
    out["services rows (record_row)"], rows = timed(lambda: service_rows(records, host))
    out["Arrow table"], table = timed(lambda: table_from_rows(rows, services_schema()))
    out["Parquet (zstd) bytes"], _ = timed(lambda: pq.write_table(table, io.BytesIO(), compression="zstd"))
    return out


def git_commit() -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def main() -> int:
    from hivescan.triage import discover

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=240)
    parser.add_argument("--variants", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--modes", default="in-process,jobs1,jobs2,dask2")
    args = parser.parse_args()

    corpus = build_corpus(args.hosts, args.variants)
    inputs = discover([corpus]).inputs
    sizes = [Path(i.path).stat().st_size for i in inputs]
    load = os.getloadavg()[0]
    print(
        f"corpus: {len(inputs)} SYSTEM hives, {min(sizes) / 1e6:.1f}-{max(sizes) / 1e6:.1f} MB each "
        f"({sum(sizes) / 1e9:.2f} GB); machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load:.2f} before the run"
    )
    for label, ms in stages(Path(inputs[0].path), 7).items():
        print(f"  one hive, in-process: {label:<55} {ms:7.1f} ms")

    modes = args.modes.split(",")
    results: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    for _ in range(args.repeat):  # interleaved, so a neighbour's load hits every mode alike
        for mode in modes:
            results[mode].append(run_mode(mode, inputs, args.batch_size))
    rows = []
    for mode, runs in results.items():
        rates = [r["per_minute"] for r in runs]
        rss = max(r["worker_rss_mib"] for r in runs)
        cpu = statistics.median(r["cpu_ms_per_hive"] for r in runs)
        startup = max(r["startup"] for r in runs)
        print(
            f"  {mode:<11} {min(rates):7.0f}-{max(rates):<7.0f} hives/min  "
            f"({min(r['seconds'] for r in runs):.1f}-{max(r['seconds'] for r in runs):.1f} s for {len(inputs)}; "
            f"{runs[0]['records']} records; {cpu:.0f} ms CPU per hive, all processes)"
            + (f"  peak RSS per worker {rss:.0f} MiB" if rss else "")
            + (f"  cluster start {startup:.1f} s (not counted)" if startup else "")
        )
        rows.append((mode, min(rates), max(rates), rss, startup, cpu))
    print(f"  driver peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")

    if SHARED.is_dir():
        real = [i for i in discover([SHARED]).inputs]
        if real:
            run = min(
                (run_mode("in-process", real, args.batch_size) for _ in range(args.repeat)), key=lambda r: r["seconds"]
            )
            print(
                f"  real hives ({len(real)}, in-process): {run['seconds'] / len(real) * 1000:.0f} ms per hive, "
                f"{run['per_minute']:.0f} hives/min on one core"
            )

    out = ROOT / "bench" / "results" / "triage.csv"
    new = not out.exists()
    with out.open("a", newline="") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(
                ["date", "commit", "machine", "load", "hives", "mode", "hives/min min", "hives/min max",
                 "worker peak RSS MiB", "cluster start s", "CPU ms per hive"]
            )  # fmt: skip
        for mode, low, high, rss, startup, cpu in rows:
            writer.writerow(
                [
                    datetime.now(UTC).isoformat(timespec="seconds"),
                    git_commit(),
                    f"{platform.machine()}/{os.cpu_count()}cores",
                    f"{load:.2f}",
                    len(inputs),
                    mode,
                    f"{low:.0f}",
                    f"{high:.0f}",
                    f"{rss:.0f}",
                    f"{startup:.1f}",
                    f"{cpu:.0f}",
                ]
            )
    print(f"appended to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
