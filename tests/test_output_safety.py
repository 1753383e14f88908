"""``-o`` never costs evidence and never fails as an "internal error" (issue 11 defects 3, 4).

Every writing command is run with ``-o`` aimed at its own input, the input's transaction
log, a file that looks like a hive or a disk image, an existing file (with and without
``--force``), a missing folder, a folder and an unwritable place. The evidence must come
out byte for byte unchanged, the exit code must be 9 with one line on stderr.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hivescan.cli import app
from hivescan.errors import ExitCode, OutputRefused
from hivescan.render.output import atomic_path, atomic_text, check_output
from hivescan.testing.regf import HiveWriter, WKey

runner = CliRunner()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def case(tmp_path: Path) -> Path:
    """A case folder: SYSTEM with a .LOG1 beside it, and a saved findings file."""
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1)
    svc = root.key("ControlSet001\\Services\\PSEXESVC")
    svc.set_dword("Type", 0x10).set_dword("Start", 3).set_dword("ErrorControl", 1)
    svc.set_expand_sz("ImagePath", "%SystemRoot%\\PSEXESVC.exe")
    folder = tmp_path / "case"
    folder.mkdir()
    hive = folder / "SYSTEM"
    hive.write_bytes(HiveWriter(root).build().data)
    (folder / "SYSTEM.LOG1").write_bytes(b"regf" + bytes(508) + b"HvLE" + bytes(508))
    return folder


def _commands(case: Path) -> dict[str, Callable[[Path], list[str]]]:
    """Each writing command, given where -o points."""
    hive = str(case / "SYSTEM")
    return {
        "services csv": lambda out: ["services", hive, "-f", "csv", "-o", str(out), "-q"],
        "services parquet": lambda out: ["services", hive, "-f", "parquet", "-o", str(out), "-q"],
        "services table": lambda out: ["services", hive, "-o", str(out), "-q"],
        "boot-plan": lambda out: ["boot-plan", hive, "-f", "csv", "-o", str(out), "-q"],
        "scan html": lambda out: ["scan", hive, "-f", "html", "-o", str(out), "-q"],
        "scan jsonl": lambda out: ["scan", hive, "-f", "jsonl", "-o", str(out), "-q"],
        "history": lambda out: ["history", hive, "-o", str(out), "-q"],
        "diff": lambda out: ["diff", hive, hive, "-f", "csv", "-o", str(out), "-q"],
        "baseline build": lambda out: ["baseline", "build", hive, "-o", str(out), "-q"],
        "timeline": lambda out: ["timeline", hive, "-f", "csv", "-o", str(out), "-q"],
    }


COMMANDS = [
    "services csv",
    "services parquet",
    "services table",
    "boot-plan",
    "scan html",
    "scan jsonl",
    "history",
    "diff",
    "baseline build",
    "timeline",
]


def _refused(result: object) -> str:
    assert result.exit_code == ExitCode.OUTPUT, (result.exit_code, result.stderr)  # type: ignore[attr-defined]
    err: str = result.stderr  # type: ignore[attr-defined]
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("target", ["SYSTEM", "SYSTEM.LOG1"])
@pytest.mark.parametrize("force", [False, True])
def test_never_writes_onto_its_input_or_its_logs(case: Path, command: str, target: str, force: bool) -> None:
    before = {p.name: _digest(p) for p in case.iterdir()}
    args = _commands(case)[command](case / target) + (["--force"] if force else [])
    err = _refused(runner.invoke(app, args))
    assert "evidence is never overwritten" in err
    assert {p.name: _digest(p) for p in case.iterdir()} == before
    assert not [p for p in case.iterdir() if p.name.endswith(".tmp")]


def test_a_link_to_the_input_is_the_input(case: Path, tmp_path: Path) -> None:
    link = tmp_path / "looks-harmless.csv"
    link.symlink_to(case / "SYSTEM")
    hard = tmp_path / "also-harmless.csv"
    os.link(case / "SYSTEM", hard)
    digest = _digest(case / "SYSTEM")
    for out in (link, hard):
        _refused(runner.invoke(app, ["services", str(case / "SYSTEM"), "-f", "csv", "-o", str(out), "--force"]))
    assert _digest(case / "SYSTEM") == digest


EVIDENCE = {
    "other-hive": b"regf" + bytes(4092),
    "image.E01": b"EVF\x09\x0d\x0a\xff\x00" + bytes(100),
    "disk.vhdx": b"vhdxfile" + bytes(100),
    "disk.vmdk": b"KDMV" + bytes(100),
    "disk.qcow2": b"QFI\xfb" + bytes(100),
    "fixed.vhd": bytes(1024) + b"conectix" + bytes(504),
    "Security.evtx": b"ElfFile\x00" + bytes(100),
}


@pytest.mark.parametrize("name", sorted(EVIDENCE))
def test_never_overwrites_what_looks_like_evidence_even_with_force(case: Path, tmp_path: Path, name: str) -> None:
    other = tmp_path / name
    other.write_bytes(EVIDENCE[name])
    err = _refused(runner.invoke(app, ["scan", str(case / "SYSTEM"), "-f", "html", "-o", str(other), "--force", "-q"]))
    assert "looks like" in err
    assert other.read_bytes() == EVIDENCE[name]


@pytest.mark.parametrize("command", COMMANDS)
def test_existing_file_needs_force_and_is_then_replaced_whole(case: Path, tmp_path: Path, command: str) -> None:
    out = tmp_path / "previous-output"
    out.write_text("an analyst's earlier notes\n")
    err = _refused(runner.invoke(app, _commands(case)[command](out)))
    assert "--force" in err and out.read_text() == "an analyst's earlier notes\n"
    result = runner.invoke(app, [*_commands(case)[command](out), "--force"])
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() != b"an analyst's earlier notes\n" and out.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_missing_folder_and_folder_are_output_errors(case: Path, tmp_path: Path, command: str) -> None:
    err = _refused(runner.invoke(app, _commands(case)[command](tmp_path / "no" / "such" / "out")))
    assert "does not exist" in err
    err = _refused(runner.invoke(app, _commands(case)[command](tmp_path)))
    assert "is a folder" in err


def test_unwritable_place_is_an_output_error(case: Path) -> None:
    target = Path("/sys/hivescan-output-test.csv")
    if not Path("/sys").is_dir():
        pytest.skip("no /sys here (a file system that refuses new files even to root)")
    err = _refused(runner.invoke(app, ["services", str(case / "SYSTEM"), "-f", "csv", "-o", str(target)]))
    assert "cannot write" in err or "not writable" in err


def test_explain_and_demo(case: Path, tmp_path: Path) -> None:
    saved = tmp_path / "f.jsonl"
    assert runner.invoke(app, ["scan", str(case / "SYSTEM"), "-f", "jsonl", "-o", str(saved), "-q"]).exit_code == 0
    digest = _digest(saved)
    _refused(runner.invoke(app, ["explain", str(saved), "-o", str(saved), "--force"]))
    assert _digest(saved) == digest
    _refused(runner.invoke(app, ["demo", "-q", "-o", str(saved)]))
    assert runner.invoke(app, ["demo", "-q", "-f", "csv", "-o", str(saved), "--force"]).exit_code == 0
    assert _digest(saved) != digest


def test_triage_output_folder(case: Path, tmp_path: Path) -> None:
    before = {p.name: _digest(p) for p in case.iterdir()}
    for extra in ([], ["--force"]):  # the input folder itself: never
        _refused(runner.invoke(app, ["triage", str(case), "-o", str(case), "-j", "1", "-q", *extra]))
    other_evidence = tmp_path / "evidence"
    other_evidence.mkdir()
    (other_evidence / "notes.txt").write_text("x")
    err = _refused(runner.invoke(app, ["triage", str(case), "-o", str(other_evidence), "-j", "1", "-q"]))
    assert "--force" in err
    assert {p.name: _digest(p) for p in case.iterdir()} == before
    out = tmp_path / "out"
    assert runner.invoke(app, ["triage", str(case), "-o", str(out), "-j", "1", "-q"]).exit_code == 0
    # a rerun into its own earlier output resumes without --force
    assert runner.invoke(app, ["triage", str(case), "-o", str(out), "-j", "1", "-q"]).exit_code == 0


# ---------------------------------------------------------------- the writer itself


def test_atomic_write_leaves_nothing_on_error(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    out.write_text("old")
    with pytest.raises(RuntimeError), atomic_text(out) as fh:
        fh.write("half a report")
        raise RuntimeError("renderer failed")
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    with atomic_text(out) as fh:
        fh.write("new")
    assert out.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_atomic_path_maps_os_errors_to_one_line(tmp_path: Path) -> None:
    with pytest.raises(OutputRefused, match="cannot write"), atomic_path(tmp_path / "missing" / "x.parquet"):
        pass


def test_check_output_accepts_a_new_file(tmp_path: Path) -> None:
    check_output(tmp_path / "new.csv", inputs=[tmp_path / "SYSTEM"])  # no error


def test_log_of_any_case_is_refused(tmp_path: Path) -> None:
    hive = tmp_path / "SYSTEM"
    hive.write_bytes(b"x")
    log = tmp_path / "system.log2"
    log.write_bytes(b"not yet a log")
    with pytest.raises(OutputRefused, match="transaction log"):
        check_output(log, inputs=[hive], force=True)


def test_no_output_is_named_like_a_log_of_an_input(case: Path) -> None:
    """A report named SYSTEM.LOG2 beside SYSTEM would be replayed as its log by the next run."""
    err = _refused(runner.invoke(app, ["scan", str(case / "SYSTEM"), "-f", "html", "-o", str(case / "system.LOG2")]))
    assert "transaction log" in err
    assert not (case / "system.LOG2").exists()


# ---------------------------------------------------------------- a standing check


def test_renderers_and_commands_write_only_through_the_safe_helpers() -> None:
    """A new renderer that builds a rich Table/Console itself would read hive strings as
    markup again; one that opens its output itself would skip the evidence check and the
    temporary file. Only render/safe.py and render/output.py may."""
    import re

    import hivescan

    package = Path(hivescan.__file__).parent
    patterns = {
        r"\bTable\(|Table\.grid\(": {"render/safe.py"},
        r"\bConsole\(": {"render/safe.py"},
        r"\.open\(\s*[\"']w|write_text\(|write_bytes\(": {"render/output.py"},
    }
    offenders = []
    for path in sorted([*package.glob("render/*.py"), *package.glob("cli/*.py")]):
        name = path.relative_to(package).as_posix()
        source = path.read_text(encoding="utf-8")
        for pattern, allowed in patterns.items():
            for match in re.finditer(pattern, source):
                line = source[: match.start()].count("\n") + 1
                text = source.splitlines()[line - 1]
                if name in allowed or "Console(stderr=True)" in text:  # the triage progress bar: no data
                    continue
                offenders.append(f"{name}:{line}: {text.strip()}")
        for match in re.finditer(r"to_parquet\((\w+)", source):
            if match.group(1) != "tmp":
                offenders.append(f"{name}: to_parquet({match.group(1)}...) not through atomic_path")
    assert offenders == []


def test_streams_are_written_in_place_and_disks_refused(case: Path, tmp_path: Path) -> None:
    """`-o /dev/null` must not need --force nor replace the device; a named pipe is written
    into; a symlink to an earlier output keeps being a symlink."""
    import stat
    import threading

    hive = str(case / "SYSTEM")
    assert runner.invoke(app, ["services", hive, "-f", "csv", "-o", "/dev/null", "-q"]).exit_code == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = runner.invoke(app, ["services", hive, "-f", "csv", "-o", str(fifo), "-q"])
    reader.join(timeout=60)
    assert result.exit_code == 0, result.stderr
    assert b"PSEXESVC" in received[0] and stat.S_ISFIFO(os.stat(fifo).st_mode)
    target = tmp_path / "real.csv"
    target.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert runner.invoke(app, ["services", hive, "-f", "csv", "-o", str(link), "-q", "--force"]).exit_code == 0
    assert link.is_symlink() and "PSEXESVC" in target.read_text()
    disks = [p for p in (Path("/dev/loop0"), Path("/dev/sda"), Path("/dev/vda")) if p.exists()]
    if disks and stat.S_ISBLK(os.stat(disks[0]).st_mode):
        err = _refused(runner.invoke(app, ["services", hive, "-f", "csv", "-o", str(disks[0]), "--force"]))
        assert "block device" in err


@pytest.mark.parametrize("command", COMMANDS)
def test_a_full_device_is_an_output_error_and_stays_a_device(case: Path, tmp_path: Path, command: str) -> None:
    """`-o` onto a full character device (Linux's /dev/full: written in place, like a disk
    that is full) exited 70, "a bug in hivescan"; and Parquet output deleted the device node
    (pyarrow removes the path it was given when a write fails). ENOSPC is exit 9, one line,
    and the device is left as it was. A private node is used: never the system's."""
    import stat

    full = tmp_path / "full"
    try:
        os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except (PermissionError, AttributeError, OSError) as exc:
        pytest.skip(f"cannot create a character device here ({exc}): needs root on Linux")
    err = _refused(runner.invoke(app, _commands(case)[command](full)))
    assert "no space left" in err
    assert stat.S_ISCHR(os.stat(full).st_mode), "the device node was removed"


