"""A pool worker never imports pandas, and its tables are the ones a process with pandas makes.

pyarrow's ``pa.array`` imports pandas the first time it builds an array from a list (it asks
whether the list is a pandas object): every worker did on its first hive (0.2 s of CPU each),
then the forkserver's preload did once (0.2 s of every run's serial start). Now the preload
lets pyarrow settle that a worker has no pandas (hivescan/triage/preload.py,
settle_pandas_absent): a worker neither imports pandas nor may answer differently. This
module must not import pandas at module level (nor import anything that does): the worker
imports it to run the probe, and would hide the import the test looks for.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WATCHED = ("pandas", "numpy", "pyarrow", "hivescan", "cryptography")

SAME_TABLES_PROBE = """
import sys
from hivescan.triage.engines import local_executor
from tests.triage.test_preload_pandas import chunk_in_a_worker
if __name__ == "__main__":
    with local_executor(1) as pool:
        result = pool.submit(chunk_in_a_worker, sys.argv[1]).result()
    sys.stdout.buffer.write(result)
"""

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


def _chunk(path: str) -> tuple[bytes, bytes, bytes, str]:
    """One triage task over ``path`` (rules on): its three Parquet datasets and its outcomes."""
    from dataclasses import replace

    from hivescan.triage import ScanOptions, seams
    from hivescan.triage.inputs import HiveInput
    from hivescan.triage.scan import scan_chunk

    out = scan_chunk((0,), [HiveInput(path)], ScanOptions(analyse=seams.analyser(), readers=seams.container_readers()))
    # when, how long and in which process differ between two scans of one hive; the rest may not
    outcomes = [replace(outcome, duration_s=0.0, scanned_at="", worker="") for outcome in out.outcomes]
    return out.services, out.findings, out.hives, repr(outcomes)


def chunk_in_a_worker(path: str) -> bytes:
    """In a worker: the task's output, pickled, with whether pandas is anywhere in the process."""
    import pickle

    result = _chunk(path)
    return pickle.dumps((sorted(m for m in sys.modules if m.split(".")[0] == "pandas"), result))


def test_a_worker_without_pandas_gives_the_tables_of_a_process_with_pandas(tmp_path: Path) -> None:
    import pickle

    import pandas  # noqa: F401 - this process has pandas, and pyarrow knows it
    import pyarrow

    from tests.triage.conftest import RARE, TWO, write_host

    hive = write_host(
        tmp_path / "HOST" / "Windows" / "System32" / "config" / "SYSTEM", "HOST", planted=(RARE, TWO), services=90
    )
    script = tmp_path / "probe.py"
    script.write_text(SAME_TABLES_PROBE)
    from tests.conftest import project_env

    env = project_env()
    done = subprocess.run([sys.executable, str(script), str(hive)], capture_output=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    pandas_in_worker, (services, findings, hives, outcomes) = pickle.loads(done.stdout)
    assert pandas_in_worker == []
    assert pyarrow.lib._pandas_api.have_pandas  # here pyarrow does see pandas
    here = _chunk(str(hive))
    assert (services, findings, outcomes) == (here[0], here[1], here[3])  # the same bytes
    assert _rows(services) == 90 and _rows(findings) > 0  # real rows and findings, not empty tables
    assert _without_when_and_who(hives) == _without_when_and_who(here[2])


def _rows(parquet: bytes) -> int:
    import io

    import pyarrow.parquet as pq

    return int(pq.read_metadata(io.BytesIO(parquet)).num_rows)


def _without_when_and_who(parquet: bytes) -> list[dict[str, object]]:
    """The hives rows without what differs between two scans of one hive: when, how long, which process."""
    import io

    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(parquet))
    rows: list[dict[str, object]] = table.drop_columns(["duration_s", "scanned_at", "worker"]).to_pylist()
    assert rows and all(row["status"] == "ok" for row in rows)
    return rows


def test_a_workers_first_rows_import_no_pandas(tmp_path: Path) -> None:
    from tests.triage.conftest import write_host

    hive = write_host(tmp_path / "HOST" / "Windows" / "System32" / "config" / "SYSTEM", "HOST")
    from tests.conftest import run_probe

    done = run_probe(tmp_path, PROBE, str(hive))
    assert done.stdout.strip() == "[]"


SETTLE_PROBE = """
import sys
finders = list(sys.meta_path)
import pyarrow
import hivescan.triage.preload  # the forkserver's preload, settling included
print("pandas" in sys.modules, sys.meta_path == finders)
pyarrow.array(["a"], pyarrow.string())
pyarrow.array([{"a": [1]}], pyarrow.struct([("a", pyarrow.list_(pyarrow.int64()))]))
print("pandas" in sys.modules)
print(type(pyarrow.table({"a": [1]}).to_pandas()).__name__, pyarrow.lib._pandas_api.have_pandas)
"""


def test_after_the_preload_pandas_is_absent_yet_importable(tmp_path: Path) -> None:
    """After the preload: no pandas imported, typed arrays built without it, the import system
    as it was, and pandas still there for whoever asks pyarrow for it (to_pandas imports it)."""
    from tests.conftest import project_env

    env = project_env()
    done = subprocess.run(
        [sys.executable, "-c", SETTLE_PROBE], capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["False True", "False", "DataFrame True"]
