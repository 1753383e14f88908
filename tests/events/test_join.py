"""The join on real event logs and hives the project writes: services that match, drift
from or lack their logged installs; rules fire at the severity the issue asks for, and a
service matching its install raises nothing new."""

from __future__ import annotations

from pathlib import Path

import hivescan
from hivescan.detect.scan import scan_hive
from hivescan.events.join import join_events, name_looks_random
from hivescan.events.logs import read_service_events
from tests.events.conftest import shared_evtx, spec_hive

PSEXESVC = {
    "values": {
        "Type": 0x10,
        "Start": 3,
        "ErrorControl": 0,
        "ImagePath": {"expand_sz": "%SystemRoot%\\PSEXESVC.exe"},
        "ObjectName": "LocalSystem",
    }
}


def _findings(hive: Path, evtx: list[Path] | None) -> set[tuple[str, str, str]]:
    logs = read_service_events(evtx) if evtx else None
    with hivescan.open_hive(hive) as opened:
        result = scan_hive(opened, events=logs)
    return {(f.rule_id, f.severity, f.service) for f in result.findings}


def test_service_matching_its_install_raises_nothing_new(tmp_path: Path) -> None:
    hive = spec_hive(tmp_path, {"PSEXESVC": PSEXESVC})
    evtx = [shared_evtx("mitre-psexec-7045-7036.evtx")]
    assert _findings(hive, evtx) == _findings(hive, None)
    with hivescan.open_hive(hive) as opened:
        (record,) = join_events(opened.services(), read_service_events(evtx), computer_name="JUMP01").records
    assert [e["event_id"] for e in record.service_events] == [7045, 7036, 7036]
    assert record.event_facts["image_path_differs_from_install"] is False
    assert record.event_facts["live_in_hive"] is True


def test_installed_then_removed_is_found_high_for_remote_execution(tmp_path: Path) -> None:
    hive = spec_hive(tmp_path, {"PSEXESVC": PSEXESVC}, computer="ROOTDC1")
    found = _findings(hive, [shared_evtx("mitre-smbexec-7045-4697.evtx")])
    assert ("remote-execution-service-removed", "high", "BTOBTO") in found
    assert ("service-installed-by-user-account", "info", "BTOBTO") in found


def test_metasploit_services_gone_are_found_under_their_key_names(tmp_path: Path) -> None:
    hive = spec_hive(tmp_path, {}, computer="IE10WIN7")
    found = _findings(hive, [shared_evtx("deepbluecli-metasploit-psexec-native-system.evtx")])
    # 7045 logs the display name KgXItsbKgTJzdzwl; the 7036 events give the key name
    assert {
        ("remote-execution-service-removed", "high", "TVRSmXcD"),
        ("remote-execution-service-removed", "high", "hgabms"),
    } <= found


def test_burst_of_installs_is_critical(tmp_path: Path) -> None:
    hive = spec_hive(tmp_path, {}, computer="FS03")
    found = _findings(hive, [shared_evtx("mitre-tchopper-7045-x244.evtx")])
    burst = {
        name for rule, severity, name in found if rule == "remote-execution-service-burst" and severity == "critical"
    }
    assert len(burst) == 244 and "seg1" in burst


def test_service_removed_is_medium_and_high_for_psexec(tmp_path: Path) -> None:
    hive = spec_hive(tmp_path, {}, computer="JUMP01")
    found = _findings(hive, [shared_evtx("mitre-mimikatz-4697.evtx"), shared_evtx("mitre-psexec-7045-7036.evtx")])
    assert ("service-installed-then-removed", "medium", "mimidrv") in found
    # %SystemRoot%\<8 letters>.exe is also Metasploit's upload shape: PsExec is a remote-execution tool
    assert ("remote-execution-service-removed", "high", "PSEXESVC") in found
    assert ("service-installed-then-removed", "medium", "PSEXESVC") not in found


def test_deleted_key_recovered_carries_its_install(tmp_path: Path) -> None:
    hive = spec_hive(tmp_path, {"PSEXESVC": {**PSEXESVC, "deleted": True}}, computer="JUMP01")
    logs = read_service_events([shared_evtx("mitre-psexec-7045-7036.evtx")])
    with hivescan.open_hive(hive) as opened:
        records = opened.services("all", deleted=True)
        joined = join_events(records, logs, computer_name="JUMP01")
    (record,) = [r for r in joined.records if r.name == "PSEXESVC"]
    assert record.status == "deleted" and joined.added == 0  # no event_only twin
    assert record.event_facts["live_in_hive"] is False and record.event_facts["installs"] == 1
    with hivescan.open_hive(hive) as opened:
        found = {(f.rule_id, f.status) for f in scan_hive(opened, events=logs).findings}
    assert ("remote-execution-service-removed", "deleted") in found


