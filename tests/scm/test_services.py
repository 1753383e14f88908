"""Which Services subkeys become records and with what fields (scm-spec §2.3, §3, §7.3)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

import hivescan
from hivescan.hive.regtypes import REG_BINARY, REG_MULTI_SZ, REG_QWORD, REG_SZ
from hivescan.scm.record import ServiceRecord
from hivescan.testing.regf import WKey, filetime, multi_sz, qword, sz
from tests.conftest import system_root

Writer = Callable[..., Path]


def svc(root: WKey, name: str, type_: int | None = 0x10, start: int | None = 3, error_control: int | None = 1) -> WKey:
    key = root.key(f"ControlSet001\\Services\\{name}")
    if type_ is not None:
        key.set_dword("Type", type_)
    if start is not None:
        key.set_dword("Start", start)
    if error_control is not None:
        key.set_dword("ErrorControl", error_control)
    return key


def records(write_hive: Writer, root: WKey, **opts: object) -> dict[str, ServiceRecord]:
    with hivescan.open_hive(write_hive(root)) as hive:
        return {r.name: r for r in hive.services(**opts)}  # type: ignore[arg-type]


def codes(rec: ServiceRecord) -> set[str]:
    return set(rec.diagnostic_codes)


# ---------------------------------------------------------------- status (§2.3 A-G)


def test_status_rules(write_hive: Writer) -> None:
    root = system_root()
    svc(root, "Normal")
    svc(root, "{Brace}")
    svc(root, "{BraceNoType}", type_=None, start=None, error_control=None)
    svc(root, "NoType", type_=None)
    svc(root, "Adapter", type_=4)
    svc(root, "Odd", type_=0x30)
    svc(root, "NoStart", start=None)
    svc(root, "NoErrorControl", error_control=None)
    svc(root, "Pending").set_dword("DeleteFlag", 0)  # the data is ignored: 0 still counts
    svc(root, "Template", type_=0x60)
    svc(root, "Instance", type_=0xE0)
    svc(root, "Recognizer", type_=8)
    svc(root, "Packaged", type_=0x210)
    recs = records(write_hive, root)
    status = {name: (r.status, r.reject_reason) for name, r in recs.items()}
    assert status == {
        "Normal": ("database", None),
        "{Brace}": ("rejected", "brace_name"),
        "{BraceNoType}": ("rejected", "brace_name"),
        "NoType": ("rejected", "no_type"),
        "Adapter": ("rejected", "bad_type"),
        "Odd": ("rejected", "bad_type"),
        "NoStart": ("rejected", "no_start"),
        "NoErrorControl": ("rejected", "no_errorcontrol"),
        "Pending": ("pending_delete", None),
        "Template": ("database", None),
        "Instance": ("database", None),
        "Recognizer": ("database", None),
        "Packaged": ("database", None),
    }
    assert "brace_name_with_type" in codes(recs["{Brace}"])
    assert "brace_name_with_type" not in codes(recs["{BraceNoType}"])
    assert "rejected_typed_key" in codes(recs["NoStart"])
    assert "packaged_service" in codes(recs["Packaged"])
    assert recs["Pending"].delete_flag == 0 and recs["Pending"].pending_delete
    assert recs["Adapter"].type == 4  # the raw value is kept on rejected keys


def test_lenient_accepts_missing_error_control(write_hive: Writer) -> None:
    root = system_root()
    svc(root, "NoErrorControl", error_control=None)
    rec = records(write_hive, root, lenient=True)["NoErrorControl"]
    assert rec.status == "database" and rec.error_control == 1
    assert rec.sources["error_control"] == "default"
    assert "error_control_defaulted" in codes(rec)


def test_delete_flag_too_long_is_not_honoured(write_hive: Writer) -> None:
    root = system_root()
    svc(root, "Odd").set("DeleteFlag", REG_QWORD, qword(1))
    rec = records(write_hive, root)["Odd"]
    assert rec.status == "database" and "delete_flag_unreadable" in codes(rec)


def test_short_start_is_kept_and_flagged(write_hive: Writer) -> None:
    root = system_root()
    svc(root, "Updater", start=None).set("Start", REG_BINARY, b"\x02").set_expand_sz(
        "ImagePath", r"C:\Users\Public\u.exe"
    )
    rec = records(write_hive, root)["Updater"]
    assert rec.start == 2 and rec.status == "database"
    assert codes(rec) == {"type_mismatch", "dword_short_data"}
    assert rec.origin.key_path == r"ControlSet001\Services\Updater"


def test_range_and_combination_flags(write_hive: Writer) -> None:
    root = system_root()
    svc(root, "Seven", start=7)
    svc(root, "BootWin32", start=0)
    svc(root, "Critical", error_control=9)
    svc(root, "Interactive", type_=0x110).set_sz("ObjectName", ".\\alice")
    svc(root, "InteractiveOk", type_=0x110).set_sz("ObjectName", "LocalSystem")
    recs = records(write_hive, root)
    assert "start_out_of_range" in codes(recs["Seven"])
    assert "start_invalid_for_win32" in codes(recs["BootWin32"])
    assert "error_control_out_of_range" in codes(recs["Critical"])
    assert "interactive_not_localsystem" in codes(recs["Interactive"])
    assert "interactive_not_localsystem" not in codes(recs["InteractiveOk"])
    assert all(r.status == "database" for r in recs.values())


def test_every_services_subkey_appears_exactly_once_per_set(write_hive: Writer) -> None:
    root = system_root(current=1, sets=(1, 2))
    names = ["a", "B", "c c", "{x}", "Zeta", "ünï"]
    for n in names:
        svc(root, n)
        root.key(f"ControlSet002\\Services\\{n}")  # no values at all in set 2
    with hivescan.open_hive(write_hive(root)) as hive:
        recs = hive.services("all")
    assert sorted((r.control_set, r.name) for r in recs) == sorted((cs, n) for cs in (1, 2) for n in names)


# ---------------------------------------------------------------- fields (§3)


def test_strings_are_never_truncated(write_hive: Writer) -> None:
    long_cmd = "%COMSPEC% /b /c start /b /min powershell.exe -nop -w hidden -enc " + "JABzAD0A" * 120
    huge = "A" * 20_000  # stored as big data (db record)
    root = system_root()
    svc(root, "Long").set_expand_sz("ImagePath", long_cmd).set_sz("Description", huge)
    rec = records(write_hive, root)["Long"]
    assert len(long_cmd) > 700
    assert rec.image_path == long_cmd and rec.image_path_type == "REG_EXPAND_SZ"
    assert rec.description == huge


def test_hidden_tail_is_reported_and_the_raw_bytes_kept(write_hive: Writer) -> None:
    root = system_root()
    svc(root, "Hider").set("DisplayName", REG_SZ, sz("Windows Helper") + sz("secret"))
    rec = records(write_hive, root)["Hider"]
    assert rec.display_name == "Windows Helper"
    assert "hidden_tail" in codes(rec)
    raw = next(v for v in rec.raw_values if v.name == "DisplayName")
    assert raw.data.decode("utf-16-le").endswith("secret\0")


def test_defaults_carry_their_source(write_hive: Writer) -> None:
    root = system_root()
    svc(root, "Win32")
    svc(root, "Kernel", type_=1, start=1)
    svc(root, "Fs", type_=2)
    svc(root, "UserTemplate", type_=0x50)
    svc(root, "Named").set_sz("DisplayName", "Nice Name").set_sz("ObjectName", "NT AUTHORITY\\LocalService")
    recs = records(write_hive, root)
    assert (recs["Win32"].object_name, recs["Win32"].sources["object_name"]) == ("LocalSystem", "default")
    assert (recs["Win32"].display_name, recs["Win32"].sources["display_name"]) == ("Win32", "default")
    assert recs["Kernel"].object_name == "\\Driver\\Kernel"
    assert recs["Fs"].object_name == "\\FileSystem\\Fs"
    assert recs["UserTemplate"].object_name is None and "object_name" not in recs["UserTemplate"].sources
    assert recs["Named"].sources == {"display_name": "registry", "object_name": "registry"}
    assert recs["Win32"].tag is None  # absent stays absent


def test_multi_strings_and_group_dependencies(write_hive: Writer) -> None:
    root = system_root()
    svc(root, "Deps").set("DependOnService", REG_MULTI_SZ, multi_sz(["RpcSs", "+TDI", "", "Hidden"])).set_multi_sz(
        "DependOnGroup", ["NetBIOSGroup"]
    ).set_multi_sz("RequiredPrivileges", ["SeTcbPrivilege"])
    rec = records(write_hive, root)["Deps"]
    assert rec.depend_on_service == ("RpcSs", "+TDI")
    assert rec.depend_on_group == ("NetBIOSGroup",)
    assert rec.required_privileges == ("SeTcbPrivilege",)
    assert {"multi_sz_hidden_items", "group_in_depend_on_service"} <= codes(rec)


def test_service_dll_location_rules(write_hive: Writer) -> None:
    root = system_root()
    svc(root, "ParamsOnly", type_=0x20).key("Parameters").set_expand_sz("ServiceDll", r"%SystemRoot%\p.dll")
    svc(root, "KeyOnly", type_=0x20).set_expand_sz("ServiceDll", r"%SystemRoot%\k.dll")
    both = svc(root, "Both", type_=0x20)
    both.set_expand_sz("ServiceDll", r"C:\ProgramData\evil.dll")
    both.key("Parameters").set_expand_sz("ServiceDll", r"%SystemRoot%\good.dll").set_sz("ServiceMain", "Main2")
    empty_params = svc(root, "EmptyParams", type_=0x20)
    empty_params.set_expand_sz("ServiceDll", r"%SystemRoot%\k.dll")
    empty_params.key("Parameters").set_dword("Other", 1)
    svc(root, "WrongType", type_=0x20).key("Parameters").set_sz("ServiceDll", r"%SystemRoot%\v.dll")
    recs = records(write_hive, root)
    assert (recs["ParamsOnly"].service_dll, recs["ParamsOnly"].service_dll_source) == (
        r"%SystemRoot%\p.dll",
        "parameters",
    )
    assert (recs["KeyOnly"].service_dll, recs["KeyOnly"].service_dll_source) == (r"%SystemRoot%\k.dll", "key")
    assert recs["Both"].service_dll == r"%SystemRoot%\good.dll" and recs["Both"].service_main == "Main2"
    conflict = next(d for d in recs["Both"].diagnostics if d.code == "service_dll_conflict")
    assert conflict.level == "warning" and "evil.dll" in conflict.message
    # the rule is keyed on the Parameters subkey existing, not on the value (scm-spec §7.3)
    assert recs["EmptyParams"].service_dll is None and "service_dll_conflict" in codes(recs["EmptyParams"])
    assert "service_dll_wrong_type" in codes(recs["WrongType"])
    assert [v.name for v in recs["Both"].parameters_raw] == ["ServiceDll", "ServiceMain"]


def test_binary_values_stay_raw_hex(write_hive: Writer) -> None:
    root = system_root()
    s = svc(root, "Bin")
    s.set_binary("FailureActions", bytes.fromhex("805101000000000000000000010000001400000001000000" + "60ea0000"))
    s.key("Security").set_binary("Security", b"\x01\x00\x04\x80" + b"\x00" * 16)
    s.key("TriggerInfo\\0").set_dword("Type", 1).set_dword("Action", 1)
    rec = records(write_hive, root)["Bin"]
    assert rec.failure_actions_hex == "805101000000000000000000010000001400000001000000" + "60ea0000"
    assert rec.security_hex == "01000480" + "00" * 16
    assert [t["subkey"] for t in rec.triggers_raw] == ["0"]
    assert set(rec.subkey_last_writes) == {"Security", "TriggerInfo", "TriggerInfo\\0"}


def test_provenance(write_hive: Writer) -> None:
    root = system_root()
    svc(root, "Prov").last_write = filetime("2024-03-02T11:12:08.5Z")
    path = write_hive(root)
    with hivescan.open_hive(path) as hive:
        (rec,) = hive.services()
    assert rec.origin.hive_path == str(path)
    assert rec.origin.hive_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert rec.origin.parser == "regipy-rs"
    assert rec.last_write == "2024-03-02T11:12:08.500000Z"
    assert rec.origin.last_write_filetime == filetime("2024-03-02T11:12:08.5Z")
    assert rec.key_security_hex  # the key's own sk descriptor is kept


def test_duplicate_names_in_a_crafted_hive(write_hive: Writer) -> None:
    root = system_root()
    services = root.key("ControlSet001\\Services")
    for name in ("Dup", "DUP"):
        k = WKey(name)
        k.set_dword("Type", 16).set_dword("Start", 3).set_dword("ErrorControl", 1)
        services.subkeys.append(k)
    recs = [r for r in hivescan.open_hive(write_hive(root)).services()]
    assert [r.name for r in recs] == ["Dup", "DUP"]
    assert "duplicate_ci_name" in codes(recs[1])


@pytest.mark.parametrize("field", ["Type", "Start", "ErrorControl"])
def test_qword_core_values_reject_the_key(write_hive: Writer, field: str) -> None:
    root = system_root()
    key = svc(root, "Q")
    key.set(field, REG_QWORD, qword(2))
    rec = records(write_hive, root)["Q"]
    assert rec.status == "rejected"
    assert "dword_too_long" in codes(rec)
    assert next(v for v in rec.raw_values if v.name == field).data == qword(2)
