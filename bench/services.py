"""Benchmark the service-database rebuild against raw parser walks, in one run.

    python bench/services.py [HIVE] [--repeat N] [--synthetic N_SERVICES] [--clock cpu|wall]

Prints the median CPU time (``--clock cpu``, the default: ``time.process_time``, threads
included, steady on a shared machine) or wall time of each task on the same hive and the
ratios to the raw regipy-rs walk, then appends one row to ``bench/results/services.csv``
(commit, machine, clock, figures).

**The pair issue 13 (goal 4) compares: both read the same control set**, the one
``Select\\Current`` names:

* hivescan rebuild, current set -- ``open_hive(logs="none")`` + ``services("current")``:
  reading and hashing the file, checking every key cell listed, every value read
  byte-exact, every record decoded with its diagnostics and provenance, and the database
  pass (image paths, groups, dependencies, boot plan); the record memo
  (``hivescan.scm.services.RecordMemo``) is emptied first, so nothing comes from an
  earlier hive: the cost of a worker's first hive;
* raw regipy-rs walk, current set -- regipy's Rust-backed API
  (``regipy.registry_rs.RegistryHive``): open, then ``recurse_subkeys`` over that set's
  ``Services`` with its values decoded by regipy-rs.

The goal is a ratio of at most 4x. The other tasks:

* hivescan rebuild, current set, memo warm -- the same after this very hive filled the
  memo: every key found in it (an upper bound; a worker meeting other hosts finds about
  95% of the benchmark corpus's keys there, see bench/triage.py);
* hivescan full rebuild -- ``open_hive(logs="none")`` + ``services("all")`` (every record of
  every control set), memo emptied first; raw regipy-rs walk -- every ControlSetNNN\\Services;
* hivescan rebuild with log replay -- the same with ``logs="auto"`` (the default): a dirty hive
  has its .LOG1/.LOG2 verified and replayed in memory first (no change on a clean hive);
* hivescan log replay alone -- of that: finding, reading and verifying the logs (Marvin32 over
  every log entry) and replaying them into an in-memory image (count: log entries applied);
* raw python-registry walk -- every set's Services with python-registry (values' raw data);
* regipy services plugin -- regipy's own ``services`` plugin on the pure-Python parser;
* ``hivescan services HIVE --format jsonl`` as a whole process (Python start-up included;
  its CPU time is the child's, from ``resource.getrusage``).

Without HIVE it uses ``hives/win10-dirty-SYSTEM`` of the shared test data (``$HIVESCAN_SHARED``,
else ``../shared``) when present, else builds a synthetic hive with the project's regf writer
(``--synthetic``, default 2,000 services).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the shared test data: $HIVESCAN_SHARED as the tests read it, else ../shared next to the project
DEFAULT_HIVE = Path(os.environ.get("HIVESCAN_SHARED", ROOT.parent / "shared")) / "hives" / "win10-dirty-SYSTEM"


def cpu_seconds() -> float:
    """CPU time of this process (all its threads) and of the children it waited for."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def median_time(task: Callable[[], object], repeat: int, clock: Callable[[], float]) -> tuple[float, object]:
    result: object = None
    times = []
    for _ in range(repeat):
        start = clock()
        result = task()
        times.append(clock() - start)
    return statistics.median(times), result


_WARM_MEMO: dict[str, object] = {}  # the warm rows' memo, filled by their first repeat


def hivescan_rebuild(path: Path, logs: str = "none", control_set: str = "all", memo: str = "cold") -> int:
    import hivescan
    import hivescan.scm.services

    memo_class = getattr(hivescan.scm.services, "RecordMemo", None)  # absent before the memo (comparisons)
    options: dict[str, object] = {}
    if memo_class is not None:  # "cold": a fresh memo (all misses); "warm": the one this benchmark keeps
        options["record_memo"] = _WARM_MEMO.setdefault("memo", memo_class()) if memo == "warm" else memo_class()
    with hivescan.open_hive(path, logs=logs, **options) as hive:
        records = hive.services(control_set)
        _ = records[0].origin.hive_sha256 if records else hive.sha256  # the hash is part of the job
        return len(records)


def hivescan_rebuild_current(path: Path) -> int:
    return hivescan_rebuild(path, control_set="current")


def hivescan_rebuild_current_warm(path: Path) -> int:
    return hivescan_rebuild(path, control_set="current", memo="warm")


def hivescan_rebuild_replayed(path: Path) -> int:
    return hivescan_rebuild(path, logs="auto")


def hivescan_log_replay(path: Path) -> int:
    from hivescan.hive.logs import load_logs, replay

    result = replay(path.read_bytes(), load_logs(path, "auto"))
    return len(result.applied)


def regipy_rs_walk(path: Path, current_only: bool = False) -> int:
    from regipy.registry_rs import RegistryHive

    hive = RegistryHive(str(path))
    count = 0
    wanted = None
    if current_only:
        select = hive.root.get_subkey("Select")
        wanted = f"controlset{int(select.get_value('Current')):03d}"
    for cs in hive.root.iter_subkeys():
        if not re.fullmatch(r"(?i)controlset\d{3}", cs.name):
            continue
        if wanted is not None and cs.name.lower() != wanted:
            continue
        services = cs.get_subkey("Services", raise_on_missing=False) or cs.get_subkey(
            "services", raise_on_missing=False
        )
        if services is None:
            continue
        for _ in hive.recurse_subkeys(nk_record=services, as_json=True):
            count += 1
    return count


def regipy_rs_walk_current(path: Path) -> int:
    return regipy_rs_walk(path, current_only=True)


