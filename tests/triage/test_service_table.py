"""The ``services`` table built column by column is the table the row path builds.

The reference is the row path itself: ``record_row`` per record (``ServiceRecord.to_dict``,
then the frame conversions), one Arrow array per column of those dicts
(:func:`hivescan.triage.schema.table_from_rows` on plain rows). Compared on the fixtures and
the shared real hives (every control set, deleted keys), on built hives with hostile names
and values (lone surrogates, control characters, markup), on a record with every optional
field set, and on random records (hypothesis); the Parquet bytes are compared too.
"""

from __future__ import annotations

import io
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hivescan
from hivescan.diagnostics import Diagnostic
from hivescan.hive.model import RawValue
from hivescan.scm.failure_actions import FailureAction, FailureActions
from hivescan.scm.record import HiveRef, Origin, ServiceRecord
from hivescan.scm.triggers import Trigger, TriggerData
from hivescan.testing.regf import HiveWriter, WKey
from hivescan.triage.schema import ServiceRows, service_rows, services_schema, table_from_rows
from hivescan.triage.service_table import services_table, unbuilt_columns
from tests.conftest import FIXTURES, shared_hive

HOSTILE_TEXT = ("lone \ud800 high", "lone \udfff low", "Esc\x1b[31mRed", "[bold]x[/bold]", "Nul\x00", "é\u202e✓", "")


def _reference(records: list[ServiceRecord], host: str | None) -> pa.Table:
    """The row path: plain dict rows (a list, not :class:`ServiceRows`), row by row."""
    return table_from_rows(list(service_rows(records, host)), services_schema())


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    return out.getvalue()


def _assert_same(records: list[ServiceRecord], host: str | None) -> None:
    got = services_table(records, host)
    want = _reference(records, host)
    assert got.schema.equals(want.schema, check_metadata=True)
    for name in want.schema.names:  # column by column first: a failure names the column
        assert got.column(name).equals(want.column(name)), name
    assert _parquet(got) == _parquet(want)


def _records_of(path: Path) -> tuple[list[ServiceRecord], str | None]:
    with hivescan.open_hive(path) as hive:
        return hive.services("all", deleted=True), hive.computer_name()[0]


def test_every_column_has_a_column_builder() -> None:
    """No column falls back to the row path (a new to_dict conversion needs its builder here)."""
    assert unbuilt_columns(services_schema()) == []


@pytest.mark.parametrize("name", ["demo-SYSTEM", "deleted-SYSTEM", "dirty-SYSTEM", "history-SYSTEM"])
def test_same_table_on_the_fixtures(name: str) -> None:
    records, host = _records_of(FIXTURES / name)
    assert records
    _assert_same(records, host)


@pytest.mark.parametrize("name", ["win7-SYSTEM", "win10-dirty-SYSTEM", "nt4-SYSTEM", "xp-corrupted-SYSTEM"])
def test_same_table_on_the_shared_hives(name: str) -> None:
    records, host = _records_of(shared_hive(name))
    assert records
    _assert_same(records, host)


def test_same_table_on_no_records() -> None:
    _assert_same([], "HOST")
    _assert_same([], None)


def _hostile_hive(path: Path) -> Path:
    root = WKey("ROOT")
    root.key("Select").set_dword("Current", 1).set_dword("Default", 1).set_dword("LastKnownGood", 1)
    services = root.key("ControlSet001\\Services")
    for number, text in enumerate(HOSTILE_TEXT):
        key = services.key(f"Svc{number} {text}" if text else f"Svc{number}")
        key.set_dword("Type", 0x20).set_dword("Start", 2).set_dword("ErrorControl", 1)
        key.set_expand_sz("ImagePath", f"%SystemRoot%\\system32\\svchost.exe -k {text}")
        key.set_sz("DisplayName", text)
        key.set_sz(text or "Empty", text)  # a hostile value name (raw_values)
        key.set_sz(text.upper() or "EMPTY", "second of its name, any case")
        key.set_multi_sz("DependOnService", [text, "RpcSs"])
        key.set_binary("FailureActions", b"\x80Q\x01\x00" + bytes(12) + b"\x01\x00\x00\x00" + bytes(8))
        params = key.key("Parameters")
        params.set_expand_sz("ServiceDll", f"C:\\{text}.dll")
        trigger = key.key("TriggerInfo\\0")
        trigger.set_dword("Type", 1).set_dword("Action", 1).set_binary("GUID", bytes(range(16)))
        trigger.set_sz("Data0", text)
    path.write_bytes(HiveWriter(root).build().data)
    return path


def test_same_table_on_a_hostile_built_hive(tmp_path: Path) -> None:
    records, host = _records_of(_hostile_hive(tmp_path / "SYSTEM"))
    assert len(records) == len(HOSTILE_TEXT)
    assert any("\ud800" in r.name for r in records)  # the surrogate reached the records
    _assert_same(records, host)
    # and reached the table escaped, never dropped
    names = services_table(records, host).column("name").to_pylist()
    assert any("\\ud800" in n for n in names)


