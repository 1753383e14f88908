"""The Arrow schemas of the three triage datasets, and rows -> Arrow tables.

Every Parquet part of a dataset has exactly the schema given here, whatever the rows hold
(an all-null column keeps its type; an empty part still has every column), so parts
written by different workers, batches and runs read back as one table with pandas,
pyarrow and DuckDB.

``services``: one row per service record, the columns and names of
:func:`hivescan.frames.record_row` (the JSONL field names) plus ``host`` first. The schema is
derived once from :class:`ServiceRecord` and the column rules of :mod:`hivescan.frames`
(``INT_COLUMNS`` are int64, ``RAW_VALUE_COLUMNS`` lists of structs, ``JSON_COLUMNS`` JSON
text), so a field added to the record by another feature gets a column without an edit
here: ``int`` fields int64, ``bool`` bool, ``tuple[str, ...]`` list<string>, anything else
string (JSON text for mappings and nested data).

``findings``: one row per finding (see :data:`FINDINGS_SCHEMA`); ``hives``: one row per
input and attempt (see :data:`HIVES_SCHEMA`).

References: style.md R11 (frames), R12 (triage).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import fields
from functools import lru_cache
from typing import Any, NamedTuple

import pyarrow as pa

from hivescan.files.columns import FILE_BOOL_COLUMNS
from hivescan.frames import (
    CATEGORY_COLUMNS,
    DECODED_JSON_COLUMNS,
    FILE_JSON_COLUMNS,
    FIRST_COLUMNS,
    INT_COLUMNS,
    JSON_COLUMNS,
    RAW_VALUE_COLUMNS,
    record_row,
)
from hivescan.scm.record import HiveRef, Origin, ServiceRecord
from hivescan.textsafe import deep_escape

UTC_TIME = pa.timestamp("us", tz="UTC")
RAW_VALUE = pa.struct(
    [
        ("name", pa.string()),
        ("type", pa.string()),
        ("hex", pa.string()),
        ("size", pa.int64()),
        ("exact", pa.bool_()),
        ("reader", pa.string()),
        ("notes", pa.list_(pa.string())),
    ]
)

FINDINGS_SCHEMA = pa.schema(
    [
        ("host", pa.string()),  # the hive's ComputerName (null when it has none)
        ("hive_path", pa.string()),
        ("hive_sha256", pa.string()),
        ("rule_id", pa.string()),  # the detection rule's id (its file name)
        ("title", pa.string()),
        ("severity", pa.string()),  # info, low, medium, high, critical
        ("attack", pa.list_(pa.string())),  # ATT&CK technique ids
        ("service", pa.string()),  # the service record the finding is about; null for hive-level findings
        ("control_set", pa.int64()),
        ("key_path", pa.string()),
        ("last_write", UTC_TIME),  # the key's last write
        ("finding_json", pa.string()),  # the finding's complete JSONL object (evidence tree included)
    ]
)

HIVES_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),  # one id per `hivescan triage` run (UTC start time + random suffix)
        ("path", pa.string()),  # the file as given or found
        ("member", pa.string()),  # the hive's path inside a disk image; empty for a plain file
        ("host", pa.string()),  # ComputerName of the current control set; null when absent
        ("sha256", pa.string()),  # of the hive bytes analysed; null when the file could not be read
        ("size", pa.int64()),
        ("status", pa.string()),  # ok, partial, skipped, error
        ("error_code", pa.string()),  # a documented code (docs/diagnostics.md, "Triage"); null when ok
        ("error_message", pa.string()),
        ("records", pa.int64()),  # service records written to services/
        ("findings", pa.int64()),  # findings written to findings/; null when no analysis ran
        ("analyser", pa.string()),  # the analysis step that ran ("none": no detection engine connected)
        ("control_sets", pa.list_(pa.int64())),  # the sets the records come from
        ("dirty", pa.bool_()),  # sequence numbers differ or checksum wrong
        ("hive_last_written", UTC_TIME),  # the base block's last-written time
        ("logs", pa.list_(pa.string())),  # .LOG/.LOG1/.LOG2 next to the hive (noted, not replayed)
        ("diagnostic_codes", pa.list_(pa.string())),  # hive-level diagnostics
        ("diagnostics", pa.string()),  # the same, JSON: [{code, field, message, level}]
        ("duration_s", pa.float64()),  # read + rebuild + analysis, in the worker
        ("scanned_at", UTC_TIME),
        ("worker", pa.string()),  # host:pid of the process that scanned it
        ("hivescan_version", pa.string()),  # the version that wrote the row
        (
            "windows_version",
            pa.string(),
        ),  # detected Windows ("Windows 10 Pro 22H2 (NT 10.0, build 19045)"); null: unknown
        ("windows_build", pa.int64()),  # its build number; null when the hive does not tell it
        ("windows_confidence", pa.string()),  # high, medium, low, none (how sure the detection is)
    ]
)


def _field_type(annotation: str) -> pa.DataType:
    text = annotation.replace(" ", "")
    if text.startswith(("int|", "int")) and not text.startswith("interval"):
        return pa.int64()
    if text.startswith("bool"):
        return pa.bool_()
    if text.startswith("tuple[str,"):
        return pa.list_(pa.string())
    if text.startswith("tuple[int,"):
        return pa.list_(pa.int64())
    return pa.string()


def _sample_row() -> dict[str, Any]:
    origin = Origin(HiveRef("", "0" * 64), 1, "", 0, "")
    return record_row(ServiceRecord(name="", status="database", origin=origin), escape=False)


@lru_cache(maxsize=1)
def services_schema() -> pa.Schema:
    """The ``services`` dataset schema: ``host`` then the frame columns in frame order."""
    row = _sample_row()
    annotations = {f.name: str(f.type) for f in fields(ServiceRecord)}
    ordered = [c for c in FIRST_COLUMNS if c in row] + [c for c in row if c not in FIRST_COLUMNS]
    out: list[tuple[str, pa.DataType]] = [("host", pa.string())]
    for col in ordered:
        if col in INT_COLUMNS:
            kind: pa.DataType = pa.int64()
        elif col == "last_write":
            kind = UTC_TIME
        elif col in FILE_BOOL_COLUMNS:
            kind = pa.bool_()
        elif col in RAW_VALUE_COLUMNS:
            kind = pa.list_(RAW_VALUE)
        elif col in JSON_COLUMNS or col in CATEGORY_COLUMNS or col in ("diagnostics",):
            kind = pa.string()
        elif col == "diagnostic_codes":
            kind = pa.list_(pa.string())
        elif col in annotations:
            kind = _field_type(annotations[col])
        elif isinstance(row[col], bool):
            kind = pa.bool_()
        else:
            kind = pa.string()
        out.append((col, kind))
    return pa.schema(out)


# columns of JSON text (whole nested values) and of raw values, in any of the three datasets
_NO_STATISTICS = frozenset(
    [*JSON_COLUMNS, *DECODED_JSON_COLUMNS, *FILE_JSON_COLUMNS, *RAW_VALUE_COLUMNS, "diagnostics", "finding_json"]
)


def statistics_columns(schema: pa.Schema) -> tuple[str, ...]:
    """The Parquet leaf columns written with min/max statistics: every column a reader filters
    on (host, names, paths, numbers, times, lists of names), not the JSON text of whole nested
    values nor the raw values. Their statistics cost a tenth of the services Parquet's CPU
    (each cell compared as a string) and could never select a row group: a JSON text's minimum
    is no more use in a query than its own first bytes."""
    out = []
    for f in schema:
        if f.name in _NO_STATISTICS:
            continue
        out.append(f"{f.name}.list.element" if pa.types.is_list(f.type) else f.name)
    return tuple(out)


def _leaves(path: str, kind: pa.DataType) -> list[str]:
    """The Parquet leaf columns of one Arrow column (lists as ``.list.element``)."""
    if pa.types.is_list(kind):
        return _leaves(f"{path}.list.element", kind.value_type)
    if pa.types.is_struct(kind):
        return [leaf for field in kind for leaf in _leaves(f"{path}.{field.name}", field.type)]
    return [path]


def leaf_columns(schema: pa.Schema) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each column of ``schema`` with its Parquet leaf columns."""
    return tuple((f.name, tuple(_leaves(f.name, f.type))) for f in schema)


