"""Benchmark ``hivescan triage`` as a user runs it: the command in a subprocess, cold start.

    python bench/triage.py [--hosts N] [--variants K] [--repeat R] [--modes jobs2,dask2]
                           [--corpus v3|v2] [--seed N] [--held-out [SEED]]
                           [--against CHECKOUT] [--no-stages] [--no-realism]
    python bench/triage.py --hosts 60 --variants 6 --worker-memory 5 [--batch-size 12]

What is timed: the whole ``hivescan triage CORPUS BAD... -o OUT -f json`` process, from exec to
exit: Python start, CLI import, discovery, worker start-up (imports, rules, catalogs), every
hive rebuilt with its logs replayed, the detection rules, Parquet, ``summarise`` and the
summary. Nothing is warmed up; each run writes into a fresh folder. hives/min counts the
hives scanned (``ok``), not the bad inputs.

Corpora (built once, cached in ``$TMPDIR/hivescan-bench-triage/``), N Windows 10 SYSTEM hives
of about 700 services and 12-14 MB in KAPE-like folders (``HOST/Windows/System32/config/SYSTEM``),
**one host in four dirty**: its primary file lacks a service installed later, and new-format
``.LOG1``/``.LOG2`` next to it hold the change (the pages that differ: v2's several MB, since
its later state is a hive laid out again; v3's about 40 KB, since its later state is the
primary with the service appended as Windows does, ``hivescan.testing.regf_edit``). Bad
inputs, given on the command line beside the folder: a truncated hive, a hive that is not
SYSTEM, a file that is not a hive, an empty file.

* ``--corpus v3`` (the default; ``hivescan.testing.fleet``): a fleet as real ones are. Every
  host is built on its own: Windows' stock services with Windows' ImagePath and ServiceDll
  (the catalog of expectations' own, so a clean host raises no finding a real one would not),
  the subkey lists Windows writes (``lh``; ``ri`` only above 1,023 subkeys), K *update
  levels* (Windows builds: which stock services, their Start, Defender's version) and, per
  host, 13-15% of the services differing from another host of its level (Start changed,
  extra values, its hardware's drivers and versions, installed software, per-user instances
  with its own logon ids); about one host in ten has a suspicious service planted in its
  primary file; 1-2 control sets. ``--seed N`` builds another corpus from seed N (other
  update levels, an uneven mix of them, other shares of software and control sets, dirty
  hosts anywhere); ``--held-out [SEED]`` measures that corpus (default seed 1729, which no
  code was tuned on) beside the first and prints both side by side.
* ``--corpus v2``: the first corpus, kept for comparison: K variants of identical content,
  each host a byte copy with its ComputerName patched, ``ri`` lists on every key, stock
  ServiceDll names unlike Windows' (about 36 findings per host no real host raises).

Realism (``--no-realism`` skips it): the first clean host's shape beside the real Windows 10
hive's (``hivescan.testing.shape``: keys and values per service, subkey lists by kind and
size, value sizes), and how many of its services other clean hosts lack or hold otherwise.

CPU: the command's own CPU plus every descendant's (workers, forkserver, Dask scheduler and
nannies), sampled from /proc every 0.2 s; unlike hives/min it hardly depends on the neighbours' load, and
``2 * 60,000 / (CPU ms per hive)`` is what two idle cores would do.

Phases: where one hive's CPU goes, measured in this process on one clean and one dirty
hive of the corpus (open + rebuild, log replay, rules, rows + Arrow, Parquet), and the
fixed costs of a run (CLI import, ``summarise`` of the output folder).

``--against CHECKOUT`` runs the same command from another checkout of hivescan (e.g. the
main branch: ``PYTHONPATH=CHECKOUT``) interleaved run by run, so a neighbour's load falls
on both alike, and prints the ratio. Appends one row per corpus, mode and checkout to
``bench/results/triage.csv`` (its ``corpus`` column; rows without one are of corpus v2).
Medians over the runs are what to quote, with the load. Both checkouts' bytecode is written
first (``compileall``), as an install leaves it.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# corpus v3's cache folder: "v3.1" since its dirty hosts' later state is appended as Windows
# does (logs of ~40 KB); "v3" caches hold the same clean hosts and logs of a hive laid out again
V3_CACHE = "v3.1"
CORPUS_VERSION = "v2"  # the first corpus's cache folder name (kept: its figures stay comparable)
BASE_NAME = "WS-00000"
LATE_SERVICE = "UpdSvcHelper"  # the service the logs of a dirty host add
HELD_OUT_SEED = 1729  # --held-out's default: a corpus no code was tuned on


def bad_input_paths(top: Path) -> list[Path]:
    bad = top / "bad"
    return [bad / "truncated" / "SYSTEM", bad / "ntuser" / "NTUSER.DAT", bad / "notahive" / "SYSTEM", bad / "empty"]


def write_bad_inputs(bad_inputs: list[Path], a_hive: bytes) -> None:
    """A truncated hive, a hive that is not SYSTEM, a file that is not a hive, an empty file."""
    from hivescan.testing.regf import HiveWriter, WKey

    for path in bad_inputs:
        path.parent.mkdir(parents=True, exist_ok=True)
    bad_inputs[0].write_bytes(a_hive[: 256 * 1024])  # a hive cut short (a partial copy)
    user = WKey("ROOT")
    user.key("Software\\Microsoft\\Windows\\CurrentVersion\\Run").set_sz("x", r"C:\x.exe")
    HiveWriter(user).build().write(bad_inputs[1])  # a hive, but not SYSTEM
    bad_inputs[2].write_bytes(b"MZ" + bytes(4094))  # not a hive
    bad_inputs[3].write_bytes(b"")


def host_target(folder: Path, name: str) -> Path:
    target = folder / name / "Windows" / "System32" / "config" / "SYSTEM"
    target.parent.mkdir(parents=True)
    return target


def cache_folder(name: str) -> tuple[Path, Path, list[Path], bool]:
    """(top, hosts folder, bad inputs, complete) of a cached corpus; an incomplete one is
    emptied and its hosts folder made again, for the caller to build."""
    top = Path(tempfile.gettempdir()) / "hivescan-bench-triage" / name
    folder, bad_inputs = top / "hosts", bad_input_paths(top)
    if (top / "COMPLETE").is_file():
        return top, folder, bad_inputs, True
    shutil.rmtree(top, ignore_errors=True)
    folder.mkdir(parents=True)
    return top, folder, bad_inputs, False


def build_corpus(hosts: int, variants: int, corpus: str = "v2", seed: int = 0) -> tuple[Path, list[Path]]:
    """(folder of hosts, bad inputs), built once and cached: corpus v2 or v3 (see the docstring)."""
    if corpus == "v3":
        return build_corpus_v3(hosts, variants, seed)
    if corpus != "v2" or seed:
        raise SystemExit("corpus v2 has no seeds (use --corpus v3 for a held-out corpus)")
    from hivescan.testing.logs import make_dirty
    from hivescan.testing.win10 import HostSpec, PlantedService, build_system_hive, host_names, rename_host

    top, folder, bad_inputs, complete = cache_folder(f"{CORPUS_VERSION}-{hosts}x{variants}")
    if complete:
        return folder, bad_inputs
    started = time.perf_counter()
    late = PlantedService(LATE_SERVICE, r"C:\Users\Public\Libraries\updsvc.exe")
    specs = [
        HostSpec(BASE_NAME, seed=seed + 1, services=700, control_sets=(1, 2) if seed % 2 else (1,))
        for seed in range(variants)
    ]
    clean = [build_system_hive(s) for s in specs]
    later: dict[int, Any] = {}
    for n, name in enumerate(host_names(hosts)):
        k = n % variants
        sets = specs[k].control_sets
        target = host_target(folder, name)
        if n % 4 == 3:  # one host in four: dirty, with new-format logs next to it
            if k not in later:
                later[k] = build_system_hive(replace(specs[k], planted=(late,)))
            states = [rename_host(clean[k], BASE_NAME, name, sets), rename_host(later[k], BASE_NAME, name, sets)]
            make_dirty(states, fmt="new", sequence=2000 + n, guid_seed=name).write(target)
        else:
            target.write_bytes(rename_host(clean[k], BASE_NAME, name, sets))
    write_bad_inputs(bad_inputs, clean[0].data)
    (top / "COMPLETE").write_text(f"{hosts} hosts, {variants} variants\n")
    print(f"built corpus {top} in {time.perf_counter() - started:.1f} s")
    return folder, bad_inputs


def plan_v3(hosts: int, variants: int, seed: int) -> list[tuple[Any, bool]]:
    """(HostSpec, dirty) of every host of corpus v3 ``seed``: see the module's docstring."""
    import random

    from hivescan.testing.win10 import HostSpec, host_names

    rng = random.Random(f"hivescan corpus v3 seed {seed}")
    levels = [seed * 100 + k for k in range(variants)]  # another seed: other Windows builds too
    if seed == 0:  # the main corpus: levels in turn, every fourth host dirty, half with two sets
        weights, vendor_share, two_sets = [1.0] * variants, 0.3, 0.5
        dirty = {n for n in range(hosts) if n % 4 == 3}
    else:  # held out: an uneven mix of levels, more or less software, dirty hosts anywhere
        weights = [rng.uniform(0.2, 1.0) for _ in levels]
        vendor_share, two_sets = rng.uniform(0.15, 0.5), rng.uniform(0.2, 0.7)
        dirty = set(rng.sample(range(hosts), hosts // 4))
    plan = []
    for n, name in enumerate(host_names(hosts)):
        planted = ()
        if rng.random() < 0.1:  # about one host in ten: one suspicious service in its primary file
            planted = (rng.choice(SUSPICIOUS),)
        level = levels[n % variants] if seed == 0 else rng.choices(levels, weights)[0]
        spec = HostSpec(
            name, seed=seed * 100_000 + n + 1, shape="v3", update_level=level, vendor_share=vendor_share,
            logons=rng.choice((1, 1, 1, 2)), control_sets=(1, 2) if rng.random() < two_sets else (1,), planted=planted,
        )  # fmt: skip
        plan.append((spec, n in dirty))
    return plan


def _suspicious() -> tuple[Any, ...]:
    from hivescan.testing.win10 import PlantedService

    return (
        PlantedService("UpdaterSvc", r"C:\Users\Public\upd.exe"),
        PlantedService("NetHelperX", r"%SystemRoot%\system32\svchost.exe -k netsvcs -p", type=0x20,
                       service_dll=r"C:\ProgramData\nh\nethelper.dll"),
        PlantedService("AnyDesk", r'"C:\Program Files (x86)\AnyDesk\AnyDesk.exe" --service'),
        PlantedService("RTCore64", r"\??\C:\Windows\Temp\RTCore64.sys", type=0x1, start=2),
        PlantedService("BITS", r"%SystemRoot%\System32\svchost.exe -k netsvcs -p", type=0x20,
                       service_dll=r"C:\Windows\Temp\qmgr.dll"),
    )  # fmt: skip


SUSPICIOUS = _suspicious()  # planted in about one v3 host in ten (plus the late service of dirty hosts)


def build_corpus_v3(hosts: int, variants: int, seed: int) -> tuple[Path, list[Path]]:
    """Corpus v3: every host built on its own (hivescan.testing.fleet), cached by seed."""
    from hivescan.testing.fleet import append_planted
    from hivescan.testing.logs import make_dirty
    from hivescan.testing.win10 import PlantedService, build_system_hive

    top, folder, bad_inputs, complete = cache_folder(f"{V3_CACHE}-s{seed}-{hosts}x{variants}")
    if complete:
        return folder, bad_inputs
    started = time.perf_counter()
    late = PlantedService(LATE_SERVICE, r"C:\Users\Public\Libraries\updsvc.exe")
    first = b""
    for n, (spec, dirty) in enumerate(plan_v3(hosts, variants, seed)):
        built = build_system_hive(spec).data
        first = first or built
        target = host_target(folder, spec.host)
        if dirty:  # new-format logs next to it hold a service installed after the last flush,
            # appended as Windows does (new cells at the end, the Services lists reallocated)
            later = append_planted(built, spec, late)
            make_dirty([built, later], fmt="new", sequence=2000 + n, guid_seed=spec.host).write(target)
        else:
            target.write_bytes(built)
    write_bad_inputs(bad_inputs, first)
    (top / "COMPLETE").write_text(f"{hosts} hosts, {variants} update levels, seed {seed}\n")
    print(f"built corpus {top} in {time.perf_counter() - started:.1f} s")
    return folder, bad_inputs


def tree_usage(root: int, seen: dict[int, tuple[float, float]]) -> None:
    """Record (own CPU seconds, peak RSS MiB) of ``root`` and its live descendants into ``seen``.

    Read from /proc (Linux): worker processes started by a forkserver or a Dask nanny are
    not waited for by the command, so ``wait4``'s rusage would miss their CPU.
    """
    children: dict[int, list[int]] = {}
    own: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            own[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    todo = [root]
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
        if pid in own:
            before = seen.get(pid, (0.0, 0.0))
            seen[pid] = (max(before[0], own[pid]), max(before[1], peak / 1024))


def run_cli(checkout: Path, mode: str, corpus: Path, bad: list[Path]) -> dict[str, Any]:
    """One cold ``hivescan triage`` process: wall seconds, CPU seconds of every process, summary."""
    import threading

    out = Path(tempfile.mkdtemp(prefix="hivescan-bench-out-")) / "out"
    engine = ["--jobs", mode[4:]] if mode.startswith("jobs") else ["--dask", "local", "--jobs", mode[4:]]
    command = [sys.executable, "-m", "hivescan", "triage", str(corpus), *map(str, bad), "-o", str(out), "-f", "json"]
    env = dict(os.environ, PYTHONPATH=str(checkout))  # and cwd=checkout: python -m puts the cwd first on the path
    seen: dict[int, tuple[float, float]] = {}
    try:
        started = time.perf_counter()
        process = subprocess.Popen(
            [*command, *engine], env=env, cwd=checkout, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.2):
                tree_usage(process.pid, seen)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        stdout, stderr = process.communicate()
        elapsed = time.perf_counter() - started
        stop.set()
        sampler.join()
        if process.returncode != 0:
            raise SystemExit(f"{checkout} {mode}: exit {process.returncode}: {stderr.decode(errors='replace')[-400:]}")
        summary = json.loads(stdout)
        workers = [rss for pid, (_, rss) in seen.items() if pid != process.pid]
        return {
            "seconds": elapsed,
            "cpu": sum(cpu for cpu, _ in seen.values()),  # up to 0.2 s of each process's last moments missed
            "ok": summary["status"].get("ok", 0),
            "status": summary["status"],
            "findings": summary["findings"].get("total", 0),
            "top": summary["findings"].get("top", []),
            "records": summary["records"],
            "max_rss_mib": max(workers, default=0.0),  # the largest child (a worker)
            "driver_rss_mib": seen.get(process.pid, (0.0, 0.0))[1],
        }
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)


def phases(clean: Path, dirty: Path, repeat: int) -> list[tuple[str, float]]:
    """Median CPU milliseconds of each phase of one hive, in this process (warm)."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    import hivescan
    from hivescan.hive import marvin
    from hivescan.triage import seams
    from hivescan.triage.scan import parquet_bytes
    from hivescan.triage.schema import FINDINGS_SCHEMA, service_rows, services_schema, table_from_rows

    analyse = seams.analyser()

    from hivescan.scm import services as scm_services

    # decoded service keys remembered across hives, as a triage worker does (absent in older checkouts)
    memo = scm_services.RecordMemo() if hasattr(scm_services, "RecordMemo") else None

    def cpu(task: Callable[[], Any], setup: Callable[[], Any] | None = None) -> tuple[float, Any]:
        times, result = [], None
        for _ in range(repeat):
            if setup is not None:
                setup()
            begin = time.process_time()
            result = task()
            times.append(time.process_time() - begin)
        return statistics.median(times) * 1000, result

    def rebuild(path: Path, logs: str) -> Any:
        with hivescan.open_hive(path, logs=logs) as hive:
            host = hive.computer_name()[0]
            records = hive.services()
            findings = list(analyse(hive, records, host))
        return host, records, findings

    def rules(path: Path, other: Path) -> tuple[float, float]:
        """(a worker's first hive: nothing remembered, a host after another: verdicts remembered
        from ``other`` only, never from this hive itself), each with a fresh engine per repeat."""
        from hivescan.detect.engine import Engine
        from hivescan.detect.rules import load_rules
        from hivescan.detect.scan import analyse_records

        ruleset = load_rules()

        def records_of(p: Path) -> tuple[Any, Any, Any]:
            with hivescan.open_hive(p) as hive:
                current = hive.resolve("current").chosen
                return hive.services(), current[0].number if current else None, hive.windows_version()

        (recs, primary, windows), (o_recs, o_primary, o_windows) = records_of(path), records_of(other)
        cold, warm = [], []
        for _ in range(repeat):
            engine = Engine(ruleset, remember=True)
            begin = time.process_time()
            analyse_records(recs, primary_set=primary, windows=windows, engine=engine)
            cold.append(time.process_time() - begin)
            engine = Engine(ruleset, remember=True)
            analyse_records(o_recs, primary_set=o_primary, windows=o_windows, engine=engine)
            begin = time.process_time()
            analyse_records(recs, primary_set=primary, windows=windows, engine=engine)
            warm.append(time.process_time() - begin)
        return statistics.median(cold) * 1000, statistics.median(warm) * 1000

    def rebuild_only(path: Path, logs: str) -> Any:
        with hivescan.open_hive(path, logs=logs, **({"record_memo": memo} if memo is not None else {})) as hive:
            # the file's sha256 (hashed on a thread; a triage row needs it) read in the window, so
            # the dirty and the primary-only runs both count it and their difference is the replay's
            return hive.computer_name()[0], hive.services(), hive.sha256

    def forget() -> None:
        if memo is not None:
            memo.clear()

    def after_other() -> None:  # what a worker knows from one earlier host of another variant
        forget()
        rebuild_only(dirty, "none")

    out: list[tuple[str, float]] = []
    clean_ms, (host, records, _) = cpu(lambda: rebuild_only(clean, "auto"), forget)
    out.append(("clean hive: open + rebuild, a worker's first hive (nothing remembered)", clean_ms))
    if memo is not None:
        warm_rebuild_ms, _ = cpu(lambda: rebuild_only(clean, "auto"), after_other)
        out.append(("clean hive: open + rebuild, after another host (its decoded keys remembered)", warm_rebuild_ms))
    dirty_ms, _ = cpu(lambda: rebuild_only(dirty, "auto"), forget)
    primary_ms, _ = cpu(lambda: rebuild_only(dirty, "none"), forget)
    out.append((f"dirty hive: open + rebuild + log replay (Marvin32: {marvin.IMPLEMENTATION})", dirty_ms))
    out.append(("  of which log replay and marking (vs --no-logs)", dirty_ms - primary_ms))
    cold_ms, warm_ms = rules(clean, dirty)
    out.append(("rules (all), a worker's first hive: nothing remembered", cold_ms))
    out.append(("rules (all), after another host: its verdicts remembered", warm_ms))
    # what scan_chunk runs: the rows are ServiceRows, tabulated column by column from the records
    arrow_ms, table = cpu(lambda: table_from_rows(service_rows(records, host), services_schema()))
    out.append(("service rows + Arrow table (column-wise)", arrow_ms))
    reference_ms, _ = cpu(lambda: table_from_rows(list(service_rows(records, host)), services_schema()))
    out.append(("  the row path it replaced (dict rows, then the table; reference)", reference_ms))
    out.append(("Parquet (zstd) bytes", cpu(lambda: pq.write_table(table, io.BytesIO(), compression="zstd"))[0]))
    # the encoding scan_chunk uses; a worker writes one part per batch of up to 8 hives
    batch = pa.concat_tables([table] * 8)
    out.append(("  scan.parquet_bytes, one hive's table", cpu(lambda: parquet_bytes(table))[0]))
    out.append(
        (
            "  scan.parquet_bytes, per hive of a batch of 8 (this table 8 times)",
            cpu(lambda: parquet_bytes(batch))[0] / 8,
        )
    )
    _, _, findings = rebuild(clean, "auto")
    out.append(("findings Arrow table", cpu(lambda: table_from_rows(findings, FINDINGS_SCHEMA))[0]))
    out.append((f"  ({len(records)} records, {len(findings)} findings on the clean hive)", float("nan")))
    return out


def fixed_costs(checkout: Path, corpus: Path, bad: list[Path], repeat: int) -> list[tuple[str, float]]:
    """CPU ms of a run's fixed costs: the CLI's import, and summarise on a finished folder."""
    env = dict(os.environ, PYTHONPATH=str(checkout))
    imports = []
    for _ in range(repeat):
        process = subprocess.Popen([sys.executable, "-c", "import hivescan.cli"], env=env, cwd=checkout)
        _, _, usage = os.wait4(process.pid, 0)
        imports.append((usage.ru_utime + usage.ru_stime) * 1000)
    out = Path(tempfile.mkdtemp(prefix="hivescan-bench-out-")) / "out"
    try:
        command = [sys.executable, "-m", "hivescan", "triage", str(corpus), "-o", str(out), "-q", "-f", "json"]
        subprocess.run([*command, "--jobs", "2"], env=env, cwd=checkout, check=True, capture_output=True)
        code = (
            "import sys, time; from hivescan.triage import summarise; "
            "t = time.process_time(); summarise(sys.argv[1]); print(time.process_time() - t)"
        )
        times = [
            float(
                subprocess.run(
                    [sys.executable, "-c", code, str(out)], env=env, check=True, capture_output=True, text=True
                ).stdout
            )
            * 1000
            for _ in range(repeat)
        ]
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    return [
        ("python start + import hivescan.cli (process CPU)", statistics.median(imports)),
        ("summarise (whole corpus)", statistics.median(times)),
    ]


WORKER_MEMORY = """
import gc, os, sys, time
import hivescan.triage.preload  # as the forkserver does
from hivescan.triage import ScanOptions, discover, seams
from hivescan.triage.run import plan_batches
from hivescan.triage.scan import scan_chunk

def rss_mib():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

corpus, rounds, batch_size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
items = list(discover([corpus], seams.container_readers()).inputs) * rounds
options = ScanOptions(analyse=seams.analyser(), readers=seams.container_readers(), run_id="bench")
peak, done, started, lines = 0.0, 0, time.process_time(), []
for index, batch in plan_batches(items, batch_size, 1):
    scan_chunk(index, batch, options)
    done += len(batch)
    peak = max(peak, rss_mib())
    if done % 60 < len(batch) or done == len(items):
        lines.append(f"{done} hives: RSS {rss_mib():.0f} MiB (peak {peak:.0f}), gen2 objects {len(gc.get_objects(2))}, "
                     f"collections {[s['collections'] for s in gc.get_stats()]}")
cpu = time.process_time() - started
t = time.process_time(); found = gc.collect(); collect = time.process_time() - t
print(chr(10).join(lines))
import resource
print(f"CPU {cpu / len(items) * 1000:.0f} ms per hive; a full gc.collect() now: {collect * 1000:.0f} ms CPU, "
      f"{found} unreachable objects; peak RSS (ru_maxrss, between samples too) "
      f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
"""


def worker_memory(checkout: Path, corpus: Path, rounds: int, batch_size: int) -> None:
    """One process doing a pool worker's job over the corpus ``rounds`` times (issue 13 goal 5:
    <= 300 MiB per worker whatever the number of hives): RSS as it goes, the cyclic collector's
    work, and what a full collection would find and cost at the end."""
    env = dict(os.environ, PYTHONPATH=str(checkout))
    command = [sys.executable, "-c", WORKER_MEMORY, str(corpus), str(rounds), str(batch_size)]
    done = subprocess.run(command, env=env, cwd=checkout, check=True, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        print(f"  worker memory [{checkout.name}], batches of {batch_size}: {line}")


def compile_checkout(checkout: Path) -> None:
    """Write hivescan's bytecode in ``checkout``, as ``make install`` and pip's installs do.

    Why: an editable install or a bare export has no ``__pycache__``, and where
    ``PYTHONDONTWRITEBYTECODE`` is set (this machine sets it) Python never writes one, so every
    run would compile hivescan's sources again in the command and in the pool's forkserver:
    0.1-0.2 s of each run's start that no installed copy pays (session 19)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(checkout / "hivescan")], check=True)


def git_commit(checkout: Path) -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def shared_win10() -> Path | None:
    """The real Windows 10 hive of ../shared (or $HIVESCAN_SHARED), when present."""
    path = Path(os.environ.get("HIVESCAN_SHARED", ROOT.parent / "shared")) / "hives" / "win10-dirty-SYSTEM"
    return path if path.is_file() else None


def realism(hives: list[Path], dirty: list[Path], levels: dict[str, int]) -> None:
    """How like a real host the corpus is: the first clean host's shape beside the real
    Windows 10 hive's, and how much hosts differ from each other (hivescan.testing.shape):
    hosts of the same level (v3: update level; v2: variant) and of other levels apart."""
    from hivescan.testing.shape import differing, hive_shape, shape_lines

    clean = [h for h in hives if h not in set(dirty)]
    name = clean[0].parts[-5]
    shapes = {f"corpus {name}": hive_shape(clean[0])}
    real = shared_win10()
    if real is not None:
        shapes["real win10-dirty-SYSTEM"] = hive_shape(real)
    for line in shape_lines(shapes):
        print(f"  realism: {line}")
    if real is None:
        print("  realism: the real Windows 10 hive is absent (set HIVESCAN_SHARED): nothing to compare with")
    first = next(iter(shapes.values()))
    same = [h for h in clean[1:] if levels.get(h.parts[-5]) == levels.get(name)][:4]
    other = [h for h in clean[1:] if levels.get(h.parts[-5]) != levels.get(name)][:4]
    for label, group in (("the same level", same), ("other levels", other)):
        shares = sorted(differing(first, hive_shape(h)) for h in group)
        if shares:
            print(
                f"  realism: services of {name} that clean hosts of {label} lack or hold otherwise: "
                f"{100 * shares[0]:.0f}-{100 * shares[-1]:.0f}% ({len(shares)} hosts)"
            )


def corpus_levels(version: str, hosts: int, variants: int, seed: int) -> dict[str, int]:
    """Host name -> its level: v3's update level, v2's variant."""
    if version == "v3":
        return {spec.host: spec.update_level for spec, _ in plan_v3(hosts, variants, seed)}
    from hivescan.testing.win10 import host_names

    return {name: n % variants for n, name in enumerate(host_names(hosts))}


def findings_by_rule(summary_top: list[dict[str, Any]]) -> str:
    """``rule: findings`` from a summary's top findings (which may be cut to its limit)."""
    counts: dict[str, int] = {}
    for row in summary_top:
        counts[row["rule_id"]] = counts.get(row["rule_id"], 0) + row["findings"]
    return ", ".join(f"{rule} {n}" for rule, n in sorted(counts.items(), key=lambda kv: -kv[1])) or "none"


def measure(
    label: str, corpus: Path, bad: list[Path], args: argparse.Namespace, checkouts: list[Path], levels: dict[str, int]
) -> list[Any]:
    """Every figure of one corpus: its shape, the phases, the fixed costs and the CLI runs."""
    hives = sorted(corpus.rglob("SYSTEM"))
    dirty = [h for h in hives if h.with_name("SYSTEM.LOG1").exists()]
    logs_kb = sum(h.with_name(f"SYSTEM.LOG{i}").stat().st_size for h in dirty[:1] for i in (1, 2)) / 1e3
    sizes = [h.stat().st_size for h in hives]
    print(
        f"corpus {label} ({corpus.parent}): {len(hives)} SYSTEM hives ({len(dirty)} dirty, {logs_kb:,.0f} KB of "
        f"logs on the first), {min(sizes) / 1e6:.1f}-{max(sizes) / 1e6:.1f} MB, {sum(sizes) / 1e9:.2f} GB, "
        f"+ {len(bad)} bad inputs; machine: {platform.machine()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f} before the run"
    )
    if not args.no_realism:
        realism(hives, dirty, levels)
    if args.worker_memory:
        for checkout in checkouts:
            worker_memory(checkout, corpus, args.worker_memory, args.batch_size)
        return []
    if not args.no_stages:
        for phase, ms in phases(hives[0], dirty[0], 5):
            print(f"  phase, one hive (CPU): {phase:<72} {ms:7.1f} ms" if ms == ms else f"  {phase}")
        for checkout in checkouts:
            for cost, ms in fixed_costs(checkout, corpus, bad, 3):
                print(f"  fixed cost [{checkout.name}]: {cost:<55} {ms:7.0f} ms")
    loads: list[float] = []
    results: dict[tuple[Path, str], list[dict[str, Any]]] = {
        (c, m): [] for c in checkouts for m in args.modes.split(",")
    }
    for _ in range(args.repeat):  # interleaved, so a neighbour's load falls on every mode and checkout alike
        for key in results:
            loads.append(os.getloadavg()[0])
            results[key].append(run_cli(key[0], key[1], corpus, bad))
    load = f"{min(loads):.2f}-{max(loads):.2f}"
    rows = []
    for (checkout, mode), runs in results.items():
        rates = [r["ok"] / r["seconds"] * 60 for r in runs]
        cpu_ms = [r["cpu"] / r["ok"] * 1000 for r in runs]
        first, cpu_median = runs[0], statistics.median(cpu_ms)
        print(
            f"  [{checkout.name} {git_commit(checkout)}] {mode:<6} median {statistics.median(rates):6.0f} hives/min "
            f"(runs {min(rates):.0f}-{max(rates):.0f}; {statistics.median(r['seconds'] for r in runs):.1f} s); "
            f"CPU {cpu_median:.0f} ms per hive (all processes, = {2 * 60000 / cpu_median:.0f} hives/min on 2 idle "
            f"cores); status {first['status']}; {first['records']} records, {first['findings']} findings "
            f"({first['findings'] / max(first['ok'], 1):.2f} per hive scanned; by rule, of the summary's top rows: "
            f"{findings_by_rule(first['top'])}); "
            f"peak RSS: worker {max(r['max_rss_mib'] for r in runs):.0f} MiB, "
            f"command {max(r['driver_rss_mib'] for r in runs):.0f} MiB"
        )
        rows.append((label, checkout, mode, statistics.median(rates), min(rates), max(rates), cpu_median, runs))
    if len(checkouts) > 1:
        for mode in args.modes.split(","):
            mine = next(r for r in rows if r[1] == ROOT and r[2] == mode)
            other = next(r for r in rows if r[1] != ROOT and r[2] == mode)
            print(
                f"  {mode}: this checkout / {other[1].name}: {mine[3] / other[3]:.2f}x hives/min, "
                f"{other[6] / mine[6]:.2f}x less CPU per hive"
            )
    print(f"  load average during the runs: {load} (1-minute, sampled before each run)")
    write_results(rows, load, len(hives), len(dirty), len(bad))
    return rows


def write_results(rows: list[Any], load: str, hives: int, dirty: int, bad: int) -> None:
    out = ROOT / "bench" / "results" / "triage.csv"
    header = ["date", "commit", "checkout", "machine", "load", "hives", "dirty", "bad inputs", "mode",
              "hives/min median", "hives/min min", "hives/min max", "CPU ms per hive", "max RSS MiB",
              "command", "corpus"]  # fmt: skip
    lines = out.read_text().splitlines(keepends=True) if out.exists() else []
    if lines and lines[0].rstrip("\r\n") == ",".join(header[:-1]):
        # the header before the corpus column: its rows are all of corpus v2 (no corpus field)
        out.write_text(",".join(header) + "\n" + "".join(lines[1:]))
    new = not out.exists() or out.read_text().splitlines()[:1] != [",".join(header)]
    if new and out.exists():
        out.rename(out.with_name("triage-v1.csv"))  # the in-process figures of the earlier benchmark
    with out.open("a", newline="") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(header)
        for label, checkout, mode, median, low, high, cpu_ms, runs in rows:
            writer.writerow(
                [datetime.now(UTC).isoformat(timespec="seconds"), git_commit(checkout), checkout.name,
                 f"{platform.machine()}/{os.cpu_count()}cores", load, hives, dirty, bad, mode,
                 f"{median:.0f}", f"{low:.0f}", f"{high:.0f}", f"{cpu_ms:.0f}",
                 f"{max(r['max_rss_mib'] for r in runs):.0f}", " ".join(sys.argv), label]
            )  # fmt: skip
    print(f"appended to {out.relative_to(ROOT)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--variants", type=int, default=8, help="v2: variants; v3: update levels")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--modes", default="jobs2")
    parser.add_argument("--corpus", choices=("v2", "v3"), default="v3", help="which corpus (v2: the first one)")
    parser.add_argument("--seed", type=int, default=0, help="v3: build the corpus from this seed (0: the main one)")
    parser.add_argument(
        "--held-out", type=int, nargs="?", const=HELD_OUT_SEED, metavar="SEED",
        help=f"also measure corpus v3 of this seed (default {HELD_OUT_SEED}) beside the first",
    )  # fmt: skip
    parser.add_argument("--against", type=Path, help="another checkout to run side by side (e.g. the main branch)")
    parser.add_argument("--no-stages", action="store_true", help="skip the per-phase breakdown")
    parser.add_argument("--no-realism", action="store_true", help="skip the corpus's shape beside a real hive's")
    parser.add_argument(
        "--worker-memory", type=int, metavar="ROUNDS", help="only: one worker's RSS over the corpus ROUNDS times"
    )
    parser.add_argument("--batch-size", type=int, default=12, help="with --worker-memory: hives per batch")
    args = parser.parse_args()

    corpora = [(args.corpus, args.seed)] + ([("v3", args.held_out)] if args.held_out is not None else [])
    checkouts = [ROOT] + ([args.against.resolve()] if args.against else [])
    for checkout in checkouts:  # bytecode as an install leaves it (see compile_checkout)
        compile_checkout(checkout)
    rows: list[Any] = []
    for version, seed in corpora:
        corpus, bad = build_corpus(args.hosts, args.variants, version, seed)
        levels = corpus_levels(version, args.hosts, args.variants, seed)
        rows += measure(f"{V3_CACHE}-s{seed}" if version == "v3" else version, corpus, bad, args, checkouts, levels)
    if len(corpora) > 1:
        print("corpora side by side (median hives/min, CPU ms per hive):")
        for label, checkout, mode, median, _, _, cpu_ms, _ in rows:
            print(f"  {label:<10} [{checkout.name}] {mode:<6} {median:6.0f} hives/min, CPU {cpu_ms:4.0f} ms per hive")
    return 0


if __name__ == "__main__":
    sys.exit(main())