def _base_records() -> list[ServiceRecord]:
    records, _ = _records_of(FIXTURES / "demo-SYSTEM")
    return records


def _every_field_set(base: list[ServiceRecord]) -> ServiceRecord:
    """A record with every optional field set (valid descriptors from the fixture)."""
    secured = next(r for r in base if r.security_sddl is not None and r.key_security_sddl is not None)
    text = "x \ud800 \x1b[2J é"
    values: dict[str, Any] = {}
    for number, f in enumerate(fields(ServiceRecord)):
        kind = str(f.type)
        if kind == "str | None":
            values[f.name] = f"{f.name} {text}"
        elif kind == "int | None":
            values[f.name] = number * 1000 + 1
        elif kind == "tuple[str, ...]":
            values[f.name] = (f.name, text, "")
        elif kind in ("bool", "bool | None"):
            values[f.name] = True
    origin = Origin(
        HiveRef("/evidence/SYSTEM \ud800", "ab" * 32, {"image": "disk.E01", "member": "C:\\x"}),
        2,
        "K\\P",
        1,
        "cells",
        True,
    )
    data = TriggerData(0, 2, ("a", text), "6100")
    values.update(
        name=f"Svc {text}",
        status="deleted",
        origin=origin,
        type=0x20,
        start=2,
        error_control=1,
        security_hex=secured.security_hex,
        key_security_hex=secured.key_security_hex,
        delayed_auto_start=1,
        service_sid_type=1,
        launch_protected=2,
        user_service_flags=3,
        triggers_raw=(
            {"subkey": "0", "last_write_filetime": 133498469347347957, "values": (RawValue("Type", 1, b"\x01\x00"),)},
        ),
        service_events=({"event_id": 7045, "time": "2024-01-01T00:00:00Z", "image_path": text},),
        event_facts={"live_in_hive": True, "installed_image_path": text, "count": 3},
        subkey_last_writes={"Parameters": 133498469347347957, "Security": -1, "Huge": 2**62},
        raw_values=(
            RawValue("ImagePath", 2, "C:\\x.exe\0".encode("utf-16-le")),
            RawValue(f"N {text}", 0x1234, b"\xff" * 3, "regipy", False, ("truncated", text)),
            RawValue("ImagePath", 1, b"later duplicate"),
            RawValue("Odd", 4, b"\x01\x00\x00\x00", "python-registry", True, ()),
        ),
        parameters_raw=(RawValue("ServiceDll", 2, b"d\x00"),),
        env_vars=(("SystemRoot", True), (f"V{text}", False), ("SystemRoot", False)),
        failure_actions=FailureActions(
            86400, (FailureAction(1, 60000), FailureAction(9, 0)), 3, 1, 1, 0x14, "wow64", "00", text, "reboot"
        ),
        triggers=(
            Trigger("0", 0, 133498469347347957, 1, 1, "{guid}", (data,)),
            Trigger("x", None, None, None, None, None),
        ),
        image_file={
            "path": text,
            "exists": True,
            "size": 123,
            "sha256": "0" * 64,
            "signature": {"status": "valid", "signer": text, "issuer": "CA", "signing_time": "2024", "catalog": None},
            "version_info": {"company_name": text, "original_filename": "x.exe", "file_version": "1.0"},
            "pe": {"machine": "amd64"},
            "zone_identifier": "3",
            "diagnostics": [{"code": "c", "field": "f", "message": text, "level": "info"}],
        },
        service_dll_file={"path": "C:\\d.dll", "exists": False, "signature": "not a mapping", "pe": None},
        sources={"image_path": "registry", "start": "default", "type": "derived"},
        diagnostics=(Diagnostic("code_a", "ImagePath", text), Diagnostic("code_b", "", "m", "info")),
    )
    return ServiceRecord(**values)


def test_same_table_with_every_optional_field_set() -> None:
    base = _base_records()
    full = _every_field_set(base)
    row = next(iter(service_rows([full], "HOST")))
    assert row["image_signer"] is not None and row["location"] != "{}" and row["failure_actions"] is not None
    _assert_same([full, *base, full], "HOST \ud800")


