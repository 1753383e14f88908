"""A worker's Parquet parts read back as the tables they were written from.

``parquet_bytes`` writes min/max statistics only for the columns a reader can filter on
(``statistics_columns``), not for JSON text and raw values, and leaves columns of nulls
uncompressed (zstd for the others). The data must not change: each
part of a batch (services, findings, hives) is read back and compared, schema and values, with
the same table written as before (zstd, statistics on every column) and read back; the
statistics are where they are meant to be.
"""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hivescan.triage import seams
from hivescan.triage.inputs import HiveInput
from hivescan.triage.scan import ChunkOutput, ScanOptions, parquet_bytes, scan_chunk
from hivescan.triage.schema import (
    FINDINGS_SCHEMA,
    HIVES_SCHEMA,
    leaf_columns,
    parquet_layout,
    services_schema,
    statistics_columns,
)
from tests.conftest import FIXTURES, shared_hive


def _every_statistic(table: pa.Table) -> bytes:
    """The encoding before: statistics on every column."""
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    return out.getvalue()


def _chunk(paths: list[Path], tmp_path: Path) -> ChunkOutput:
    items = [HiveInput(str(path)) for path in paths]
    items.append(HiveInput(str(tmp_path / "missing")))  # an error row in the hives part
    return scan_chunk((0,), items, ScanOptions(analyse=seams.analyser()))


def _assert_parts_read_back_alike(chunk: ChunkOutput) -> None:
    parts = ((chunk.services, services_schema()), (chunk.findings, FINDINGS_SCHEMA), (chunk.hives, HIVES_SCHEMA))
    for part, schema in parts:
        table = pq.read_table(io.BytesIO(part))
        before = pq.read_table(io.BytesIO(_every_statistic(table)))
        assert table.schema.equals(schema) and table.schema.equals(before.schema, check_metadata=True)
        assert table.equals(before)
        assert pq.read_table(io.BytesIO(parquet_bytes(before))).equals(table)
        _assert_statistics(part, schema)


def _assert_statistics(part: bytes, schema: pa.Schema) -> None:
    """Statistics where wanted; zstd on every column with a value, none on columns of nulls."""
    wanted = set(statistics_columns(schema))
    table = pq.read_table(io.BytesIO(part))
    empty = {
        leaf for name, leaves in leaf_columns(schema) for leaf in leaves if table.column(name).null_count == len(table)
    }
    meta = pq.ParquetFile(io.BytesIO(part)).metadata
    for group in range(meta.num_row_groups):
        row_group = meta.row_group(group)
        for index in range(row_group.num_columns):
            column = row_group.column(index)
            if row_group.num_rows:
                assert column.is_stats_set == (column.path_in_schema in wanted), column.path_in_schema
            codec = "UNCOMPRESSED" if column.path_in_schema in empty else "ZSTD"
            assert column.compression == codec, column.path_in_schema


@pytest.mark.parametrize("schema", [services_schema(), FINDINGS_SCHEMA, HIVES_SCHEMA])
def test_leaf_columns_are_the_parquet_leaves(schema: pa.Schema) -> None:
    table = schema.empty_table()
    leaves = [leaf for _, column_leaves in leaf_columns(schema) for leaf in column_leaves]
    parquet = pq.ParquetFile(io.BytesIO(parquet_bytes(table))).schema
    assert leaves == [parquet.column(i).path for i in range(len(parquet))]


def test_parts_of_the_fixtures_read_back_as_written(tmp_path: Path) -> None:
    chunk = _chunk([FIXTURES / "demo-SYSTEM", FIXTURES / "dirty-SYSTEM", FIXTURES / "deleted-SYSTEM"], tmp_path)
    assert pq.read_table(io.BytesIO(chunk.services)).num_rows > 0
    assert pq.read_table(io.BytesIO(chunk.findings)).num_rows > 0
    _assert_parts_read_back_alike(chunk)


@pytest.mark.parametrize("name", ["win10-dirty-SYSTEM", "win7-SYSTEM", "xp-corrupted-SYSTEM"])
def test_parts_of_the_shared_hives_read_back_as_written(name: str, tmp_path: Path) -> None:
    chunk = _chunk([shared_hive(name)], tmp_path)
    _assert_parts_read_back_alike(chunk)


def test_statistics_skip_only_json_text_and_raw_values() -> None:
    columns = statistics_columns(services_schema())
    for kept in ("host", "name", "hive_sha256", "key_path", "start", "last_write", "depend_on_service.list.element"):
        assert kept in columns
    for left_out in ("image_file", "triggers_raw", "sources", "diagnostics", "raw_values", "failure_actions"):
        assert not any(c == left_out or c.startswith(left_out + ".") for c in columns)
    assert "finding_json" not in statistics_columns(FINDINGS_SCHEMA)
    assert "rule_id" in statistics_columns(FINDINGS_SCHEMA)
    assert "control_sets.list.element" in statistics_columns(HIVES_SCHEMA)
    assert "diagnostics" not in statistics_columns(HIVES_SCHEMA)


def test_layout_of_each_dataset_and_of_another_schema() -> None:
    """The three datasets' layouts are found by schema equality; a schema of other columns gets
    its own, never another's."""
    for schema in (services_schema(), FINDINGS_SCHEMA, HIVES_SCHEMA):
        layout = parquet_layout(pa.schema(list(schema)))  # an equal schema, another object
        assert layout.statistics == statistics_columns(schema)
        assert layout.leaves == leaf_columns(schema)
    other = pa.schema([("host", pa.string()), ("values", pa.list_(pa.int64()))])
    assert parquet_layout(other).leaves == (("host", ("host",)), ("values", ("values.list.element",)))
    changed = pa.schema([*list(HIVES_SCHEMA)[:-1], pa.field("windows_confidence", pa.list_(pa.string()))])
    assert parquet_layout(changed).leaves[-1] == ("windows_confidence", ("windows_confidence.list.element",))
