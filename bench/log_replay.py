"""Benchmark the transaction-log replay and compare it with regipy's.

Usage: python bench/log_replay.py [SHARED_HIVES_DIR]   (default ../shared/hives)

Measures, on the real Windows 10 dirty hive and its .LOG1/.LOG2:
* the raw regipy-rs walk of ControlSet001\\Services (keys, values, subkeys) -- the budget base;
* hivescan's rebuild of the primary file alone (logs="none") and of a clean hive (win7),
  whose logs are never opened;
* parsing + checking the logs (Marvin32), the replay, and the full rebuild with replay and
  the record comparison;
* regipy's ``apply_transaction_logs`` (written to a temporary file): time, whether its output
  has a valid checksum, its service count, and how its bytes differ from hivescan's replay.
Prints a small report; nothing is asserted (speed is measured, not tested).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hivescan
from hivescan.hive.header import parse_base_block
from hivescan.hive.logs import load_logs, replay
from hivescan.hive.source import HiveSource


def best_of(func: Callable[[], Any], runs: int = 5) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - start)
    return min(times), out


def raw_walk(path: Path) -> int:
    import regipy_rs

    hive = regipy_rs.RegistryHive(str(path))
    node = hive.root()
    for part in ("ControlSet001", "Services"):
        node = next(k for k in node.subkeys() if k.name.upper() == part.upper())
    count = 0

    def walk(key: Any) -> None:
        nonlocal count
        count += 1
        if key.values_count:
            key.values(as_json=False, trim_values=False, max_len=0)
        if key.subkey_count:
            for sub in key.subkeys():
                walk(sub)

    for service in node.subkeys():
        walk(service)
    return count


def rebuild(path: Path | HiveSource, logs: Any = "auto") -> int:
    with hivescan.open_hive(path, logs=logs) as hive:
        return len(hive.services())


def main(shared: Path) -> None:
    dirty = shared / "win10-dirty-SYSTEM"
    clean = shared / "win7-SYSTEM"
    logs = [shared / "win10-dirty-SYSTEM.LOG1", shared / "win10-dirty-SYSTEM.LOG2"]
    primary = dirty.read_bytes()
    print(f"hive {dirty.name}: {len(primary):,} bytes; logs {sum(p.stat().st_size for p in logs):,} bytes")

    t_raw, keys = best_of(lambda: raw_walk(dirty))
    print(f"raw regipy-rs walk of Services ({keys} keys): {t_raw * 1000:.1f} ms")
    t_alone, n_alone = best_of(lambda: rebuild(dirty, "none"))
    print(f"hivescan rebuild, primary alone: {t_alone * 1000:.1f} ms ({n_alone} records) = {t_alone / t_raw:.1f}x raw")
    t_clean_raw, _ = best_of(lambda: raw_walk(clean))
    t_clean, n_clean = best_of(lambda: rebuild(clean, "auto"))
    t_clean_none, _ = best_of(lambda: rebuild(clean, "none"))
    print(
        f"clean hive {clean.name}: logs=auto {t_clean * 1000:.1f} ms, logs=none {t_clean_none * 1000:.1f} ms "
        f"({n_clean} records; raw walk {t_clean_raw * 1000:.1f} ms)"
    )

    t_parse, parsed = best_of(lambda: load_logs(dirty, list(logs)), runs=3)
    t_replay, result = best_of(lambda: replay(primary, parsed), runs=3)
    hashed = sum(e.size for lg in parsed for e in lg.entries + lg.remnants)
    t_peek, _ = best_of(lambda: parse_base_block(primary), runs=20)
    print(f"clean-path cost of the dirty check (base block parse): {t_peek * 1e6:.0f} us")
    print(
        f"parse + check logs (Marvin32 over {hashed:,} bytes of entries): {t_parse * 1000:.0f} ms; "
        f"replay: {t_replay * 1000:.1f} ms ({len(result.applied)} entries, {len(result.writes)} page runs, "
        f"{sum(w.size for w in result.writes):,} bytes)"
    )
    t_full, n_full = best_of(lambda: rebuild(dirty, "auto"), runs=3)
    print(f"hivescan rebuild with replay + record comparison: {t_full * 1000:.0f} ms ({n_full} records)")

    from regipy.recovery import apply_transaction_logs

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "restored"

        def regipy_replay() -> int:
            _path, pages = apply_transaction_logs(str(dirty), str(logs[0]), str(logs[1]), str(out))
            return int(pages)

        t_regipy, pages = best_of(regipy_replay, runs=3)
        restored = out.read_bytes()
    base = parse_base_block(restored)
    ours = result.image or b""
    bins = min(len(ours), len(restored)) - 4096
    differing = [
        off for off in range(0, bins, 4096) if ours[4096 + off : 8192 + off] != restored[4096 + off : 8192 + off]
    ]
    print(
        f"regipy apply_transaction_logs: {t_regipy * 1000:.0f} ms, {pages} pages written; base block sequence "
        f"{base.primary_sequence}/{base.secondary_sequence}, checksum {'ok' if base.checksum_ok else 'WRONG'}, "
        f"hive bins size {base.hive_bins_data_size:,} (hivescan: {parse_base_block(ours).hive_bins_data_size:,})"
    )
    print(f"regipy output vs hivescan replay: {len(differing)} of {bins // 4096} hive-bin pages differ")
    for page in differing[:10]:
        writers = sorted({w.sequence for w in result.writes if w.offset <= page < w.offset + w.size})
        print(f"  page 0x{page:x}: last written by entries {writers}")
    source = HiveSource.from_bytes(restored, path="regipy-restored")
    try:
        with hivescan.open_hive(source, logs="none") as hive:
            recs = hive.services()
            bad = [d.code for d in hive.hive_diagnostics() if d.level != "info"]
            names = {r.name for r in recs}
        found = "present" if "ad_driver" in names else "MISSING"
        print(f"regipy output read by hivescan: {len(recs)} records, ad_driver {found}, warnings {sorted(set(bad))}")
        from hivescan.scm.logdiff import mark_log_changes

        with hivescan.open_hive(HiveSource.from_bytes(ours, path="hivescan-replayed"), logs="none") as hive:
            ours_recs = hive.services()
        differ, gone = mark_log_changes(recs, ours_recs)
        for rec in differ:
            if rec.log_replay_changes:
                note = next(d.message for d in rec.diagnostics if d.code == "changed_by_log_replay")
                print(f"  regipy vs hivescan, {rec.name}: {note.replace('changed by the log replay: ', '')}")
        for diag in gone:
            print(f"  only in regipy's output: {diag.field}")
    except hivescan.HivescanError as exc:
        print(f"regipy output unreadable: {exc}")
    ms = [best_of(lambda: rebuild(dirty, "none"), runs=1)[0] for _ in range(3)]
    print(
        f"(rebuild primary alone, 3 more single runs: {', '.join(f'{m * 1000:.0f}' for m in ms)} ms; "
        f"median {statistics.median(ms) * 1000:.0f})"
    )


def synthetic_regipy_cases() -> None:
    """regipy vs hivescan on writer-made logs where the right answer is known."""
    import copy

    from regipy.recovery import apply_transaction_logs

    from hivescan.hive.logs import parse_log
    from hivescan.testing.logs import make_dirty
    from hivescan.testing.regf import HiveWriter, WKey

    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1)
    for i in range(24):
        root.key(f"ControlSet001\\Services\\Svc{i:02d}").set_dword("Type", 16).set_dword("Start", 3).set_dword(
            "ErrorControl", 1
        )
    first = copy.deepcopy(root)
    first.key("ControlSet001\\Services\\Svc03").set_dword("Start", 2)
    second = copy.deepcopy(first)
    second.key("ControlSet001\\Services\\Svc05").set_dword("Start", 2)
    grown = copy.deepcopy(second)
    grown.key("ControlSet001\\Services\\Evil").set_dword("Type", 16).set_binary("Pad", bytes(9000))
    states = [HiveWriter(t).build().data for t in (root, first, second)]

    def starts(data: bytes | None) -> Any:
        if data is None:
            return "no output"
        with hivescan.open_hive(HiveSource.from_bytes(data), logs="none") as hive:
            return {r.name: r.start for r in hive.services() if r.name in ("Svc03", "Svc05")}

    cases = [
        ("entries 100 (.LOG1) and 101 (.LOG2)", states, {"split": 1}),
        ("entry 102 grows the hive", [*states, HiveWriter(grown).build().data], {"split": 1}),
    ]
    print("synthetic logs, Start of Svc03/Svc05 after replay (truth: the states the writer made):")
    for label, case_states, options in cases:
        dirty = make_dirty(case_states, fmt="new", sequence=100, **options)
        ours = replay(dirty.primary, [parse_log(b, "SYSTEM" + k) for k, b in dirty.logs.items()])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "SYSTEM"
            dirty.write(path)
            try:
                apply_transaction_logs(str(path), f"{path}.LOG1", f"{path}.LOG2", str(Path(tmp) / "out"))
                theirs: bytes | None = (Path(tmp) / "out").read_bytes()
                error = ""
            except Exception as exc:  # regipy raises on what it cannot replay
                theirs, error = None, f" ({type(exc).__name__}: {str(exc)[:80]})"
        applied = [e.sequence for e in ours.applied]
        print(f"  {label}: hivescan {starts(ours.image)} applied {applied}; regipy {starts(theirs)}{error}")


if __name__ == "__main__":
    here = Path(__file__).resolve().parents[1]
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else here.parent / "shared" / "hives")
    synthetic_regipy_cases()
