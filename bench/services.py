"""Time the core rebuild (``SystemHive.services()``) against the raw regipy-rs walk.

Run: ``python bench/services.py [HIVE ...]`` (default: the real Windows 10 and 7 hives in
``../shared/hives`` when present, else the demo fixture). For each hive it prints the best
of N runs of:

* ``raw walk``: regipy-rs listing every key of the chosen ``Services`` tree and its values
  (the floor: what the parser library alone costs);
* ``open + services()``: opening the hive and rebuilding the whole service database,
  including the database-level pass (environment, groups, dependencies, svchost, per-user);
* ``boot_plan()``: the boot plan on top of an already built database.

The budget (docs/design.md) is ``open + services()`` <= 5x the raw walk. Results are
appended to ``bench/results.csv`` with the commit and machine.
"""

from __future__ import annotations

import csv
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import hivescan  # noqa: E402

SHARED = Path(os.environ.get("HIVESCAN_SHARED", ROOT.parent / "shared")) / "hives"
RUNS = 15


def best(func: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def raw_walk(path: Path) -> None:
    import regipy_rs

    hive = regipy_rs.RegistryHive(str(path))
    root = hive.root()
    select = next(k for k in root.subkeys() if k.name.upper() == "SELECT")
    current = 1
    for name, _t, value, *_ in select.values(as_json=False, trim_values=False, max_len=0)[0]:
        if name.upper() == "CURRENT":
            current = int(value)
    cs = next(k for k in root.subkeys() if k.name.upper() == f"CONTROLSET{current:03d}")
    services = next(k for k in cs.subkeys() if k.name.upper() == "SERVICES")
    stack = [services]
    while stack:
        key = stack.pop()
        if key.values_count:
            key.values(as_json=False, trim_values=False, max_len=0)
        if key.subkey_count:
            stack.extend(key.subkeys())


def regipy_walk(path: Path) -> None:
    """The same walk through regipy's own API (``regipy.registry_rs``, Value dataclasses)."""
    from regipy.registry_rs import RegistryHive

    hive = RegistryHive(str(path))
    current = hive.get_key("\\Select").get_value("Current")
    services = hive.get_key(f"\\ControlSet{current:03d}\\Services")
    stack = [services]
    while stack:
        key = stack.pop()
        if key.values_count:
            list(key.iter_values(trim_values=False))
        if key.subkey_count:
            stack.extend(key.iter_subkeys())


def rebuild(path: Path) -> list[object]:
    with hivescan.open_hive(path) as hive:
        return list(hive.services())


def plan(path: Path) -> Callable[[], object]:
    hive = hivescan.open_hive(path)
    records = hive.services()
    return lambda: hive.boot_plans(records=records)


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str]) -> int:
    paths = (
        [Path(a) for a in argv]
        or [p for p in (SHARED / "win10-dirty-SYSTEM", SHARED / "win7-SYSTEM") if p.is_file()]
        or [ROOT / "fixtures" / "demo-SYSTEM"]
    )
    rows = []
    for path in paths:
        raw = best(lambda p=path: raw_walk(p))
        api = best(lambda p=path: regipy_walk(p))
        full = best(lambda p=path: rebuild(p))
        count = len(rebuild(path))
        bp = best(plan(path)) if hasattr(hivescan.SystemHive, "boot_plans") else float("nan")
        print(
            f"{path.name}: {count} records; raw walk {raw:.1f} ms (regipy API {api:.1f} ms); "
            f"open + services() {full:.1f} ms ({full / raw:.1f}x raw, {full / api:.1f}x API); boot_plan() {bp:.1f} ms"
        )
        rows.append(
            [
                datetime.now(UTC).isoformat(timespec="seconds"),
                commit(),
                platform.node(),
                path.name,
                count,
                f"{raw:.2f}",
                f"{api:.2f}",
                f"{full:.2f}",
                f"{bp:.2f}",
            ]
        )
    out = ROOT / "bench" / "results.csv"
    new = not out.exists()
    with out.open("a", newline="") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(
                [
                    "when",
                    "commit",
                    "machine",
                    "hive",
                    "records",
                    "raw_walk_ms",
                    "regipy_api_ms",
                    "services_ms",
                    "boot_plan_ms",
                ]
            )
        writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