def test_equal_values_of_other_types_never_share_a_text() -> None:
    """The per-table memos key on exact types: 1, 1.0 and True are equal keys in Python, and
    their JSON texts differ; each record gets its own."""
    base = _base_records()[0]
    records = [
        replace(base, sources={"type": 1}, diagnostics=(Diagnostic("c", 1, "m"),), subkey_last_writes={"P": 1}),
        replace(
            base, sources={"type": True}, diagnostics=(Diagnostic("c", True, "m"),), subkey_last_writes={"P": True}
        ),  # type: ignore[arg-type]
        replace(base, sources={"type": 1.0}, diagnostics=(Diagnostic("c", 1.0, "m"),), subkey_last_writes={"P": 1.0}),  # type: ignore[arg-type,dict-item]
    ]
    _assert_same(records, None)
    table = services_table(records, None)
    assert table.column("sources").to_pylist() == ['{"type": 1}', '{"type": true}', '{"type": 1.0}']
    fields_seen = [text.split('"field": ')[1].split(",")[0] for text in table.column("diagnostics").to_pylist()]
    assert fields_seen == ["1", "true", "1.0"]
    assert table.column("subkey_last_writes_filetime").to_pylist() == ['{"P": 1}', '{"P": true}', '{"P": 1.0}']


def test_rows_read_one_by_one_are_the_frame_rows() -> None:
    from hivescan.frames import record_row

    records = _base_records()
    rows = service_rows(records, "H")
    assert isinstance(rows, ServiceRows) and len(rows) == len(records)
    assert rows[0] == {**record_row(records[0], escape=False), "host": "H"}
    assert list(rows) == [{**record_row(r, escape=False), "host": "H"} for r in records]


# -- random records

_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()), max_size=12)
_INT = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1))
_STRINGS = st.lists(_TEXT, max_size=3).map(tuple)
_RAW = st.builds(
    RawValue,
    st.sampled_from(["A", "a", "ImagePath", "\ud800", ""]) | _TEXT,
    st.integers(0, 2**32 - 1),
    st.binary(max_size=8),
    st.sampled_from(["cells", "regipy", "python-registry"]),
    st.booleans(),
    _STRINGS,
)
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), _TEXT)
_MAPPING = st.dictionaries(_TEXT, _SCALAR, max_size=3)


@st.composite
def _records(draw: st.DrawFn) -> ServiceRecord:
    base = draw(st.sampled_from(_BASE))
    changes: dict[str, Any] = {}
    for f in fields(ServiceRecord):
        if not draw(st.booleans()):
            continue
        kind = str(f.type)
        if kind in ("str", "str | None"):
            changes[f.name] = draw(_TEXT if kind == "str" else st.none() | _TEXT)
        elif kind == "int | None":
            changes[f.name] = draw(_INT)
        elif kind == "tuple[str, ...]":
            changes[f.name] = draw(_STRINGS)
        elif kind in ("bool", "bool | None"):
            changes[f.name] = draw(st.none() | st.booleans()) if "None" in kind else draw(st.booleans())
        elif f.name in ("raw_values", "parameters_raw"):
            changes[f.name] = tuple(draw(st.lists(_RAW, max_size=4)))
        elif f.name in ("sources", "event_facts"):
            changes[f.name] = draw(_MAPPING)
        elif f.name == "subkey_last_writes":
            changes[f.name] = draw(st.dictionaries(_TEXT, st.integers(-(2**63), 2**63 - 1), max_size=3))
        elif f.name == "env_vars":
            changes[f.name] = tuple(draw(st.lists(st.tuples(_TEXT, st.booleans()), max_size=3)))
        elif f.name == "service_events":
            changes[f.name] = tuple(draw(st.lists(_MAPPING, max_size=2)))
        elif f.name == "diagnostics":
            diagnostic = st.builds(Diagnostic, _TEXT, _TEXT, _TEXT, st.sampled_from(["info", "warning", "error"]))
            changes[f.name] = tuple(draw(st.lists(diagnostic, max_size=3)))
        elif f.name in ("image_file", "service_dll_file"):
            nested = st.none() | _MAPPING | _TEXT
            facts = st.dictionaries(
                st.sampled_from(["path", "exists", "size", "signature", "pe", "version_info"]), nested
            )
            changes[f.name] = draw(st.none() | facts)
        elif f.name == "origin":
            hive = HiveRef(draw(_TEXT), "0" * 64, draw(st.dictionaries(_TEXT, _TEXT, max_size=2)))
            changes[f.name] = Origin(hive, draw(_INT), draw(_TEXT), draw(st.integers(-(2**63), 2**63 - 1)), "cells")
    return replace(base, **changes)


def _outcome(build: Any) -> tuple[str, Any]:
    try:
        return "table", build()
    except Exception as exc:
        return "error", type(exc)


_BASE: list[ServiceRecord] = []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_records(), min_size=1, max_size=4), st.none() | _TEXT)
def test_same_table_on_random_records(records: list[ServiceRecord], host: str | None) -> None:
    got = _outcome(lambda: services_table(records, host))
    want = _outcome(lambda: _reference(records, host))
    assert got[0] == want[0]
    if got[0] == "table":
        assert got[1].equals(want[1])
    else:
        assert got[1] == want[1]


@pytest.fixture(autouse=True, scope="module")
def _base() -> None:
    """Bases for the random records: real records of the demo fixture (descriptors, triggers,
    failure actions as the builder makes them)."""
    if not _BASE:
        _BASE.extend(_base_records()[:40])
