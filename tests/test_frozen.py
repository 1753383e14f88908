"""Frozen dataclasses built through a draft are the same objects ``cls(...)`` builds."""

from __future__ import annotations

import dataclasses
import functools
import pickle
from pathlib import Path

import pytest

import hivescan
from hivescan.frozen import compiled_builder, fast_builder
from hivescan.scm import keywalk
from hivescan.scm.record import HiveRef, Origin, ServiceRecord, new_origin, new_record

if keywalk.IMPLEMENTATION == "c":
    from hivescan.scm._keywalk import build_slots, slot_names

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


needs_c = pytest.mark.skipif(keywalk.IMPLEMENTATION != "c", reason="the _keywalk extension is not built")


def builders(cls: type) -> list:
    """The draft builder and, with the extension, the compiled one (what record.py uses)."""
    out = [fast_builder(cls)]
    if keywalk.IMPLEMENTATION == "c":
        out.append(compiled_builder(cls, build_slots, slot_names))
    return out


def outcome(build: object, *args: object, **kwargs: object) -> object:
    try:
        return build(*args, **kwargs)  # type: ignore[operator]
    except TypeError:
        return TypeError


@needs_c
def test_the_compiled_builder_is_what_record_py_uses() -> None:
    assert isinstance(new_record, functools.partial) and new_record.func is build_slots
    assert isinstance(new_origin, functools.partial) and new_origin.func is build_slots


@pytest.mark.parametrize("which", [0, 1], ids=["draft", "compiled"])
def test_every_builder_answers_as_the_frozen_init(which: int) -> None:
    """Positional and keyword arguments, defaults, factories and every wrong call (TypeError)
    as ``cls(...)`` answers them."""
    found = builders(Origin)
    if which >= len(found):
        pytest.skip("the _keywalk extension is not built")
    build_origin, build_record = found[which], builders(ServiceRecord)[which]
    ref = HiveRef("SYSTEM", "00" * 32)
    calls: list[tuple[tuple[object, ...], dict[str, object]]] = [
        ((ref, 1, "p", 5, "regipy-rs"), {}),
        ((ref, 1, "p", 5, "regipy-rs", True), {}),
        ((ref,), {"control_set": 2, "key_path": "k", "last_write_filetime": 7, "parser": "cells"}),
        ((), {"hive": ref, "control_set": None, "key_path": "k", "last_write_filetime": 0, "parser": "x"}),
        ((ref, 1, "p", 5, "regipy-rs", True, "extra"), {}),  # too many positional
        ((ref, 1, "p", 5), {}),  # one missing
        ((ref, 1, "p", 5, "regipy-rs"), {"hive": ref}),  # twice
        ((ref, 1, "p", 5, "regipy-rs"), {"colour": "red"}),  # unknown
    ]
    for args, kwargs in calls:
        want = outcome(Origin, *args, **kwargs)
        got = outcome(build_origin, *args, **kwargs)
        assert got == want and type(got) is type(want), (args, kwargs)
    origin = build_origin(ref, 1, "p", 5, "regipy-rs")
    one = build_record(name="a", status="database", origin=origin, start=2, sources={"start": "registry"})
    assert one == ServiceRecord(name="a", status="database", origin=origin, start=2, sources={"start": "registry"})
    two = build_record(name="a", status="database", origin=origin)
    assert two.event_facts == {} and two.event_facts is not one.event_facts  # one dict each
    assert two.sources == {} and two.subkey_last_writes == {}
    assert outcome(build_record, name="a", status="database") is TypeError
    assert outcome(build_record, name="a", status="database", origin=origin, bogus=1) is TypeError
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.name = "changed"  # type: ignore[misc]


@needs_c
def test_the_compiled_builder_refuses_what_it_cannot_build() -> None:
    class Plain:
        __slots__ = ("__dict__", "a")

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    with pytest.raises(TypeError):
        slot_names(Plain)
    with pytest.raises(TypeError):
        compiled_builder(NoSlots, build_slots, slot_names)
    plan = functools.partial(compiled_builder(Origin, build_slots, slot_names)).args[0]
    for bad in ((), (Origin,), plan[:5], (Plain, *plan[1:]), (plan[0], (), *plan[2:])):
        with pytest.raises(TypeError):
            build_slots(bad)
    with pytest.raises(TypeError):
        build_slots((*plan[:2], {"hive": 10_000}, *plan[3:]), hive=1)  # a place out of range


def test_record_from_fields_is_new_record_of_the_fields() -> None:
    """``record_from_fields(fields, **more)`` (compiled: no keyword dict copied first) builds
    what ``new_record(**fields, **more)`` builds, and refuses what it refuses."""
    from hivescan.scm.record import record_from_fields, record_from_fields_py

    with hivescan.open_hive(FIXTURES / "demo-SYSTEM") as hive:
        records = hive.services("all")
    for record in records:
        given = {f.name: getattr(record, f.name) for f in dataclasses.fields(ServiceRecord) if f.name != "origin"}
        built = record_from_fields(dict(given), origin=record.origin)
        assert type(built) is ServiceRecord and built == record
        assert record_from_fields_py(dict(given), origin=record.origin) == record
    origin = records[0].origin
    for build in (record_from_fields, record_from_fields_py):
        assert outcome(build, {"name": "a", "status": "database", "origin": origin}, origin=origin) is TypeError
        assert outcome(build, {"name": "a", "status": "database"}) is TypeError
        assert outcome(build, {"name": "a", "status": "database", 1: 2}, origin=origin) is TypeError
        assert outcome(build, {"name": "a", "status": "database", "bogus": 2}, origin=origin) is TypeError
        assert outcome(build, {"name": "a", "status": "database"}, origin=origin).event_facts == {}  # type: ignore[union-attr]
