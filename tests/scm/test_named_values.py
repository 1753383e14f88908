"""Labels of the enumerated service values; unknown values are shown raw and flagged (scm-spec §3.2)."""

from __future__ import annotations

from typing import Any

from hivescan.scm.named_values import (
    check_named_values,
    delayed_auto_start_name,
    launch_protected_name,
    service_sid_type_name,
    user_service_flags_name,
)


def check(**overrides: Any) -> set[str]:
    args: dict[str, Any] = {
        "type_": 0x10,
        "start": 2,
        "service_sid_type": None,
        "launch_protected": None,
        "user_service_flags": None,
        "delayed_auto_start": None,
        "required_privileges": (),
    }
    args.update(overrides)
    return {d.code for d in check_named_values(**args)}


def test_names() -> None:
    assert [service_sid_type_name(v) for v in (None, 0, 1, 3, 2)] == [
        None,
        "none",
        "unrestricted",
        "restricted",
        "unknown_2",
    ]
    assert [launch_protected_name(v) for v in (0, 1, 2, 3, 4)] == [
        "none",
        "windows",
        "windows_light",
        "antimalware_light",
        "unknown_4",
    ]
    assert [user_service_flags_name(v) for v in (0, 3, 1)] == ["instances_disabled", "instances_enabled", "unknown_1"]
    assert [delayed_auto_start_name(v) for v in (None, 0, 1, 7)] == [None, "not_delayed", "delayed", "delayed"]


def test_clean_values_give_no_diagnostics() -> None:
    assert check() == set()
    assert check(service_sid_type=3, launch_protected=3, user_service_flags=3, delayed_auto_start=1) == set()
    assert check(required_privileges=("SeTcbPrivilege", "SECREATEPAGEFILEPRIVILEGE")) == set()
    assert check(type_=0x60, delayed_auto_start=1) == set()  # a per-user template starting automatically


def test_unusual_values_are_flagged() -> None:
    assert check(service_sid_type=2) == {"named_value_unknown"}
    assert check(launch_protected=9) == {"named_value_unknown"}
    assert check(user_service_flags=1) == {"named_value_unknown"}
    assert check(start=3, delayed_auto_start=1) == {"delayed_autostart_ineffective"}
    assert check(type_=0x1, delayed_auto_start=1) == {"delayed_autostart_ineffective"}
    assert check(required_privileges=("SeTcbPrivilege", "SeGodModePrivilege")) == {"privilege_unknown"}