class ParquetLayout(NamedTuple):
    """What a Parquet part of a schema is written with (``triage.scan.parquet_bytes``)."""

    statistics: tuple[str, ...]  # statistics_columns
    leaves: tuple[tuple[str, tuple[str, ...]], ...]  # leaf_columns


@lru_cache(maxsize=1)
def _dataset_layouts() -> tuple[tuple[pa.Schema, ParquetLayout], ...]:
    return tuple(
        (schema, ParquetLayout(statistics_columns(schema), leaf_columns(schema)))
        for schema in (services_schema(), FINDINGS_SCHEMA, HIVES_SCHEMA)
    )


def parquet_layout(schema: pa.Schema) -> ParquetLayout:
    """The layout of a part: the three datasets' computed once and found by ``Schema.equals``
    (a fraction of a microsecond; hashing a schema as a cache key costs 65 us), any other
    schema's computed on the spot."""
    for known, layout in _dataset_layouts():
        if schema.equals(known):
            return layout
    return ParquetLayout(statistics_columns(schema), leaf_columns(schema))


# the encoder of ``json.dumps(v, ensure_ascii=True, sort_keys=True, default=str)``, built once
_JSON_TEXT = json.JSONEncoder(ensure_ascii=True, sort_keys=True, default=str).encode


_TEXT_CELLS = frozenset({str, type(None)})


