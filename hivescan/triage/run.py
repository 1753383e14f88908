"""Run triage over many hives through any ``concurrent.futures.Executor``.

The work is cut into batches (up to ``batch_size`` hives, shrinking towards the end of the
run so the workers finish together: :func:`plan_batches`); each batch is one
:func:`~hivescan.triage.scan.scan_chunk` task. The same code runs with no executor (in this
process), a ``ProcessPoolExecutor`` (the default of ``hivescan triage``) or a Dask cluster's
``Client.get_executor()``.

A failed hive is a row, never a stopped run. Python errors are caught per hive in the
worker; a worker that dies (a crash in native code, killed for memory) fails its batch,
and that batch's hives are then run again one by one, each in a fresh single-process
pool; a hive that kills its worker again gets a ``worker_crashed`` row.

References: style.md R12; images-and-scale.md §2 (engines, batching).
"""

from __future__ import annotations

import math
import os
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hivescan.diagnostics import Diagnostic
from hivescan.triage.inputs import HiveInput
from hivescan.triage.scan import ChunkOutput, HiveOutcome, ScanOptions, new_outcome, parquet_bytes, scan_chunk
from hivescan.triage.store import TriageStore

if TYPE_CHECKING:
    import pandas as pd

Task = tuple[tuple[int, ...], list[HiveInput]]