def test_sigterm_while_writing_leaves_no_partial_file(tmp_path: Path) -> None:
    """SIGTERM killed the process on the spot and left `.NAME.PID-RANDOM.tmp` beside the
    target, holding part of the output (seen with `services -f csv -o` killed after 1 s). The
    CLI's entry point makes it unwind instead: the temporary file is removed, exit 143."""
    import signal
    import subprocess
    import sys

    target = tmp_path / "out.csv"
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from hivescan.cli.common import exit_cleanly_on_termination\n"
        "from hivescan.render.output import atomic_text\n"
        "exit_cleanly_on_termination()\n"
        f"with atomic_text(Path({str(target)!r})) as fh:\n"
        "    fh.write('half of it\\n'); fh.flush()\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    signal.pause()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert list(tmp_path.iterdir()) == [], list(tmp_path.iterdir())
    assert done.stderr.strip() == "hivescan: terminated (SIGTERM)"


def test_a_folder_that_refuses_files_is_not_called_missing(case: Path) -> None:
    """`-o /proc/out.csv` said "cannot write: no such folder", though /proc is there."""
    if not Path("/proc/self").is_dir():
        pytest.skip("no /proc here (Linux's process file system refuses new files)")
    err = _refused(runner.invoke(app, ["services", str(case / "SYSTEM"), "-f", "csv", "-o", "/proc/out.csv"]))
    assert "no such folder" not in err and "does not accept new files" in err
