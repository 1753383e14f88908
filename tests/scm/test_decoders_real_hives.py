"""The decoders on real SYSTEM hives (../shared/hives): everything present decodes or says why not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import hivescan
from hivescan.scm.record import ServiceRecord
from tests.conftest import shared_hive

HIVES = ["win7-SYSTEM", "win10-dirty-SYSTEM", "nt4-SYSTEM", "xp-corrupted-SYSTEM"]
DEFAULT_SERVICE_SDSHOW = (
    "D:(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)(A;;CCLCSWLOCRRC;;;IU)"
    "(A;;CCLCSWLOCRRC;;;SU)S:(AU;FA;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;WD)"
)
# diagnostics that explain a value that could not be (fully) decoded
EXPLAINED_FAILURE = {"failure_actions_truncated"}
EXPLAINED_SECURITY = {"security_descriptor_invalid"}
_cache: dict[str, list[ServiceRecord]] = {}


def records(name: str) -> list[ServiceRecord]:
    if name not in _cache:
        with hivescan.open_hive(shared_hive(name)) as hive:
            _cache[name] = hive.services("all")
    return _cache[name]


def with_value(recs: list[ServiceRecord], name: str) -> Iterator[ServiceRecord]:
    for rec in recs:
        if any(v.name.upper() == name.upper() for v in rec.raw_values):
            yield rec


@pytest.mark.parametrize("hive", HIVES)
def test_every_failure_actions_value_decodes(hive: str) -> None:
    recs = list(with_value(records(hive), "FailureActions"))
    for rec in recs:
        codes = set(rec.diagnostic_codes)
        assert rec.failure_actions is not None or codes & EXPLAINED_FAILURE, rec.name
        if rec.failure_actions is not None:
            fa = rec.failure_actions
            blob = bytes.fromhex(rec.failure_actions_hex or "")
            assert fa.layout == "wow64" and len(blob) == 20 + 8 * len(fa.actions)  # OBS: Windows' form, always
            assert all(a.action is not None for a in fa.actions), rec.name


@pytest.mark.parametrize("hive", HIVES)
def test_every_trigger_decodes(hive: str) -> None:
    for rec in records(hive):
        assert len(rec.triggers) == len(rec.triggers_raw), rec.name
        for trigger in rec.triggers:
            assert trigger.type_name and trigger.action_name and trigger.guid, (rec.name, trigger.subkey)
            for item in trigger.data:
                assert item.value is not None and item.data_type_name, (rec.name, trigger.subkey, item)
        assert not {c for c in rec.diagnostic_codes if c.startswith("trigger_")}, rec.name


@pytest.mark.parametrize("hive", HIVES)
def test_every_security_value_decodes(hive: str) -> None:
    recs = [r for r in records(hive) if r.security_hex is not None]
    for rec in recs:
        codes = set(rec.diagnostic_codes)
        assert rec.security_sddl is not None or codes & EXPLAINED_SECURITY, rec.name
        if rec.security_sddl is not None:
            assert rec.security_access, rec.name
            assert "hex:" not in rec.security_sddl, rec.name  # every condition on these hives decodes
        elif rec.status != "rejected" and rec.type is not None and rec.type & 0xF0:
            assert rec.default_sd_applies is True, rec.name
    for rec in records(hive):  # the key's own security: present and valid on every key
        assert rec.key_security_sddl is not None and rec.key_writable_by_low_privilege is not None, rec.name


def test_sizes_seen_on_the_real_hives() -> None:
    counts = {h: sum(1 for r in records(h) if r.security_hex is not None) for h in HIVES}
    assert all(counts.values()), counts  # every hive has service descriptors to decode
    assert sum(len(r.triggers) for r in records("win10-dirty-SYSTEM")) == 184


def test_default_service_dacl_prints_like_sc_sdshow() -> None:
    win10 = {r.name: r for r in records("win10-dirty-SYSTEM")}
    defaults = {r.name for r in win10.values() if r.security_sdshow == DEFAULT_SERVICE_SDSHOW}
    # services that keep the SCM's default descriptor on this Windows 10 1709 hive
    assert {"NcaSvc", "WinNat", "MessagingService_1d05b"} <= defaults
    assert win10["NcaSvc"].security_sddl == "O:SYG:SY" + DEFAULT_SERVICE_SDSHOW
    schedule = win10["Schedule"].security_sdshow or ""
    assert schedule.startswith("D:(A;;CCLCSWLORC;;;AU)") and schedule.endswith(
        "S:(AU;FA;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;WD)"
    )


def test_windows_specific_cases() -> None:
    win10 = {r.name: r for r in records("win10-dirty-SYSTEM")}
    schedule = win10["Schedule"].failure_actions
    assert schedule is not None and [a.action for a in schedule.actions] == ["own_restart", "restart", "none"]
    # lfsvc carries conditional ACEs: (XA;;LCRPWP;;;IU;(!(WIN://ISMULTISESSIONSKU)))
    assert "(XA;;LCRPWP;;;IU;(!(WIN://ISMULTISESSIONSKU)))" in (win10["lfsvc"].security_sddl or "")
    # the five "Guid" spellings are kept: every trigger has its subtype
    assert all(t.guid for r in win10.values() for t in r.triggers)
    win7 = [r for r in records("win7-SYSTEM") if r.name == "CryptSvc"]
    assert win7 and all(r.security_sddl is None and r.default_sd_applies for r in win7)


def test_windows7_service_keys_writable_by_users() -> None:
    """RpcEptMapper and Dnscache let Users create subkeys on Windows 7 (the 2020 "Performance" key
    privilege escalation); Windows 10 fixed it."""
    win7 = [r for r in records("win7-SYSTEM") if r.name in ("RpcEptMapper", "Dnscache")]
    assert len(win7) == 4  # two control sets
    for rec in win7:
        assert rec.key_writable_by_low_privilege is True
        assert "BU" in rec.key_writable_by
    win7_low = {r.name for r in records("win7-SYSTEM") if r.key_writable_by_low_privilege}
    assert win7_low == {"RpcEptMapper", "Dnscache"}
    win10 = {r.name: r for r in records("win10-dirty-SYSTEM")}
    assert win10["RpcEptMapper"].key_writable_by_low_privilege is False
    assert not any(r.key_writable_by_low_privilege for r in win10.values())


def test_nt4_everyone_may_create_subkeys() -> None:
    """NT 4's default service key ACLs let Everyone create subkeys (KEY_READ | KEY_CREATE_SUB_KEY)."""
    nt4 = [r for r in records("nt4-SYSTEM") if r.key_writable_by_low_privilege]
    assert nt4
    assert all("WD" in r.key_writable_by for r in nt4)
