"""Transaction-log parsing and replay (hivescan.hive.logs) on logs the fixture writer makes.

Both formats, the kernel's ordering and stopping rules, and every way a log can be unusable.
A correct replay must give back the writer's last state byte for byte.
"""

from __future__ import annotations

import copy
import hashlib
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hivescan.hive.logs import LogFile, PageRef, discover_logs, parse_log, read_log, replay
from hivescan.testing.logs import (
    DirtyHive,
    hive_bins_size,
    hvle_entry,
    make_dirty,
    new_format_log,
    renumber_entry,
    split_log,
    with_base_fields,
)
from hivescan.testing.regf import HiveWriter, WKey


def _tree(services: int = 24) -> WKey:
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1)
    for i in range(services):
        svc = root.key(f"ControlSet001\\Services\\Svc{i:02d}")
        svc.set_dword("Type", 0x10).set_dword("Start", 3).set_dword("ErrorControl", 1)
        svc.set_expand_sz("ImagePath", f"C:\\Program Files\\Vendor{i}\\" + "x" * 150 + ".exe")
    return root


def _states() -> list[bytes]:
    """Four states: the primary, +Evil, Svc03 hijacked, +Second (the hive grows)."""
    trees = [_tree()]
    t = copy.deepcopy(trees[-1])
    t.key("ControlSet001\\Services\\Evil").set_dword("Type", 0x10).set_dword("Start", 2).set_dword(
        "ErrorControl", 0
    ).set_expand_sz("ImagePath", "C:\\ProgramData\\evil.exe")
    trees.append(t)
    t = copy.deepcopy(trees[-1])
    t.key("ControlSet001\\Services\\Svc03").set_expand_sz("ImagePath", "C:\\Users\\Public\\hijack.exe")
    trees.append(t)
    t = copy.deepcopy(trees[-1])
    for i in range(40):
        t.key(f"ControlSet001\\Services\\Second{i:02d}").set_dword("Type", 1).set_binary("Blob", bytes(300))
    trees.append(t)
    return [HiveWriter(tree).build().data for tree in trees]


STATES = _states()


def _logs(dirty: DirtyHive, names: dict[str, str] | None = None) -> list[LogFile]:
    names = names or {}
    return [parse_log(data, "SYSTEM" + names.get(suffix, suffix)) for suffix, data in dirty.logs.items()]


def _codes(result: object) -> list[str]:
    return [d.code for d in result.diagnostics]  # type: ignore[attr-defined]


def _hbins(image: bytes) -> bytes:
    return image[4096 : 4096 + hive_bins_size(image)]


# ---------------------------------------------------------------- correct replays


@pytest.mark.parametrize("split", [None, 1, 2])
def test_new_format_replay_gives_the_last_state(split: int | None) -> None:
    dirty = make_dirty(STATES, fmt="new", sequence=100, split=split)
    result = replay(dirty.primary, _logs(dirty))
    assert [e.sequence for e in result.applied] == [100, 101, 102]
    assert result.image == dirty.replayed
    assert result.sequence == 102
    assert len(STATES[-1]) > len(STATES[0]) and len(result.image) == len(STATES[-1])  # grown
    assert result.rejected == ()
    assert "log_replayed" in _codes(result)


def test_old_format_replay_gives_the_last_state() -> None:
    dirty = make_dirty(STATES, fmt="old", sequence=7)
    logs = _logs(dirty)
    assert logs[0].format == "old" and len(logs[0].entries) == 1
    result = replay(dirty.primary, logs)
    assert result.format == "old"
    assert result.image == dirty.replayed
    assert result.sequence == 8


def test_entries_are_ordered_by_sequence_number_not_file_name() -> None:
    """regipy applies .LOG2 before .LOG1 whatever they hold; the kernel orders by number."""
    dirty = make_dirty(STATES, fmt="new", sequence=100, split=2)
    swapped = _logs(dirty, {".LOG1": ".LOG2", ".LOG2": ".LOG1"})  # the later entries now in "LOG1"
    for logs in (swapped, list(reversed(swapped))):
        result = replay(dirty.primary, logs)
        assert [e.sequence for e in result.applied] == [100, 101, 102]
        assert result.image == dirty.replayed


def test_stop_after_gives_the_intermediate_state() -> None:
    dirty = make_dirty(STATES, fmt="new", sequence=100, split=1)
    for number, state in ((100, STATES[1]), (101, STATES[2])):
        result = replay(dirty.primary, _logs(dirty), stop_after=number)
        assert result.applied[-1].sequence == number
        assert _hbins(result.image or b"") == _hbins(state)


