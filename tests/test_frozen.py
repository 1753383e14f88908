"""Frozen dataclasses built through a draft are the same objects ``cls(...)`` builds."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pytest

import hivescan
from hivescan.frozen import fast_builder
from hivescan.scm.record import HiveRef, Origin, ServiceRecord, new_origin, new_record

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_records_equal_those_of_the_frozen_init() -> None:
    with hivescan.open_hive(FIXTURES / "demo-SYSTEM") as hive:
        records = hive.services("all")
    assert records
    for record in records:
        given = {f.name: getattr(record, f.name) for f in dataclasses.fields(ServiceRecord)}
        built = new_record(**given)
        assert type(built) is ServiceRecord
        assert built == ServiceRecord(**given) == record
        assert pickle.loads(pickle.dumps(built)) == built
        with pytest.raises(dataclasses.FrozenInstanceError):
            built.name = "changed"  # type: ignore[misc]


def test_defaults_and_fresh_default_factories() -> None:
    origin = new_origin(HiveRef("SYSTEM", "00" * 32), 1, "ControlSet001\\Services\\x", 5, "regipy-rs")
    assert origin == Origin(HiveRef("SYSTEM", "00" * 32), 1, "ControlSet001\\Services\\x", 5, "regipy-rs")
    assert origin.from_log is False
    one, two = (
        new_record(name="a", status="database", origin=origin),
        new_record(name="b", status="database", origin=origin),
    )
    assert one == dataclasses.replace(ServiceRecord(name="b", status="database", origin=origin), name="a")
    assert one.sources == {} and one.sources is not two.sources  # default_factory: one dict each
    with pytest.raises(TypeError):
        new_record(name="a", status="database")  # a required field missing, as with the frozen __init__


def test_only_plain_frozen_slotted_dataclasses() -> None:
    @dataclasses.dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checks:
        a: int

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError("negative")

    for cls in (NotFrozen, NoSlots, Checks):
        with pytest.raises(TypeError):
            fast_builder(cls)


def test_catalog_entries_equal_those_of_the_frozen_init() -> None:
    """``catalog.tables.entry`` builds through a draft: the entry a lookup returns is the one the
    frozen ``__init__`` builds, citation included, and stays frozen."""
    from hivescan.catalog.tables import CatalogEntry, entry, load_table, parse_table

    for table in (
        load_table("windows_expected.csv"),
        parse_table("t.csv", "# source: up\n# commit: 0123456789abc\na,b\n1,2\n"),
    ):
        facts = {"agrees": False}
        built = entry("windows-image-path", "Dnscache", table, 0, facts)
        source = f"{table.header.get('source', '')} @ {table.header.get('commit', '')[:8]}".strip(" @")
        expected = CatalogEntry(
            "windows-image-path",
            "Dnscache",
            table.rows[0],
            f"hivescan/catalog/data/{table.name}",
            table.lines[0],
            source,
            facts,
        )
        assert type(built) is CatalogEntry and built == expected and built.facts is not facts
        assert built.citation == expected.citation and built.to_dict() == expected.to_dict()
        with pytest.raises(dataclasses.FrozenInstanceError):
            built.key = "changed"  # type: ignore[misc]
    assert entry("c", "k", table, 0).facts == {}