def test_image_path_drift_since_install_is_medium(tmp_path: Path) -> None:
    drifted = {
        "values": {
            "Type": 0x10,
            "Start": 3,
            "ErrorControl": 0,
            "ImagePath": {"expand_sz": "%SystemRoot%\\Temp\\PSEXESVC.exe"},
            "ObjectName": "LocalSystem",
        }
    }
    hive = spec_hive(tmp_path, {"PSEXESVC": drifted})
    found = _findings(hive, [shared_evtx("mitre-psexec-7045-7036.evtx")])
    assert ("image-path-differs-from-install", "medium", "PSEXESVC") in found


def test_key_written_long_after_the_install_is_low(tmp_path: Path) -> None:
    later = {**PSEXESVC, "last_write": "2021-04-22T09:00:00Z"}
    hive = spec_hive(tmp_path, {"PSEXESVC": later})
    found = _findings(hive, [shared_evtx("mitre-psexec-7045-7036.evtx")])
    assert ("service-key-written-after-logged-change", "low", "PSEXESVC") in found


def test_computer_mismatch_is_warned_and_still_joined(tmp_path: Path) -> None:
    hive = spec_hive(tmp_path, {"PSEXESVC": PSEXESVC}, computer="OTHERHOST")
    logs = read_service_events([shared_evtx("mitre-psexec-7045-7036.evtx")])
    with hivescan.open_hive(hive) as opened:
        joined = join_events(opened.services(), logs, computer_name=opened.computer_name()[0])
    assert [d.code for d in joined.diagnostics] == ["events_computer_mismatch"]
    (record,) = joined.records
    assert record.service_events and record.event_facts["computer_mismatch"] == ("jump01.offsec.lan",)


def test_cleared_log_near_the_events_is_noted(tmp_path: Path) -> None:
    hive = spec_hive(tmp_path, {}, computer="IE10WIN7")
    logs = read_service_events([shared_evtx("deepbluecli-metasploit-psexec-native-system.evtx")])
    with hivescan.open_hive(hive) as opened:
        joined = join_events(opened.services(), logs, computer_name="IE10WIN7")
    gone = next(r for r in joined.records if r.name == "hgabms")
    assert gone.status == "event_only" and gone.origin.parser == "evtx"
    assert any("104" in note for note in gone.event_facts["log_cleared_near"])


def test_records_round_trip_with_their_events(tmp_path: Path) -> None:
    from hivescan.scm.record import ServiceRecord

    hive = spec_hive(tmp_path, {"PSEXESVC": PSEXESVC})
    logs = read_service_events([shared_evtx("mitre-psexec-7045-7036.evtx")])
    with hivescan.open_hive(hive) as opened:
        (record,) = join_events(opened.services(), logs, computer_name="JUMP01").records
    again = ServiceRecord.from_dict(record.to_dict())
    assert again.service_events == record.service_events and again.event_facts == record.event_facts


def test_random_name_heuristic() -> None:
    assert all(map(name_looks_random, ["KgXItsbKgTJzdzwl", "TzmQeKbx", "UWdKhYTIQWWJxHfx"]))
    assert not any(map(name_looks_random, ["PSEXESVC", "BTOBTO", "WinDefend", "wuauserv", "seg1", "mimidrv"]))


def test_driver_stored_with_nt_prefix_matches_its_logged_dos_path(tmp_path: Path) -> None:
    # the real registry value (Sysmon 13 of the same install) is \??\C:\...; 4697 logs C:\...
    mimidrv = {
        "values": {
            "Type": 1,
            "Start": 3,
            "ErrorControl": 1,
            "ImagePath": "\\??\\C:\\TOOLS\\Security_tool\\Mimikatz-fev-2020\\mimidrv.sys",
        }
    }
    hive = spec_hive(tmp_path, {"mimidrv": {**mimidrv, "last_write": "2021-03-26T16:17:35Z"}})
    logs = read_service_events([shared_evtx("mitre-mimikatz-4697.evtx"), shared_evtx("mitre-mimikatz-sysmon13.evtx")])
    with hivescan.open_hive(hive) as opened:
        (record,) = join_events(opened.services(), logs, computer_name="JUMP01").records
    assert record.event_facts["image_path_differs_from_install"] is False
    found = _findings(hive, [shared_evtx("mitre-mimikatz-4697.evtx")])
    assert not any(rule == "image-path-differs-from-install" for rule, _, _ in found)


