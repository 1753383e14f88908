"""Corpus v3 hosts (hivescan.testing.fleet): Windows' list kinds, Windows' stock services (no
finding a real host would not raise), per-host variation; v2 hosts unchanged byte for byte."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hivescan
from hivescan.detect.scan import analyse_records
from hivescan.hive.source import HiveSource
from hivescan.testing.fleet import HARDWARE, VENDOR
from hivescan.testing.regf import WINDOWS_LEAF_MAX, WINDOWS_RI_LEAF, HiveWriter, WKey
from hivescan.testing.shape import SIZE_BUCKETS, differing, hive_shape
from hivescan.testing.win10 import HostSpec, PlantedService, build_system_hive
from hivescan.testing.win10_stock import STOCK
from tests.conftest import shared_hive


def _findings(data: bytes) -> list[tuple[str, str]]:
    """(rule, service) of every finding the rules raise on a hive, as triage runs them."""
    with hivescan.open_hive(HiveSource.from_bytes(data)) as hive:
        current = hive.resolve("current").chosen
        findings, *_ = analyse_records(
            hive.services(), primary_set=current[0].number if current else None, windows=hive.windows_version()
        )
    return sorted((f.rule_id, f.service) for f in findings)


def _v3(host: str, seed: int, level: int = 7, **options: object) -> bytes:
    spec = HostSpec(host, seed=seed, shape="v3", update_level=level, filler=False, **options)  # type: ignore[arg-type]
    return build_system_hive(spec).data


def test_v2_hosts_are_the_bytes_they_were() -> None:
    """The writer's v2 path is what main built (digests taken from main's checkout): the v2
    corpus and every test fleet stay comparable."""
    small = HostSpec("WS-00001", seed=3, filler=False, services=90, control_sets=(1, 2))
    assert hashlib.sha256(build_system_hive(small).data).hexdigest() == (
        "f12117367243a3b11e93f31b1f7aa86ae379142f565df891a5e80afa3ce92cd5"
    )


@pytest.mark.parametrize("count", [1, 9, WINDOWS_LEAF_MAX, WINDOWS_LEAF_MAX + 1, 2600])
def test_windows_list_kinds(tmp_path: Path, count: int) -> None:
    """``subkey_list="windows"``: an lh leaf up to WINDOWS_LEAF_MAX subkeys, an ri over lh
    leaves of 507 above; every subkey still found through the list."""
    root = WKey("ROOT")
    parent = root.key("Big")
    parent.subkeys.extend(WKey(f"k{i:05d}") for i in range(count))
    path = tmp_path / "hive"
    HiveWriter(root, subkey_list="windows", ri_leaf_size=WINDOWS_RI_LEAF).build().write(path)
    shape = hive_shape(path)
    big = next(label for bound, label in SIZE_BUCKETS if count <= bound)
    kind = "ri" if count > WINDOWS_LEAF_MAX else "lh"
    assert shape.list_kinds == Counter({("lh", "1"): 1}) + Counter({(kind, big): 1})  # the root's and Big's
    assert all(n <= WINDOWS_RI_LEAF for n in shape.ri_leaves) and sum(shape.ri_leaves) in (0, count)
    assert shape.keys == count + 2


@pytest.mark.parametrize("name", ["win10-dirty-SYSTEM", "win7-SYSTEM"])
def test_the_list_rule_is_what_the_real_hives_show(name: str) -> None:
    """The rule copied into the writer, checked on the real hives: lh up to WINDOWS_LEAF_MAX
    entries, ri only above it, over lh leaves."""
    shape = hive_shape(shared_hive(name))
    kinds = {(kind, size) for kind, size in shape.list_kinds}
    assert {kind for kind, _ in kinds} == {"lh", "ri"}
    assert all(size == "1024+" for kind, size in kinds if kind == "ri")
    assert ("lh", "1024+") not in kinds and shape.ri_leaves


def test_a_v3_host_has_windows_lists_and_about_700_services(tmp_path: Path) -> None:
    path = tmp_path / "SYSTEM"
    build_system_hive(HostSpec("WS-00001", seed=1, shape="v3", update_level=2)).write(path)
    shape = hive_shape(path)
    assert shape.services_list_kind == "lh" and 650 <= shape.services <= 760
    assert {kind for kind, _ in shape.list_kinds} == {"lh", "ri"}
    assert all(size == "1024+" for kind, size in shape.list_kinds if kind == "ri")
    assert 10e6 <= path.stat().st_size <= 15e6


def test_a_clean_v3_host_raises_no_finding() -> None:
    """Windows' own ServiceDll and ImagePath for the stock services (v2 hosts raise about 30
    servicedll-differs-from-windows each), and installed software and hardware drivers that
    no catalog flags: a clean host raises what a real clean host does, nothing."""
    v2 = _findings(build_system_hive(HostSpec("WS-00001", seed=1, filler=False, services=120)).data)
    assert sum(rule == "servicedll-differs-from-windows" for rule, _ in v2) >= 25  # the defect v3 removes
    for seed in (1, 2, 3):
        assert _findings(_v3(f"WS-0000{seed}", seed, level=seed, vendor_share=1.0)) == []


def test_every_vendor_service_and_hardware_driver_is_unflagged() -> None:
    """All of the pools at once (a host draws only some): none is in the expectations, the
    vulnerable drivers or the remote-access tools, so none raises a finding."""
    drivers = tuple(
        PlantedService(name, rf"\SystemRoot\System32\DriverStore\FileRepository\{inf}.inf_amd64_0\{sys_file}", type=1)
        for name, inf, sys_file in HARDWARE
    )
    assert _findings(_v3("WS-00001", 1, vendor_share=1.0, planted=drivers)) == []
    assert len(VENDOR) >= 15


def test_planted_services_are_what_is_found() -> None:
    planted = (
        PlantedService("UpdaterSvc", r"C:\Users\Public\upd.exe"),
        PlantedService(
            "BITS", r"%SystemRoot%\System32\svchost.exe -k netsvcs -p", type=0x20, service_dll=r"C:\Windows\Temp\q.dll"
        ),
    )
    found = _findings(_v3("WS-00001", 1, planted=planted))
    assert found and {service for _, service in found} == {"UpdaterSvc", "BITS"}


def test_stock_rows_agree_with_the_catalog() -> None:
    """Every stock row is a path its catalog pattern accepts (the table is data derived once;
    a catalog change that breaks it shows here)."""
    from hivescan.catalog.known_good import _expected
    from hivescan.catalog.normalise import normalise_for_expectation

    _, index = _expected()
    for row in STOCK:
        for value, path in (("imagepath", row.image_path), ("servicedll", row.service_dll)):
            patterns = index.get((row.name.lower(), value))
            if path is None:
                continue
            assert patterns, f"{row.name} {value}: not in the catalog"
            compared = normalise_for_expectation(path, driver=row.kind == "driver" and value == "imagepath")
            assert any(p.search(compared) for _, p in patterns), (row, value)


def test_hosts_of_one_level_differ_a_little_and_builds_are_deterministic(tmp_path: Path) -> None:
    """Two hosts of one update level share most services, not all (the spec's 5-15% each;
    13-15% between two), hosts of two levels share fewer; one spec gives the same bytes."""
    paths = []
    for n, (seed, level) in enumerate(((1, 7), (2, 7), (3, 8))):
        paths.append(tmp_path / f"h{n}")
        paths[-1].write_bytes(_v3(f"WS-0000{n}", seed, level))
    a, b, c = (hive_shape(p) for p in paths)
    assert 0.05 <= differing(a, b) <= 0.2 < differing(a, c)
    assert _v3("WS-00000", 1, 7) == paths[0].read_bytes()


@settings(max_examples=8)
@given(seed=st.integers(0, 10**6), level=st.integers(0, 500), logons=st.integers(1, 3))
def test_any_v3_host_reads_cleanly(seed: int, level: int, logons: int) -> None:
    """Whatever the seed and level: a sound hive, every service a database record, no
    duplicate names, the per-user instances as asked."""
    data = _v3("WS-00009", seed, level, logons=logons)
    with hivescan.open_hive(HiveSource.from_bytes(data)) as hive:
        records = hive.services()
        assert not [d for d in hive.hive_diagnostics() if d.level != "info"]
    names = [r.name.lower() for r in records]
    assert len(names) == len(set(names)) and all(r.status == "database" for r in records)
    users = sum(1 for s in STOCK if s.kind == "user")
    assert sum(1 for r in records if r.type == 0xE0) == users * logons


def test_the_held_out_corpus_is_another_fleet() -> None:
    """bench/triage.py's plan: a quarter of the hosts dirty in both; the held-out seed has
    other update levels (other Windows builds), its own mix, dirty hosts not every fourth."""
    from bench.triage import HELD_OUT_SEED, plan_v3

    main, held = plan_v3(60, 6, 0), plan_v3(60, 6, HELD_OUT_SEED)
    assert [spec.host for spec, _ in main] == [spec.host for spec, _ in held]
    assert sum(d for _, d in main) == sum(d for _, d in held) == 15
    assert {n for n, (_, d) in enumerate(main) if d} == set(range(3, 60, 4))
    assert {n for n, (_, d) in enumerate(held) if d} != set(range(3, 60, 4))
    assert not {s.update_level for s, _ in main} & {s.update_level for s, _ in held}
    assert all(s.shape == "v3" for s, _ in main + held) and main[0][0].vendor_share != held[0][0].vendor_share
    assert plan_v3(60, 6, HELD_OUT_SEED) == held  # the same seed, the same corpus
