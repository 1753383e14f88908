"""Check that two checkouts of hivescan give the same answers: the guard every speed-up runs.

    python bench/parity.py --against CHECKOUT [--hosts N] [--variants K] [--corpus v3,v2] [--hive FILE ...]

Runs, with this checkout and with ``CHECKOUT`` (``PYTHONPATH=CHECKOUT``, the same Python):

* ``hivescan triage`` on each benchmark corpus of ``bench/triage.py`` (by default v3, the
  realistic fleet the bench measures, then v2: their first N hosts, one in four dirty with
  logs, plus the bad inputs), rules and events on, and compares the three
  datasets (services, findings, hives) row for row, every column, after sorting; only the
  columns a run itself makes (``run_id``, ``duration_s``, ``scanned_at``, ``worker``) are left out;
* ``hivescan services -f jsonl --deleted`` and ``hivescan scan -f jsonl`` on each ``--hive``
  (default: the project's demo, dirty and deleted fixtures, and the shared hives when
  ``HIVESCAN_SHARED`` or ``../shared`` has them), compared line for line.

Prints each difference (the first few per dataset) and exits 1 when there is any: a change
of speed must never change an answer. The comparison is exact: a float, a list order or a
diagnostic text that differs is a difference.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RUN_COLUMNS = {"run_id", "duration_s", "scanned_at", "worker"}


def _env(checkout: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(checkout)
    env["HIVESCAN_NO_COLOR"] = "1"
    return env


def _hivescan(checkout: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "hivescan", *args], env=_env(checkout), capture_output=True, cwd=checkout, check=False
    )


def _rows(folder: Path, dataset: str) -> list[tuple[str, ...]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = sorted((folder / dataset).glob("*.parquet"))
    if not parts:
        return []
    table = pa.concat_tables([pq.read_table(p) for p in parts], promote_options="default")
    keep = [c for c in table.column_names if c not in RUN_COLUMNS]
    rows = table.select(keep).to_pylist()
    return sorted(tuple(f"{k}={json.dumps(r[k], sort_keys=True, default=repr)}" for k in keep) for r in rows)


def _compare(label: str, a: list[Any], b: list[Any], shown: int = 5) -> int:
    if a == b:
        print(f"  same: {label} ({len(a)} rows)")
        return 0
    print(f"  DIFFERENT: {label}: {len(a)} rows here, {len(b)} in the other checkout")
    count = 0
    for left, right in zip(a, b, strict=False):
        if left != right:
            count += 1
            if count <= shown:
                if isinstance(left, tuple):
                    for x, y in zip(left, right, strict=False):
                        if x != y:
                            print(f"    here:  {x[:300]}\n    other: {y[:300]}")
                else:
                    print(f"    here:  {str(left)[:300]}\n    other: {str(right)[:300]}")
    return max(count, 1)


def default_hives() -> list[Path]:
    out = [ROOT / "fixtures" / f"{name}-SYSTEM" for name in ("demo", "dirty", "deleted")]
    shared = Path(os.environ.get("HIVESCAN_SHARED", ROOT.parent / "shared")) / "hives"
    if shared.is_dir():
        out += sorted(p for p in shared.rglob("*") if p.is_file() and p.suffix == "" and p.name.upper() != "SOURCES")
    return [p for p in out if p.is_file()]


def _triage_parity(args: argparse.Namespace, corpus: str) -> int:
    """Triage the first hosts of one bench corpus with both checkouts: the differences (-1: a run failed)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from triage import build_corpus  # the benchmark's own corpus

    folder, bad = build_corpus(max(args.hosts, 60), args.variants, corpus)  # the benchmark's cached corpus
    hosts = sorted(p for p in folder.iterdir() if p.is_dir())[: args.hosts]
    differences = 0
    with tempfile.TemporaryDirectory(prefix="hivescan-parity-") as tmp:
        picked = Path(tmp) / "hosts"
        picked.mkdir()
        for host in hosts:  # hard links: the same files, another folder
            subprocess.run(["cp", "-al", str(host), str(picked / host.name)], check=True)
        outs = {}
        for name, checkout in (("here", ROOT), ("other", args.against.resolve())):
            out = Path(tmp) / f"out-{name}"
            done = _hivescan(
                checkout, "triage", str(picked), *map(str, bad), "-o", str(out), "-f", "json", "--jobs", "2"
            )
            if done.returncode not in (0, 1):
                print(f"  triage failed in {name} ({done.returncode}): {done.stderr.decode()[-500:]}")
                return -1
            outs[name] = out
        print(f"triage of {len(hosts)} hosts of corpus {corpus} + {len(bad)} bad inputs:")
        for dataset in ("services", "findings", "hives"):
            differences += _compare(dataset, _rows(outs["here"], dataset), _rows(outs["other"], dataset))
    return differences


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", type=Path, required=True, help="the other checkout")
    parser.add_argument("--hosts", type=int, default=12)
    parser.add_argument("--variants", type=int, default=6)
    parser.add_argument("--corpus", default="v3,v2", help="the bench corpora to triage, in order (v3, v2)")
    parser.add_argument("--hive", type=Path, action="append", default=None)
    args = parser.parse_args()
    differences = 0
    for corpus in args.corpus.split(","):
        found = _triage_parity(args, corpus.strip())
        if found < 0:
            return 2
        differences += found
    for hive in args.hive or default_hives():
        print(f"{hive}:")
        for command in (("services", "-f", "jsonl", "--deleted"), ("scan", "-f", "jsonl")):
            here = _hivescan(ROOT, command[0], str(hive), *command[1:])
            other = _hivescan(args.against.resolve(), command[0], str(hive), *command[1:])
            label = " ".join(command)
            if here.returncode != other.returncode:
                print(f"  DIFFERENT: {label}: exit {here.returncode} here, {other.returncode} in the other checkout")
                differences += 1
            differences += _compare(label, here.stdout.splitlines(), other.stdout.splitlines())
            differences += _compare(label + " (stderr)", here.stderr.splitlines(), other.stderr.splitlines())
    print("no difference" if not differences else f"{differences} difference(s)")
    return 1 if differences else 0


if __name__ == "__main__":
    raise SystemExit(main())