def test_writes_say_which_entry_replaced_which_page() -> None:
    dirty = make_dirty(STATES, fmt="new", sequence=100, split=1)
    result = replay(dirty.primary, _logs(dirty))
    assert {w.sequence for w in result.writes} == {100, 101, 102}
    for write in result.writes:
        log = next(lg for lg in result.logs if lg.path == write.log)
        start = 4096 + write.offset
        page = log.data[write.log_offset : write.log_offset + write.size]
        if write.sequence == 102:  # last writer of these bytes: the image holds exactly them
            assert (result.image or b"")[start : start + write.size] == page
    first = result.writes[0]
    assert result.written(first.offset) and result.written(first.offset + first.size - 1)
    unwritten = [off for off in range(0, hive_bins_size(STATES[0]), 4096) if not result.written(off, 4096)]
    for off in unwritten:
        assert (result.image or b"")[4096 + off : 8192 + off] == dirty.primary[4096 + off : 8192 + off]


def test_partial_reconcile_jump_is_applied() -> None:
    """Entries numbered far above the primary (partial reconcile) apply, with a note."""
    dirty = make_dirty(STATES, fmt="new", sequence=2107, split=1)
    primary = with_base_fields(dirty.primary[:4096], primary_sequence=1622, secondary_sequence=1621)
    result = replay(primary + dirty.primary[4096:], _logs(dirty))
    assert [e.sequence for e in result.applied] == [2107, 2108, 2109]
    assert "log_sequence_jump" in _codes(result)


def test_wrong_primary_checksum_takes_the_base_block_from_a_log() -> None:
    dirty = make_dirty(STATES, fmt="new", sequence=100, split=1)
    primary = bytearray(dirty.primary)
    primary[508] ^= 0xFF
    result = replay(bytes(primary), _logs(dirty))
    assert "log_base_block_recovered" in _codes(result)
    assert _hbins(result.image or b"") == _hbins(dirty.replayed)


# ---------------------------------------------------------------- stopping rules


@pytest.mark.parametrize("which", [1, 2])
def test_corrupt_hash_stops_the_replay(which: int) -> None:
    dirty = make_dirty(STATES, fmt="new", sequence=100, damage=[{"entry": 1, "hash": which}])
    result = replay(dirty.primary, _logs(dirty))
    assert [e.sequence for e in result.applied] == [100]
    assert _hbins(result.image or b"") == _hbins(STATES[1])
    reasons = {r.sequence: r.reason for r in result.rejected}
    assert f"Hash-{which}" in reasons[101]
    assert "not applied" in reasons[102]
    assert "log_entry_corrupt" in _codes(result)


def test_sequence_gap_stops_the_replay() -> None:
    dirty = make_dirty(STATES, fmt="new", sequence=100, split=1, damage=[{"entry": 1, "sequence": 105}])
    result = replay(dirty.primary, _logs(dirty))
    assert [e.sequence for e in result.applied] == [100]
    assert "log_sequence_gap" in _codes(result)
    assert any(r.sequence == 105 and "101" in r.reason for r in result.rejected)


@pytest.mark.parametrize("fmt", ["new", "old"])
def test_truncated_log(fmt: str) -> None:
    dirty = make_dirty(STATES, fmt=fmt, sequence=100, damage=[{"entry": 1, "truncate": True}])
    result = replay(dirty.primary, _logs(dirty))
    assert "log_truncated" in _codes(result)
    if fmt == "new":
        assert [e.sequence for e in result.applied] == [100]
    else:
        assert result.image is None and "log_nothing_applied" in _codes(result)


def test_stale_log_is_skipped_and_the_current_one_applied() -> None:
    dirty = make_dirty(STATES[:3], fmt="new", sequence=100, split=2)
    pages = [(0, STATES[0][4096:8192])]
    stale = new_format_log(STATES[0][:4096], 90, [hvle_entry(90, hive_bins_size(STATES[0]), pages)])
    logs = [parse_log(stale, "SYSTEM.LOG2"), parse_log(dirty.logs[".LOG1"], "SYSTEM.LOG1")]
    result = replay(dirty.primary, logs)
    assert [e.sequence for e in result.applied] == [100, 101]
    assert any(r.sequence == 90 and r.reason.startswith("stale") for r in result.rejected)
    assert {i.path: i.status for i in result.log_infos()}["SYSTEM.LOG2"] == "stale"
    assert "log_stale" in _codes(result)


