"""The forkserver of a local pool ends without the interpreter's teardown (its preload is large),
after its atexit handlers; the ``hivescan triage`` command leaves no process behind: workers,
forkserver and resource tracker are gone once its output pipes are closed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import project_env
from tests.triage.conftest import write_fleet

ROOT = Path(__file__).resolve().parents[2]
MARKS = "HIVESCAN_TEST_FORKSERVER_MARKS"

PROGRAM = """
import multiprocessing, os
if __name__ == "__main__":
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.triage.test_forkserver_exit", "hivescan.triage.forkserver_exit"])
    with context.Pool(1) as pool:
        print(pool.apply(os.getppid))  # a worker's parent: the forkserver
"""


class _Teardown:
    """Leaves a mark when the interpreter's teardown frees it (only the forkserver imports this)."""

    def __del__(self) -> None:
        (Path(os.environ[MARKS]) / "teardown").write_text("ran")


def _arm_in_forkserver() -> None:
    """Run when the forkserver preloads this module: an atexit mark and an object for the teardown."""
    import atexit
    import multiprocessing.forkserver  # noqa: F401  (loaded: the forkserver's own module)

    from hivescan.quickexit import end_forkserver_quickly  # noqa: F401

    folder = Path(os.environ[MARKS])
    atexit.register(lambda: (folder / "atexit").write_text("ran"))
    globals()["KEEP"] = _Teardown()


if os.environ.get(MARKS) and sys.argv[:1] == ["-c"]:  # only in the forkserver of the program above
    _arm_in_forkserver()


def _env(**extra: str) -> dict[str, str]:
    return project_env(**extra)


def _gone(pid: int) -> bool:
    """The process has ended (reaped, or a zombie waiting for its new parent)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def _wait_gone(pids: list[int], timeout_s: float = 10.0) -> list[int]:
    """The pids still running after up to ``timeout_s`` (the forkserver ends after its parent)."""
    deadline = time.monotonic() + timeout_s
    while True:
        alive = [pid for pid in pids if not _gone(pid)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def test_the_forkserver_runs_its_exit_handlers_and_skips_the_teardown(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    script = tmp_path / "program.py"
    script.write_text(PROGRAM)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=_env(**{MARKS: str(marks)}), timeout=120
    )
    assert done.returncode == 0, done.stderr
    forkserver = int(done.stdout)
    assert _wait_gone([forkserver]) == []
    assert {mark.name for mark in marks.iterdir()} == {"atexit"}  # handlers ran; no teardown
    assert done.stderr == ""


def _tagged(tag: str) -> list[int]:
    """Running processes whose environment holds ``tag`` (they inherited it from the command)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if tag.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return [pid for pid in found if not _gone(pid)]


def test_triage_leaves_no_process_and_its_output_whole(tmp_path: Path) -> None:
    if not Path("/proc/self/environ").exists():
        pytest.skip("no /proc here: the processes a command started cannot be listed")
    write_fleet(tmp_path / "fleet", hosts=3)
    tag = f"HIVESCAN_TEST_TAG={uuid.uuid4().hex}"
    name, value = tag.split("=")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "hivescan", "triage", str(tmp_path / "fleet"), "-o", str(out), "-f", "json"]
    done = subprocess.run(
        [*command, "--jobs", "2"], capture_output=True, text=True, env=_env(**{name: value}), cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert _wait_gone(_tagged(tag)) == []  # workers, forkserver, resource tracker
    assert json.loads(done.stdout) == json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert json.loads(done.stdout)["status"] == {"ok": 3}


def test_a_failed_triage_keeps_its_exit_status(tmp_path: Path) -> None:
    """The status of a run that scanned nothing (3: no hive) survives the quick exit."""
    if not Path("/proc/self/environ").exists():
        pytest.skip("no /proc here: the processes a command started cannot be listed")
    (tmp_path / "empty").mkdir()
    tag = f"HIVESCAN_TEST_TAG={uuid.uuid4().hex}"
    name, value = tag.split("=")
    done = subprocess.run(
        [sys.executable, "-m", "hivescan", "triage", str(tmp_path / "empty"), "-o", str(tmp_path / "out"), "-j", "2"],
        capture_output=True,
        text=True,
        env=_env(**{name: value}),
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith("hivescan: error: no registry hive found")
    assert _wait_gone(_tagged(tag)) == []  # the pool had started: its processes are gone too
