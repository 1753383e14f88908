"""``hivescan`` starts a triage run's pool before it imports its CLI (hivescan/clistart.py).

The guess at the arguments is checked on the forms Click accepts; the start itself in a fresh
interpreter (a forkserver is one per process). Modules and processes are checked, never times.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hivescan.clistart import early_pool_jobs
from tests.conftest import project_env

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("args", "cores", "expected"),
    [
        (["triage", "in", "-o", "out"], 2, 2),  # the cores here
        (["triage", "in", "-o", "out"], 1, None),  # one core: one job, no pool
        (["triage", "in", "-o", "out", "--jobs", "4"], 2, 4),
        (["triage", "in", "-o", "out", "--jobs=3"], 1, 3),
        (["triage", "-j", "2", "in", "-o", "out"], 1, 2),
        (["triage", "-j2", "in", "-o", "out"], 1, 2),
        (["triage", "in", "-o", "out", "--jobs", "1"], 8, None),
        (["triage", "in", "-o", "out", "-j1"], 8, None),
        (["triage", "in", "-o", "out", "--jobs"], 8, None),  # Typer will refuse it
        (["triage", "in", "-o", "out", "--jobs", "two"], 8, None),
        (["triage", "in", "-o", "out", "--jobs", "２"], 8, None),  # a full-width digit: not for us to judge
        (["triage", "in", "-o", "out", "--dask", "local"], 8, None),
        (["triage", "in", "-o", "out", "--dask=tcp://h:8786"], 8, None),
        (["triage", "--help"], 8, None),
        (["triage", "-h"], 8, None),
        (["triage", "-o", "out", "--", "--dask"], 8, 8),  # an input named --dask
        (["services", "SYSTEM"], 8, None),
        (["--version"], 8, None),
        ([], 8, None),
    ],
)
def test_only_a_plain_triage_with_a_pool_starts_one_early(args: list[str], cores: int, expected: int | None) -> None:
    assert early_pool_jobs(args, cores) == expected


PROBE = """
import sys
from multiprocessing import util

spawned = []
original = util.spawnv_passfds


def spy(path, args, passfds):
    if "forkserver" in " ".join(map(str, args)):
        spawned.append("hivescan.cli" in sys.modules)
    return original(path, args, passfds)


util.spawnv_passfds = spy
if __name__ == "__main__":
    from hivescan.clistart import main

    sys.argv = ["hivescan", *sys.argv[1:]]
    try:
        main()
    except SystemExit as exc:
        assert not exc.code, exc.code
    print(spawned, file=sys.stderr)
"""


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    env = project_env()
    return subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, env=env, timeout=180, check=False
    )


def test_the_forkserver_starts_before_the_cli_is_imported_and_only_once(tmp_path: Path) -> None:
    from tests.triage.conftest import write_host

    write_host(tmp_path / "in" / "HOST" / "Windows" / "System32" / "config" / "SYSTEM", "HOST")
    done = _run(tmp_path, "triage", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-q", "-f", "json", "-j", "2")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[False]"  # one forkserver, started before the CLI
    assert (tmp_path / "out" / "summary.json").is_file()


def test_other_commands_start_no_forkserver(tmp_path: Path) -> None:
    done = _run(tmp_path, "triage", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[]"
    assert "Triage many SYSTEM hives" in done.stdout
