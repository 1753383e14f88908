"""Event logs read automatically from the input: a KAPE folder, a zipped Velociraptor
collection (percent-encoded names), a disk image and its shadow copies; ``--no-evtx`` turns
it off; each event names the log file it came from."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hivescan
from hivescan.cli import app
from hivescan.events.found import LogLocation, read_found_logs
from hivescan.files.source import FolderSource
from tests.events.conftest import shared_evtx, spec_hive

runner = CliRunner()
LOGS = "Windows/System32/winevt/Logs"
CONFIG = "Windows/System32/config"
PSEXEC = "mitre-psexec-7045-7036.evtx"
SYSMON = "Microsoft-Windows-Sysmon%4Operational.evtx"


def _kape(tmp_path: Path, logs: dict[str, str]) -> Path:
    """A KAPE-style folder (``C/Windows/...``): a hive without PSEXESVC, and real logs."""
    volume = tmp_path / "kape" / "C"
    (volume / CONFIG).mkdir(parents=True)
    (volume / LOGS).mkdir(parents=True)
    spec_hive(volume / CONFIG, {}, computer="JUMP01")
    for name, sample in logs.items():
        (volume / LOGS / name).write_bytes(shared_evtx(sample).read_bytes())
    return tmp_path / "kape"


def _findings(*args: str) -> set[tuple[str, str]]:
    result = runner.invoke(app, ["scan", *args, "-f", "jsonl", "-q"])
    assert result.exit_code == 0, result.output
    return {(f["rule_id"], f["service"]) for f in map(json.loads, result.stdout.splitlines())}


def test_folder_logs_are_joined_and_no_evtx_turns_it_off(tmp_path: Path) -> None:
    folder = _kape(tmp_path, {"System.evtx": PSEXEC})
    assert ("remote-execution-service-removed", "PSEXESVC") in _findings(str(folder))
    assert not any(service == "PSEXESVC" for _, service in _findings(str(folder), "--no-evtx"))
    listed = runner.invoke(app, ["services", str(folder), "-f", "jsonl", "-q"])
    (record,) = [r for r in map(json.loads, listed.stdout.splitlines()) if r["name"] == "PSEXESVC"]
    assert record["status"] == "event_only"
    paths = {e["evtx_path"] for e in record["service_events"]}
    assert paths == {str(folder / "C" / LOGS / "System.evtx")}


def test_root_folder_gives_the_logs_of_a_bare_hive(tmp_path: Path) -> None:
    folder = _kape(tmp_path, {"System.evtx": PSEXEC})
    hive = folder / "C" / CONFIG / "SYSTEM"
    assert ("remote-execution-service-removed", "PSEXESVC") not in _findings(str(hive))
    assert ("remote-execution-service-removed", "PSEXESVC") in _findings(str(hive), "--root", str(folder))


def test_given_log_and_found_log_are_read_once(tmp_path: Path) -> None:
    folder = _kape(tmp_path, {"System.evtx": PSEXEC})
    listed = runner.invoke(
        app, ["services", str(folder), "-f", "jsonl", "-q", "--evtx", str(folder / "C" / LOGS / "System.evtx")]
    )
    (record,) = [r for r in map(json.loads, listed.stdout.splitlines()) if r["name"] == "PSEXESVC"]
    assert [e["event_id"] for e in record["service_events"]] == [7045, 7036, 7036]


def test_zip_collection_with_encoded_sysmon_name(tmp_path: Path) -> None:
    hive = spec_hive(tmp_path, {}, computer="JUMP01")
    collection = tmp_path / "Collection-JUMP01.zip"
    prefix = "uploads/auto/C%3A/"
    with zipfile.ZipFile(collection, "w") as archive:
        archive.write(hive, prefix + CONFIG + "/SYSTEM")
        archive.write(shared_evtx(PSEXEC), prefix + LOGS + "/System.evtx")
        archive.write(shared_evtx("mitre-mimikatz-sysmon13.evtx"), prefix + LOGS + "/" + SYSMON.replace("%", "%25"))
    result = runner.invoke(app, ["services", str(collection), "-f", "jsonl", "-q"])
    assert result.exit_code == 0, result.output
    records = {r["name"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert records["PSEXESVC"]["status"] == "event_only"
    sources = {e["evtx_path"] for r in records.values() for e in r["service_events"]}
    assert any(path.endswith("System.evtx") and path.startswith(str(collection)) for path in sources)
    with hivescan.open_hive(collection) as opened:
        logs, notes = read_found_logs(opened.event_locations)
    assert notes == []
    assert [Path(log.path.replace("\\", "/")).name for log in logs] == ["System.evtx", SYSMON]
    assert sum(e.event_id == 13 for e in logs[1].events) > 0


def test_a_snapshot_copy_keeps_only_events_not_read_before(tmp_path: Path) -> None:
    live = _kape(tmp_path / "live", {"System.evtx": PSEXEC})
    older = _kape(tmp_path / "older", {"System.evtx": PSEXEC, "Security.evtx": "mitre-smbexec-7045-4697.evtx"})
    copy = older / "C" / LOGS / "System.evtx"
    data = copy.read_bytes()
    copy.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # another file (slack byte), the same records
    logs, notes = read_found_logs([LogLocation("live", FolderSource(live)), LogLocation("vss1", FolderSource(older))])
    system_live, system_older, security = logs
    assert len(system_live.events) == 4 and system_older.events == ()  # 104, 7045, 7036, 7036
    assert len(security.events) > 0
    assert [n.code for n in notes] == ["evtx_snapshot_events_already_read"]
    assert "4 service event(s)" in notes[0].message


def test_a_found_file_that_is_not_evtx_is_a_warning_not_an_exit(tmp_path: Path) -> None:
    folder = _kape(tmp_path, {"System.evtx": PSEXEC})
    (folder / "C" / LOGS / "Security.evtx").write_bytes(b"not an event log" * 10)
    result = runner.invoke(app, ["services", str(folder), "-f", "jsonl"])
    assert result.exit_code == 0, result.output
    assert "evtx_found_not_evtx" in result.stderr
    assert any(r["name"] == "PSEXESVC" for r in map(json.loads, result.stdout.splitlines()))


@pytest.fixture(scope="module")
def vss_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An NTFS image whose live System log is another machine's 7040 log and whose shadow
    copy still holds the PsExec install (same size: shadow copies keep the file's size)."""
    from hivescan.testing.disk import NtfsVolume, Snapshot, build_disk, missing_tools

    missing = missing_tools(("raw",))
    if missing:
        pytest.skip(f"disk-image tools not available: {', '.join(missing)}")
    pytest.importorskip("dfvfs", reason="disk images need the [images] extra")
    folder = tmp_path_factory.mktemp("hive")
    hive = spec_hive(folder, {}, computer="JUMP01").read_bytes()
    live_log = shared_evtx("deepbluecli-disablestop-eventlog-7040.evtx").read_bytes()
    old_log = shared_evtx(PSEXEC).read_bytes()
    assert len(live_log) == len(old_log)
    files = {f"{CONFIG}/SYSTEM": hive, f"{LOGS}/System.evtx": live_log}
    snapshot = Snapshot("2021-12-14T09:00:00Z", {f"{LOGS}/System.evtx": old_log})
    return build_disk(tmp_path_factory.mktemp("disk") / "disk.raw", [NtfsVolume(24, files, snapshots=[snapshot])])


