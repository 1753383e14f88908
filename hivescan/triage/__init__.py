"""Batch triage: many SYSTEM hives -> Parquet datasets, a summary and stacks.

The library behind ``hivescan triage``; a notebook calls the same functions::

    from hivescan.triage import discover, run_triage, read_dataset, stacks
    from hivescan.triage.engines import local_executor

    found = discover(["/cases/collection"])
    with local_executor(2) as pool:
        run_triage(found.inputs, "/cases/triage", executor=pool, workers=2)
    services = read_dataset("/cases/triage", "services")
    stacks(services)["services"].head(20)        # rarest services first

Modules: ``inputs`` (discovery, the disk-image hook), ``scan`` (one hive, one batch:
the worker's job, and the analysis seam where findings plug in), ``schema`` (Arrow
schemas), ``store`` (the output folder), ``run`` (batches through an executor),
``engines`` (process pool, Dask), ``stacking``, ``summary``.
"""

from __future__ import annotations

from hivescan.triage.inputs import ContainerReader, Discovery, HiveInput, Ignored, discover
from hivescan.triage.run import RunReport, TriageFrames, run_triage, scan_batch
from hivescan.triage.scan import Analyser, HiveOutcome, NoAnalysis, ScanOptions, TriageResult, scan_chunk, scan_one
from hivescan.triage.stacking import stack_image_paths, stack_service_dlls, stack_services, stacks
from hivescan.triage.store import TriageStore, read_dataset
from hivescan.triage.summary import summarise, write_summary

__all__ = [
    "Analyser",
    "ContainerReader",
    "Discovery",
    "HiveInput",
    "HiveOutcome",
    "Ignored",
    "NoAnalysis",
    "RunReport",
    "ScanOptions",
    "TriageFrames",
    "TriageResult",
    "TriageStore",
    "discover",
    "read_dataset",
    "run_triage",
    "scan_batch",
    "scan_chunk",
    "scan_one",
    "stack_image_paths",
    "stack_service_dlls",
    "stack_services",
    "stacks",
    "summarise",
    "write_summary",
]