def test_all_entries_stale_means_nothing_applied() -> None:
    dirty = make_dirty(STATES, fmt="new", sequence=100)
    primary = with_base_fields(dirty.primary[:4096], primary_sequence=201, secondary_sequence=200)
    result = replay(primary + dirty.primary[4096:], _logs(dirty))
    assert result.image is None
    assert {"log_stale", "log_nothing_applied"} <= set(_codes(result))


def test_old_format_log_older_than_the_primary_is_stale() -> None:
    dirty = make_dirty(STATES, fmt="old", sequence=7)
    stamp = struct.unpack_from("<Q", dirty.primary, 12)[0]
    primary = with_base_fields(dirty.primary[:4096], last_written=stamp + 10_000_000) + dirty.primary[4096:]
    result = replay(primary, _logs(dirty))
    assert result.image is None
    assert "log_stale" in _codes(result)


def test_old_format_invalid_hive_bin_stops_at_that_bin() -> None:
    dirty = make_dirty(STATES, fmt="old", sequence=7)
    log = parse_log(dirty.logs[".LOG1"], "SYSTEM.LOG1")
    data = bytearray(dirty.logs[".LOG1"])
    bin_starts = [  # (hive-bins offset, log offset) of each hive-bin header the log rewrites
        (run.offset + k, run.log_offset + k)
        for run in log.entries[0].pages
        for k in range(0, run.size, 512)
        if (run.offset + k) % 4096 == 0 and data[run.log_offset + k : run.log_offset + k + 4] == b"hbin"
    ]
    target, at = bin_starts[len(bin_starts) // 2]
    assert target > 0
    data[at : at + 4] = b"XXXX"
    result = replay(dirty.primary, [parse_log(bytes(data), "SYSTEM.LOG1")])
    assert "log_hbin_invalid" in _codes(result)
    assert result.writes and all(w.offset + w.size <= target for w in result.writes)


def test_growth_beyond_what_the_logs_hold_is_refused() -> None:
    """A hash-correct entry claiming a 2 GiB hive must not make hivescan allocate it."""
    pages = [(0, STATES[0][4096:8192])]
    log = new_format_log(STATES[0][:4096], 100, [hvle_entry(100, 0x7FFFF000, pages)])
    dirty = make_dirty(STATES[:2], fmt="new", sequence=100)
    result = replay(dirty.primary, [parse_log(log, "SYSTEM.LOG1")])
    assert result.image is None
    assert "log_entry_corrupt" in _codes(result)


# ---------------------------------------------------------------- unusable logs


def test_foreign_log_by_guid() -> None:
    ours = make_dirty(STATES, fmt="new", sequence=100, guid_seed="this machine")
    theirs = make_dirty(STATES, fmt="new", sequence=100, guid_seed="another machine")
    result = replay(ours.primary, _logs(theirs))
    assert result.image is None
    assert "log_foreign" in _codes(result)
    assert all("foreign" in r.reason for r in result.rejected)


def test_foreign_log_by_file_name_without_guids() -> None:
    dirty = make_dirty(STATES, fmt="new", sequence=100, guid_seed=None)
    log = bytearray(dirty.logs[".LOG1"])
    log[48:60] = "SOFTWARE".encode("utf-16-le")[:12]
    log = bytearray(with_base_fields(bytes(log[:512])) + bytes(log[512:]))
    result = replay(dirty.primary, [parse_log(bytes(log), "SYSTEM.LOG1")])
    assert "log_foreign" in _codes(result) and result.image is None


def test_log_base_block_invalid() -> None:
    dirty = make_dirty(STATES, fmt="new", sequence=100)
    bad_checksum = bytearray(dirty.logs[".LOG1"])
    bad_checksum[508] ^= 1
    in_flight = with_base_fields(dirty.logs[".LOG1"][:512], primary_sequence=101) + dirty.logs[".LOG1"][512:]
    for data in (bytes(bad_checksum), in_flight):
        log = parse_log(data, "SYSTEM.LOG1")
        assert not log.usable
        assert [d.code for d in log.diagnostics] == ["log_base_block_invalid"]


def test_not_a_log() -> None:
    for data in (b"", b"regf", b"\0" * 4096, STATES[0]):
        log = parse_log(data, "SYSTEM.LOG1")
        assert not log.usable and [d.code for d in log.diagnostics] == ["log_not_a_log"]


def test_unreadable_log(tmp_path: Path) -> None:
    log = read_log(tmp_path / "missing.LOG1")
    assert [d.code for d in log.diagnostics] == ["log_unreadable"] and not log.usable


def test_clean_hive_ignores_newer_log_entries() -> None:
    dirty = make_dirty(STATES, fmt="new", sequence=100)
    clean = with_base_fields(dirty.primary[:4096], primary_sequence=99, secondary_sequence=99) + dirty.primary[4096:]
    result = replay(clean, _logs(dirty))
    assert not result.primary_dirty and result.image is None
    ignored = _diag(result, "log_entries_ignored")
    assert ignored.level == "warning" and "(100-102)" in ignored.message
    assert {i.status for i in result.log_infos()} == {"not needed (hive clean)"}


def _diag(result: object, code: str) -> object:
    return next(d for d in result.diagnostics if d.code == code)  # type: ignore[attr-defined]


def test_older_entries_after_the_log_are_remnants_listed_not_applied() -> None:
    """Contiguous (walked) and past-the-end (found at a sector boundary) older entries."""
    dirty = make_dirty(STATES, fmt="new", sequence=100)
    old = hvle_entry(40, hive_bins_size(STATES[0]), [(0, STATES[0][4096:8192])])
    older = hvle_entry(39, hive_bins_size(STATES[0]), [(0, STATES[0][4096:8192])])
    log = parse_log(dirty.logs[".LOG1"] + old + bytes(1024) + older, "SYSTEM.LOG1")
    assert [e.sequence for e in log.remnants] == [40, 39]
    result = replay(dirty.primary, [log])
    assert [e.sequence for e in result.applied] == [100, 101, 102]
    note = _diag(result, "log_remnant_entries")
    assert note.level == "info" and "39-40" in note.message and "previous states" in note.message
    assert "log_entries_not_applied" not in _codes(result)
    assert {i.path: i.remnant_sequences for i in result.log_infos()} == {"SYSTEM.LOG1": "39-40"}


def test_valid_entry_past_the_end_numbered_after_the_applied_ones_is_a_warning() -> None:
    dirty = make_dirty(STATES[:3], fmt="new", sequence=100)
    later = split_log(make_dirty(STATES, fmt="new", sequence=100).logs[".LOG1"])[1][2]
    log = parse_log(dirty.logs[".LOG1"] + bytes(512) + later, "SYSTEM.LOG1")
    result = replay(dirty.primary, [log])
    assert [e.sequence for e in result.applied] == [100, 101]
    warn = _diag(result, "log_entries_not_applied")
    assert warn.level == "warning" and "(102)" in warn.message
    assert any(r.sequence == 102 and r.reason.startswith("not applied") for r in result.rejected)


def test_renumbered_entry_inside_one_log_is_a_gap_like_between_logs() -> None:
    """Issue 11 defect 5: the rest of the log was kept as 'older data' (an info) though numbered higher."""
    dirty = make_dirty(STATES, fmt="new", sequence=100, damage=[{"entry": 1, "sequence": 105}])
    result = replay(dirty.primary, _logs(dirty)[:1])
    assert [e.sequence for e in result.applied] == [100]
    gap = _diag(result, "log_sequence_gap")
    assert gap.level == "warning" and "(102, 105)" in gap.message
    assert "log_remnant_entries" not in _codes(result)
    assert {r.sequence for r in result.rejected} == {102, 105}


def test_duplicate_number_inside_one_log_is_named() -> None:
    dirty = make_dirty(STATES, fmt="new", sequence=100, damage=[{"entry": 2, "sequence": 101}])
    result = replay(dirty.primary, _logs(dirty)[:1])
    assert [e.sequence for e in result.applied] == [100, 101]
    assert _diag(result, "log_sequence_duplicate").level == "warning"
    assert [r.sequence for r in result.rejected] == [101]


def test_entries_in_reverse_file_order_are_applied_by_number() -> None:
    dirty = make_dirty(STATES, fmt="new", sequence=100, split=1)
    base, entries = split_log(dirty.logs[".LOG2"])
    reversed_log = parse_log(base + b"".join(reversed(entries)), "SYSTEM.LOG2")
    result = replay(dirty.primary, [parse_log(dirty.logs[".LOG1"], "SYSTEM.LOG1"), reversed_log])
    assert [e.sequence for e in result.applied] == [100, 101, 102]
    assert result.image == dirty.replayed
    assert [d.code for d in result.diagnostics if d.level == "warning"] == ["log_replayed"]


@pytest.mark.parametrize("base_sequence", [90, 150])
def test_log_base_block_sequence_out_of_step(base_sequence: int) -> None:
    """A stale (lower) number does not hide the entries; a higher one hides them, with a warning."""
    dirty = make_dirty(STATES, fmt="new", sequence=100, split=1)
    log2 = dirty.logs[".LOG2"]
    log2 = with_base_fields(log2[:512], primary_sequence=base_sequence, secondary_sequence=base_sequence) + log2[512:]
    result = replay(dirty.primary, [parse_log(dirty.logs[".LOG1"], "SYSTEM.LOG1"), parse_log(log2, "SYSTEM.LOG2")])
    if base_sequence == 90:
        assert [e.sequence for e in result.applied] == [100, 101, 102] and result.image == dirty.replayed
    else:
        assert [e.sequence for e in result.applied] == [100]
        assert "(101-102)" in _diag(result, "log_entries_not_applied").message


def test_only_log2_present_warns_that_log1_is_absent() -> None:
    dirty = make_dirty(STATES, fmt="new", sequence=100, split=1)
    result = replay(dirty.primary, [parse_log(dirty.logs[".LOG2"], "SYSTEM.LOG2")])
    assert [e.sequence for e in result.applied] == [101, 102]
    assert "LOG1 is absent" in _diag(result, "log_pair_missing").message
    jump = _diag(result, "log_sequence_jump").message
    assert "absent LOG1" in jump and "100-100" in jump


def test_discovery_ignores_case(tmp_path: Path) -> None:
    hive = tmp_path / "system"
    hive.write_bytes(b"")
    for name in ("System.Log", "SYSTEM.log2", "system.LOG1", "SYSTEM.LOG3", "other.LOG1"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in discover_logs(hive)] == ["system.LOG1", "SYSTEM.log2", "System.Log"]


# ---------------------------------------------------------------- fuzzing


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_random_bytes_never_raise(data: bytes) -> None:
    for blob in (data, b"regf" + data, STATES[0][:512] + data):
        log = parse_log(blob, "x.LOG1")
        replay(STATES[0], [log])
        replay(blob, [log])


VALID = make_dirty(STATES, fmt="new", sequence=100, split=1)
VALID_OLD = make_dirty(STATES, fmt="old", sequence=7)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.sampled_from([VALID.logs[".LOG1"], VALID.logs[".LOG2"], VALID_OLD.logs[".LOG1"]]),
    cut=st.integers(min_value=0, max_value=40_000),
    flips=st.lists(st.tuples(st.integers(min_value=0, max_value=40_000), st.integers(1, 255)), max_size=6),
)
def test_truncated_and_mutated_logs_never_raise(which: bytes, cut: int, flips: list[tuple[int, int]]) -> None:
    data = bytearray(which[:cut])
    for pos, xor in flips:
        if pos < len(data):
            data[pos] ^= xor
    log = parse_log(bytes(data), "SYSTEM.LOG1")
    for primary in (VALID.primary, VALID_OLD.primary):
        result = replay(primary, [log])
        if result.image is not None:
            assert len(result.image) <= len(primary) + len(data) + 4096


