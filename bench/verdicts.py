"""Micro-benchmark of the detection rules as a triage worker runs them, with and without the verdict cache.

    python bench/verdicts.py [--hosts 13] [--repeat 3] [--checkout DIR]

Reads the first ``--hosts`` hosts of the triage benchmark's corpus (``bench/triage.py`` builds
it: 60 hosts of 6 variants) the way a triage worker does (``scan_chunk``: logs replayed, file
facts attached), then times, in this process (CPU), ``analyse_records`` plus each finding's
JSON (what the worker's analyser does per hive): a fresh engine per host (no cache), and one
engine kept across the hosts in order (a worker: verdicts remembered from the hosts before).
Prints medians per hive: the first host with the cache (all misses), every later host, and the
hosts after the corpus's variants have all been seen once (a warm worker), with the hit rate;
and checks the findings are byte-identical with and without the cache. ``--checkout DIR`` runs
another checkout's ``hivescan`` (e.g. a ``git archive`` of main) with this benchmark, to compare.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VARIANTS = 6


class _Capture:
    """An analyser that keeps what the rules analyser would be given, and finds nothing."""

    name = "capture"

    def __init__(self) -> None:
        self.hives: list[tuple[Any, Any, Any]] = []

    def __call__(self, hive: Any, records: Sequence[Any], host: str | None) -> Sequence[Mapping[str, Any]]:
        current = hive.resolve("current").chosen
        self.hives.append((tuple(records), current[0].number if current else None, hive.windows_version()))
        return []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=13)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--checkout", type=Path, help="import hivescan from this checkout instead")
    args = parser.parse_args()
    if args.checkout is not None:
        sys.path.insert(0, str(args.checkout.resolve()))

    from bench.triage import build_corpus
    from hivescan.detect.engine import Engine
    from hivescan.detect.rules import load_rules
    from hivescan.detect.scan import analyse_records
    from hivescan.triage.inputs import HiveInput
    from hivescan.triage.scan import ScanOptions, scan_chunk

    corpus, _ = build_corpus(60, VARIANTS)
    capture = _Capture()
    items = [HiveInput(str(path)) for path in sorted(corpus.rglob("SYSTEM"))[: args.hosts]]
    scan_chunk((0,), items, ScanOptions(analyse=capture))
    data = capture.hives
    rules = load_rules()
    records = statistics.mean(len(d[0]) for d in data)

    def run(shared: Engine | None) -> tuple[list[float], list[list[str]]]:
        times, found = [], []
        for recs, primary, windows in data:
            engine = shared or Engine(rules)
            begin = time.process_time()
            findings = analyse_records(recs, primary_set=primary, windows=windows, engine=engine)[0]
            rows = [json.dumps(f.to_dict(), ensure_ascii=True, default=str) for f in findings]
            times.append((time.process_time() - begin) * 1000)
            found.append(rows)
        return times, found

    plain_runs, firsts, later_runs, warm_runs, hit_rates = [], [], [], [], []
    for _ in range(args.repeat):
        plain, expected = run(None)
        engine = Engine(rules, remember=True)
        kept, got = run(engine)
        assert got == expected, "the verdict cache changed a finding"
        assert engine.verdicts is not None
        plain_runs.append(statistics.median(plain))
        firsts.append(kept[0])
        later_runs.append(statistics.median(kept[1:]))
        warm_runs.append(statistics.median(kept[VARIANTS + 1 :] or kept[1:]))
        hit_rates.append(engine.verdicts.hits / (engine.verdicts.hits + engine.verdicts.misses))
    p, w = statistics.median(plain_runs), statistics.median(warm_runs)
    import hivescan

    print(f"hivescan from {Path(hivescan.__file__).parent.parent}")
    print(f"{len(data)} hosts, {records:.0f} records each; medians of {args.repeat} runs (CPU, rules + findings JSON)")
    print(f"  no cache (fresh engine per host): {p:6.1f} ms per hive, {p / records:.4f} ms per record")
    print(f"  first host with the cache (all misses): {statistics.median(firsts):6.1f} ms")
    print(f"  later hosts (variants still new): {statistics.median(later_runs):6.1f} ms")
    print(
        f"  warm worker (hosts after the {VARIANTS} variants): {w:6.1f} ms per hive, {w / records:.4f} ms per "
        f"record; {p / w:.1f}x; hit rate {statistics.median(hit_rates):.0%}"
    )
    print("  findings byte-identical with and without the cache: yes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
