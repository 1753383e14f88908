"""hivescan.testing.win10: realistic Windows 10 SYSTEM hives of real size, one per host."""

from __future__ import annotations

import hashlib

import pytest

import hivescan
from hivescan.hive.source import HiveSource
from hivescan.testing.win10 import HostSpec, build_system_hive, host_names, rename_host


def test_a_full_hive_has_real_size_and_services() -> None:
    built = build_system_hive(HostSpec("WS-00001", seed=1))
    assert 10e6 <= len(built.data) <= 15e6
    renamed = rename_host(built, "WS-00001", "WS-00042")
    assert len(renamed) == len(built.data)
    assert hashlib.sha256(renamed).digest() != hashlib.sha256(built.data).digest()
    with hivescan.open_hive(HiveSource.from_bytes(renamed)) as hive:
        assert hive.computer_name() == ("WS-00042", [])
        records = hive.services()
        assert 600 <= len(records) <= 602 and all(r.status == "database" for r in records)
        assert not [d for d in hive.hive_diagnostics() if d.level != "info"]
        assert len(hive.reader.key("DriverDatabase\\DriverPackages").subkeys()) > 4000


def test_hosts_differ_and_builds_are_deterministic() -> None:
    a = build_system_hive(HostSpec("A", seed=1, filler=False, services=80))
    assert a.data == build_system_hive(HostSpec("A", seed=1, filler=False, services=80)).data
    b = build_system_hive(HostSpec("B", seed=2, filler=False, services=80))
    with (
        hivescan.open_hive(HiveSource.from_bytes(a.data)) as ha,
        hivescan.open_hive(HiveSource.from_bytes(b.data)) as hb,
    ):
        names_a, names_b = {r.name for r in ha.services()}, {r.name for r in hb.services()}
    assert "Spooler" in names_a & names_b and names_a != names_b  # vendor software and user instances vary
    assert host_names(3) == ["WS-00001", "WS-00002", "WS-00003"]
    with pytest.raises(ValueError, match="same length"):
        rename_host(a, "A", "LONGER")
