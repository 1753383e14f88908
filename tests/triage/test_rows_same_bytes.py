"""The services and findings tables are the same, byte for byte, as the straightforward encoding.

The rows are built with encoders made once (not a ``json.dumps`` per cell) and only non-text
cells are encoded; this compares the Parquet bytes with a reference that encodes every cell the
plain way, on the demo hive and the shared real hives (deleted keys included, every control set).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hivescan
from hivescan.files.columns import FILE_FLAT_FACTS, FILE_FLAT_PREFIX
from hivescan.frames import DECODED_JSON_COLUMNS, FILE_JSON_COLUMNS, JSON_COLUMNS, RAW_VALUE_COLUMNS, _raw_list
from hivescan.scm.record import ServiceRecord
from hivescan.triage.schema import FINDINGS_SCHEMA, service_rows, services_schema, table_from_rows
from hivescan.triage.seams import analyser
from tests.conftest import FIXTURES, shared_hive


def _reference_row(record: ServiceRecord, host: str | None) -> dict[str, Any]:
    row = record.to_dict()
    row["diagnostic_codes"] = [d["code"] for d in row["diagnostics"]]
    row["diagnostic_count"] = len(row["diagnostics"])
    row["diagnostics"] = json.dumps(row["diagnostics"], ensure_ascii=True)
    for col in RAW_VALUE_COLUMNS:
        row[col] = _raw_list(row.get(col) or {})
    for col in JSON_COLUMNS:
        if col in row:
            row[col] = json.dumps(row[col], ensure_ascii=True, sort_keys=True)
    for col in DECODED_JSON_COLUMNS:
        if row.get(col) is not None:
            row[col] = json.dumps(row[col], ensure_ascii=True)
    flat: dict[str, Any] = {}
    for col, prefix in FILE_FLAT_PREFIX.items():
        for name, steps in FILE_FLAT_FACTS.items():
            value: Any = row.get(col)
            for step in steps:
                value = value.get(step) if isinstance(value, dict) else None
            flat[prefix + name] = value
    row.update(flat)
    for col in FILE_JSON_COLUMNS:
        if row.get(col) is not None:
            row[col] = json.dumps(row[col], ensure_ascii=True, sort_keys=True)
    row.setdefault("location", "{}")
    row["host"] = host
    return row


def _reference_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    arrays = []
    for f in schema:
        values = [row.get(f.name) for row in rows]
        if pa.types.is_string(f.type):
            values = [
                v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=True, sort_keys=True, default=str)
                for v in values
            ]
        if f.type == pa.timestamp("us", tz="UTC") and all(v is None or isinstance(v, str) for v in values):
            arrays.append(pa.array(values, pa.string()).cast(f.type))
        else:
            arrays.append(pa.array(values, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    return out.getvalue()


def _assert_same(path: Path) -> None:
    with hivescan.open_hive(path) as hive:
        records = hive.services("all", deleted=True)
        host = hive.computer_name()[0]
        findings = [dict(r) for r in analyser()(hive, records, host)]
    assert records
    got = table_from_rows(service_rows(records, host), services_schema())
    want = _reference_table([_reference_row(r, host) for r in records], services_schema())
    assert got.equals(want)
    assert _parquet(got) == _parquet(want)
    assert _parquet(table_from_rows(findings, FINDINGS_SCHEMA)) == _parquet(_reference_table(findings, FINDINGS_SCHEMA))


def test_rows_are_byte_identical_on_the_demo_hive() -> None:
    _assert_same(FIXTURES / "demo-SYSTEM")


@pytest.mark.parametrize("name", ["win7-SYSTEM", "win10-dirty-SYSTEM", "nt4-SYSTEM", "xp-corrupted-SYSTEM"])
def test_rows_are_byte_identical_on_real_hives(name: str) -> None:
    _assert_same(shared_hive(name))
