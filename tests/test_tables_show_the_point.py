"""Tables that put the point first: the live database before rejected keys, and the ServiceDll
where the image is only svchost.exe (boot-plan, diff)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from hivescan.cli import app

runner = CliRunner()
HOSTED = {
    "Values": {"values": {"Kind": 1}},  # no Type, no ImagePath: rejected (not a service)
    "Zeta": {
        "values": {
            "Type": 0x20,
            "Start": 2,
            "ErrorControl": 1,
            "ImagePath": {"expand_sz": r"%SystemRoot%\System32\svchost.exe -k netsvcs"},
        },
        "keys": {"Parameters": {"values": {"ServiceDll": {"expand_sz": r"C:\ProgramData\z\zeta.dll"}}}},
    },
}


def _invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_services_table_lists_the_live_database_before_rejected_keys(spec_hive: Callable[..., Path]) -> None:
    path = spec_hive({".NET CLR Data": {"values": {"Counter": 1}}, **HOSTED})
    records = [json.loads(line) for line in _invoke("services", str(path), "-f", "jsonl").splitlines()]
    assert records[0]["status"] == "rejected"  # hive order: the rejected key comes first
    table = _invoke("services", str(path))
    assert table.index("Zeta") < table.index(".NET CLR Data") and table.index("Zeta") < table.index("Values")


def test_boot_plan_shows_the_service_dll_of_a_hosted_service(spec_hive: Callable[..., Path]) -> None:
    path = spec_hive(HOSTED)
    table = _invoke("boot-plan", str(path))
    assert r"dll: C:\ProgramData\z\zeta.dll" in table
    plans = json.loads(_invoke("boot-plan", str(path), "-f", "json", "-q"))
    entries = [e for plan in plans for e in plan["entries"] if e["name"] == "Zeta"]
    assert entries and entries[0]["service_dll"] == r"C:\ProgramData\z\zeta.dll"


def test_diff_shows_the_service_dll_of_an_added_hosted_service(spec_hive: Callable[..., Path]) -> None:
    before = spec_hive({"Values": HOSTED["Values"]})
    after = spec_hive(HOSTED)
    table = _invoke("diff", str(before), str(after))
    assert "added" in table and r"dll: C:\ProgramData\z\zeta.dll" in table
