"""hivescan.quickexit: a process ends without the interpreter's teardown, but only after what
that teardown would do that anyone can observe (threads joined, atexit handlers, output flushed),
with the same exit status; anything it cannot do that way takes the normal exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import project_env

ROOT = Path(__file__).resolve().parents[1]

# A program that leaves work for the exit: a non-daemon thread still running, an atexit
# handler, output on stdout not yet flushed (300 kB: more than a pipe holds), and a module-level
# object whose __del__ only the interpreter's teardown would run.
PROGRAM = """
import atexit, sys, threading, time
from pathlib import Path
marks = Path(sys.argv[1])

class Teardown:
    def __del__(self):
        (marks / "teardown").write_text("ran")

keep = Teardown()

def late():
    time.sleep(0.3)
    (marks / "thread").write_text("ran")

threading.Thread(target=late).start()
atexit.register(lambda: (marks / "atexit").write_text("ran"))
sys.stdout.write("x" * int(sys.argv[3]))
from hivescan.quickexit import end_process
end_process(eval(sys.argv[2]))
"""


def run(
    tmp_path: Path, code: str, stdout: int | None = subprocess.PIPE, size: int = 300_000
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    marks = tmp_path / "marks"
    marks.mkdir(exist_ok=True)
    for mark in marks.iterdir():
        mark.unlink()
    script = tmp_path / "program.py"
    script.write_text(PROGRAM)
    env = project_env()
    env.pop("PYTHONUNBUFFERED", None)  # stdout buffered: the exit must flush it
    done = subprocess.run(
        [sys.executable, str(script), str(marks), code, str(size)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        timeout=60,
    )
    return done, {mark.name for mark in marks.iterdir()}


@pytest.mark.parametrize(("code", "status"), [("None", 0), ("0", 0), ("3", 3), ("True", 1), ("259", 3), ("-1", 255)])
def test_threads_atexit_and_output_are_done_and_the_status_kept(tmp_path: Path, code: str, status: int) -> None:
    done, marks = run(tmp_path, code)
    assert done.returncode == status, done.stderr
    assert done.stdout == "x" * 300_000  # flushed, all of it
    assert marks == {"thread", "atexit"}  # the thread joined, the handler ran, no teardown
    assert done.stderr == ""


def test_a_message_takes_the_normal_exit(tmp_path: Path) -> None:
    """``SystemExit("text")``: Python prints the text and exits 1; the teardown runs as usual."""
    done, marks = run(tmp_path, "'stopped: why'")
    assert done.returncode == 1
    assert done.stderr.strip() == "stopped: why"
    assert done.stdout == "x" * 300_000
    assert marks == {"thread", "atexit", "teardown"}


def test_a_failed_flush_takes_the_normal_exit(tmp_path: Path) -> None:
    """stdout on a full device: the normal exit reports it (status 120), as without quickexit."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system (a device whose writes fail)")
    with open("/dev/full", "w") as full:
        done, marks = run(tmp_path, "0", stdout=full.fileno(), size=10)  # buffered: fails at the flush
    assert done.returncode == 120
    assert "No space left on device" in done.stderr
    assert {"thread", "atexit"} <= marks


def test_outside_a_forkserver_nothing_is_armed(tmp_path: Path) -> None:
    """Importing the forkserver's module in an ordinary process changes nothing about its exit."""
    env = project_env()
    program = (
        "import atexit, multiprocessing.forkserver\n"
        "atexit.register(print, 'earlier handler ran')\n"
        "import hivescan.triage.forkserver_exit\n"
        "from hivescan.quickexit import end_forkserver_quickly\n"
        "print(end_forkserver_quickly())\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["False", "earlier handler ran"]


# Loaded by every interpreter started with this folder on the path: an atexit mark and an
# object that only the interpreter's teardown frees.
SITECUSTOMIZE = """
import atexit, builtins, os
from pathlib import Path
marks = Path(os.environ["HIVESCAN_TEST_MARKS"])

class Teardown:
    def __del__(self):
        (marks / "teardown").write_text("ran")

builtins._hivescan_test_keep = Teardown()
atexit.register(lambda: (marks / "atexit").write_text("ran"))
"""

STUB = "import sys\nfrom hivescan.cli import main\nif __name__ == '__main__':\n    sys.exit(main())\n"


@pytest.mark.parametrize("entry", ["-m", "console script", "a program calling main()"])
def test_the_command_ends_quickly_a_program_calling_main_does_not(tmp_path: Path, entry: str) -> None:
    """``python -m hivescan`` and the ``hivescan`` console script skip the teardown (atexit
    handlers still run, the output is whole, the status kept); a program calling ``main()``
    gets its ``SystemExit`` and exits the normal way."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    marks = tmp_path / "marks"
    marks.mkdir()
    (tmp_path / "hivescan").write_text(STUB)
    (tmp_path / "program.py").write_text(STUB)
    command = {
        "-m": [sys.executable, "-m", "hivescan"],
        "console script": [sys.executable, str(tmp_path / "hivescan")],
        "a program calling main()": [sys.executable, str(tmp_path / "program.py")],
    }[entry]
    env = project_env(site, HIVESCAN_TEST_MARKS=str(marks))
    env.pop("PYTHONUNBUFFERED", None)
    demo = ROOT / "fixtures" / "demo-SYSTEM"
    done = subprocess.run([*command, "services", str(demo), "-f", "jsonl"], capture_output=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) > 30 and done.stdout.endswith(b"}\n")
    missing = subprocess.run(
        [*command, "services", str(tmp_path / "nothing")], capture_output=True, env=env, timeout=120
    )
    assert missing.returncode == 3 and missing.stderr.startswith(b"hivescan: error:")
    quick = entry != "a program calling main()"
    assert {mark.name for mark in marks.iterdir()} == ({"atexit"} if quick else {"atexit", "teardown"})


def test_a_profiled_command_writes_its_profile(tmp_path: Path) -> None:
    """``python -m cProfile -o FILE -m hivescan ...``: the normal exit, so the profile is written."""
    env = project_env()
    profile = tmp_path / "run.prof"
    demo = ROOT / "fixtures" / "demo-SYSTEM"
    command = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "hivescan", "info", str(demo), "-f", "json"]
    done = subprocess.run(command, capture_output=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert profile.stat().st_size > 0
