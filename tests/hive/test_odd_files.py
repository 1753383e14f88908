"""Odd inputs are refused at once, with one line and a documented exit code (issue 11, defect 6).

A FIFO used to block ``hivescan info`` for ever; a 4 GiB sparse file starting with ``regf``
was read whole (twice) although its base block states no hive; a transaction log given as
the hive got "no parser could read the root key" (exit 6). Each case runs the real command
in a child process with a memory cap and a timeout.
"""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
from pathlib import Path

import pytest

from hivescan.errors import ExitCode, NotAHive
from hivescan.hive.header import base_block_checksum
from hivescan.hive.source import TAIL_SLACK, HiveSource
from hivescan.hive.tree import HiveReader
from hivescan.testing.logs import new_format_log
from hivescan.testing.regf import HiveWriter
from tests.conftest import run_capped, shared_hive, system_root


def run_hivescan(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return run_capped("hivescan", *args, timeout=timeout)


def assert_one_line_error(done: subprocess.CompletedProcess[str], code: ExitCode, words: str) -> None:
    assert done.returncode == code, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert words in lines[0]


def built_hive() -> bytes:
    root = system_root()
    root.key("ControlSet001\\Services\\Svc").set_dword("Type", 16).set_dword("Start", 3).set_dword("ErrorControl", 1)
    return HiveWriter(root).build().data


@pytest.mark.parametrize("command", ["info", "services", "scan"])
def test_fifo_is_refused_without_blocking(tmp_path: Path, command: str) -> None:
    fifo = tmp_path / "SYSTEM"
    os.mkfifo(fifo)
    assert_one_line_error(run_hivescan(command, str(fifo)), ExitCode.NOT_FOUND, "is a FIFO")


def test_directory_and_character_device_are_refused(tmp_path: Path) -> None:
    # a directory may be a collected volume (--root layouts); one without a SYSTEM hive is refused
    assert_one_line_error(run_hivescan("info", str(tmp_path)), ExitCode.NOT_FOUND, "a directory without")
    if Path("/dev/zero").exists():  # endless: reading it whole would never finish
        assert_one_line_error(run_hivescan("info", "/dev/zero"), ExitCode.NOT_FOUND, "is a character device")


def test_huge_sparse_file_with_an_invalid_base_block_is_refused_cheaply(tmp_path: Path) -> None:
    path = tmp_path / "SYSTEM"
    with path.open("wb") as fh:
        fh.write(b"regf" + bytes(4092))
        fh.truncate(4 << 30)
    done = run_hivescan("info", str(path), timeout=20)  # and under the 1 GiB address-space cap
    assert_one_line_error(done, ExitCode.DAMAGED, "no usable hive size")


def test_file_far_larger_than_its_hive_is_read_only_as_far_as_the_base_block_says(tmp_path: Path) -> None:
    data = built_hive()
    path = tmp_path / "SYSTEM"
    path.write_bytes(data)
    size = len(data) + TAIL_SLACK + (8 << 20)
    with path.open("r+b") as fh:
        fh.truncate(size)  # sparse: past the hive, zeros
    source = HiveSource.from_file(path)
    assert len(source.data) == len(data) and source.unread_tail == size - len(data)
    assert source.file_path is None  # the bytes are not the whole file: libraries get a copy
    whole = hashlib.sha256(data + bytes(size - len(data))).hexdigest()
    assert source.sha256 == whole
    with HiveReader(source) as reader:
        assert reader.root().subkey("Select") is not None
        assert "hive_file_tail_not_read" in {d.code for d in reader.diagnostics}


def test_a_modest_tail_is_still_read(tmp_path: Path) -> None:
    data = built_hive() + b"\xaa" * 8192  # bytes past the bins (a hive file may hold more)
    path = tmp_path / "SYSTEM"
    path.write_bytes(data)
    source = HiveSource.from_file(path)
    assert source.data == data and source.unread_tail == 0 and source.file_path == path


def as_log(data: bytes, file_type: int) -> bytes:
    block = bytearray(data[:4096])
    struct.pack_into("<I", block, 28, file_type)
    struct.pack_into("<I", block, 508, base_block_checksum(bytes(block)))
    return bytes(block) + data[4096:]


@pytest.mark.parametrize("file_type", [1, 2, 6])
def test_a_transaction_log_given_as_the_hive(tmp_path: Path, file_type: int) -> None:
    path = tmp_path / "SYSTEM.LOG1"
    path.write_bytes(as_log(built_hive(), file_type))
    done = run_hivescan("services", str(path))
    assert_one_line_error(done, ExitCode.NOT_A_HIVE, "a transaction log")
    with pytest.raises(NotAHive, match="transaction log"):  # bytes given straight to the reader too
        HiveReader(HiveSource.from_bytes(path.read_bytes()))


def test_a_short_new_format_log_given_as_the_hive(tmp_path: Path) -> None:
    path = tmp_path / "SYSTEM.LOG2"
    path.write_bytes(new_format_log(built_hive()[:4096], 5, []))  # its base block alone: one sector
    assert_one_line_error(run_hivescan("info", str(path)), ExitCode.NOT_A_HIVE, "a transaction log")


def test_real_windows_10_log_given_as_the_hive() -> None:
    log = shared_hive("win10-dirty-SYSTEM.LOG1")
    assert_one_line_error(run_hivescan("info", str(log)), ExitCode.NOT_A_HIVE, "a transaction log")