def test_replayed_image_is_a_clean_hive_every_parser_opens(tmp_path: Path) -> None:
    from regipy.registry import RegistryHive
    from Registry import Registry

    from hivescan.hive.header import parse_base_block

    dirty = make_dirty(STATES, fmt="new", sequence=100, split=1)
    result = replay(dirty.primary, _logs(dirty))
    image = result.image or b""
    base = parse_base_block(image)
    assert base.checksum_ok and not base.dirty and base.primary_sequence == 102 and base.file_type == 0
    path = tmp_path / "replayed"
    path.write_bytes(image)
    services = RegistryHive(str(path)).get_key("\\ControlSet001\\Services")
    assert "Evil" in {k.name for k in services.iter_subkeys()}
    assert "Second39" in {k.name() for k in Registry.Registry(str(path)).open("ControlSet001\\Services").subkeys()}
    last = [w for w in result.writes if w.sequence == result.sequence]  # nothing overwrites the last entry
    assert last
    for write in last:
        log = next(lg for lg in result.logs if lg.path == write.log)
        page = log.page_bytes(PageRef(write.offset, write.size, write.log_offset))
        assert page == image[4096 + write.offset : 4096 + write.offset + write.size]


def _named_numbers(messages: list[str]) -> set[int]:
    """Every sequence number a message names, ranges ("101-104") expanded."""
    import re

    named: set[int] = set()
    for text in messages:
        for low, high in re.findall(r"(\d+)-(\d+)", text):
            if int(high) - int(low) < 10_000:
                named.update(range(int(low), int(high) + 1))
        named.update(int(n) for n in re.findall(r"\d+", text))
    return named