def make_run_id() -> str:
    """Sortable and unique: UTC start time (to the microsecond) plus a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


# At most this many hives per batch: a worker holds a batch's rows (Arrow tables, about
# 4.6 MiB per 700-service hive) until the batch is encoded, so the batch size bounds its
# memory. Measured over 300 hives in one worker (the 60-host corpus, five times; RSS sampled
# after each batch, and ru_maxrss): 215 MiB with batches of 1, 243 (285) MiB with 8, 256 (298)
# MiB with 12, 446 MiB with 50 (issue 13: <= 300 MiB; a Dask worker adds ~45 MiB of its own).
BATCH_SIZE = 8
SHARES_PER_WORKER = 2  # each batch takes 1/(2 x workers) of what is left: big first, single hives last


def plan_batches(items: Sequence[HiveInput], batch_size: int = BATCH_SIZE, workers: int = 1) -> list[Task]:
    """Consecutive batches of at most ``batch_size``, shrinking as the work runs out ("guided").

    Why: every batch is a part file per dataset and a fixed cost in the worker (three Parquet
    encodings, the pickling) and in ``summarise`` (one more part to read), so batches should be
    few and large; but the last ones decide when the run ends, so they must be small enough
    that no core idles while another finishes a long batch. Each batch is the remaining hives
    divided by ``2 x workers`` (at most ``batch_size``): 60 hives on 2 workers give 14 batches
    (8, 8, 8, 8, 7, 6, 4, 3, 2, 2, then single hives) where an even split to the same tail size
    gives 60. Pools run tasks in submission order, so the big batches start first.
    """
    tasks: list[Task] = []
    share = SHARES_PER_WORKER * max(1, workers)
    start = 0
    while start < len(items):
        size = max(1, min(batch_size, math.ceil((len(items) - start) / share)))
        tasks.append(((len(tasks),), list(items[start : start + size])))
        start += size
    return tasks


def _crashed(index: tuple[int, ...], item: HiveInput, exc: BaseException, options: ScanOptions) -> ChunkOutput:
    """The rows of a hive whose worker died twice."""
    from hivescan.triage.schema import FINDINGS_SCHEMA, HIVES_SCHEMA, services_schema, table_from_rows

    diag = Diagnostic(
        "worker_crashed",
        "",
        f"the worker process died while scanning this input, twice ({type(exc).__name__}: {exc})",
        "error",
    )
    outcome = replace(new_outcome(item, options), status="error", error_code=diag.code, error_message=diag.message)
    return ChunkOutput(
        index,
        parquet_bytes(table_from_rows([], services_schema())),
        parquet_bytes(table_from_rows([], FINDINGS_SCHEMA)),
        parquet_bytes(table_from_rows([outcome.to_row()], HIVES_SCHEMA)),
        (outcome,),
    )


def _isolated(index: tuple[int, ...], item: HiveInput, options: ScanOptions) -> ChunkOutput:
    """One hive in a fresh single-process pool, so a crash takes nothing else with it."""
    from hivescan.triage.engines import local_executor

    try:
        with local_executor(1) as pool:
            return pool.submit(scan_chunk, index, [item], options).result()
    except Exception as exc:  # BrokenProcessPool and anything the pool raises
        return _crashed(index, item, exc, options)


def _retry(executor: Executor | None, index: tuple[int, ...], item: HiveInput, options: ScanOptions) -> ChunkOutput:
    """A hive of a failed batch, alone: in a fresh local process, or as its own cluster task."""
    if executor is None or isinstance(executor, ProcessPoolExecutor):
        return _isolated(index, item, options)
    try:  # a cluster (Dask): the input may exist only on the workers
        return executor.submit(scan_chunk, index, [item], options).result()
    except Exception as exc:  # e.g. distributed.KilledWorker
        return _crashed(index, item, exc, options)


def iter_chunks(
    tasks: Sequence[Task], options: ScanOptions, executor: Executor | None = None, workers: int = 1
) -> Iterator[ChunkOutput]:
    """Run the tasks; yield each batch's output as it completes (in any order).

    When the caller stops early (an error while storing, Ctrl-C), batches not yet started
    are cancelled, so the executor's shutdown waits only for the running ones.
    """
    failed: list[Task] = []
    if executor is None:
        for task in tasks:
            try:
                output = scan_chunk(task[0], task[1], options)
            except Exception:  # scan_one catches per hive; this is a last resort
                failed.append(task)
                continue
            yield output
    else:
        futures: dict[Future[ChunkOutput], Task] = {}
        try:
            for task in tasks:
                try:
                    futures[executor.submit(scan_chunk, task[0], task[1], options)] = task
                except (BrokenProcessPool, RuntimeError):  # the pool died while submitting
                    failed.append(task)
            for future in as_completed(list(futures)):
                task = futures.pop(future)  # drop the reference: a batch's bytes are freed once stored
                try:
                    output = future.result()
                except Exception:  # a dead worker, a lost Dask worker: retry one by one
                    failed.append(task)
                    continue
                yield output
        finally:
            for future in futures:
                future.cancel()
    singles = [((*index, i), item) for index, items in failed for i, item in enumerate(items)]
    if not singles:
        return
    with ThreadPoolExecutor(max_workers=max(1, workers)) as threads:
        retries = [threads.submit(_retry, executor, index, item, options) for index, item in singles]
        try:
            for retry in as_completed(retries):
                yield retry.result()
        finally:
            for retry in retries:
                retry.cancel()


@dataclass(slots=True)
class RunReport:
    """What one run did (the summary of the whole folder is :func:`summarise`)."""

    run_id: str
    outdir: str
    inputs: int
    outcomes: list[HiveOutcome] = field(default_factory=list)
    removed_orphans: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    host_logs: dict[str, Any] = field(default_factory=dict)  # hostlogs.HostLogs the workers read, by log key

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def run_triage(
    inputs: Sequence[HiveInput],
    outdir: str | os.PathLike[str],
    *,
    executor: Executor | None = None,
    options: ScanOptions | None = None,
    batch_size: int = BATCH_SIZE,
    workers: int = 1,
    resume: bool = True,
    on_batch: Callable[[ChunkOutput], None] | None = None,
) -> RunReport:
    """Scan ``inputs`` into the datasets of ``outdir``, batch by batch, as results come.

    ``resume``: inputs whose path, member and sha256 already have a final row in
    ``outdir/hives`` are read and hashed but not scanned again, and get no new row
    (``already_done`` outcomes). An input whose content equals a stored input's under
    another path is scanned: every input path has its own row, always.
    ``on_batch`` is called after each batch is stored (progress bars).
    """
    started = time.perf_counter()
    store = TriageStore(outdir)
    store.create()
    removed = [str(p) for p in store.remove_orphans()]
    options = options or ScanOptions()
    options = replace(
        options,
        run_id=options.run_id or make_run_id(),
        skip_done=store.done_inputs() if resume else frozenset(),
    )
    report = RunReport(options.run_id, str(Path(outdir)), len(inputs), removed_orphans=removed)
    for chunk in iter_chunks(plan_batches(inputs, batch_size, workers), options, executor, workers):
        if any(o.status != "already_done" for o in chunk.outcomes):
            store.write(options.run_id, chunk)
        report.outcomes += chunk.outcomes
        report.host_logs.update((read.key, read) for read in chunk.host_logs)
        if on_batch is not None:
            on_batch(chunk)
    report.outcomes.sort(key=lambda o: (o.path, o.member))
    report.elapsed_s = time.perf_counter() - started
    return report


@dataclass(frozen=True, slots=True)
class TriageFrames:
    """The three datasets of an in-memory triage, as pandas DataFrames."""

    services: pd.DataFrame
    findings: pd.DataFrame
    hives: pd.DataFrame


def scan_batch(
    paths: Iterable[HiveInput | str | os.PathLike[str]],
    executor: Executor | None = None,
    *,
    options: ScanOptions | None = None,
    batch_size: int = BATCH_SIZE,
    workers: int = 1,
) -> TriageFrames:
    """Scan hives into DataFrames without an output folder (notebooks, small sets).

    Rows come in input order, batch by batch, whatever the executor: the same content
    ``hivescan triage`` writes to Parquet.

    Example::

        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(2) as pool:
            frames = scan_batch(discover(["evidence/"]).inputs, pool, workers=2)
        frames.hives[["host", "status", "records"]]
    """
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from hivescan.triage.store import DATASETS, dataset_schema

    items = [p if isinstance(p, HiveInput) else HiveInput(str(p)) for p in paths]
    options = replace(options or ScanOptions(), run_id=(options.run_id if options else "") or make_run_id())
    tasks = plan_batches(items, batch_size, workers)
    chunks = sorted(iter_chunks(tasks, options, executor, workers), key=lambda c: c.index)
    tables = {}
    for name in DATASETS:
        schema = dataset_schema(name)
        parts = [pq.read_table(io.BytesIO(getattr(c, name)), schema=schema) for c in chunks]
        tables[name] = (pa.concat_tables(parts) if parts else schema.empty_table()).to_pandas()
    return TriageFrames(tables["services"], tables["findings"], tables["hives"])
