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

The names below load on first use (PEP 562), as the top package's do: importing
``hivescan.triage.engines`` runs this file first, and the triage command starts its pool's
forkserver (the workers' preload, about 0.8 s of a core) before it imports the rest (pyarrow,
the output folder, the summary: about 0.3 s of the other core); eager imports here made the
preload wait for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hivescan.lazy import load_public

if TYPE_CHECKING:
    from hivescan.triage.inputs import ContainerReader, Discovery, HiveInput, Ignored, discover
    from hivescan.triage.run import RunReport, TriageFrames, run_triage, scan_batch
    from hivescan.triage.scan import (
        Analyser,
        HiveOutcome,
        NoAnalysis,
        ScanOptions,
        TriageResult,
        scan_chunk,
        scan_one,
    )
    from hivescan.triage.stacking import stack_image_paths, stack_service_dlls, stack_services, stacks
    from hivescan.triage.store import TriageStore, read_dataset
    from hivescan.triage.summary import summarise, write_summary

_PUBLIC = {  # name -> the module that defines it
    "ContainerReader": "hivescan.triage.inputs",
    "Discovery": "hivescan.triage.inputs",
    "HiveInput": "hivescan.triage.inputs",
    "Ignored": "hivescan.triage.inputs",
    "discover": "hivescan.triage.inputs",
    "RunReport": "hivescan.triage.run",
    "TriageFrames": "hivescan.triage.run",
    "run_triage": "hivescan.triage.run",
    "scan_batch": "hivescan.triage.run",
    "Analyser": "hivescan.triage.scan",
    "HiveOutcome": "hivescan.triage.scan",
    "NoAnalysis": "hivescan.triage.scan",
    "ScanOptions": "hivescan.triage.scan",
    "TriageResult": "hivescan.triage.scan",
    "scan_chunk": "hivescan.triage.scan",
    "scan_one": "hivescan.triage.scan",
    "stack_image_paths": "hivescan.triage.stacking",
    "stack_service_dlls": "hivescan.triage.stacking",
    "stack_services": "hivescan.triage.stacking",
    "stacks": "hivescan.triage.stacking",
    "TriageStore": "hivescan.triage.store",
    "read_dataset": "hivescan.triage.store",
    "summarise": "hivescan.triage.summary",
    "write_summary": "hivescan.triage.summary",
}

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


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (then cached in the package)."""
    return load_public(__name__, _PUBLIC, globals(), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
