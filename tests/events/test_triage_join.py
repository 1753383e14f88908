"""Triage joins each host's own logs (same KAPE/mounted volume folder) with its own hive:
the event rules' findings land in OUTDIR/findings, the logs' events in OUTDIR/events, and a
host without logs gains nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from hivescan.cli import app
from tests.events.conftest import shared_evtx, spec_hive

runner = CliRunner()
LOGS = "Windows/System32/winevt/Logs"
CONFIG = "Windows/System32/config"
PSEXEC = "mitre-psexec-7045-7036.evtx"


def _host(root: Path, computer: str, log: str | None) -> None:
    volume = root / computer / "C"
    (volume / CONFIG).mkdir(parents=True)
    spec_hive(volume / CONFIG, {}, computer=computer)
    if log is not None:
        (volume / LOGS).mkdir(parents=True)
        (volume / LOGS / "System.evtx").write_bytes(shared_evtx(log).read_bytes())


def _triage(tmp_path: Path, *extra: str) -> tuple[pd.DataFrame, dict[str, object], Path]:
    out = tmp_path / "out"
    result = runner.invoke(app, ["triage", str(tmp_path / "in"), "-o", str(out), "-j", "1", "-q", *extra])
    assert result.exit_code == 0, result.output
    return pd.read_parquet(out / "findings"), json.loads((out / "summary.json").read_text()), out


def test_each_host_is_joined_with_its_own_logs(tmp_path: Path) -> None:
    _host(tmp_path / "in", "JUMP01", "mitre-psexec-7045-7036.evtx")
    _host(tmp_path / "in", "QUIET02", None)
    findings, summary, out = _triage(tmp_path)
    removed = findings[findings["rule_id"] == "remote-execution-service-removed"]
    assert list(zip(removed["host"], removed["service"], strict=True)) == [("JUMP01", "PSEXESVC")]
    services = pd.read_parquet(out / "services")
    assert set(services[services["name"] == "PSEXESVC"]["host"]) == {"JUMP01"}
    events = pd.read_parquet(out / "events")
    assert set(events["service_name"].dropna()) >= {"PSEXESVC"}
    assert all(str(p).endswith("System.evtx") and "JUMP01" in str(p) for p in events["evtx_path"])
    installs = {row["service_name"]: row for row in summary["event_installs"]}  # type: ignore[union-attr]
    assert "PSEXESVC" in installs


def test_no_evtx_leaves_the_host_logs_out(tmp_path: Path) -> None:
    _host(tmp_path / "in", "JUMP01", "mitre-psexec-7045-7036.evtx")
    findings, summary, out = _triage(tmp_path, "--no-evtx")
    assert "remote-execution-service-removed" not in set(findings["rule_id"])
    assert not (out / "events").exists() and "event_installs" not in summary


def test_a_disk_image_is_joined_with_its_own_and_its_shadow_copies_logs(tmp_path: Path) -> None:
    from hivescan.testing.disk import NtfsVolume, Snapshot, build_disk, missing_tools

    missing = missing_tools(("raw",))
    if missing:
        pytest.skip(f"disk-image tools not available: {', '.join(missing)}")
    pytest.importorskip("dfvfs", reason="disk images need the [images] extra")
    hive = spec_hive(tmp_path, {}, computer="JUMP01").read_bytes()
    live_log = shared_evtx("deepbluecli-disablestop-eventlog-7040.evtx").read_bytes()
    files = {f"{CONFIG}/SYSTEM": hive, f"{LOGS}/System.evtx": live_log}
    older = Snapshot("2021-12-14T09:00:00Z", {f"{LOGS}/System.evtx": shared_evtx(PSEXEC).read_bytes()})
    (tmp_path / "in").mkdir()
    build_disk(tmp_path / "in" / "disk.raw", [NtfsVolume(24, files, snapshots=[older])])
    findings, summary, out = _triage(tmp_path)
    assert summary["event_installs"]
    removed = findings[findings["rule_id"] == "remote-execution-service-removed"]
    assert set(removed["service"]) == {"PSEXESVC"}
    hives = pd.read_parquet(out / "hives")
    assert set(hives["member"]) >= {"1:live", "1:vss1"}
    events = pd.read_parquet(out / "events")
    psexec = events[events["service_name"] == "PSEXESVC"]
    assert len(psexec) == 3 and all("vss1" in str(p) for p in psexec["evtx_path"])  # listed once, from the copy


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many times each volume's logs are read (the real reader runs; only counted)."""
    import hivescan.events.found as found

    reads: dict[str, int] = {}
    real = found.read_found_logs

    def counted(locations):  # type: ignore[no-untyped-def]
        for location in locations:
            reads[location.source.label] = reads.get(location.source.label, 0) + 1
        return real(locations)

    monkeypatch.setattr(found, "read_found_logs", counted)
    return reads


def test_each_hosts_logs_are_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13 defect (b): the worker read a host's logs for the join, then the driver read
    them again for OUTDIR/events. The join's read is now sent back with the batch."""
    _host(tmp_path / "in", "JUMP01", PSEXEC)
    _host(tmp_path / "in", "QUIET02", None)
    reads = _count_reads(monkeypatch)
    findings, summary, out = _triage(tmp_path)
    assert reads == {str(tmp_path / "in" / "JUMP01" / "C"): 1, str(tmp_path / "in" / "QUIET02" / "C"): 1}
    events = pd.read_parquet(out / "events")
    assert set(events["service_name"].dropna()) >= {"PSEXESVC"}
    assert "PSEXESVC" in {row["service_name"] for row in summary["event_installs"]}  # type: ignore[union-attr]
    assert "remote-execution-service-removed" in set(findings["rule_id"])
    pooled = tmp_path / "pooled"  # worker processes: the logs come back with the batches, pickled
    result = runner.invoke(app, ["triage", str(tmp_path / "in"), "-o", str(pooled), "-j", "2", "-q"])
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(pd.read_parquet(pooled / "events"), events)


def test_logs_of_hives_not_scanned_still_reach_the_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The logs the workers did not read (a hive that cannot be opened, an input done by an
    earlier run) are read by the driver, once, as before: they are evidence all the same."""
    _host(tmp_path / "in", "JUMP01", PSEXEC)
    _host(tmp_path / "in", "BROKEN03", PSEXEC)
    hive = tmp_path / "in" / "BROKEN03" / "C" / CONFIG / "SYSTEM"
    hive.write_bytes(hive.read_bytes()[:4096])  # the base block only: the hive cannot be opened
    reads = _count_reads(monkeypatch)
    _, summary, out = _triage(tmp_path)
    assert set(reads.values()) == {1}
    paths = {str(p) for p in pd.read_parquet(out / "events")["evtx_path"]}
    assert any("BROKEN03" in p for p in paths) and any("JUMP01" in p for p in paths)
    reads.clear()
    _, again, _ = _triage(tmp_path)  # resumed: JUMP01 is done, nothing is scanned, its logs are read here
    assert set(reads.values()) == {1}
    assert again["event_installs"] == summary["event_installs"]