ENTRIES = split_log(make_dirty(STATES, fmt="new", sequence=100).logs[".LOG1"])[1]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    placement=st.lists(st.tuples(st.integers(0, 1), st.integers(96, 106) | st.none()), min_size=3, max_size=3),
    order=st.permutations(range(3)),
    bases=st.tuples(st.integers(95, 106), st.integers(95, 106)),
    gap=st.booleans(),
)
def test_no_valid_entry_is_left_out_unnamed(
    placement: list[tuple[int, int | None]], order: list[int], bases: tuple[int, int], gap: bool
) -> None:
    """Entries renumbered, reordered, moved between logs, past a gap, under any base-block number:
    each valid entry is applied, or listed (named by a diagnostic, or among the rejected
    entries `info` shows); one not older than the first applied entry (or the primary, when
    nothing applies) is named by a warning."""
    logs_bytes: list[list[bytes]] = [[], []]
    for k in order:
        which, number = placement[k]
        entry = ENTRIES[k] if number is None else renumber_entry(ENTRIES[k], number)
        logs_bytes[which].append(entry)
    logs = []
    for which, entries in enumerate(logs_bytes):
        base = with_base_fields(
            STATES[1][:512], file_type=6, primary_sequence=bases[which], secondary_sequence=bases[which]
        )
        body = entries[:1] + ([bytes(1024)] if gap else []) + entries[1:]
        logs.append(parse_log(base + b"".join(body), f"SYSTEM.LOG{which + 1}"))
    primary = make_dirty(STATES, fmt="new", sequence=100).primary
    result = replay(primary, logs)
    applied = {(e.log, e.file_offset) for e in result.applied}
    first = result.applied[0].sequence if result.applied else 100
    warned = _named_numbers([d.message for d in result.diagnostics if d.level == "warning"])
    named = _named_numbers([d.message for d in result.diagnostics])
    rejected = {(r.log, r.file_offset) for r in result.rejected}  # listed in `info` with the reason
    for log in logs:
        for entry in (*log.entries, *log.remnants, *log.stray):
            if (entry.log, entry.file_offset) in applied:
                continue
            older = (entry.sequence - first) & 0xFFFFFFFF >= 1 << 31
            listed = entry.sequence in named or (entry.log, entry.file_offset) in rejected
            assert listed if older else entry.sequence in warned, (entry, [d.message for d in result.diagnostics])