def json_text(value: Any) -> Any:
    """A cell of a text column: text and null as they are, anything else as sorted JSON."""
    if value is None or isinstance(value, str):
        return value
    return _JSON_TEXT(value)


def array_of(values: list[Any], kind: pa.DataType) -> pa.Array:
    """One column of cells as an Arrow array of ``kind``: text columns take non-text cells as
    sorted JSON, timestamps take ISO text, lone surrogates are escaped only when Arrow refuses them."""
    if kind == UTC_TIME:
        if all(v is None or isinstance(v, str) for v in values):
            return pa.array(values, pa.string()).cast(kind)
        return pa.array(values, kind)
    if pa.types.is_string(kind) and not set(map(type, values)) <= _TEXT_CELLS:
        # nearly every cell is already text or null (one C-level pass says so): only the others are encoded
        values = [v if v is None or type(v) is str else json_text(v) for v in values]
    try:
        return pa.array(values, kind)
    except UnicodeEncodeError:  # lone surrogates from a damaged hive: escape, as frames does
        return pa.array([deep_escape(v) for v in values], kind)


def table_from_rows(rows: Sequence[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """Rows -> a table of exactly ``schema`` (missing keys are nulls; extra keys are an error).

    :class:`ServiceRows` for the ``services`` schema are tabulated column by column from their
    records (:func:`hivescan.triage.service_table.services_table`, the same table, a fifth
    of the CPU) instead of row by row.
    """
    if isinstance(rows, ServiceRows) and (schema is services_schema() or schema.equals(services_schema())):
        from hivescan.triage.service_table import services_table

        return services_table(rows.records, rows.host)
    names = set(schema.names)
    for row in rows:
        extra = set(row) - names
        if extra:
            raise ValueError(f"columns not in the dataset schema: {sorted(extra)}")
    arrays = [array_of([row.get(f.name) for row in rows], f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


class ServiceRows(Sequence[dict[str, Any]]):
    """The ``services`` rows of one hive's records, each built only when read.

    Why: the rows exist to become a table, and :func:`table_from_rows` builds that table
    straight from ``records``; a caller that reads the rows themselves gets the frame rows
    (:func:`hivescan.frames.record_row` plus ``host``), which are also the reference the
    column-wise table is tested against.
    """

    def __init__(self, records: Iterable[ServiceRecord], host: str | None) -> None:
        self.records: tuple[ServiceRecord, ...] = tuple(records)
        self.host = host
        self._rows: list[dict[str, Any]] | None = None

    def rows(self) -> list[dict[str, Any]]:
        if self._rows is None:
            self._rows = [_service_row(record, self.host) for record in self.records]
        return self._rows

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: Any) -> Any:
        return self.rows()[index]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows())


def _service_row(record: ServiceRecord, host: str | None) -> dict[str, Any]:
    row = record_row(record, escape=False)
    row["host"] = host
    return row


def service_rows(records: Iterable[ServiceRecord], host: str | None) -> ServiceRows:
    """``services`` rows of one hive's records: the frame row plus ``host``."""
    return ServiceRows(records, host)
