"""Stacking on built hives with known shared and rare services, and the stacking keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hivescan.testing.regf import HiveWriter
from hivescan.testing.win10 import HostSpec, system_tree
from hivescan.triage import discover, scan_batch, stack_image_paths, stack_service_dlls, stack_services
from hivescan.triage.stacking import path_stack_key, service_stack_name
from tests.triage.conftest import write_fleet


@pytest.fixture(scope="module")
def fleet_services(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("fleet")
    write_fleet(root, hosts=5)
    nameless = system_tree(HostSpec("NONAME", seed=77, services=90, filler=False))
    cn = nameless.key("ControlSet001\\Control\\ComputerName\\ComputerName")
    cn.values = [v for v in cn.values if v.name != "ComputerName"]
    (root / "noname").mkdir()
    (root / "noname" / "SYSTEM").write_bytes(HiveWriter(nameless).build().data)
    frames = scan_batch(discover([root]).inputs)
    assert (frames.hives["status"] == "ok").all()
    return frames.services


def test_rare_services_come_first_with_their_hosts(fleet_services) -> None:  # type: ignore[no-untyped-def]
    stack = stack_services(fleet_services)
    assert list(stack["hosts"]) == sorted(stack["hosts"])  # rarest first
    rows = stack.set_index("value")
    assert rows.loc["UPDATERSVC", "hosts"] == 1 and list(rows.loc["UPDATERSVC", "host_names"]) == ["WS-00001"]
    assert rows.loc["NETHELPERX", "hosts"] == 2
    assert list(rows.loc["NETHELPERX", "host_names"]) == ["WS-00001", "WS-00002"]
    assert rows.loc["SPOOLER", "hosts"] == 6  # every host, the nameless one counted by its sha256
    assert rows.loc["SPOOLER", "example"] == "Spooler"
    nameless = [h for h in rows.loc["SPOOLER", "host_names"] if h.startswith("sha256:")]
    assert len(nameless) == 1 and len(nameless[0]) == len("sha256:") + 12
    assert stack.iloc[0]["hosts"] == 1 and "UPDATERSVC" in set(stack[stack["hosts"] == 1]["value"])


def test_per_user_instances_stack_with_their_template(fleet_services) -> None:  # type: ignore[no-untyped-def]
    instances = fleet_services[fleet_services["name"].str.startswith("CDPUserSvc_")]
    assert instances["name"].nunique() == 12  # two logons per host, a different LUID each
    rows = stack_services(fleet_services).set_index("value")
    assert rows.loc["CDPUSERSVC", "hosts"] == 6
    assert rows.loc["CDPUSERSVC", "records"] == 6 * 3  # template + 2 instances per host
    assert rows.loc["CDPUSERSVC", "forms"] == 13 and rows.loc["CDPUSERSVC", "example"] == "CDPUserSvc"
    assert not any(v.startswith("CDPUSERSVC_") for v in rows.index)


def test_image_paths_and_service_dlls(fleet_services) -> None:  # type: ignore[no-untyped-def]
    paths = stack_image_paths(fleet_services).set_index("value")
    assert paths.loc[r"c:\users\public\upd.exe", "hosts"] == 1
    assert list(paths.loc[r"c:\users\public\upd.exe", "services"]) == ["UpdaterSvc"]
    unistack = paths.loc[r"%systemroot%\system32\svchost.exe -k unistacksvcgroup"]
    assert unistack["hosts"] == 6 and unistack["forms"] == 2  # template %SystemRoot% and instance C:\Windows
    drivers = paths.loc[r"%systemroot%\system32\drivers\drv0000.sys"]
    assert drivers["hosts"] == 6 and drivers["example"] == r"System32\drivers\drv0000.sys"
    dlls = stack_service_dlls(fleet_services).set_index("value")
    assert dlls.loc[r"c:\programdata\nh\nethelper.dll", "hosts"] == 2
    assert dlls.iloc[0]["hosts"] <= dlls.iloc[-1]["hosts"]


def test_few_hosts_are_listed_many_are_counted(fleet_services) -> None:  # type: ignore[no-untyped-def]
    rows = stack_services(fleet_services, host_names_max=3).set_index("value")
    assert list(rows.loc["NETHELPERX", "host_names"]) == ["WS-00001", "WS-00002"]
    assert list(rows.loc["SPOOLER", "host_names"]) == [] and rows.loc["SPOOLER", "hosts"] == 6


@pytest.mark.parametrize(
    ("name", "type_", "key"),
    [
        ("CDPUserSvc_3fa1e", 0xE0, "CDPUSERSVC"),
        ("CDPUserSvc_3fa1e", 0x60, "CDPUSERSVC_3FA1E"),  # not an instance type: a name like any other
        ("clr_optimization_v4.0.30319_32", 0x10, "CLR_OPTIMIZATION_V4.0.30319_32"),
        ("Odd_name_xyz", 0xD0, "ODD_NAME_XYZ"),  # instance type, suffix not hex: kept
        ("Spooler", None, "SPOOLER"),
    ],
)
def test_service_stack_name(name: str, type_: int | None, key: str) -> None:
    assert service_stack_name(name, type_) == key


@pytest.mark.parametrize(
    ("path", "type_", "key"),
    [
        (r"System32\drivers\x.sys", 1, r"%systemroot%\system32\drivers\x.sys"),
        (r"\SystemRoot\System32\drivers\x.sys", 1, r"%systemroot%\system32\drivers\x.sys"),
        (r"\??\C:\Windows\System32\drivers\x.sys", 1, r"%systemroot%\system32\drivers\x.sys"),
        (r"System32\drivers\x.sys", 0x10, r"system32\drivers\x.sys"),  # Win32: a search path, not root-relative
        (r"C:\WINDOWS\system32\svchost.exe -k netsvcs", 0x20, r"%systemroot%\system32\svchost.exe -k netsvcs"),
        (r"%windir%\system32\x.exe", 0x10, r"%systemroot%\system32\x.exe"),
        (r'"C:\Windows\x.exe" /run', 0x10, r'"%systemroot%\x.exe" /run'),
        (r"\??\C:\Tools\agent.exe", 0x10, r"c:\tools\agent.exe"),
        (r"C:\Program Files\A B\svc.exe", 0x10, r"c:\program files\a b\svc.exe"),  # unquoted stays unquoted
        ("  ", 0x10, ""),
    ],
)
def test_path_stack_key(path: str, type_: int, key: str) -> None:
    assert path_stack_key(path, type_) == key


def test_empty_dataset_gives_empty_stacks(tmp_path: Path) -> None:
    frames = scan_batch([])
    assert stack_services(frames.services).empty and list(stack_services(frames.services).columns)[:4] == [
        "value",
        "example",
        "forms",
        "hosts",
    ]


@given(
    text=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
    type_=st.one_of(st.none(), st.integers(0, 0x1FF)),
)
def test_stack_keys_ignore_case_and_never_raise(text: str, type_: int | None) -> None:
    key = path_stack_key(text, type_)
    assert key == key.lower() and key == path_stack_key(text.upper(), type_) == path_stack_key(text.lower(), type_)
    name = service_stack_name(text, type_)
    assert name == name.upper() and name in text.upper()
