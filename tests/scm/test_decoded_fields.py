"""Decoded values on service records: the demo hive's planted cases, crafted hives, JSONL and frames."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import hivescan
from hivescan.hive.regtypes import REG_BINARY
from hivescan.scm.record import ServiceRecord
from hivescan.testing.encoders import encode_failure_actions, trigger_values
from hivescan.testing.regf import WKey
from hivescan.testing.sddl import sddl_to_bytes

DEFAULT_SERVICE_SDSHOW = (
    "D:(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)(A;;CCLCSWLOCRRC;;;IU)"
    "(A;;CCLCSWLOCRRC;;;SU)S:(AU;FA;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;WD)"
)


@pytest.fixture(scope="module")
def demo() -> dict[str, ServiceRecord]:
    with hivescan.open_hive(Path(__file__).resolve().parents[2] / "fixtures" / "demo-SYSTEM") as hive:
        return {r.name: r for r in hive.services()}


def codes(record: ServiceRecord) -> set[str]:
    return set(record.diagnostic_codes)


def access(record: ServiceRecord) -> dict[str, set[str]]:
    return {p.alias or p.sid: set(p.allowed) for p in record.security_access}


def test_hidden_service_shows_its_deny_aces(demo: dict[str, ServiceRecord]) -> None:
    rec = demo["UpdSvcHelper"]
    principals = {p.alias: p for p in rec.security_access}
    for alias in ("IU", "SU", "BA"):
        assert principals[alias].deny_ace
        assert {"query_status", "change_config", "stop", "delete"} <= set(principals[alias].denied)
    assert rec.default_sd_applies is False
    # its key is writable by Users (T1574.011)
    assert rec.key_writable_by == ("BU",) and rec.key_writable_by_low_privilege is True
    assert rec.key_security_sddl == "O:BAG:SYD:(A;CI;KA;;;BU)(A;CI;KA;;;SY)(A;CI;KA;;;BA)"


def test_everyone_may_reconfigure_acme_backup(demo: dict[str, ServiceRecord]) -> None:
    rec = demo["AcmeBackup"]
    assert {"change_config", "start", "stop"} <= access(rec)["WD"]
    assert not any(p.deny_ace for p in rec.security_access)
    assert rec.key_writable_by == () and rec.key_writable_by_low_privilege is False


def test_default_descriptors(demo: dict[str, ServiceRecord]) -> None:
    schedule = demo["Schedule"]
    assert schedule.security_sdshow == DEFAULT_SERVICE_SDSHOW
    assert schedule.security_sddl == "O:SYG:SY" + DEFAULT_SERVICE_SDSHOW
    assert schedule.default_sd_applies is False
    # a key ACL written from SDDL by the fixture spec reads back as the same SDDL
    assert schedule.key_security_sddl == (
        "O:SYG:SYD:AI(A;CIID;KR;;;BU)(A;CIID;KA;;;BA)(A;CIID;KA;;;SY)(A;CIIOID;KA;;;CO)(A;CIID;KR;;;AC)"
    )
    assert demo["Spooler"].security_sddl is None and demo["Spooler"].default_sd_applies is True
    crypt = demo["CryptSvc"]  # a 5-byte value: invalid, so treated as absent
    assert crypt.security_hex == "0100148014" and crypt.security_sddl is None
    assert crypt.default_sd_applies is True and "security_descriptor_invalid" in codes(crypt)
    ntfs = demo["Ntfs"]  # drivers: decoded, but the default descriptor rule is for Win32/user types
    assert ntfs.security_sdshow == DEFAULT_SERVICE_SDSHOW and ntfs.default_sd_applies is None


def test_failure_actions(demo: dict[str, ServiceRecord]) -> None:
    schedule = demo["Schedule"].failure_actions
    assert schedule is not None
    assert [(a.action, a.delay_ms) for a in schedule.actions] == [("own_restart", 0), ("restart", 60000), ("none", 0)]
    ssdp = demo["SSDPSRV"].failure_actions
    assert ssdp is not None and ssdp.runs_command and ssdp.command == r"C:\Windows\Temp\svcupd.exe -silent"
    rpcss = demo["RpcSs"].failure_actions
    assert rpcss is not None and rpcss.reset_never and rpcss.reboot_message and rpcss.actions[0].action == "reboot"
    wu = demo["wuauserv"].failure_actions
    assert wu is not None and wu.reset_period_s == 86400 and len(wu.actions) == 3
    assert demo["VMTools"].failure_actions is None


def test_triggers(demo: dict[str, ServiceRecord]) -> None:
    wu = demo["wuauserv"]
    assert [t.subkey for t in wu.triggers] == ["2", "10"]  # numeric order; the registry lists 10 first
    assert wu.triggers[1].guid_name == "USER_POLICY_PRESENT_GUID"  # stored under the name "Guid"
    assert "trigger_index_gap" in codes(wu)
    dns = demo["Dnscache"].triggers
    assert [t.type_name for t in dns] == ["ip_address_availability", "custom_system_state_change", "custom"]
    assert dns[1].data[0].value == "7508bca32b0b8341"
    assert [(d.data_type_name, d.value) for d in dns[2].data] == [("level", 4), ("keyword_any", 0x8000000000000010)]
    (trap,) = demo["SNMPTRAP"].triggers
    assert trap.guid_name == "FIREWALL_PORT_OPEN_GUID"
    assert trap.data[0].value == ("162", "UDP", r"%SystemRoot%\System32\snmptrap.exe", "SNMPTRAP")
    (pipe,) = demo["RemoteRegistry"].triggers
    assert (pipe.type_name, pipe.guid_name, pipe.data[0].value) == (
        "network_endpoint",
        "NAMED_PIPE_EVENT_GUID",
        ("winreg",),
    )


def test_named_values(demo: dict[str, ServiceRecord]) -> None:
    assert demo["LicenseManager"].service_sid_type_name == "restricted"
    assert demo["Schedule"].service_sid_type_name == "unrestricted"
    assert demo["WinDefend"].launch_protected_name == "antimalware_light"
    assert demo["CDPUserSvc"].user_service_flags_name == "instances_enabled"
    assert demo["DoSvc"].delayed_auto_start_name == "delayed"
    assert "delayed_autostart_ineffective" in codes(demo["WinRM"])  # demand start
    assert demo["RpcSs"].preshutdown_timeout_ms == 3600000
    assert demo["ACPI"].service_sid_type_name is None


def test_jsonl_round_trip(demo: dict[str, ServiceRecord]) -> None:
    for rec in demo.values():
        data = json.loads(json.dumps(rec.to_dict()))
        back = ServiceRecord.from_dict(data)
        assert back == rec, rec.name
        assert back.to_dict() == data
    row = demo["UpdSvcHelper"].to_dict()
    assert row["security_sdshow"].startswith("D:(D;;DCLCWPDTSD;;;IU)")
    assert row["security_access"][0]["denied"] and row["key_writable_by"] == ["BU"]
    assert row["failure_actions"] is None and demo["Schedule"].to_dict()["service_sid_type_name"] == "unrestricted"


def test_frame_columns_write_parquet(demo: dict[str, ServiceRecord], tmp_path: Path) -> None:
    from hivescan.frames import services_frame

    frame = services_frame(demo.values())
    assert str(frame["default_sd_applies"].dtype) == "boolean"
    assert str(frame["key_writable_by_low_privilege"].dtype) == "boolean"
    assert str(frame["service_sid_type_name"].dtype) == "category"
    row = frame.set_index("name").loc["Schedule"]
    assert json.loads(row["failure_actions"])["actions"][0]["action"] == "own_restart"
    assert pd.isna(frame.set_index("name").loc["VMTools", "failure_actions"])
    frame.to_parquet(tmp_path / "s.parquet")
    back = pd.read_parquet(tmp_path / "s.parquet").set_index("name")
    assert list(back.loc["UpdSvcHelper", "key_writable_by"]) == ["BU"]
    assert json.loads(back.loc["wuauserv", "triggers"])[0]["subkey"] == "2"


def _hive(write_hive: Callable[..., Path], root: WKey) -> dict[str, ServiceRecord]:
    with hivescan.open_hive(write_hive(root)) as hive:
        return {r.name: r for r in hive.services()}


def test_crafted_hive(write_hive: Callable[..., Path]) -> None:
    from tests.conftest import system_root

    root = system_root()
    services = root.key("ControlSet001\\Services")
    odd = services.key("OddAgent")
    odd.set_dword("Type", 0x10).set_dword("Start", 2).set_dword("ErrorControl", 1).set_dword("ServiceSidType", 2)
    odd.set_binary(
        "FailureActions", encode_failure_actions(60, [{"action": 9, "delay_ms": 1}], declared_count=3, trailing="ff")
    )
    odd.key("Security").set_binary("Security", sddl_to_bytes("D:NO_ACCESS_CONTROL"))
    trig = odd.key("TriggerInfo")
    for name, spec in (("b", {"type": 3}), ("1", {"type": 99})):
        node = trig.key(name)
        for value_name, reg_type, data in trigger_values(guid="1ce20aba-9851-4421-9430-1ddeb766e809", **spec):
            node.set(value_name, reg_type, data)
    loose = services.key("NoStart")  # rejected: still decoded, but no default descriptor rule
    loose.set_dword("Type", 0x10).key("Security").set("Security", REG_BINARY, b"\x01")
    drv = services.key("drv")
    drv.set_dword("Type", 1).set_dword("Start", 3).set_dword("ErrorControl", 1)
    records = _hive(write_hive, root)

    rec = records["OddAgent"]
    assert rec.failure_actions is not None and rec.failure_actions.actions[0].type == 9
    assert rec.failure_actions.trailing_hex == "ff"
    assert rec.service_sid_type == 2 and rec.service_sid_type_name == "unknown_2"
    assert rec.security_sddl == "D:NO_ACCESS_CONTROL" and rec.default_sd_applies is False
    assert [t.subkey for t in rec.triggers] == ["1", "b"]
    assert {
        "failure_action_unknown_type",
        "failure_actions_clamped",
        "failure_actions_trailing",
        "named_value_unknown",
        "sd_no_dacl",
        "trigger_name_not_numeric",
        "trigger_index_gap",
        "trigger_type_unknown",
    } <= codes(rec)
    everyone = rec.security_access[0]
    assert everyone.alias == "WD" and "change_config" in everyone.allowed

    rejected = records["NoStart"]
    assert rejected.status == "rejected" and rejected.default_sd_applies is None
    assert "security_descriptor_invalid" in codes(rejected)
    assert records["drv"].default_sd_applies is None and records["drv"].security_sddl is None
    assert records["drv"].key_security_sddl == "O:BAG:SYD:(A;CIID;KA;;;BA)(A;CIID;KA;;;SY)(A;CIID;KR;;;BU)"
