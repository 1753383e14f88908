"""The service database of real SYSTEM hives (../shared/hives; skipped when absent).

Counts are checked against an independent raw walk with python-registry, not against
numbers typed into the test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from Registry import Registry

import hivescan
from tests.conftest import shared_hive

CLEAN = ["win7-SYSTEM", "nt4-SYSTEM", "win10-dirty-SYSTEM"]


def raw_services(path: Path) -> dict[str, list[str]]:
    """ControlSetNNN -> Services subkey names, by python-registry (independent of hivescan)."""
    reg = Registry.Registry(str(path))
    out = {}
    for key in reg.root().subkeys():
        if re.fullmatch(r"(?i)controlset\d{3}", key.name()):
            services = next((k for k in key.subkeys() if k.name().lower() == "services"), None)
            if services is not None:
                out[key.name()] = [k.name() for k in services.subkeys()]
    return out


@pytest.mark.parametrize("name", CLEAN)
def test_every_subkey_once_per_control_set_and_all_sets_covered(name: str) -> None:
    path = shared_hive(name)
    raw = raw_services(path)
    with hivescan.open_hive(path, logs="none") as hive:  # the raw walk reads the primary file
        recs = hive.services("all")
        sets = [c.name for c in hive.control_sets()]
    assert sets == sorted(raw)  # --control-set all covers every existing ControlSetNNN
    for cs_name, names in raw.items():
        number = int(cs_name[-3:])
        got = [r.name for r in recs if r.control_set == number]
        assert got == names  # same keys, same (hive) order, each exactly once
    assert all(r.key_path.lower().startswith(f"controlset{r.control_set:03d}\\services\\") for r in recs)


@pytest.mark.parametrize("name", CLEAN)
def test_no_value_is_truncated(name: str) -> None:
    path = shared_hive(name)
    reg = Registry.Registry(str(path))
    with hivescan.open_hive(path, logs="none") as hive:  # compared with the primary file's bytes
        recs = hive.services("all")
    checked = 0
    for rec in recs:
        key = reg.open(rec.key_path)
        for value in key.values():
            if value.value_type() in (1, 2) and value.name().lower() in ("imagepath", "description", "displayname"):
                text = value.raw_data().decode("utf-16-le", "replace").split("\0")[0]
                field = {"imagepath": rec.image_path, "description": rec.description, "displayname": rec.display_name}
                assert field[value.name().lower()] == text
                checked += 1
        raw = {v.name: v for v in rec.raw_values}
        for value in key.values():
            if value.value_type() == 5:  # python-registry 1.3.1 returns wrong bytes for big-endian DWORDs
                continue
            size_field = value._vkrecord.unpack_dword(0x4)
            if size_field & 0x80000000:
                # inline data (<= 4 bytes in the offset field): python-registry 1.3.1 returns b""
                # for inline REG_MULTI_SZ/REG_SZ, so check against the vk record itself
                inline = value._vkrecord.unpack_dword(0x8).to_bytes(4, "little")[: size_field & 0x7FFFFFFF]
                assert raw[value.name()].data == inline
            else:
                assert raw[value.name()].data == value.raw_data()
    assert checked > 100


def test_win7_select_and_control_sets() -> None:
    with hivescan.open_hive(shared_hive("win7-SYSTEM")) as hive:
        info = hive.info()
        assert info.select == {"Current": 1, "Default": 1, "LastKnownGood": 2, "Failed": 0}
        assert [(c.name, c.roles) for c in info.control_sets] == [
            ("ControlSet001", ("current", "default")),
            ("ControlSet002", ("lkg",)),
        ]
        assert {r.control_set for r in hive.services("lkg")} == {2}
        statuses = {r.status for r in hive.services()}
        assert statuses == {"database", "rejected", "pending_delete"}
        # two brace-named keys hold only a Parameters subkey: rejected, and not flagged as typed
        braces = [r for r in hive.services() if r.name.startswith("{")]
        assert len(braces) == 2 and all(r.reject_reason == "brace_name" for r in braces)
        assert not any("brace_name_with_type" in r.diagnostic_codes for r in braces)


def test_win10_primary_file_without_logs() -> None:
    with hivescan.open_hive(shared_hive("win10-dirty-SYSTEM"), logs="none") as hive:
        info = hive.info()
        assert info.dirty and info.primary_sequence != info.secondary_sequence
        assert {"hive_dirty", "logs_disabled"} <= {d.code for d in info.diagnostics}
        recs = hive.services()
    assert len(recs) == len(raw_services(shared_hive("win10-dirty-SYSTEM"))["ControlSet001"])
    by_name = {r.name: r for r in recs}
    # ServiceDll at key level with no Parameters subkey (scm-spec §7.3 OBS)
    assert by_name["DoSvc"].service_dll_source == "key"
    assert by_name["EventLog"].service_dll_source == "key"
    # per-user template and instance are records of their own
    assert by_name["CDPUserSvc"].type in (0x50, 0x60)


def test_damaged_xp_hive_yields_every_readable_service_with_clear_warnings() -> None:
    path = shared_hive("xp-corrupted-SYSTEM")
    with hivescan.open_hive(path) as hive:
        recs = hive.services("all")
        warnings = hive.hive_diagnostics()
        cell_names = [hive.reader.cells.nk(hive.reader.key(r.key_path).cell_offset).name for r in recs]
    assert len(recs) == 198
    assert {r.control_set for r in recs} == {1}
    # no junk rows: every name is printable and every key cell was checked
    assert all(r.name.isprintable() and r.name for r in recs)
    assert cell_names == [r.name for r in recs]
    messages = [d.message for d in warnings if d.code == "subkey_list_incomplete"]
    assert any("258 subkeys declared, 198 readable" in m for m in messages)
    assert any(m.startswith("ControlSet003:") for m in messages)
    assert any(d.code == "services_key_missing" for d in warnings)


def test_nt4_hive_regf_1_3() -> None:
    with hivescan.open_hive(shared_hive("nt4-SYSTEM")) as hive:
        assert hive.info().regf_version == "1.3"
        recs = hive.services()
    assert {r.status for r in recs} >= {"database", "rejected"}
    assert all(r.origin.parser == "regipy-rs" for r in recs)


@pytest.mark.parametrize("backend", ["regipy", "python-registry"])
def test_fallback_parsers_give_the_same_records(backend: str) -> None:
    path = shared_hive("nt4-SYSTEM")

    def strip(rec: hivescan.ServiceRecord) -> dict:
        d = rec.to_dict()
        d.pop("parser")
        return d

    with hivescan.open_hive(path) as hive:
        want = [strip(r) for r in hive.services("all")]
    with hivescan.open_hive(path, backend=backend) as hive:
        got = [strip(r) for r in hive.services("all")]
    assert got == want
