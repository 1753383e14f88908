"""The services table's whole-buffer and once-per-object paths give the cells of the plain ones.

``services_table`` builds the raw values' hex text from one concatenation, the notes of
values without notes from their offsets, and the file facts' and diagnostics' cells once per
object (:func:`hivescan.triage.service_json.by_identity`). Each is compared here with the
cell-by-cell conversion, and on records where the plain path must be taken instead (data of
other bytes-like types, notes that are not empty tuples, facts objects shared and not
shared); the whole table is compared with the row path in tests/triage/test_service_table.py.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hivescan
from hivescan.diagnostics import Diagnostic
from hivescan.hive.model import RawValue
from hivescan.scm.record import ServiceRecord
from hivescan.triage.schema import service_rows, services_schema, table_from_rows
from hivescan.triage.service_json import by_identity
from hivescan.triage.service_table import _hex_and_sizes, services_table
from tests.conftest import FIXTURES


def _reference(records: list[ServiceRecord]) -> pa.Table:
    return table_from_rows(list(service_rows(records, "H")), services_schema())


def _assert_same(records: list[ServiceRecord]) -> None:
    got, want = services_table(records, "H"), _reference(records)
    for name in want.schema.names:
        assert got.column(name).equals(want.column(name)), name


def _demo() -> list[ServiceRecord]:
    with hivescan.open_hive(FIXTURES / "demo-SYSTEM") as hive:
        return hive.services("current")


_DATA = st.binary(max_size=40)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_DATA, _DATA.map(bytearray), _DATA.map(memoryview)), max_size=30))
def test_hex_and_sizes_are_each_values_own(datas: list[Any]) -> None:
    hexes, sizes = _hex_and_sizes(datas)
    assert hexes.type == pa.string() and sizes.type == pa.int64()
    assert hexes.to_pylist() == [bytes(d).hex() for d in datas]
    assert sizes.to_pylist() == [len(d) for d in datas]


def test_raw_values_of_other_shapes_take_the_plain_path() -> None:
    """bytearray data, notes as a list or None, an inexact value among exact ones, an int
    subclass as type: each cell as the row path has it."""
    base = _demo()[:6]
    odd = [
        replace(base[0], raw_values=(RawValue("A", 1, bytearray(b"ab")), RawValue("B", 4, b"\x01\x00\x00\x00"))),
        replace(base[1], raw_values=(RawValue("C", 3, b"x", "regipy", True, ["listed"]),)),  # type: ignore[arg-type]
        replace(base[2], raw_values=(RawValue("D", 3, b"y", "regipy", True, None),)),  # type: ignore[arg-type]
        replace(base[3], raw_values=(RawValue("E", 7, b"", "python-registry", False, ("re-encoded",)),)),
        replace(base[4], parameters_raw=(RawValue("F", True, b"\x00"),)),  # type: ignore[arg-type]
    ]
    for records in ([*odd, base[5]], [odd[1]], [odd[2]], [odd[0]], [odd[4]], [base[5]]):
        _assert_same(records)


def test_no_raw_values_at_all() -> None:
    _assert_same([replace(r, raw_values=(), parameters_raw=()) for r in _demo()[:3]])


def test_shared_and_equal_facts_objects() -> None:
    """One facts object on many records, and equal facts in distinct objects, and a changed
    copy of a shared object: each record gets the text and flat columns of its own facts."""
    base = _demo()[:5]
    shared = {"path": "C:\\Windows\\System32\\svchost.exe", "exists": True, "size": 1, "signature": {"signer": "MS"}}
    changed = {**shared, "size": 2, "signature": {"signer": "Other"}}
    records = [
        replace(base[0], image_file=shared, service_dll_file=shared),
        replace(base[1], image_file=shared),
        replace(base[2], image_file=dict(shared)),
        replace(base[3], image_file=changed, service_dll_file=shared),
        replace(base[4], image_file=None),
    ]
    _assert_same(records)
    table = services_table(records, "H")
    assert table.column("image_size").to_pylist() == [1, 1, 1, 2, None]
    assert table.column("image_signer").to_pylist() == ["MS", "MS", "MS", "Other", None]


def test_shared_diagnostics_tuples() -> None:
    base = _demo()[:4]
    shared = (Diagnostic("a", "f", "m"), Diagnostic("b", 1, "n", "info"))  # type: ignore[arg-type]
    records = [
        replace(base[0], diagnostics=shared),
        replace(base[1], diagnostics=shared),
        replace(base[2], diagnostics=(Diagnostic("a", "f", "m"), Diagnostic("b", True, "n", "info"))),  # type: ignore[arg-type]
        replace(base[3], diagnostics=()),
    ]
    _assert_same(records)

    class Loud(Diagnostic):
        """A subclass with its own dict: never keyed with the plain one of the same fields."""

        def to_dict(self) -> dict[str, str]:
            return {**Diagnostic.to_dict(self), "loud": "yes"}

    mixed = [
        replace(base[0], diagnostics=(Diagnostic("a", "f", "m"), Loud("a", "f", "m"))),
        replace(base[1], diagnostics=(Loud("a", "f", "m"), Diagnostic("a", "f", "m"), Diagnostic("a", "f", "m"))),
    ]
    _assert_same(mixed)
    assert '"loud": "yes"' in services_table(mixed, "H").column("diagnostics")[0].as_py()


def test_by_identity_converts_each_object_once() -> None:
    calls: list[Any] = []

    def convert(value: Any) -> str:
        calls.append(value)
        return repr(sorted(value.items()))

    one, other = {"a": 1}, {"a": 1}  # equal, distinct: each converted on its own
    changed = {"a": 2}
    out = by_identity([one, one, other, changed, one], convert)
    assert out == ["[('a', 1)]", "[('a', 1)]", "[('a', 1)]", "[('a', 2)]", "[('a', 1)]"]
    assert [id(v) for v in calls] == [id(one), id(other), id(changed)]
    # nothing is kept between calls: the same object changed afterwards gives its new answer
    one["a"] = 3
    assert by_identity([one], convert) == ["[('a', 3)]"]


@pytest.fixture
def collector_on() -> Iterator[None]:
    """The cyclic collector on for the test (the suite may run it with the collector off), and
    back as it was afterwards."""
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


@pytest.mark.usefixtures("collector_on")
def test_the_collector_is_restored_after_a_table() -> None:
    """The build pauses the cyclic collector; it is on again afterwards, also after a failure,
    and stays off when it was off."""
    _restored_after_a_table(_demo()[:3])


def _restored_after_a_table(records: list[ServiceRecord]) -> None:
    services_table(records, "H")
    assert gc.isenabled()
    bad = replace(records[0], raw_values=(RawValue("A", 1, "not bytes"),))  # type: ignore[arg-type]
    try:
        services_table([bad], "H")
    except AttributeError:
        pass
    else:  # pragma: no cover - the hex of a str cannot be taken
        raise AssertionError("a str as data was accepted")
    assert gc.isenabled()
    gc.disable()
    try:
        services_table(records, "H")
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.usefixtures("collector_on")
def test_no_collection_runs_during_a_table() -> None:
    """With a collection due every 10 allocations, none starts while the table is built."""
    records = _demo()
    started: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(info["generation"])

    threshold = gc.get_threshold()
    gc.set_threshold(10, 10, 10)
    gc.callbacks.append(note)
    try:
        services_table(records, "H")
    finally:
        gc.callbacks.remove(note)
        gc.set_threshold(*threshold)
    assert started == []


_BASE: list[ServiceRecord] = []


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.integers(0, 2**62)), max_size=6))
def test_last_write_of_any_filetime(ticks: list[Any]) -> None:
    """Possible dates, negative and huge FILETIMEs, None and bools (an int subclass): the row
    path's cells always."""
    if not _BASE:
        _BASE.extend(_demo()[:6])
    records = [
        replace(_BASE[i % len(_BASE)], origin=replace(_BASE[i % len(_BASE)].origin, last_write_filetime=tick))
        for i, tick in enumerate(ticks)
    ]
    got, want = _outcome(lambda: services_table(records, "H")), _outcome(lambda: _reference(records))
    assert got[0] == want[0]
    if got[0] == "error":  # a bool is refused by the int64 column last_write_filetime, on both paths
        assert got[1] is want[1]
    else:
        assert got[1].column("last_write").equals(want[1].column("last_write"))


def _outcome(build: Any) -> tuple[str, Any]:
    try:
        return "table", build()
    except Exception as exc:
        return "error", type(exc)
