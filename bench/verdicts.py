"""Micro-benchmark of the verdict cache: the rules over several hosts' records, with and without it.

    python bench/verdicts.py [--hosts 12] [--repeat 3]

Reads the first ``--hosts`` hosts of the triage benchmark's corpus (``bench/triage.py`` builds
it: 60 hosts of 6 variants), then times, in this process (CPU), all rules on each host's
records: a fresh engine per host (what every worker did before), and one engine kept across the
hosts in order (a worker now: verdicts remembered from the hosts before). Prints the medians per
hive and per record, the first host's cost with the cache (all misses) and the hit rate, and
checks both give the same findings.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import hivescan
    from bench.triage import build_corpus
    from hivescan.detect.engine import Engine
    from hivescan.detect.rules import load_rules
    from hivescan.detect.scan import analyse_records

    corpus, _ = build_corpus(60, 6)
    data: list[tuple[Any, Any, Any]] = []
    for path in sorted(corpus.rglob("SYSTEM"))[: args.hosts]:
        with hivescan.open_hive(path) as hive:
            current = hive.resolve("current").chosen
            data.append((hive.services(), current[0].number if current else None, hive.windows_version()))
    rules = load_rules()
    records = statistics.mean(len(d[0]) for d in data)

    def run(shared: Engine | None) -> tuple[list[float], list[list[dict[str, Any]]]]:
        times, found = [], []
        for recs, primary, windows in data:
            engine = shared or Engine(rules)
            begin = time.process_time()
            findings = analyse_records(recs, primary_set=primary, windows=windows, engine=engine)[0]
            times.append((time.process_time() - begin) * 1000)
            found.append([f.to_dict() for f in findings])
        return times, found

    plain_runs, kept_runs, firsts, hit_rates = [], [], [], []
    for _ in range(args.repeat):
        plain, expected = run(None)
        engine = Engine(rules, remember=True)
        kept, got = run(engine)
        assert got == expected, "the verdict cache changed a finding"
        assert engine.verdicts is not None
        plain_runs.append(statistics.median(plain))
        kept_runs.append(statistics.median(kept[1:]))
        firsts.append(kept[0])
        hit_rates.append(engine.verdicts.hits / (engine.verdicts.hits + engine.verdicts.misses))
    p, k = statistics.median(plain_runs), statistics.median(kept_runs)
    print(f"{len(data)} hosts, {records:.0f} records each; medians of {args.repeat} runs (CPU)")
    print(f"  no cache (fresh engine per host): {p:6.1f} ms per hive, {p / records:.3f} ms per record")
    print(f"  verdicts remembered (later hosts): {k:6.1f} ms per hive, {k / records:.3f} ms per record; {p / k:.1f}x")
    print(
        f"  first host with the cache (all misses): {statistics.median(firsts):.1f} ms; "
        f"hit rate {statistics.median(hit_rates):.0%}"
    )
    print("  same findings with and without the cache: yes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
