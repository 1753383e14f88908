"""The database-level pass on built hives: SOFTWARE, svchost cross-checks, per-user services."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import hivescan
from hivescan.errors import NotAHive, WrongHiveType
from hivescan.scm.database import annotate_database, read_control_data
from hivescan.scm.record import ServiceRecord
from hivescan.system import open_software

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DEMO_SOFTWARE = FIXTURES / "demo-SOFTWARE"


def records_of(path: Path, **options: Any) -> dict[str, ServiceRecord]:
    with hivescan.open_hive(path, **options) as hive:
        return {r.name: r for r in hive.services()}


def codes(record: ServiceRecord) -> list[str]:
    return list(record.diagnostic_codes)


# ---- SOFTWARE


def test_demo_software_is_read() -> None:
    software = open_software(DEMO_SOFTWARE)
    assert software.system_root == "C:\\Windows"
    assert software.program_dirs["ProgramFiles"] == "C:\\Program Files"
    assert software.program_dirs["ProgramData"] == "C:\\ProgramData"  # ProfileList, %SystemDrive% expanded
    assert software.program_dirs["ALLUSERSPROFILE"] == "C:\\ProgramData"
    netsvcs = software.group("NETSVCS")
    assert netsvcs is not None and "Schedule" in netsvcs.members
    assert [v.name for v in netsvcs.settings] == ["CoInitializeSecurityParam", "AuthenticationCapabilities"]
    assert software.diagnostics[0].code == "software_hive"
    assert len(software.sha256) == 64


def test_software_must_be_a_software_hive(demo_hive: Path, tmp_path: Path) -> None:
    with pytest.raises(WrongHiveType, match="SYSTEM hive"):
        open_software(demo_hive)
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a hive at all" * 300)
    with pytest.raises(NotAHive):
        hivescan.open_hive(demo_hive, software=junk)


def test_system_root_from_software_is_used(spec_hive: Callable[..., Path]) -> None:
    system = spec_hive(
        {
            "Drv": {"values": {"Type": 1, "Start": 3, "ErrorControl": 1}},
            "Svc": {
                "values": {"Type": 16, "Start": 3, "ErrorControl": 1, "ImagePath": {"expand_sz": "%SystemRoot%\\a.exe"}}
            },
        }
    )
    software = spec_hive(
        raw={"keys": {"Microsoft\\Windows NT\\CurrentVersion": {"values": {"SystemRoot": "D:\\WINNT"}}}}
    )
    with hivescan.open_hive(system, software=software) as hive:
        recs = {r.name: r for r in hive.services()}
        hive_codes = [d.code for d in hive.hive_diagnostics()]
    assert recs["Drv"].image_path_resolved == "D:\\WINNT\\System32\\drivers\\Drv.sys"
    assert recs["Svc"].image_path_resolved == "D:\\WINNT\\a.exe"
    assert "systemroot_assumed" not in codes(recs["Svc"])
    assert "systemroot_assumed" not in hive_codes
    assert "software_hive" in hive_codes
    assert "software_value_missing" in hive_codes  # no ProgramFilesDir, no Svchost key


# ---- svchost cross-checks (spec §7.2)


def test_svchost_cross_checks_with_software(demo_hive: Path) -> None:
    with hivescan.open_hive(demo_hive, software=DEMO_SOFTWARE) as hive:
        recs = {r.name: r for r in hive.services()}
        hive_notes = [d for d in hive.hive_diagnostics() if d.code == "svchost_list_orphan"]
    assert recs["Schedule"].svchost_group == "netsvcs" and recs["Schedule"].svchost_listed is True
    assert recs["Schedule"].svchost_switches == ("-p",)
    helper = recs["NetSvcHelper"]
    assert helper.svchost_listed is False and "svchost_not_in_group" in codes(helper)
    assert helper.service_dll_expanded == "C:\\ProgramData\\NetSvc\\nsh.dll"
    assert helper.env_vars == (("SystemRoot", True), ("ProgramData", True))
    diag = recs["WinDiagHost"]
    assert diag.svchost_group == "diag" and diag.svchost_listed is None
    assert {"svchost_group_missing", "svchost_masquerade"} <= set(codes(diag))
    assert "svchost_list_orphan" in codes(recs["SSDPSRV"])  # listed in LocalService too
    instance = recs["CDPUserSvc_4a1f2"]
    assert instance.svchost_listed is True  # UnistackSvcGroup lists its template
    orphans = sorted(d.message.split("lists ")[1].split(",")[0] for d in hive_notes)
    assert orphans == [  # (CryptSvc, listed in netsvcs, has a key in the demo hive: not an orphan)
        "'BITS'",
        "'Dhcp'",
        "'OneSyncSvc'",
        "'PlugPlay'",
        "'Power'",
        "'W32Time'",
        "'gpsvc'",
        "'upnphost'",
    ]
    assert all(d.level == "info" for d in hive_notes)


def test_svchost_without_software(demo_hive: Path) -> None:
    recs = records_of(demo_hive)
    schedule = recs["Schedule"]
    assert schedule.svchost_group == "netsvcs" and schedule.svchost_listed is None
    assert "svchost_group_unknown" in codes(schedule)
    helper = recs["NetSvcHelper"]
    assert helper.service_dll_expanded == "%ProgramData%\\NetSvc\\nsh.dll"
    assert helper.env_vars == (("SystemRoot", True), ("ProgramData", False))
    assert recs["Spooler"].svchost_group is None


def test_driver_with_svchost_image_is_flagged(spec_hive: Callable[..., Path]) -> None:
    recs = records_of(
        spec_hive(
            {
                "OddDrv": {
                    "values": {
                        "Type": 1,
                        "Start": 3,
                        "ErrorControl": 1,
                        "ImagePath": "\\SystemRoot\\System32\\svchost.exe",
                    }
                }
            }
        )
    )
    assert "driver_svchost_image" in codes(recs["OddDrv"])


def _own_process(image_path: str) -> dict[str, Any]:
    return {"values": {"Type": 0x10, "Start": 3, "ErrorControl": 1, "ImagePath": {"expand_sz": image_path}}}


def test_svchost_arguments_none_and_the_word_none_are_parsed_apart(spec_hive: Callable[..., Path]) -> None:
    """The pass parses each (module, arguments) once: no arguments and the argument text "None"
    must not share an entry (a key written as text made them one, and the second record
    got the first one's switches and notes)."""
    recs = records_of(
        spec_hive(
            {
                "Bare": _own_process("%SystemRoot%\\System32\\svchost.exe"),
                "Worded": _own_process("%SystemRoot%\\System32\\svchost.exe None"),
            }
        )
    )
    bare, worded = recs["Bare"], recs["Worded"]
    assert bare.image_path_resolved == worded.image_path_resolved
    assert (bare.image_args, worded.image_args) == (None, "None")
    assert bare.svchost_switches == () and "svchost_args_unusual" not in codes(bare)
    assert worded.svchost_switches == ("None",) and "svchost_args_unusual" in codes(worded)


def test_blank_image_paths_are_resolved_per_service(spec_hive: Callable[..., Path]) -> None:
    """A blank ImagePath's legacy default names the service itself: two services with the same
    blank text must not share one resolution (the per-call cache was keyed by the text only)."""
    recs = records_of(spec_hive({"Alpha": _own_process("  "), "Beta": _own_process("  ")}))
    assert recs["Alpha"].image_candidates == ("C:\\Windows\\System32\\Alpha.exe",)
    assert recs["Beta"].image_candidates == ("C:\\Windows\\System32\\Beta.exe",)
    assert "Beta.exe" in next(d.message for d in recs["Beta"].diagnostics if d.code == "candidate_legacy_default")


# ---- per-user services (spec §8)


TEMPLATE = {
    "values": {
        "Type": 0x60,
        "Start": 3,
        "ErrorControl": 1,
        "ImagePath": {"expand_sz": "%SystemRoot%\\system32\\svchost.exe -k UnistackSvcGroup"},
        "ObjectName": "LocalSystem",
        "FailureActions": {"binary": "80510100 00000000 00000000 00000000 00000000"},
    },
    "keys": {
        "Parameters": {
            "values": {"ServiceDll": {"expand_sz": "%SystemRoot%\\System32\\tpl.dll"}, "ServiceMain": "Main"}
        }
    },
}


def instance(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "Type": 0xE0,
        "Start": 3,
        "ErrorControl": 1,
        "ImagePath": {"expand_sz": "C:\\WINDOWS\\system32\\svchost.exe -k UnistackSvcGroup"},
        "FailureActions": {"binary": "80510100 00000000 00000000 00000000 00000000"},
    }
    values.update(changes)
    return {"values": values}


def test_instances_link_to_their_template(spec_hive: Callable[..., Path]) -> None:
    recs = records_of(
        spec_hive(
            {
                "Tpl_Svc": TEMPLATE,  # a template whose own name holds "_"
                "Tpl_Svc_1d05b": instance(),
                "Tpl_Svc_ff": instance(Start=4, ImagePath={"expand_sz": "C:\\evil.exe"}, ObjectName="Bob"),
                "Gone_abc": instance(),
                "NoSuffix": instance(),
                "Tpl_Svc_xyz": instance(),
                "clr_optimization_v4.0.30319_32": {"values": {"Type": 0x10, "Start": 3, "ErrorControl": 1}},
            }
        )
    )
    good = recs["Tpl_Svc_1d05b"]
    assert (good.template, good.user_instance_luid) == ("Tpl_Svc", "1d05b")
    assert "instance_differs_from_template" not in codes(good)  # ImagePath equal after expansion (ci)
    assert "stale_user_instance" in codes(good) and good.load_phase is None
    assert (good.service_dll, good.service_dll_source, good.service_main) == (
        "%SystemRoot%\\System32\\tpl.dll",
        "template",
        "Main",
    )
    assert good.service_dll_expanded == "C:\\Windows\\System32\\tpl.dll"
    assert good.sources["service_dll"] == "derived"
    bad = recs["Tpl_Svc_ff"]
    message = next(d.message for d in bad.diagnostics if d.code == "instance_differs_from_template")
    assert "Start 4 vs 3" in message and "ImagePath" in message and "object_name 'Bob'" in message
    assert "orphan_user_instance" in codes(recs["Gone_abc"]) and recs["Gone_abc"].template is None
    assert recs["Gone_abc"].user_instance_luid == "abc"
    assert "user_instance_bad_name" in codes(recs["NoSuffix"])
    assert "user_instance_bad_name" in codes(recs["Tpl_Svc_xyz"])  # "xyz" is not hex
    assert recs["Tpl_Svc"].user_instances == ("Tpl_Svc_1d05b", "Tpl_Svc_ff")
    assert recs["clr_optimization_v4.0.30319_32"].template is None  # not an instance type: never split
    assert "user_instance_bad_name" not in codes(recs["clr_optimization_v4.0.30319_32"])


def test_instance_type_must_be_template_type_with_instance_bit(spec_hive: Callable[..., Path]) -> None:
    recs = records_of(spec_hive({"Tpl": TEMPLATE, "Tpl_1": instance(Type=0xD0)}))
    message = next(d.message for d in recs["Tpl_1"].diagnostics if d.code == "instance_differs_from_template")
    assert "Type 0xd0, expected 0xe0" in message


# ---- the pass as a library call


def test_pass_copies_unless_told_otherwise(demo_hive: Path) -> None:
    with hivescan.open_hive(demo_hive) as hive:
        records = hive.services()
        control = read_control_data(hive.control_set_key(2).subkey("Control"))  # type: ignore[union-attr]
    before = [r.to_dict() for r in records]
    result = annotate_database(records, control, open_software(DEMO_SOFTWARE))
    assert [r.to_dict() for r in records] == before  # the caller's records are untouched
    assert result.records[0] is not records[0]
    by_name = {r.name: r for r in result.records}
    assert by_name["Schedule"].svchost_listed is True
    assert result.context.environment.get("ProgramFiles") == "C:\\Program Files"


def test_new_fields_round_trip(demo_hive: Path) -> None:
    with hivescan.open_hive(demo_hive, software=DEMO_SOFTWARE) as hive:
        records = hive.services("all")
    for rec in records:
        again = ServiceRecord.from_dict(rec.to_dict())
        assert again.to_dict() == rec.to_dict()
    schedule = next(r for r in records if r.name == "Schedule" and r.control_set == 2)
    row = schedule.to_dict()
    assert row["load_phase"] == "auto" and isinstance(row["order_key"], int)
    assert row["svchost_switches"] == ["-p"] and row["env_vars"] == {"systemroot": True}


def test_frame_dtypes(demo_hive: Path) -> None:
    with hivescan.open_hive(demo_hive) as hive:
        frame = hive.services_frame()
    assert str(frame["order_key"].dtype) == "Int64"
    assert str(frame["group_known"].dtype) == "boolean"
    assert str(frame["load_phase"].dtype) == "category"
    assert bool(frame.loc[frame.name == "AcmeBackup", "unquoted_path_risk"].item())
    assert not bool(frame.loc[frame.name == "VMTools", "unquoted_path_risk"].item())
