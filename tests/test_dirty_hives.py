"""Dirty hives end to end: open_hive(logs=...), records changed by the replay, info, CLI.

Fixtures: fixtures/dirty-SYSTEM (+ .LOG1/.LOG2, new format) and fixtures/dirty-old-SYSTEM
(+ .LOG1, old format), built from their YAML specs; the real Windows 10 hive with its logs
from ../shared/hives when present.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hivescan
from hivescan.cli import app
from hivescan.scm.record import ServiceRecord
from hivescan.testing.logs import build_dirty_from_spec
from hivescan.testing.spec import load_spec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DIRTY = FIXTURES / "dirty-SYSTEM"
DIRTY_OLD = FIXTURES / "dirty-old-SYSTEM"


def _copy(src: Path, dest_dir: Path, with_logs: bool = True) -> Path:
    for path in src.parent.glob(src.name + "*"):
        if path.suffix == ".yaml" or (not with_logs and path != src):
            continue
        shutil.copy2(path, dest_dir / path.name)
    return dest_dir / src.name


def _by_name(records: list[ServiceRecord]) -> dict[str, ServiceRecord]:
    return {r.name: r for r in records}


def _codes(hive: hivescan.SystemHive) -> list[str]:
    return [d.code for d in hive.hive_diagnostics()]


def test_fixture_outputs_match_their_specs(tmp_path: Path) -> None:
    for spec in (DIRTY.with_suffix(".yaml"), DIRTY_OLD.with_suffix(".yaml")):
        out = tmp_path / spec.stem
        written = build_dirty_from_spec(load_spec(spec)).write(out)
        for path in written:
            assert path.read_bytes() == (FIXTURES / path.name).read_bytes(), f"rebuild {path.name}"


def test_replay_shows_what_only_the_logs_hold() -> None:
    with hivescan.open_hive(DIRTY) as hive:
        records = _by_name(hive.services())
        codes = _codes(hive)
        derived = hive.source.location.get("derived", "")
    assert set(records) == {"Dnscache", "Spooler", "Tcpip", "UASPStor", "wercplsupport", "WinHelperSvc"}
    planted = records["WinHelperSvc"]
    assert planted.origin.from_log and planted.log_replay_changes == ("new",)
    assert planted.image_path == r"C:\ProgramData\WinHelper\whsvc.exe -k"
    hijacked = records["wercplsupport"]
    assert {"service_dll", "start", "last_write"} <= set(hijacked.log_replay_changes)
    note = next(d.message for d in hijacked.diagnostics if d.code == "changed_by_log_replay")
    assert (
        r"'%SystemRoot%\\System32\\wercplsupport.dll' -> 'C:\\ProgramData\\Microsoft\\Crypto\\wercplsupport.dll'"
        in note
    )
    assert "start 3 -> 2" in note
    assert records["UASPStor"].log_replay_changes == ("last_write",)
    for name in ("Dnscache", "Spooler", "Tcpip"):
        assert not records[name].origin.from_log and records[name].log_replay_changes == ()
        assert "changed_by_log_replay" not in records[name].diagnostic_codes
    assert {"hive_dirty", "log_replayed", "log_replay_removed_service"} <= set(codes)
    assert "1621-1624" in derived


def test_no_logs_reads_the_primary_alone() -> None:
    with hivescan.open_hive(DIRTY, logs="none") as hive:
        records = _by_name(hive.services())
        codes = _codes(hive)
        assert hive.source is hive.evidence
    assert "WinHelperSvc" not in records and "OldAgent" in records
    assert records["wercplsupport"].service_dll == r"%SystemRoot%\System32\wercplsupport.dll"
    assert not any(r.origin.from_log for r in records.values())
    assert {"hive_dirty", "logs_disabled"} <= set(codes) and "log_replayed" not in codes


def test_explicit_logs_and_missing_logs(tmp_path: Path) -> None:
    alone = _copy(DIRTY, tmp_path, with_logs=False)
    with hivescan.open_hive(alone) as hive:
        names = {r.name for r in hive.services()}
        codes = _codes(hive)
    assert "WinHelperSvc" not in names
    assert {"hive_dirty", "logs_missing"} <= set(codes)
    logs = [FIXTURES / "dirty-SYSTEM.LOG2", FIXTURES / "dirty-SYSTEM.LOG1"]
    with hivescan.open_hive(alone, logs=logs) as hive:
        names = {r.name for r in hive.services()}
    assert "WinHelperSvc" in names and "OldAgent" not in names


def test_old_format_fixture() -> None:
    with hivescan.open_hive(DIRTY_OLD) as hive:
        records = hive.services("all")
        info = hive.info()
    planted = [r for r in records if r.name == "msupdate32"]
    assert [(r.control_set, r.log_replay_changes) for r in planted] == [(1, ("new",))]
    assert info.log_replay is not None and info.log_replay["format"] == "old"
    assert [log.status for log in info.logs] == ["applied"]


def test_evidence_files_are_never_written(tmp_path: Path) -> None:
    hive_path = _copy(DIRTY, tmp_path)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    with hivescan.open_hive(hive_path) as hive:
        hive.services("all")
        hive.info()
    result = CliRunner().invoke(app, ["services", str(hive_path), "-f", "jsonl", "-q"])
    assert result.exit_code == 0
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    assert after == before


def test_replayed_records_cite_the_evidence_file() -> None:
    digest = hashlib.sha256(DIRTY.read_bytes()).hexdigest()
    with hivescan.open_hive(DIRTY) as hive:
        record = _by_name(hive.services())["WinHelperSvc"]
        info = hive.info()
    row = record.to_dict()
    assert row["hive_sha256"] == digest == info.sha256
    assert row["changed_by_log_replay"] is True and row["log_replay_changes"] == ["new"]
    assert "replayed in memory" in row["location"]["derived"]
    back = ServiceRecord.from_dict(json.loads(json.dumps(row)))
    assert back.log_replay_changes == ("new",) and back.origin.from_log
    assert info.dirty and info.primary_sequence == 1622 and info.secondary_sequence == 1621
    assert [(log.format, log.sequence_first, log.sequence_last, log.status) for log in info.logs] == [
        ("new", 1621, 1622, "applied"),
        ("new", 1623, 1624, "applied"),
    ]


def test_frame_has_the_replay_columns() -> None:
    with hivescan.open_hive(DIRTY) as hive:
        frame = hive.services_frame()
    assert str(frame["changed_by_log_replay"].dtype) == "boolean"
    assert set(frame.loc[frame.changed_by_log_replay, "name"]) == {"UASPStor", "wercplsupport", "WinHelperSvc"}


def test_clean_hive_does_not_touch_its_logs(tmp_path: Path, demo_hive: Path) -> None:
    hive_path = tmp_path / "SYSTEM"
    shutil.copy2(demo_hive, hive_path)
    (tmp_path / "SYSTEM.LOG1").write_bytes(b"not a log at all")
    with hivescan.open_hive(hive_path) as hive:
        hive.services()
        assert hive.log_replay is None and hive.source is hive.evidence
        assert not any(d.code.startswith("log") for d in hive.hive_diagnostics())
        info = hive.info()  # only info looks at the logs
    assert [log.status for log in info.logs] == ["rejected"]
    assert info.log_replay is None
    assert "log_not_a_log" in [d.code for d in info.diagnostics]


def test_cli_info_and_options() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["info", str(DIRTY), "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["dirty"] is True and data["log_replay"]["entries_applied"] == 4
    assert [Path(log["path"]).name for log in data["logs"]] == ["dirty-SYSTEM.LOG1", "dirty-SYSTEM.LOG2"]
    assert all(len(log["sha256"]) == 64 for log in data["logs"])
    table = runner.invoke(app, ["info", str(DIRTY)])
    assert table.exit_code == 0 and "transaction log" in table.stdout and "applied 2" in table.stdout
    both = runner.invoke(app, ["services", str(DIRTY), "--no-logs", "--log", str(DIRTY) + ".LOG1"])
    assert both.exit_code == 2
    plain = runner.invoke(app, ["services", str(DIRTY), "--no-logs", "-f", "jsonl"])
    assert plain.exit_code == 0 and "logs_disabled" in plain.stderr
    assert "WinHelperSvc" not in plain.stdout
    replayed = runner.invoke(app, ["services", str(DIRTY), "-f", "jsonl", "--log", str(DIRTY) + ".LOG1"])
    names = {json.loads(line)["name"] for line in replayed.stdout.splitlines()}
    assert "WinHelperSvc" in names  # LOG1 alone holds 1621-1622
    assert "wercplsupport" in names


def test_windows10_dirty_hive_known_answer(shared: Callable[[str], Path]) -> None:
    """SOURCES.md: 655 services in the primary file; the logs add ad_driver (656) and move
    five last-write times to 2018-04-06."""
    path = shared("win10-dirty-SYSTEM")
    shared("win10-dirty-SYSTEM.LOG1")
    shared("win10-dirty-SYSTEM.LOG2")
    with hivescan.open_hive(path, logs="none") as hive:
        assert len(hive.services(1)) == 655
    with hivescan.open_hive(path) as hive:
        records = hive.services(1)
        info = hive.info()
    assert len(records) == 656
    assert info.control_sets[0].services == 656
    by_name = _by_name(records)
    assert by_name["ad_driver"].log_replay_changes == ("new",)
    moved = [r for r in records if r.log_replay_changes == ("last_write",)]
    assert len(moved) == 5
    assert all((r.last_write or "").startswith("2018-04-06") for r in moved)
    assert info.log_replay is not None
    assert (info.log_replay["sequence_first"], info.log_replay["sequence_last"]) == (2107, 2130)
    assert info.log_replay["rejected"] == []
    assert [log.status for log in info.logs] == ["applied", "applied"]


def test_windows10_replayed_image_opens_in_regipy(shared: Callable[[str], Path], tmp_path: Path) -> None:
    """The replayed image has a consistent base block: regipy sees a clean hive with 656 services."""
    from regipy.registry import RegistryHive

    path = shared("win10-dirty-SYSTEM")
    with hivescan.open_hive(path) as hive:
        assert hive.log_replay is not None and hive.log_replay.image is not None
        out = tmp_path / "replayed"
        out.write_bytes(hive.log_replay.image)
    regipy_hive = RegistryHive(str(out))
    header = regipy_hive.header
    assert header.primary_sequence_num == header.secondary_sequence_num == 2130
    assert regipy_hive.get_key("\\ControlSet001\\Services").header.subkey_count == 656


@pytest.mark.parametrize("bad", [b"", b"regf" + b"\0" * 600, b"\xff" * 5000])
def test_bad_log_files_give_diagnostics_not_tracebacks(tmp_path: Path, bad: bytes) -> None:
    hive_path = _copy(DIRTY, tmp_path, with_logs=False)
    (tmp_path / "dirty-SYSTEM.LOG1").write_bytes(bad)
    result = CliRunner().invoke(app, ["services", str(hive_path), "-f", "jsonl"])
    assert result.exit_code == 0
    assert "log_nothing_applied" in result.stderr or "hive_dirty" in result.stderr
    info = CliRunner().invoke(app, ["info", str(hive_path), "-f", "json"])
    assert info.exit_code == 0 and json.loads(info.stdout)["logs"][0]["status"] == "rejected"


def _win10_copy(shared: Callable[[str], Path], tmp_path: Path, logs: tuple[str, ...] = (".LOG1", ".LOG2")) -> Path:
    """A private copy of the real Windows 10 dirty hive with the chosen logs (edited copies, never the originals)."""
    path = tmp_path / "SYSTEM"
    shutil.copyfile(shared("win10-dirty-SYSTEM"), path)
    for suffix in logs:
        shutil.copyfile(shared("win10-dirty-SYSTEM" + suffix), tmp_path / ("SYSTEM" + suffix))
    return path


def test_windows10_remnant_entries_are_listed(shared: Callable[[str], Path]) -> None:
    """yarp's remnant log entries: LOG1 holds 30 valid older entries past its current ones."""
    with hivescan.open_hive(shared("win10-dirty-SYSTEM")) as hive:
        info = hive.info()
    log1 = info.logs[0]
    assert log1.remnants == 30 and log1.remnant_sequences == "1586-1603, 2035, 2092-2102"
    codes = {d.code: d for d in info.diagnostics}
    assert codes["log_remnant_entries"].level == "info"
    assert "log_entries_not_applied" not in codes
    table = CliRunner().invoke(app, ["info", str(shared("win10-dirty-SYSTEM"))])
    assert "previous states" in table.stdout and "1586-1603" in table.stdout


