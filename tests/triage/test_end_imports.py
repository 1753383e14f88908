"""The triage command imports what the end of its run needs before the run (while the pool's
preload runs), never a module the run would not import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import project_env

ROOT = Path(__file__).resolve().parents[2]
WATCHED = ("hivescan.events.found", "hivescan.files.source", "hivescan.render.services")

PROBE = """
import json, sys
import hivescan.triage.run as run

original = run.run_triage
seen = {}


def spy(*args, **kwargs):
    seen["start"] = [m for m in WATCHED if m in sys.modules]
    return original(*args, **kwargs)


run.run_triage = spy
if __name__ == "__main__":
    from hivescan.cli import main

    sys.argv = ["hivescan", "triage", *sys.argv[1:]]
    try:
        main()
    except SystemExit as exc:
        assert not exc.code, exc.code
    seen["end"] = [m for m in WATCHED if m in sys.modules]
    print(json.dumps(seen), file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["-f", "json"], ["hivescan.events.found", "hivescan.files.source"]),
        (["-f", "json", "--no-evtx"], []),
        ([], list(WATCHED)),
    ],
)
def test_the_end_is_imported_before_the_run(tmp_path: Path, options: list[str], expected: list[str]) -> None:
    from tests.triage.conftest import write_host

    write_host(tmp_path / "in" / "HOST" / "Windows" / "System32" / "config" / "SYSTEM", "HOST")
    script = tmp_path / "probe.py"
    script.write_text(f"WATCHED = {WATCHED!r}\n" + PROBE)
    env = project_env()
    command = [
        sys.executable,
        str(script),
        str(tmp_path / "in"),
        "-o",
        str(tmp_path / "out"),
        "-q",
        "--jobs",
        "2",
    ]  # scans in workers
    done = subprocess.run([*command, *options], capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stderr.strip().splitlines()[-1])
    assert seen == {"start": expected, "end": expected}  # before the run; and only what the end imported
