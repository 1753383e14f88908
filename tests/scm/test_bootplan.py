"""Boot order on built hives: phases, groups, tags, ELAM, dependency closure, cycles (scm-spec §6)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import hivescan
from hivescan.scm.bootplan import BootPlan
from hivescan.scm.record import ServiceRecord
from tests.conftest import shared_hive

EXPAND = "expand_sz"


def drv(start: int, group: str | None = None, tag: int | None = None, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"Type": 1, "Start": start, "ErrorControl": 1}
    if group is not None:
        values["Group"] = group
    if tag is not None:
        values["Tag"] = tag
    values.update(extra)
    return {"values": values}


def svc(start: int, *, depends: list[str] | None = None, groups: list[str] | None = None, **extra: Any) -> dict:
    values: dict[str, Any] = {
        "Type": 0x10,
        "Start": start,
        "ErrorControl": 1,
        "ImagePath": {EXPAND: "%SystemRoot%\\x.exe"},
    }
    if depends:
        values["DependOnService"] = depends
    if groups:
        values["DependOnGroup"] = groups
    values.update(extra)
    return {"values": values}


CONTROL = {
    "Control\\ServiceGroupOrder": {"values": {"List": ["Boot Bus Extender", "SCSI Class", "Base", "TDI"]}},
    "Control\\GroupOrderList": {"values": {"SCSI Class": {"binary": "02000000 05000000 03000000"}}},
}


def build(spec_hive: Callable[..., Path], services: dict[str, Any]) -> tuple[list[ServiceRecord], BootPlan]:
    with hivescan.open_hive(spec_hive(services, control=CONTROL)) as hive:
        records = hive.services()
        (plan,) = hive.boot_plans(records=records)
    return records, plan


def by_name(records: list[ServiceRecord]) -> dict[str, ServiceRecord]:
    return {r.name: r for r in records}


def test_boot_and_system_drivers_follow_groups_and_tags(spec_hive: Callable[..., Path]) -> None:
    records, plan = build(
        spec_hive,
        {
            "a_base": drv(0, "Base"),
            "b_scsi_tag3": drv(0, "SCSI Class", 3),
            "c_scsi_tag5": drv(0, "SCSI Class", 5),
            "d_scsi_untagged": drv(0, "SCSI Class"),
            "e_network": drv(0, "Network"),
            "f_nogroup": drv(0),
            "g_bbe_tag99": drv(0, "boot bus extender", 99),
            "h_elam": drv(0, "Early-Launch"),
            "i_system_base": drv(1, "Base"),
            "j_system_scsi": drv(1, "SCSI Class", 3),
            "k_win32_start1": svc(1),
        },
    )
    assert [e.name for e in plan.entries] == [
        "h_elam",  # Early-Launch first, though not a listed group
        "g_bbe_tag99",  # Boot Bus Extender (#0); its tag is in no vector
        "c_scsi_tag5",  # SCSI Class (#1): vector order 5, 3, then the untagged
        "b_scsi_tag3",
        "d_scsi_untagged",
        "a_base",  # Base (#2)
        "e_network",  # unknown groups, then no group
        "f_nogroup",
        "j_system_scsi",  # every boot driver before any system driver
        "i_system_base",
    ]
    assert [e.order for e in plan.entries] == list(range(1, 11))
    assert {e.phase for e in plan.entries[:8]} == {"boot"} and {e.phase for e in plan.entries[8:]} == {"system"}
    recs = by_name(records)
    assert (recs["c_scsi_tag5"].group_order_index, recs["c_scsi_tag5"].tag_order_index) == (1, 0)
    assert (recs["b_scsi_tag3"].tag_order_index, recs["d_scsi_untagged"].tag_order_index) == (1, None)
    assert recs["g_bbe_tag99"].group_known is True and recs["e_network"].group_known is False
    assert recs["f_nogroup"].group_known is None
    assert "ros_boot_driver_not_loaded" in recs["e_network"].diagnostic_codes
    assert "ros_boot_driver_not_loaded" in recs["h_elam"].diagnostic_codes
    assert "ros_boot_driver_not_loaded" not in recs["a_base"].diagnostic_codes
    assert ("k_win32_start1", "start_invalid_for_win32") in plan.excluded


def test_auto_start_pulls_in_its_demand_start_dependencies_first(spec_hive: Callable[..., Path]) -> None:
    records, plan = build(
        spec_hive,
        {
            "AutoA": svc(2, depends=["DemandSvc"]),
            "AutoB": svc(2, depends=["autoa", "DisabledSvc"]),
            "DemandSvc": svc(3, depends=["DemandDrv"]),
            "DemandDrv": drv(3),
            "DisabledSvc": svc(4),
            "Lonely": svc(3),
            "Late": svc(2, depends=["DemandLate"], DelayedAutostart=1),
            "DemandLate": svc(3),
            "NeedsLate": svc(2, depends=["Late2"]),
            "Late2": svc(2, DelayedAutostart=1),
        },
    )
    order = [(e.phase, e.name) for e in plan.entries]
    assert order == [
        ("auto", "DemandDrv"),
        ("auto", "DemandSvc"),
        ("auto", "AutoA"),
        ("auto", "AutoB"),
        ("auto", "Late2"),  # delayed, but an auto-start service needs it now
        ("auto", "NeedsLate"),
        ("delayed_auto", "DemandLate"),
        ("delayed_auto", "Late"),
    ]
    recs = by_name(records)
    assert recs["DemandSvc"].pulled_in_by == ("AutoA",)
    assert recs["DemandDrv"].pulled_in_by == ("DemandSvc",)
    assert recs["Late2"].pulled_in_by == ("NeedsLate",)
    assert recs["AutoB"].pulled_in_by == ()  # auto-start itself
    assert recs["DisabledSvc"].load_phase is None
    assert "dependency_disabled" in recs["AutoB"].diagnostic_codes
    assert recs["AutoB"].dependency_closure == ("DemandDrv", "DemandSvc", "AutoA", "DisabledSvc")
    assert recs["DemandSvc"].dependents == ("AutoA",)
    assert recs["AutoA"].dependents == ("AutoB",)
    assert dict(plan.excluded)["Lonely"] == "demand_start"
    assert dict(plan.excluded)["DisabledSvc"] == "disabled"


def test_cycles_are_flagged_and_the_plan_still_ends(spec_hive: Callable[..., Path]) -> None:
    records, plan = build(
        spec_hive,
        {
            "CycA": svc(2, depends=["CycB"]),
            "CycB": svc(3, depends=["CycC"]),
            "CycC": svc(3, depends=["cyca"]),
            "Self": svc(2, depends=["Self"]),
            "Fine": svc(2, depends=["CycB"]),
        },
    )
    recs = by_name(records)
    for name in ("CycA", "CycB", "CycC", "Self"):
        assert "dependency_cycle" in recs[name].diagnostic_codes, name
    assert "dependency_cycle" not in recs["Fine"].diagnostic_codes
    assert sorted(e.name for e in plan.entries) == ["CycA", "CycB", "CycC", "Fine", "Self"]
    cycle_note = next(d for d in recs["CycA"].diagnostics if d.code == "dependency_cycle")
    assert "CycA -> CycB -> CycC" in cycle_note.message


def test_group_dependencies(spec_hive: Callable[..., Path]) -> None:
    records, _plan = build(
        spec_hive,
        {
            "NeedsTdi": svc(2, groups=["tdi"]),
            "PlusTdi": svc(2, depends=["+TDI"]),
            "NeedsNothing": svc(2, groups=["NoSuchGroup"]),
            "TdiDrv": drv(3, "TDI"),
            "TdiSvc": svc(4, Group="TDI"),
        },
    )
    recs = by_name(records)
    assert recs["TdiDrv"].load_phase == "auto"
    assert recs["TdiDrv"].pulled_in_by == ("NeedsTdi", "PlusTdi")
    assert recs["TdiDrv"].dependents == ("NeedsTdi", "PlusTdi")
    assert "dependency_group_unsatisfiable" in recs["NeedsNothing"].diagnostic_codes
    assert "group_in_depend_on_service" in recs["PlusTdi"].diagnostic_codes
    assert recs["TdiSvc"].load_phase is None  # disabled members are not started


def test_dangling_targets(spec_hive: Callable[..., Path]) -> None:
    records, _plan = build(
        spec_hive,
        {
            "Needy": svc(2, depends=["Missing", "Going", "Rejected"]),
            "Going": svc(3, DeleteFlag=1),
            "Rejected": {"values": {"Type": 4, "Start": 3}},
        },
    )
    messages = [d.message for d in by_name(records)["Needy"].diagnostics if d.code == "dependency_dangling"]
    assert len(messages) == 3
    assert "no such service key" in messages[0]
    assert "pending delete" in messages[1]
    assert "rejected (bad_type)" in messages[2]


def test_triggers_templates_and_other_exclusions(spec_hive: Callable[..., Path]) -> None:
    trigger = {"TriggerInfo\\0": {"values": {"Type": 1, "Action": 1}}}
    _records, plan = build(
        spec_hive,
        {
            "Triggered": {**svc(3), "keys": trigger},
            "AutoTriggered": {**svc(2), "keys": trigger},
            "Template": svc(2, Type=0x60),
            "Template_1a2b": svc(2, Type=0xE0),
            "Deleted": svc(2, DeleteFlag=0),
            "Brace": svc(2),
            "{Brace}": svc(2),
        },
    )
    phases = {e.name: e.phase for e in plan.entries}
    assert phases == {"AutoTriggered": "auto", "Brace": "auto", "Triggered": "trigger"}
    assert plan.phase("trigger")[0].triggers == 1
    excluded = dict(plan.excluded)
    assert excluded["Template"] == "user_template"
    assert excluded["Template_1a2b"] == "user_instance"
    assert excluded["Deleted"] == "pending_delete"
    assert excluded["{Brace}"] == "rejected (brace_name)"


def test_all_control_sets_give_one_plan_each(demo_hive: Path) -> None:
    with hivescan.open_hive(demo_hive) as hive:
        plans = hive.boot_plans("all")
    assert [p.control_set for p in plans] == [1, 2]
    assert "LegacyFilter" in {e.name for e in plans[0].entries}  # only in the LastKnownGood set
    assert "LegacyFilter" not in {e.name for e in plans[1].entries}


def test_demo_plan(demo_hive: Path) -> None:
    with hivescan.open_hive(demo_hive) as hive:
        (plan,) = hive.boot_plans()
    names = [e.name for e in plan.entries]
    assert names[0] == "WdBoot"  # ELAM
    assert names.index("Srv2") == names.index("LanmanServer") - 1  # pulled in right before it
    assert names.index("HTTP") < names.index("Spooler")
    assert plan.phase("delayed_auto")[0].name == "DoSvc"
    # demand-start services with triggers, listed apart (LicenseManager: RPC interface, SNMPTRAP:
    # firewall port, wuauserv: group policy / ETW)
    assert [e.name for e in plan.phase("trigger")] == ["LicenseManager", "SNMPTRAP", "wuauserv"]
    assert dict(plan.excluded)["OldAgent"] == "pending_delete"


@pytest.mark.parametrize("name", ["win7-SYSTEM", "win10-dirty-SYSTEM", "nt4-SYSTEM"])
def test_real_hives_give_a_plan(name: str) -> None:
    with hivescan.open_hive(shared_hive(name)) as hive:
        records = hive.services("all")
        plans = hive.boot_plans("all", records=records)
    for plan in plans:
        phases = [e.phase for e in plan.entries]
        assert phases == sorted(phases, key=["boot", "system", "auto", "delayed_auto", "trigger"].index)
        assert [e.order for e in plan.entries] == list(range(1, len(plan.entries) + 1))
        assert phases.count("boot") > 0 and phases.count("auto") > 0
    started = [r for r in records if r.load_phase is not None]
    assert all(r.status == "database" for r in started)