def test_shadow_copy_log_gives_the_install_the_live_log_lost(vss_image: Path) -> None:
    result = runner.invoke(app, ["services", str(vss_image), "-f", "jsonl", "-q"])
    assert result.exit_code == 0, result.output
    records = {r["name"]: r for r in map(json.loads, result.stdout.splitlines())}
    events = records["PSEXESVC"]["service_events"]
    assert records["PSEXESVC"]["status"] == "event_only"
    assert {e["event_id"] for e in events} == {7045, 7036}
    assert all("vss1" in e["evtx_path"] and e["evtx_path"].endswith("System.evtx") for e in events)
    assert ("remote-execution-service-removed", "PSEXESVC") in _findings(str(vss_image))
    assert ("remote-execution-service-removed", "PSEXESVC") not in _findings(str(vss_image), "--no-evtx")


def test_events_command_reads_an_image_and_its_shadow_copy(vss_image: Path) -> None:
    result = runner.invoke(app, ["events", str(vss_image), "-f", "jsonl", "-q"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["event_id"] for r in rows if "vss1" in r["evtx_path"]} >= {7045, 7036}
    assert any(r["event_id"] == 7040 and "vss1" not in r["evtx_path"] for r in rows)


def test_events_command_reads_a_zip_collection(tmp_path: Path) -> None:
    collection = tmp_path / "Collection.zip"
    with zipfile.ZipFile(collection, "w") as archive:
        archive.write(shared_evtx(PSEXEC), "C/" + LOGS + "/System.evtx")
    result = runner.invoke(app, ["events", str(collection), "-f", "jsonl", "-q"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["event_id"] for r in rows if r["service_name"] == "PSEXESVC"] == [7045, 7036, 7036]
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("notes.txt", "nothing")
    nothing = runner.invoke(app, ["events", str(empty)])
    assert nothing.exit_code == 0 and "no System, Security or Sysmon log found inside" in nothing.stderr


def test_history_of_a_zip_collection_gets_its_logs(tmp_path: Path) -> None:
    psexesvc = {
        "values": {
            "Type": 0x10,
            "Start": 3,
            "ErrorControl": 0,
            "ImagePath": {"expand_sz": "%SystemRoot%\\PSEXESVC.exe"},
            "ObjectName": "LocalSystem",
        }
    }
    hive = spec_hive(tmp_path, {"PSEXESVC": psexesvc}, computer="JUMP01")
    collection = tmp_path / "Collection.zip"
    with zipfile.ZipFile(collection, "w") as archive:
        archive.write(hive, "C/" + CONFIG + "/SYSTEM")
        archive.write(shared_evtx(PSEXEC), "C/" + LOGS + "/System.evtx")

    def steps(*extra: str) -> list[dict[str, object]]:
        result = runner.invoke(app, ["history", str(collection), "--all", "-f", "jsonl", "-q", *extra])
        assert result.exit_code == 0, result.output
        return [r for r in map(json.loads, result.stdout.splitlines()) if r["name"] == "PSEXESVC"]

    (present,) = steps()
    assert [e["event_id"] for e in present["service_events"]] == [7045, 7036, 7036]  # type: ignore[union-attr]
    (plain,) = steps("--no-evtx")
    assert "service_events" not in plain