def test_install_logged_under_another_display_name_joins_by_its_unique_image_path(tmp_path: Path) -> None:
    from hivescan.testing.evtx import event_log_from_spec

    svc = {
        "values": {
            "Type": 0x10,
            "Start": 2,
            "ErrorControl": 1,
            "DisplayName": "@%SystemRoot%\\x.dll,-100",
            "ImagePath": '"C:\\Program Files\\Vendor\\agent.exe"',
        }
    }
    hive = spec_hive(tmp_path, {"VendorAgent": svc, "Other": {"values": {**svc["values"], "ImagePath": "c:\\o.exe"}}})
    log = event_log_from_spec(
        [
            {
                "event_id": 7045,
                "time": "2021-04-21T09:27:50Z",
                "display_name": "Vendor Agent",
                "image_path": '"C:\\Program Files\\Vendor\\agent.exe"',
            }
        ]
    )
    with hivescan.open_hive(hive) as opened:
        joined = join_events(opened.services(), [log], computer_name="HOST")
    assert joined.added == 0  # not an event_only "installed then removed"
    agent = next(r for r in joined.records if r.name == "VendorAgent")
    assert [e["event_id"] for e in agent.service_events] == [7045]
    assert agent.event_facts["image_path_differs_from_install"] is False


def test_lost_quotes_count_as_drift(tmp_path: Path) -> None:
    from hivescan.testing.evtx import event_log_from_spec

    svc = {"values": {"Type": 0x10, "Start": 2, "ErrorControl": 1, "ImagePath": "C:\\Program Files\\Vendor\\agent.exe"}}
    hive = spec_hive(tmp_path, {"VendorAgent": svc})
    log = event_log_from_spec(
        [
            {
                "event_id": 7045,
                "time": "2021-04-21T09:27:50Z",
                "display_name": "VendorAgent",
                "image_path": '"C:\\Program Files\\Vendor\\agent.exe"',
            }
        ]
    )
    with hivescan.open_hive(hive) as opened:
        (record,) = join_events(opened.services(), [log], computer_name="HOST").records
    assert record.event_facts["image_path_differs_from_install"] is True


def test_bursts_are_runs_of_installs_ten_minutes_apart_at_most() -> None:
    from datetime import UTC, datetime, timedelta

    from hivescan.events.join import _Bursts

    start = datetime(2024, 1, 1, tzinfo=UTC)
    times = [start + timedelta(minutes=9 * i) for i in range(5)] + [start + timedelta(hours=5)]
    bursts = _Bursts.of(list(reversed(times)))
    assert [bursts.size(t) for t in times] == [5, 5, 5, 5, 5, 1]
    assert bursts.size(start + timedelta(days=9)) == 1  # an install not in the list


def test_rdp_hijack_service_gone_is_high(tmp_path: Path) -> None:
    hive = spec_hive(tmp_path, {}, computer="WEF")
    found = _findings(hive, [shared_evtx("yamato-rdp-hijacking-4697.evtx")])
    assert ("remote-execution-service-removed", "high", "rdphijack2") in found


def test_per_user_instance_gets_its_template_events(tmp_path: Path) -> None:
    from hivescan.testing.evtx import event_log_from_spec

    template = {
        "values": {
            "Type": 0x60,
            "Start": 2,
            "ErrorControl": 1,
            "ImagePath": {"expand_sz": "%SystemRoot%\\system32\\svchost.exe -k UnistackSvcGroup"},
        }
    }
    instance = {
        "values": {
            "Type": 0xE0,
            "Start": 2,
            "ErrorControl": 1,
            "ImagePath": {"expand_sz": "C:\\Windows\\system32\\svchost.exe -k UnistackSvcGroup"},
        }
    }
    hive = spec_hive(tmp_path, {"CDPUserSvc": template, "CDPUserSvc_4a1f2": instance})
    log = event_log_from_spec(
        [
            {
                "event_id": 7045,
                "time": "2021-04-21T09:27:50Z",
                "display_name": "CDPUserSvc",
                "image_path": "%SystemRoot%\\system32\\svchost.exe -k UnistackSvcGroup",
            }
        ]
    )
    with hivescan.open_hive(hive) as opened:
        joined = join_events(opened.services(), [log], computer_name="HOST")
    instance_record = next(r for r in joined.records if r.name == "CDPUserSvc_4a1f2")
    assert instance_record.template == "CDPUserSvc"
    assert [e["event_id"] for e in instance_record.service_events] == [7045]
    assert instance_record.event_facts["image_path_differs_from_install"] is False  # C:\Windows = %SystemRoot%
    assert joined.added == 0
