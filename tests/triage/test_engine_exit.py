"""Leaving the local engine does not wait for its workers to exit (they exit while the run is
summarised), and they still exit: the interpreter's exit joins them."""

from __future__ import annotations

import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SLOW_EXIT_S = 3.0

PROBE = """
import sys
from pathlib import Path
from hivescan.triage.engines import local_engine
from tests.triage.test_engine_exit import exit_slowly
if __name__ == "__main__":
    marks = Path(sys.argv[1])
    with local_engine(2) as (pool, workers):
        for _ in range(4):
            pool.submit(exit_slowly, str(marks)).result()
    print(sorted(p.name for p in marks.iterdir()))
"""


def exit_slowly(folder: str) -> int:
    """In a worker: make its exit take SLOW_EXIT_S, then leave a mark named by its pid."""
    from multiprocessing.util import Finalize

    def finish() -> None:
        time.sleep(SLOW_EXIT_S)
        (Path(folder) / str(os.getpid())).write_text("exited")

    if not getattr(exit_slowly, "armed", False):
        exit_slowly.armed = True  # type: ignore[attr-defined]
        Finalize(None, finish, exitpriority=10)  # run by multiprocessing as the worker exits
    return os.getpid()


def test_leaving_the_engine_does_not_wait_for_workers_to_exit(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    from tests.conftest import run_probe

    done = run_probe(tmp_path, PROBE, str(marks))
    assert done.stdout.strip() == "[]"  # no worker had exited when the block was left
    assert len(list(marks.iterdir())) >= 1  # ... and by the end of the program they had
