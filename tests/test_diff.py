"""diff.py: keyed by upper-cased name, raw fields compared, both origins kept."""

from __future__ import annotations

from pathlib import Path

import hivescan
from hivescan.diff import compare_records, diff_records
from hivescan.hive.regtypes import REG_SZ
from hivescan.testing.regf import WKey, sz
from tests.conftest import system_root


def test_control_sets_of_the_demo_hive(demo_hive: Path) -> None:
    with hivescan.open_hive(demo_hive) as hive:
        lkg, current = hive.services(1), hive.services(2)
    changes = {c.name.upper(): c for c in diff_records(lkg, current)}
    assert changes["LEGACYFILTER"].kind == "removed" and changes["LEGACYFILTER"].after is None
    assert changes["PSEXESVC"].kind == "added"
    hijack = changes["WERCPLSUPPORT"]
    assert hijack.kind == "changed"
    fields = {f.field: f for f in hijack.fields}
    assert fields["service_dll"].before == r"%SystemRoot%\System32\wercplsupport.dll"
    assert fields["service_dll"].after == r"C:\ProgramData\Microsoft\Crypto\wercplsupport.dll"
    assert fields["start"].before == 3 and fields["start"].after == 2
    assert hijack.before_origin is not None and hijack.before_origin.control_set == 1
    assert hijack.after_origin is not None and hijack.after_origin.control_set == 2
    assert "SCHEDULE" not in changes  # identical in both sets
    as_dict = hijack.to_dict()
    assert as_dict["before"]["key_path"] == r"ControlSet001\Services\wercplsupport"


def test_names_compare_case_insensitively_and_hidden_tails_show(write_hive) -> None:  # type: ignore[no-untyped-def]
    root = system_root(1, (1, 2))
    for number, tail in ((1, b""), (2, sz("hidden"))):
        svc = root.key(f"ControlSet{number:03d}\\Services\\{'Agent' if number == 1 else 'AGENT'}")
        svc.set_dword("Type", 0x10).set_dword("Start", 2).set_dword("ErrorControl", 1)
        svc.set("DisplayName", REG_SZ, sz("Agent") + tail)
    with hivescan.open_hive(write_hive(root)) as hive:
        a, b = hive.services(1), hive.services(2)
    (change,) = diff_records(a, b)
    assert change.kind == "changed"  # same service despite the case
    (field,) = change.fields  # the effective DisplayName is equal; the raw bytes are not
    assert field.field == "values.DisplayName"
    assert field.after.endswith(sz("hidden").hex())
    assert not compare_records(a[0], a[0])


def test_raw_values_outside_the_record_fields_are_compared(write_hive) -> None:  # type: ignore[no-untyped-def]
    root = system_root(1, (1, 2))
    for number in (1, 2):
        svc = root.key(f"ControlSet{number:03d}\\Services\\Svc")
        svc.set_dword("Type", 0x10).set_dword("Start", 2).set_dword("ErrorControl", 1)
        params: WKey = svc.key("Parameters")
        params.set("Application", REG_SZ, sz("a.exe" if number == 1 else "b.exe"))
    with hivescan.open_hive(write_hive(root)) as hive:
        (change,) = diff_records(hive.services(1), hive.services(2))
    assert [f.field for f in change.fields] == ["parameters.Application"]