def test_overlapping_remnant_candidates_cannot_make_the_scan_quadratic() -> None:
    """A crafted tail: a header with a correct Hash-2 at every sector, each claiming the rest of
    the file. Checking every one would hash ~n^2/2 sectors; the bodies hashed are capped."""
    from hivescan.hive.marvin import marvin32

    dirty = make_dirty(STATES, fmt="new", sequence=100)
    head = dirty.logs[".LOG1"] + bytes(512)  # the walk of the entries ends at this zero sector
    sectors = 1500
    total = len(head) + sectors * 512
    tail = bytearray(sectors * 512)
    for k in range(sectors):
        off = len(head) + k * 512
        raw = b"HvLE" + struct.pack("<IIIII", total - off, 0, 7, 4096, 1) + struct.pack("<Q", 0)  # Hash-1 wrong
        tail[k * 512 : k * 512 + 40] = raw + struct.pack("<Q", marvin32(raw))
    log = parse_log(head + bytes(tail), "SYSTEM.LOG1")
    assert [d.code for d in log.diagnostics] == ["log_remnant_scan_limited"]
    assert log.remnants == [] and [e.sequence for e in log.entries] == [100, 101, 102]


def test_log_sha256_is_computed_when_asked_and_right() -> None:
    """Hashing an 8 MB log costs as much as replaying it; only info and the report show it."""
    dirty = make_dirty(STATES, fmt="new", sequence=100)
    data = dirty.logs[".LOG1"]
    log = parse_log(data, "SYSTEM.LOG1")
    assert log.digest is None
    assert log.sha256 == hashlib.sha256(data).hexdigest() == log.digest
