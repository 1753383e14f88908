"""Which Windows wrote a hive: from SYSTEM alone (real hives and spec-built ones) and from a
SOFTWARE hive's CurrentVersion, with the confidence and basis of the answer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from hivescan.scm.winversion import UNKNOWN, combine, from_software, from_system, within
from hivescan.system import open_hive
from tests.conftest import FIXTURES, shared_hive


@pytest.mark.parametrize(
    ("name", "label", "confidence"),
    [
        ("nt4-SYSTEM", "Windows NT 4.0 Server SP3 (NT 4.0, build 1381)", "low"),
        ("xp-corrupted-SYSTEM", "Windows XP SP3 (NT 5.1, build 2600)", "medium"),
        ("win7-SYSTEM", "Windows 7 SP1 (NT 6.1, build 7601)", "medium"),
        ("win10-dirty-SYSTEM", "Windows 10 1709 (NT 10.0, build 16299)", "high"),
    ],
)
def test_real_hives_say_which_windows_they_are(name: str, label: str, confidence: str) -> None:
    """Facts from ../shared/hives/SOURCES.md: NT 4.0 Server SP3, XP, Windows 7 SP1, Windows 10 1709."""
    with open_hive(shared_hive(name)) as hive:
        found = hive.windows_version()
    assert (found.label, found.confidence) == (label, confidence)
    assert found.basis and found.source == "system"


def test_software_hive_decides_and_both_bases_are_kept() -> None:
    with open_hive(FIXTURES / "demo-SYSTEM", software=FIXTURES / "demo-SOFTWARE") as hive:
        found = hive.windows_version()
    assert found.source == "system+software" and found.confidence == "high"
    assert (found.nt_version, found.build, found.product) == ("10.0", 19045, "Windows 10 Pro")
    assert any(b.startswith("CurrentVersion CurrentBuild") for b in found.basis)
    assert any(b.startswith("services present") for b in found.basis)
    with open_hive(FIXTURES / "demo-SYSTEM") as hive:
        alone = hive.windows_version()
    assert (alone.nt_version, alone.build, alone.confidence) == ("10.0", None, "medium")


def test_a_server_product_type_names_the_server(spec_hive: Callable[..., Path]) -> None:
    path = spec_hive(
        {"Dnscache": {"values": {"Type": 0x20, "Start": 2}}, "Themes": {"values": {"Type": 0x20, "Start": 4}}},
        control={
            "Control\\ProductOptions": {"values": {"ProductType": "ServerNT"}},
            "Control\\Windows": {"values": {"CSDVersion": 0x200}},
        },
    )
    with open_hive(path) as hive:
        found = hive.windows_version()
    assert found.label == "Windows Server 2003 SP2 (NT 5.2, build 3790)" and found.server


def test_windows_10_reports_6_3_for_compatibility_but_the_numbers_decide() -> None:
    found = from_software(
        {
            "CurrentVersion": "6.3",
            "CurrentMajorVersionNumber": 10,
            "CurrentMinorVersionNumber": 0,
            "CurrentBuild": "22631",
            "UBR": 4317,
            "ProductName": "Windows 10 Enterprise",  # what Windows 11 still writes
            "EditionID": "Enterprise",
            "DisplayVersion": "23H2",
        }
    )
    assert found.label == "Windows 11 23H2 (NT 10.0, build 22631.4317)"
    assert found.edition == "Enterprise"
    seven = from_software({"CurrentVersion": "6.1", "CurrentBuild": "7601", "CSDVersion": "Service Pack 1"})
    assert (seven.nt_version, seven.service_pack) == ("6.1", 1)


def test_unknown_is_within_nothing() -> None:
    assert not within(UNKNOWN, {"10.0"}) and not within(None, {"10.0"})
    assert UNKNOWN.label == "unknown" and combine(UNKNOWN, None) is UNKNOWN
    assert within(from_system({"ShutdownStopTimePerfCounterBuildLab": "19045.x"}, {}, ()), {"10.0"}, 17763)


_values = st.dictionaries(
    st.sampled_from(
        [
            "CSDVersion",
            "ShutdownStopTimePerfCounterBuildLab",
            "ProductType",
            "CurrentVersion",
            "CurrentBuild",
            "CurrentMajorVersionNumber",
            "CurrentMinorVersionNumber",
            "ProductName",
            "UBR",
            "CSDVersion",
            "DisplayVersion",
        ]
    ),
    st.one_of(st.none(), st.integers(-(2**40), 2**40), st.text(max_size=30), st.binary(max_size=8)),
)


@given(_values, _values, st.lists(st.text(max_size=12), max_size=8), st.sampled_from([None, True, False]))
@example({"CSDVersion": "\u00b9"}, {}, [], None)  # a superscript digit: isdigit() but not int()
@example({"CSDVersion": "\u0663"}, {}, [], None)  # an Arabic-Indic digit
def test_any_values_give_an_answer_never_an_exception(
    windows: dict[str, object], options: dict[str, object], services: list[str], hosted: bool | None
) -> None:
    system = from_system(windows, options, services, svchost_hosted=hosted)
    software = from_software(windows)
    found = combine(system, software)
    assert found.confidence in ("high", "medium", "low", "none")
    assert isinstance(found.label, str) and found.to_dict()["label"] == found.label


def test_windows_8_from_services_does_not_claim_8_or_8_1() -> None:
    stock = [f"Svc{i}" for i in range(100)]  # a whole Services key: the markers then mean something
    found = from_system({}, {"ProductType": "WinNT"}, ["BrokerInfrastructure", "Dnscache", *stock])
    assert found.label == "Windows 8 or 8.1 (NT 6.2)" and found.confidence == "medium"
    lab = from_system({"ShutdownStopTimePerfCounterBuildLab": "9600.winblue_rtm.130821-1623"}, {}, [])
    assert lab.label == "Windows 8.1 (NT 6.3, build 9600)" and lab.confidence == "high"


def test_a_sparse_services_key_gives_a_lower_bound_of_low_confidence() -> None:
    """A handful of services with Dnscache but none later says 'NT 5.0 or later', not 'Windows
    2000' with medium confidence (a built or damaged hive lacks most markers)."""
    from hivescan.scm.winversion import from_system

    sparse = from_system({}, {}, ["Dnscache", "Tcpip", "Schedule"], svchost_hosted=True)
    assert (sparse.nt_version, sparse.confidence) == ("5.0", "low")
    full = from_system({}, {}, ["Dnscache", *(f"Svc{i}" for i in range(100))], svchost_hosted=True)
    assert (full.nt_version, full.confidence) == ("5.0", "medium")