def test_windows10_log2_in_reverse_file_order_keeps_ad_driver(shared: Callable[[str], Path], tmp_path: Path) -> None:
    """Issue 11 defect 5: ad_driver silently disappeared when LOG2's entries were reordered."""
    from hivescan.testing.logs import split_log

    path = _win10_copy(shared, tmp_path)
    log2 = tmp_path / "SYSTEM.LOG2"
    base, entries = split_log(log2.read_bytes())
    assert len(entries) == 20
    body = b"".join(reversed(entries))
    log2.write_bytes(base + body + log2.read_bytes()[len(base) + len(body) :])
    with hivescan.open_hive(path) as hive:
        assert "ad_driver" in _by_name(hive.services(1))
        assert hive.log_replay is not None and len(hive.log_replay.applied) == 24


def test_windows10_renumbered_entry_is_a_warning_naming_the_entries(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    from hivescan.testing.logs import renumber_entry, split_log

    path = _win10_copy(shared, tmp_path)
    log2 = tmp_path / "SYSTEM.LOG2"
    data = log2.read_bytes()
    base, entries = split_log(data)
    at = len(base) + sum(len(e) for e in entries[:5])  # entry 2116 becomes 2200
    log2.write_bytes(data[:at] + renumber_entry(entries[5], 2200) + data[at + len(entries[5]) :])
    result = CliRunner().invoke(app, ["services", str(path), "-f", "jsonl"])
    assert result.exit_code == 0
    gap = [line for line in result.stderr.splitlines() if "log_sequence_gap" in line]
    assert gap and "(2117-2130, 2200)" in gap[0] and "warning: log_sequence_gap" in gap[0]


def test_windows10_only_log2_warns_log1_absent(shared: Callable[[str], Path], tmp_path: Path) -> None:
    """yarp gap: with LOG1 missing nothing may claim its entries were reconciled."""
    path = _win10_copy(shared, tmp_path, logs=(".LOG2",))
    result = CliRunner().invoke(app, ["services", str(path), "-f", "jsonl"])
    assert result.exit_code == 0
    assert "log_pair_missing" in result.stderr and "LOG1 is absent" in result.stderr
    with hivescan.open_hive(path) as hive:
        jump = next(d for d in hive.hive_diagnostics() if d.code == "log_sequence_jump")
    assert "absent LOG1" in jump.message


def test_replayed_hive_leaves_no_file_even_when_killed(tmp_path: Path) -> None:
    """Issue 11 defect 7: the replayed image went to $TMPDIR/hivescan-*.hive and stayed there
    when the process was killed. The process here dies with os._exit while the replayed hive
    is open (no cleanup runs, as under SIGKILL): nothing may be left in its TMPDIR."""
    import os
    import subprocess
    import sys

    if not hasattr(os, "memfd_create") or not Path("/proc/self/fd").is_dir():
        pytest.skip("anonymous in-memory files need Linux with /proc (elsewhere a temporary file is used)")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    script = (
        "import os, sys, hivescan\n"
        "hive = hivescan.open_hive(sys.argv[1])\n"
        "assert hive.log_replay is not None and hive.log_replay.image is not None\n"
        "assert 'WinHelperSvc' in {r.name for r in hive.services()}\n"
        "print(sorted(os.listdir(sys.argv[2])), flush=True)\n"
        "os._exit(0)\n"
    )
    env = {**os.environ, "TMPDIR": str(tmpdir), "PYTHONPATH": str(Path(hivescan.__file__).parents[1])}
    done = subprocess.run(
        [sys.executable, "-c", script, str(DIRTY), str(tmpdir)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"  # not even while the hive is open
    assert list(tmpdir.iterdir()) == []


def test_windows10_history_lists_the_log_remnants(shared: Callable[[str], Path]) -> None:
    """yarp gap: the remnants are previous states of the hive; `history` lists them."""
    result = CliRunner().invoke(app, ["history", str(shared("win10-dirty-SYSTEM")), "-f", "json"])
    assert result.exit_code == 0, result.output
    remnants = json.loads(result.stdout)["log_remnants"]
    assert len(remnants) == 30
    assert {r["sequence"] for r in remnants} == {*range(1586, 1604), 2035, *range(2092, 2103)}
    assert all(Path(r["log"]).name == "win10-dirty-SYSTEM.LOG1" and r["pages"] > 0 for r in remnants)
    table = CliRunner().invoke(app, ["history", str(shared("win10-dirty-SYSTEM"))])
    assert "transaction-log remnants" in table.stdout and "2035" in table.stdout


def test_windows10_stale_log2_base_block_keeps_ad_driver(shared: Callable[[str], Path], tmp_path: Path) -> None:
    """Issue 11 defect 5: LOG2's base block still numbered as LOG1's (2107) hid all of LOG2's entries."""
    from hivescan.testing.logs import with_base_fields

    path = _win10_copy(shared, tmp_path)
    log2 = tmp_path / "SYSTEM.LOG2"
    data = log2.read_bytes()
    log2.write_bytes(with_base_fields(data[:512], primary_sequence=2107, secondary_sequence=2107) + data[512:])
    with hivescan.open_hive(path) as hive:
        assert "ad_driver" in _by_name(hive.services(1))
        assert hive.log_replay is not None
        assert [e.sequence for e in hive.log_replay.applied] == list(range(2107, 2131))
