"""The triage command starts its pool's forkserver before importing the rest of the run.

The forkserver's preload (about 0.8 s of a core) is the longest serial step of a run's start:
no worker runs before it ends. Started before the command imports pyarrow, the output folder
and the summary (about 0.3 s of the other core), it overlaps them. Modules are checked, never
times (speed is measured in bench/).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import hivescan.triage
from tests.conftest import run_probe

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
from multiprocessing import forkserver

seen = []
original = forkserver.ensure_running


def spy():
    seen.append(sorted(m for m in ("pyarrow", "hivescan.triage.run", "rich.console") if m in sys.modules))
    return original()


forkserver.ensure_running = spy
if __name__ == "__main__":
    from hivescan.cli import main

    sys.argv = ["hivescan", "triage", sys.argv[1], "-o", sys.argv[2], "-q", "-f", "json", "--jobs", "2"]
    try:
        main()
    except SystemExit as exc:
        assert not exc.code, exc.code
    print(seen[0], file=sys.stderr)
"""


def test_the_forkserver_starts_before_the_run_imports_pyarrow(tmp_path: Path) -> None:
    from tests.triage.conftest import write_host

    write_host(tmp_path / "in" / "HOST" / "Windows" / "System32" / "config" / "SYSTEM", "HOST")
    done = run_probe(tmp_path, PROBE, str(tmp_path / "in"), str(tmp_path / "out"), timeout=180)
    assert done.stderr.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "out" / "summary.json").is_file()


def test_importing_the_engines_imports_no_pyarrow() -> None:
    code = "import sys, hivescan.triage.engines; print('pyarrow' in sys.modules, 'hivescan.triage.run' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_the_package_names_load_on_first_use() -> None:
    from hivescan.triage import ScanOptions, run_triage, seams, summarise
    from hivescan.triage.run import run_triage as defined
    from hivescan.triage.scan import ScanOptions as options_class

    assert run_triage is defined and ScanOptions is options_class
    assert callable(summarise) and seams.__name__ == "hivescan.triage.seams"
    assert set(hivescan.triage.__all__) <= set(dir(hivescan.triage))
    for name in hivescan.triage.__all__:
        assert getattr(hivescan.triage, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = hivescan.triage.nothing_here  # type: ignore[attr-defined]


GC_PROBE = """
import gc
import sys

import hivescan.cli.triage as command
import hivescan.triage.engines as engines

seen = []


def collections():
    return sum(s["collections"] for s in gc.get_stats())


check, engine = command._check_control_set, engines.local_engine


def entered(*args, **kwargs):
    seen.append(collections())
    return check(*args, **kwargs)


def run_starts(*args, **kwargs):
    seen.append(collections())
    return engine(*args, **kwargs)


command._check_control_set, engines.local_engine = entered, run_starts
if __name__ == "__main__":
    from hivescan.cli import main

    sys.argv = ["hivescan", "triage", sys.argv[1], "-o", sys.argv[2], "-q", "-f", "json", "--jobs", "1"]
    try:
        main()
    except SystemExit as exc:
        assert not exc.code, exc.code
    print(seen[1] - seen[0], gc.isenabled(), file=sys.stderr)
"""


def test_the_run_imports_its_modules_with_the_collector_paused(tmp_path: Path) -> None:
    """pyarrow, numpy and the run's modules: ~55 collections walked what they built on the
    command's way to its first task (~40 ms of CPU); a few at most now, the collector on again."""
    from tests.triage.conftest import write_host

    write_host(tmp_path / "in" / "HOST" / "Windows" / "System32" / "config" / "SYSTEM", "HOST")
    done = run_probe(tmp_path, GC_PROBE, str(tmp_path / "in"), str(tmp_path / "out"), timeout=180)
    collections, enabled = done.stderr.strip().splitlines()[-1].split()
    assert int(collections) < 10 and enabled == "True"