def python_registry_walk(path: Path) -> int:
    from Registry import Registry

    reg = Registry.Registry(str(path))
    count = 0

    def walk(key: object) -> None:
        nonlocal count
        count += 1
        for value in key.values():  # type: ignore[attr-defined]
            value.raw_data()
        for sub in key.subkeys():  # type: ignore[attr-defined]
            walk(sub)

    for cs in reg.root().subkeys():
        if re.fullmatch(r"(?i)controlset\d{3}", cs.name()):
            for sub in cs.subkeys():
                if sub.name().lower() == "services":
                    walk(sub)
    return count


def regipy_plugin(path: Path) -> int:
    from regipy.plugins.system.services import ServicesPlugin
    from regipy.registry import RegistryHive

    plugin = ServicesPlugin(RegistryHive(str(path)), as_json=True)
    plugin.run()
    return sum(len(v.get("services", [])) for v in plugin.entries.values())


def cli_jsonl(path: Path) -> int:
    done = subprocess.run(
        [sys.executable, "-m", "hivescan", "services", str(path), "--format", "jsonl", "-q"],
        capture_output=True,
        check=True,
    )
    return done.stdout.count(b"\n")


def synthetic_hive(services: int) -> Path:
    from hivescan.testing.regf import HiveWriter, WKey

    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1)
    for i in range(services):
        svc = root.key(f"ControlSet001\\Services\\Svc{i:05d}")
        svc.set_dword("Type", 0x20).set_dword("Start", 2 + i % 3).set_dword("ErrorControl", 1)
        svc.set_expand_sz("ImagePath", r"%SystemRoot%\system32\svchost.exe -k netsvcs -p")
        svc.set_sz("DisplayName", f"@%SystemRoot%\\system32\\svc{i}.dll,-100").set_sz("ObjectName", "LocalSystem")
        svc.set_multi_sz("DependOnService", ["RpcSs"]).set_binary("FailureActions", bytes(44))
        svc.key("Parameters").set_expand_sz("ServiceDll", f"%SystemRoot%\\system32\\svc{i}.dll")
        svc.key("Security").set_binary("Security", bytes(range(120)))
    fd, name = tempfile.mkstemp(prefix="hivescan-bench-", suffix=".hive")
    with os.fdopen(fd, "wb") as fh:
        fh.write(HiveWriter(root, subkey_list="ri").build().data)
    return Path(name)


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"


def append_row(out: Path, row: dict[str, str]) -> None:
    """Append one row; when the tasks changed, the file is rewritten with the new columns
    (earlier rows keep their figures under their own column names, blank in the new ones)."""
    header: list[str] = []
    rows: list[dict[str, str]] = []
    if out.exists():
        with out.open(newline="") as fh:
            reader = csv.DictReader(fh)
            header = list(reader.fieldnames or [])
            rows = list(reader)
    if header and all(k in header for k in row):
        with out.open("a", newline="") as fh:
            csv.DictWriter(fh, header, restval="").writerow(row)
        return
    header += [k for k in row if k not in header]
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, header, restval="")
        writer.writeheader()
        writer.writerows([*rows, row])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("hive", nargs="?", type=Path)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--slow-repeat", type=int, default=3, help="repeats for the pure-Python plugin and the CLI")
    parser.add_argument("--synthetic", type=int, default=2000)
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    args = parser.parse_args()
    clock = cpu_seconds if args.clock == "cpu" else time.perf_counter
    path = args.hive or (DEFAULT_HIVE if DEFAULT_HIVE.is_file() else synthetic_hive(args.synthetic))
    size = path.stat().st_size
    print(f"hive: {path} ({size / 1e6:.1f} MB)   machine: {platform.machine()}, {os.cpu_count()} cores")

    tasks: list[tuple[str, Callable[[Path], int], int]] = [
        ("raw regipy-rs walk, current set", regipy_rs_walk_current, args.repeat),
        ("hivescan rebuild, current set", hivescan_rebuild_current, args.repeat),
        ("hivescan rebuild, current set, memo warm", hivescan_rebuild_current_warm, args.repeat),
        ("raw regipy-rs walk", regipy_rs_walk, args.repeat),
        ("hivescan full rebuild", hivescan_rebuild, args.repeat),
        ("hivescan rebuild with log replay", hivescan_rebuild_replayed, args.repeat),
        ("hivescan log replay alone", hivescan_log_replay, args.repeat),
        ("raw python-registry walk", python_registry_walk, args.repeat),
        ("regipy services plugin (pure Python)", regipy_plugin, args.slow_repeat),
        ("hivescan services --format jsonl (process)", cli_jsonl, args.slow_repeat),
    ]
    results: dict[str, float] = {}
    for label, task, repeat in tasks:
        task(path)  # warm the page cache and imports
        seconds, count = median_time(lambda t=task: t(path), repeat, clock)
        results[label] = seconds
        print(f"  {label:<44} {seconds * 1000:9.1f} ms   ({count} keys/records, {args.clock}, median of {repeat})")
    current = results["hivescan rebuild, current set"] / results["raw regipy-rs walk, current set"]
    print(f"rebuild / raw regipy-rs walk, both the current set (issue 13 goal: <= 4x): {current:.2f}x")
    base = results["raw regipy-rs walk"]
    print("ratios to the raw regipy-rs walk of every set:")
    for label, seconds in results.items():
        print(f"  {label:<44} {seconds / base:7.2f}x")

    out = ROOT / "bench" / "results" / "services.csv"
    out.parent.mkdir(exist_ok=True)
    row = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": f"{platform.machine()}/{os.cpu_count()}cores",
        "clock": args.clock,
        "hive": path.name,
        "bytes": str(size),
        **{f"{k} (ms)": f"{v * 1000:.1f}" for k, v in results.items()},
    }
    append_row(out, row)
    print(f"appended to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
