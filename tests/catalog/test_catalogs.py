"""Catalogs: provenance headers, reproducible build, lookups that cite their row."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hivescan.catalog.build import build_all
from hivescan.catalog.globs import compile_glob
from hivescan.catalog.lookups import (
    driver_file_name,
    lookup_expected_image_path,
    lookup_expected_service_dll,
    lookup_loldriver_hash,
    lookup_loldrivers,
    lookup_lolrmm,
    lookup_suspicious_service,
    lookup_windows_service,
    normalise_for_expectation,
    readable_pattern,
)
from hivescan.catalog.tables import load_table, parse_table
from hivescan.scm.record import HiveRef, Origin, ServiceRecord
from hivescan.scm.winversion import WindowsVersion

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "hivescan" / "catalog" / "data"
SHARED_DATA = Path(os.environ.get("HIVESCAN_SHARED", ROOT.parent / "shared")) / "data"


def rec(name: str, **fields: object) -> ServiceRecord:
    return ServiceRecord(
        name=name, status="database", origin=Origin(HiveRef("S", "0" * 64), 1, name, 0, "test"), **fields
    )


@pytest.mark.parametrize("path", sorted(DATA.glob("*.csv")), ids=lambda p: p.name)
def test_every_catalog_names_source_commit_licence_and_date(path: Path) -> None:
    table = parse_table(path.name, path.read_text(encoding="utf-8"))
    for key in ("source", "commit", "licence", "built"):
        assert table.header.get(key), f"{path.name}: header lacks {key}"
    assert len(table.header["commit"]) == 40
    assert table.rows, "no rows"


def test_catalogs_rebuild_byte_for_byte_from_shared_data() -> None:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} not available (see ../shared/data SOURCES.md)")
    committed = {p.name: p.read_text(encoding="utf-8") for p in DATA.glob("*.csv")}
    date = parse_table("x", committed["loldrivers.csv"]).header["built"].split()[0]
    assert build_all(SHARED_DATA, date) == committed


def test_loldrivers_lookup_cites_the_row_and_uses_the_kernel_default_path() -> None:
    found = lookup_loldrivers(rec("RTCore64", type=1, image_path=r"\??\C:\Windows\Temp\RTCore64.sys"))
    assert found is not None and found.row["category"] == "vulnerable" and found.key == "rtcore64.sys"
    table = load_table("loldrivers.csv")
    assert table.rows[table.lines.index(found.line)]["file_name"] == "rtcore64.sys"
    assert found.citation.startswith("hivescan/catalog/data/loldrivers.csv:")
    # no ImagePath: the kernel loads System32\drivers\<name>.sys
    assert driver_file_name(rec("capcom", type=1)) == "capcom.sys"
    assert lookup_loldrivers(rec("capcom", type=1)) is not None
    assert lookup_loldrivers(rec("RTCore64", type=0x10, image_path=r"C:\RTCore64.sys")) is None  # not a driver
    mal = lookup_loldrivers(rec("x", type=1, image_path=r"System32\drivers\MIMIDRV.SYS"))
    assert mal is not None and mal.row["category"] == "malicious"


def test_loldriver_hash_lookup() -> None:
    table = load_table("loldrivers_sha256.csv")
    sha = table.rows[0]["sha256"]
    found = lookup_loldriver_hash(sha.upper())
    assert found is not None and found.row["entry_id"] == table.rows[0]["entry_id"]
    assert lookup_loldriver_hash("0" * 64) is None


def test_rmm_lookup_by_name_image_and_install_path() -> None:
    by_name = lookup_lolrmm(rec("AnyDesk"))
    assert by_name is not None and by_name.facts["matched_on"] == "name" and by_name.row["tool"] == "AnyDesk"
    by_path = lookup_lolrmm(rec("RenamedAgent", image_path=r'"C:\Program Files\Mesh Agent\MeshAgent.exe"'))
    assert by_path is not None and by_path.facts["matched_on"] in ("image_path", "install_path")
    assert lookup_lolrmm(rec("EventLog", image_path=r"%SystemRoot%\System32\svchost.exe -k LocalService")) is None


def test_suspicious_names_are_globs() -> None:
    found = lookup_suspicious_service(rec("PAExec-1234-HOST"))
    assert found is not None and found.row["tool_type"] == "offensive_tool"
    assert lookup_suspicious_service(rec("Schedule")) is None


def test_windows_service_names_include_per_user_templates() -> None:
    assert lookup_windows_service(rec("Schedule")) is not None
    instance = lookup_windows_service(rec("CDPUserSvc_4a1f2", type=0xE0))
    assert instance is not None and instance.key == "CDPUserSvc"
    assert lookup_windows_service(rec("TeamViewer")) is None  # Trawler's third-party rows are not stock


WIN10 = {"windows": WindowsVersion(nt_version="10.0", build=19045, product="Windows 10", confidence="high")}


def test_expectations_expand_the_system_root_before_matching() -> None:
    good = lookup_expected_service_dll(
        rec("wercplsupport", service_dll=r"%SystemRoot%\System32\wercplsupport.dll"), WIN10
    )
    assert good is not None and good.facts["agrees"] is True
    assert good.facts["compared"] == r"C:\Windows\System32\wercplsupport.dll"
    bad = lookup_expected_service_dll(rec("wercplsupport", service_dll=r"C:\ProgramData\x\wercplsupport.dll"), WIN10)
    assert bad is not None and bad.facts["agrees"] is False and "wercplsupport" in bad.row["expected_regex"]
    driver = lookup_expected_image_path(rec("disk", type=1, image_path=r"System32\drivers\disk.sys"), WIN10)
    assert driver is not None and driver.facts["agrees"] is True
    assert lookup_expected_image_path(rec("NotWindows", image_path="x")) is None
    assert (
        normalise_for_expectation(r"\SystemRoot\system32\drivers\a.sys", driver=True)
        == r"C:\Windows\system32\drivers\a.sys"
    )
    assert normalise_for_expectation(r"\??\C:\x.sys", driver=True) == r"C:\x.sys"


def test_globs_are_windows_style() -> None:
    assert compile_glob(r"*\Users\Public\*").match(r"C:\users\public\a.exe")
    assert compile_glob("PAExec-*").match("paexec-1-h")
    assert not compile_glob("a?c").match("abbc")
    assert compile_glob("[x]*").match("[x]yz")  # brackets are literal


XP = {"windows": WindowsVersion(nt_version="5.1", build=2600, product="Windows XP", confidence="medium")}


@pytest.mark.parametrize("context", [XP, {}, None], ids=["xp", "unknown", "no-context"])
def test_windows_10_expectations_are_not_applied_to_other_or_unknown_windows(context: dict | None) -> None:
    """XP's Dhcp loads dhcpcsvc.dll: against Trawler's Windows 10 dhcpcore.dll that would be a
    false "differs"; an undetected version is no licence to compare either."""
    xp_dhcp = rec("Dhcp", service_dll=r"%SystemRoot%\System32\dhcpcsvc.dll")
    found = lookup_expected_service_dll(xp_dhcp, context)
    assert found is not None and found.facts["agrees"] is None and found.facts["applies"] is False
    assert found.facts["matches"] is False  # the shape is still there for exclusions
    on_win10 = lookup_expected_service_dll(xp_dhcp, WIN10)
    assert on_win10 is not None and on_win10.facts["agrees"] is False and on_win10.facts["applies"] is True
    assert on_win10.facts["applies_to"] == "Windows 10/11 and Server 2016 or later (NT 10.0)"


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_service_dll_never_differs(value: str) -> None:
    found = lookup_expected_service_dll(rec("Dhcp", service_dll=value), WIN10)
    assert found is not None and found.facts["agrees"] is None and found.facts["observed"] == value


def test_expectations_read_as_paths_where_the_pattern_is_a_plain_path() -> None:
    assert (
        readable_pattern(r"[A-Za-z]{1}:\\Windows\\system32\\dhcpcore\.dll") == r"<drive>:\Windows\system32\dhcpcore.dll"
    )
    assert readable_pattern(r"svchost\.exe -k netsvcs.*") == "svchost.exe -k netsvcs*"
    assert readable_pattern(r"a(b|c)\.dll") is None  # alternation: the regex is shown as it is


def test_version_specific_catalogs_say_which_windows_they_describe() -> None:
    for name in ("windows_expected.csv", "ws2016_services.csv"):
        header = load_table(name).header
        assert header["windows nt"] == "10.0" and "NT 10.0" in header["applies to"]
