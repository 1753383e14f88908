"""Time the service-database rebuild against the raw regipy-rs walk, and the binary decoders.

Usage: ``python bench/record_decoders.py [HIVE ...]`` (default: the real hives in
``../shared/hives`` when present, else the demo hive). Prints, per hive, the best of N runs
of (a) a raw regipy-rs walk of the Services keys of every control set through regipy's API
(subkeys and decoded values, what a plain regipy-rs user pays), (b) ``open_hive(...).services("all")``
and their ratio. The budget (docs/design.md) is rebuild <= 5x raw walk. The decoders' memos
are emptied before every rebuild, so the numbers are those of a fresh process.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import regipy_rs
from regipy.registry_rs import RegistryHive

import hivescan

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HIVESCAN_SHARED", ROOT.parent / "shared")) / "hives"
RUNS = 15


def raw_walk(path: str) -> int:
    """Every subkey (recursively) and value of every ControlSetNNN\\Services, through regipy-rs."""
    hive = regipy_rs.RegistryHive(path)
    count = 0
    stack = []
    for cs in hive.root().subkeys():
        if cs.name.upper().startswith("CONTROLSET"):
            for sub in cs.subkeys():
                if sub.name.upper() == "SERVICES":
                    stack.append(sub)
    while stack:
        key = stack.pop()
        count += 1
        if key.values_count:
            key.values(as_json=False, trim_values=False, max_len=0)
        if key.subkey_count:
            stack.extend(key.subkeys())
    return count


def regipy_walk(path: str) -> int:
    """The same walk through regipy's own API (``regipy.registry_rs.RegistryHive.recurse_subkeys``)."""
    hive = RegistryHive(path)
    count = 0
    for cs in hive.root.iter_subkeys():
        if cs.name.upper().startswith("CONTROLSET"):
            services = cs.get_subkey("Services", raise_on_missing=False)
            if services is not None:
                for _ in hive.recurse_subkeys(services):
                    count += 1
    return count


def clear_memos() -> None:
    """Empty the decoders' byte-keyed memos, so each run costs what a fresh process pays."""
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("hivescan.scm."):
            for value in vars(module).values():
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


def rebuild(path: str) -> int:
    clear_memos()
    with hivescan.open_hive(path) as hive:
        return len(hive.services("all"))


def best(func: Callable[[str], int], path: str) -> tuple[float, int]:
    times = []
    result = 0
    for _ in range(RUNS):
        start = time.perf_counter()
        result = func(path)
        times.append(time.perf_counter() - start)
    return min(times) * 1000, result


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted(p for p in SHARED.glob("*-SYSTEM")) or [ROOT / "fixtures" / "demo-SYSTEM"]
    print(f"{'hive':24} {'regipy-rs ms':>12} {'regipy API ms':>13} {'rebuild ms':>11} {'ratio':>6} {'records':>8}")
    for path in paths:
        try:
            raw_ms, _ = best(raw_walk, str(path))
            api_ms, _ = best(regipy_walk, str(path))
        except (regipy_rs.ParsingError, Exception) as exc:  # damaged hives stop the plain walk
            print(f"{path.name:24} raw walk failed: {str(exc)[:60]}")
            continue
        build_ms, records = best(rebuild, str(path))
        print(f"{path.name:24} {raw_ms:12.1f} {api_ms:13.1f} {build_ms:11.1f} {build_ms / api_ms:6.2f} {records:8d}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
