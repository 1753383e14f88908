"""Fuzzing the reading path: thousands of mutated hives, no traceback, no hang, bounded memory.

The fuzzer runs in a child process with an address-space limit and a timeout, so a hang in
native code or a runaway allocation fails the test instead of the test run.
"""

from __future__ import annotations

import resource
import subprocess
import sys

CASES = 3000
MEMORY_LIMIT = 3 << 30  # bytes of address space for the child


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def test_mutated_hives_never_crash_hang_or_blow_up() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hivescan.testing.fuzz", "--cases", str(CASES), "--per-case", "5"],
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=_limit_memory,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert f"{CASES} cases" in done.stdout and "0 failure(s)" in done.stdout
