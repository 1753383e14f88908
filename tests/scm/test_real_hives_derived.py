"""The database pass on real hives (../shared/hives; skipped when absent)."""

from __future__ import annotations

import pytest

import hivescan
from hivescan.scm.constants import DRIVER_TYPES
from tests.conftest import shared_hive

# what explains a driver without a DOS path (scm-spec §5.2)
DRIVER_REASONS = {
    "driver_envvar_not_expanded",
    "driver_dos_path",
    "nt_device_path",
    "driver_unmapped_nt_path",
    "driver_path_quoted",
}
# what explains a Win32 ImagePath without a module path (scm-spec §5.3)
WIN32_REASONS = {
    "envvar_unknown",
    "envvar_in_reg_sz",
    "image_path_drive_relative",
    "image_path_no_module",
    "candidate_legacy_default",
}


@pytest.mark.parametrize("name", ["win7-SYSTEM", "win10-dirty-SYSTEM", "nt4-SYSTEM", "xp-corrupted-SYSTEM"])
def test_every_image_is_resolved_or_explained(name: str) -> None:
    with hivescan.open_hive(shared_hive(name)) as hive:
        records = hive.services("all")
    checked = 0
    for rec in records:
        if rec.type is None or rec.status == "rejected":
            continue
        reasons = DRIVER_REASONS if (rec.type & ~0x200) in DRIVER_TYPES else WIN32_REASONS
        if rec.image_path_resolved is None:
            assert set(rec.diagnostic_codes) & reasons, (rec.name, rec.image_path)
        checked += 1
    assert checked > 100


def test_windows10_details() -> None:
    with hivescan.open_hive(shared_hive("win10-dirty-SYSTEM")) as hive:
        records = {r.name: r for r in hive.services()}
        (plan,) = hive.boot_plans(records=list(records.values()))
    assert plan.entries[0].name == "WdBoot"  # ELAM before every other boot driver
    assert records["WdBoot"].group_known is False
    # own-process Defender service with %ProgramData%: unknown without SOFTWARE, not guessed at
    assert records["WdNisSvc"].image_path_resolved is None
    assert records["WdNisSvc"].env_vars == (("ProgramData", False),)
    # per-user instances of 1709 link to their templates and stay out of the plan
    instances = [r for r in records.values() if r.template is not None]
    assert len(instances) == 9
    assert all(r.load_phase is None and r.service_dll_source == "template" for r in instances)
    cdp = records["CDPUserSvc_1d05b"]
    assert cdp.template == "CDPUserSvc" and cdp.user_instance_luid == "1d05b"
    assert "instance_differs_from_template" not in cdp.diagnostic_codes
    # LanmanServer pulls the demand-start srv2 driver in, which needs srvnet first
    names = [e.name for e in plan.entries]
    assert names.index("srvnet") < names.index("srv2") < names.index("LanmanServer")
    assert records["srv2"].pulled_in_by == ("LanmanServer",)
    schedule = records["Schedule"]
    assert (schedule.svchost_group, schedule.svchost_switches) == ("netsvcs", ("-p",))


def test_windows7_tags_order_boot_drivers() -> None:
    with hivescan.open_hive(shared_hive("win7-SYSTEM")) as hive:
        records = hive.services()
        (plan, *_) = hive.boot_plans(records=records)
    boot = plan.phase("boot")
    for group in {e.group for e in boot if e.group_order_index is not None}:
        members = [e for e in boot if e.group == group]
        tagged = [e.tag_order_index for e in members if e.tag_order_index is not None]
        assert tagged == sorted(tagged), group
        # tagged members come before untagged ones inside the group
        flags = [e.tag_order_index is None for e in members]
        assert flags == sorted(flags), group
    positions = [e.group_order_index for e in boot if e.group_order_index is not None]
    assert positions == sorted(positions)


def test_nt4_services_exe_hosted_services_resolve() -> None:
    with hivescan.open_hive(shared_hive("nt4-SYSTEM")) as hive:
        records = {r.name: r for r in hive.services()}
    assert records["Alerter"].image_path_resolved == "C:\\Windows\\System32\\services.exe"
    assert records["Afd"].image_path_nt == "\\SystemRoot\\System32\\drivers\\afd.sys"
    assert records["Abiosdsk"].image_path_source == "default"
