"""A pool worker's first rows import nothing heavy: pandas comes with the forkserver's preload.

pyarrow's ``pa.array`` imports pandas the first time it builds an array from a list (it asks
whether the list is a pandas object), which every worker did on its first hive: 0.2 s of CPU
each. This module must not import pandas itself (nor import anything that does): the worker
imports it to run the probe, and would hide the import the test looks for.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WATCHED = ("pandas", "numpy", "pyarrow", "hivescan", "cryptography")

PROBE = """
import sys
from hivescan.triage.engines import local_executor
from tests.triage.test_preload_pandas import heavy_modules_imported_by_a_scan
if __name__ == "__main__":
    with local_executor(1) as pool:
        print(pool.submit(heavy_modules_imported_by_a_scan, sys.argv[1]).result())
"""


def heavy_modules_imported_by_a_scan(path: str) -> list[str]:
    """In a worker: the modules of WATCHED packages one triage of ``path`` (rules on) imported."""
    from hivescan.triage import ScanOptions, seams
    from hivescan.triage.inputs import HiveInput
    from hivescan.triage.scan import scan_chunk

    before = set(sys.modules)
    scan_chunk((0,), [HiveInput(path)], ScanOptions(analyse=seams.analyser(), readers=seams.container_readers()))
    return sorted(m for m in set(sys.modules) - before if m.split(".")[0] in WATCHED)


def test_a_workers_first_rows_import_no_pandas(tmp_path: Path) -> None:
    from tests.triage.conftest import write_host

    hive = write_host(tmp_path / "HOST" / "Windows" / "System32" / "config" / "SYSTEM", "HOST")
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, str(script), str(hive)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
