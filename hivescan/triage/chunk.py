"""Scan one batch of hives in a worker: :func:`scan_chunk` runs :func:`scan_one` over the batch
and returns the three datasets' rows as Parquet bytes (:class:`ChunkOutput`), built in the
worker, so the driver only stores files and a remote cluster needs no shared filesystem.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from hivescan.diagnostics import Diagnostic
from hivescan.triage.inputs import HiveInput
from hivescan.triage.options import ScanOptions
from hivescan.triage.outcome import HiveOutcome
from hivescan.triage.scan_hive import scan_one


@dataclass(frozen=True, slots=True)
class ChunkOutput:
    """What a worker sends back for one batch: Parquet bytes per dataset, and the outcomes."""

    index: tuple[int, ...]  # the batch's position in the run (a split batch adds a level)
    services: bytes
    findings: bytes
    hives: bytes
    outcomes: tuple[HiveOutcome, ...]
    host_logs: tuple[Any, ...] = ()  # hostlogs.HostLogs the joins read: OUTDIR/events needs no second read


def parquet_bytes(table: Any) -> bytes:
    """One dataset part: min/max statistics only where a reader can filter on them
    (:func:`~hivescan.triage.schema.statistics_columns`), and zstd for every column that holds
    a value. A column of nulls only is stored uncompressed: its pages are a run-length count
    and nothing else, which zstd cannot shrink (the part came out 1 KB *smaller* per batch),
    while each zstd call costs about 20 us of set-up, two per column (measured: 4% of the
    services part's CPU; the 36 file columns of a bare hive are all null)."""
    import pyarrow.parquet as pq

    from hivescan.triage.schema import parquet_layout

    layout = parquet_layout(table.schema)
    codecs = {}
    for name, leaves in layout.leaves:
        column = table.column(name)
        codec = "none" if column.null_count == len(column) else "zstd"
        for leaf in leaves:
            codecs[leaf] = codec
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression=codecs, write_statistics=list(layout.statistics))
    return buffer.getvalue()


def scan_chunk(index: tuple[int, ...], items: Sequence[HiveInput], options: ScanOptions) -> ChunkOutput:
    """Scan a batch and encode its rows (the task a worker runs).

    Each hive's rows are encoded on their own, so a hive whose rows cannot be encoded
    becomes an ``internal_error`` row and never costs the batch. Inputs already done
    (``options.skip_done``) give an outcome but no row.
    """
    import pyarrow as pa

    from hivescan.triage.schema import FINDINGS_SCHEMA, HIVES_SCHEMA, service_rows, services_schema, table_from_rows

    services: list[Any] = [table_from_rows([], services_schema())]
    findings: list[Any] = [table_from_rows([], FINDINGS_SCHEMA)]
    outcomes: list[HiveOutcome] = []
    file_cache: dict[str, dict[str, Any]] = {}  # binaries' facts by sha256, across the batch's hosts
    logs_read: list[Any] = []
    for item in items:
        result = scan_one(item, options, file_cache, logs_read)
        outcome = result.outcome
        if outcome.status != "already_done":
            try:
                hive_services = table_from_rows(service_rows(result.records, outcome.host), services_schema())
                hive_findings = table_from_rows(result.findings, FINDINGS_SCHEMA)
            except Exception as exc:
                diag = Diagnostic(
                    "internal_error", "", f"rows could not be encoded: {type(exc).__name__}: {exc} (a bug in hivescan)"
                )
                outcome = replace(
                    outcome, status="error", records=0, findings=None, error_code=diag.code, error_message=diag.message
                )
            else:
                services.append(hive_services)
                findings.append(hive_findings)
        outcomes.append(outcome)
    hive_rows = [o.to_row() for o in outcomes if o.status != "already_done"]
    return ChunkOutput(
        index,
        parquet_bytes(pa.concat_tables(services)),
        parquet_bytes(pa.concat_tables(findings)),
        parquet_bytes(table_from_rows(hive_rows, HIVES_SCHEMA)),
        tuple(outcomes),
        tuple(logs_read),
    )


__all__ = ["ChunkOutput", "parquet_bytes", "scan_chunk"]
