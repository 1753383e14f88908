"""The local pool's forkserver starts when the pool is made, before the first task.

Why: its preload (modules, rules, catalogs: about a second of a core) then overlaps the
parent's discovery of the inputs instead of following it (a serial cost of every run).
Checked by the processes that exist, never by a time.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import os, time
from hivescan.triage.engines import local_executor
pool = local_executor(2)
found = 0
for _ in range(100):  # a child's command line is its parent's until its exec completes
    children = open(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read().split()
    commands = [open(f"/proc/{pid}/cmdline", "rb").read() for pid in children]
    found = sum(b"multiprocessing.forkserver import main" in c for c in commands)
    if found:
        break
    time.sleep(0.1)
print(found)
pool.shutdown()
"""


@pytest.mark.skipif(
    "forkserver" not in multiprocessing.get_all_start_methods() or not Path("/proc/self/task").is_dir(),
    reason="needs the forkserver start method and Linux /proc (children of a process)",
)
def test_the_forkserver_runs_before_any_task() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.strip() == "1", done.stderr
