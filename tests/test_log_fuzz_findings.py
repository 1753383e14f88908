"""Defects the log fuzzer found (hivescan.testing.fuzz_logs), each on a built dirty hive.

Every valid log entry the replay leaves out must be named by sequence number in a warning
(issue 11, defect 5). Three paths left entries out unnamed: the replay stopping at an entry
whose hive-bins size the logs cannot fill (the entries after it), and a log the kernel would
not use -- its base block invalid, or its file type garbled -- whose entries pass their hashes.
"""

from __future__ import annotations

import struct
from pathlib import Path

import hivescan
from hivescan.hive.header import BASE_BLOCK_SIZE, parse_base_block
from hivescan.hive.marvin import marvin32
from hivescan.testing.fuzz_check import unwarned_entries
from hivescan.testing.fuzz_logs import DirtySeed, built_dirty_seeds
from hivescan.testing.logs import SECTOR, split_log, stamp_guids


def _replay(
    tmp_path: Path, seed: DirtySeed, logs: dict[str, bytes]
) -> tuple[list[tuple[str, str, str, str]], list[int]]:
    (tmp_path / "SYSTEM").write_bytes(seed.primary)
    for suffix, data in logs.items():
        (tmp_path / ("SYSTEM" + suffix)).write_bytes(data)
    paths = [str(tmp_path / ("SYSTEM" + s)) for s in logs]
    with hivescan.open_hive(tmp_path / "SYSTEM", logs=paths) as hive:
        diags = [(d.code, d.level, d.field, d.message) for d in hive.info().diagnostics]
        applied = [e.sequence for e in hive.log_replay.applied] if hive.log_replay is not None else []
    return diags, applied


def _unwarned(
    seed: DirtySeed, logs: dict[str, bytes], diags: list[tuple[str, str, str, str]], applied: list[int]
) -> list[str]:
    base = parse_base_block(seed.primary[:BASE_BLOCK_SIZE])
    return unwarned_entries(logs, applied, base.secondary_sequence, base.dirty, diags)


def _seed() -> DirtySeed:
    seed = built_dirty_seeds()[0]  # entries 200-201 in LOG1, 202-203 in LOG2
    assert [struct.unpack_from("<I", e, 12)[0] for e in split_log(seed.logs[".LOG2"])[1]] == [202, 203]
    return seed


def test_entry_the_logs_cannot_fill_names_the_entries_after_it(tmp_path: Path) -> None:
    seed = _seed()
    base, entries = split_log(seed.logs[".LOG1"])
    raw = bytearray(entries[1])
    struct.pack_into("<I", raw, 16, 0x10000000)  # hive bins size: 256 MiB, valid hashes
    struct.pack_into("<Q", raw, 24, marvin32(bytes(raw[40:])))
    struct.pack_into("<Q", raw, 32, marvin32(bytes(raw[:32])))
    logs = {".LOG1": base + entries[0] + bytes(raw), ".LOG2": seed.logs[".LOG2"]}
    diags, applied = _replay(tmp_path, seed, logs)
    assert applied == [200]
    corrupt = [m for code, level, _, m in diags if code == "log_entry_corrupt" and level == "warning"]
    assert corrupt and "202-203" in corrupt[0], corrupt
    assert _unwarned(seed, logs, diags, applied) == []


def test_log_with_an_invalid_base_block_names_its_valid_entries(tmp_path: Path) -> None:
    seed = _seed()
    log2 = bytearray(seed.logs[".LOG2"])
    log2[508] ^= 0xFF  # the base block checksum
    logs = {".LOG1": seed.logs[".LOG1"], ".LOG2": bytes(log2)}
    diags, applied = _replay(tmp_path, seed, logs)
    assert applied == [200, 201]
    invalid = [m for code, _, _, m in diags if code == "log_base_block_invalid"]
    assert invalid and "(sequence 202-203) are not applied" in invalid[0], invalid
    assert _unwarned(seed, logs, diags, applied) == []


def test_log_with_a_garbled_file_type_names_its_valid_entries(tmp_path: Path) -> None:
    seed = _seed()
    log2 = bytearray(seed.logs[".LOG2"])
    struct.pack_into("<I", log2, 28, 95)  # file type: neither primary nor log
    logs = {".LOG1": seed.logs[".LOG1"], ".LOG2": bytes(log2)}
    diags, applied = _replay(tmp_path, seed, logs)
    not_a_log = [m for code, _, _, m in diags if code == "log_not_a_log"]
    assert not_a_log and "file type 95" in not_a_log[0] and "(sequence 202-203) are not applied" in not_a_log[0], (
        not_a_log
    )
    assert _unwarned(seed, logs, diags, applied) == []


def test_foreign_log_names_its_valid_entries(tmp_path: Path) -> None:
    """Another hive's log (its GUIDs differ) is not used; an attacker can make a log foreign by
    changing its GUIDs, so its entries are named."""
    seed = _seed()
    log2 = stamp_guids(seed.logs[".LOG2"][:SECTOR], "another hive") + seed.logs[".LOG2"][SECTOR:]
    logs = {".LOG1": seed.logs[".LOG1"], ".LOG2": log2}
    diags, applied = _replay(tmp_path, seed, logs)
    assert applied == [200, 201]
    foreign = [m for code, _, _, m in diags if code == "log_foreign"]
    assert foreign and "(sequence 202-203) are not applied" in foreign[0], foreign
    assert _unwarned(seed, logs, diags, applied) == []


def test_unused_log_names_entries_whose_hashes_pass_even_with_pages_out_of_bounds(tmp_path: Path) -> None:
    seed = _seed()
    base, entries = split_log(seed.logs[".LOG2"])
    raw = bytearray(entries[1])
    struct.pack_into("<I", raw, 40, 0x7FFFF000)  # first page reference: far past the hive bins
    struct.pack_into("<Q", raw, 24, marvin32(bytes(raw[40:])))
    struct.pack_into("<Q", raw, 32, marvin32(bytes(raw[:32])))
    log2 = bytearray(base + entries[0] + bytes(raw))
    log2[508] ^= 0xFF  # and the base block checksum is wrong: the log is not used
    logs = {".LOG1": seed.logs[".LOG1"], ".LOG2": bytes(log2)}
    diags, applied = _replay(tmp_path, seed, logs)
    invalid = [m for code, _, _, m in diags if code == "log_base_block_invalid"]
    assert invalid and "(sequence 202-203) are not applied" in invalid[0], invalid
    assert _unwarned(seed, logs, diags, applied) == []
