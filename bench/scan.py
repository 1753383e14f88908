"""Time ``scan`` (rules + catalogs + control-set context) on real hives and a large generated one.

Usage: python bench/scan.py [N_SERVICES]   (default 20000; prints one line per hive)
Real hives come from ../shared/hives (or $HIVESCAN_SHARED/hives) when present.
"""

from __future__ import annotations

import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import hivescan
from hivescan.detect.rules import load_rules
from hivescan.detect.scan import analyse_records
from hivescan.hive.regtypes import REG_EXPAND_SZ, REG_SZ
from hivescan.testing.regf import HiveWriter, WKey, sz

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HIVESCAN_SHARED", ROOT.parent / "shared")) / "hives"


def generated(n: int) -> bytes:
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 2)
    for number in (1, 2):
        services = root.key(f"ControlSet{number:03d}\\Services")
        for i in range(n // 2):
            key = services.key(f"Svc{i:05d}")
            rng = random.Random(i)  # the same service in both sets, except the planted ones
            kind = rng.random()
            key.set_dword("Type", 1 if kind < 0.4 else 0x20 if kind < 0.7 else 0x10)
            key.set_dword("Start", rng.choice([0, 1, 2, 3, 4])).set_dword("ErrorControl", 1)
            if kind < 0.4:
                key.set("ImagePath", REG_EXPAND_SZ, sz(rf"System32\drivers\drv{i}.sys"))
            elif kind < 0.7:
                key.set("ImagePath", REG_EXPAND_SZ, sz(r"%SystemRoot%\System32\svchost.exe -k netsvcs -p"))
                key.key("Parameters").set("ServiceDll", REG_EXPAND_SZ, sz(rf"%SystemRoot%\System32\s{i}.dll"))
            else:
                key.set("ImagePath", REG_SZ, sz(rf'"C:\Program Files\Vendor{i}\svc.exe" -service'))
            if number == 2 and i % 50 == 0:
                key.set("ImagePath", REG_SZ, sz(rf"C:\Users\Public\x{i}.exe"))
    return HiveWriter(root).build().data


def bench(label: str, path: Path, rules: object) -> None:
    with hivescan.open_hive(path) as hive:
        t0 = time.perf_counter()
        records = hive.services("all")
        t1 = time.perf_counter()
        best = min(_timed(records, rules, hive) for _ in range(3))
    findings = analyse_records(records, rules=rules)[0]  # type: ignore[arg-type]
    print(f"{label:<28} records {len(records):>6}  read {t1 - t0:6.3f}s  rules {best:6.3f}s  findings {len(findings)}")


def _timed(records: list, rules: object, hive: object) -> float:
    t = time.perf_counter()
    analyse_records(records, rules=rules, primary_set=1)  # type: ignore[arg-type]
    return time.perf_counter() - t


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    print(f"# commit {commit.strip()} python {platform.python_version()} {platform.machine()}")
    rules = load_rules()
    print(f"# {len(rules)} rules")
    for name in ("win7-SYSTEM", "win10-dirty-SYSTEM", "nt4-SYSTEM", "xp-corrupted-SYSTEM"):
        if (SHARED / name).is_file():
            bench(name, SHARED / name, rules)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "SYSTEM"
        path.write_bytes(generated(n))
        bench(f"generated {n}", path, rules)


if __name__ == "__main__":
    main()
