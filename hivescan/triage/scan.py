"""Scan one hive, or one batch of hives, for triage: the work a worker process does.

The names other modules import, in one place; what they hold lives in modules named for it:
options.py (ScanOptions, Analyser, NoAnalysis), outcome.py (HiveOutcome, TriageResult, the
failure codes), scan_hive.py (scan_one), worker_memo.py (the worker's record memo) and
chunk.py (scan_chunk, ChunkOutput, parquet_bytes).

:func:`scan_one` reads a hive, names its host, rebuilds the service database and runs the
*analysis step*; it never raises for a bad input: the outcome says what happened
(``status`` ok / partial / skipped / error, an ``error_code`` documented in
docs/diagnostics.md, "Triage"). Its argument and result are picklable, so the same
function runs in-process, in a process pool and on Dask workers.

The analysis step is the seam where findings plug in: an :class:`Analyser` turns a hive's
records into finding rows (the columns of :data:`~hivescan.triage.schema.FINDINGS_SCHEMA`).
This build ships only :class:`NoAnalysis`, which produces no findings and says so
(``analyser = "none"`` in the hives dataset): the detection engine is connected after the
findings feature is merged.

:func:`scan_chunk` runs :func:`scan_one` over a batch and returns the three datasets' rows
as Parquet bytes, built in the worker, so the driver only stores files and a remote
cluster needs no shared filesystem.

References: style.md R12; scm-spec.md §1 (control sets), §8 (per-user services).
"""

from __future__ import annotations

from hivescan.triage.chunk import ChunkOutput, parquet_bytes, scan_chunk
from hivescan.triage.options import Analyser, NoAnalysis, ScanOptions
from hivescan.triage.outcome import DONE_STATUSES, HiveOutcome, Status, TriageResult, new_outcome
from hivescan.triage.scan_hive import scan_one
from hivescan.triage.worker_memo import worker_record_memo

__all__ = [
    "DONE_STATUSES",
    "Analyser",
    "ChunkOutput",
    "HiveOutcome",
    "NoAnalysis",
    "ScanOptions",
    "Status",
    "TriageResult",
    "new_outcome",
    "parquet_bytes",
    "scan_chunk",
    "scan_one",
    "worker_record_memo",
]
