"""Batch triage of many hives or images into Parquet datasets."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from hivescan.cli.common import (
    ControlSetOpt,
    EvtxOpt,
    NoEvtxOpt,
    NoLogsOpt,
    ParserOpt,
    QuietOpt,
    _check_control_set,
    _err,
    _warn_hive,
    app,
    handle_errors,
)
from hivescan.errors import ExitCode
from hivescan.gcpause import gc_paused


@app.command()
@handle_errors
def triage(
    inputs: Annotated[
        list[Path],
        typer.Argument(help="hive files and folders (searched recursively)", show_default=False, metavar="INPUT..."),
    ],
    outdir: Annotated[Path, typer.Option("--output", "-o", help="output folder (created; reruns resume)")],
    force: Annotated[
        bool, typer.Option("--force", help="write into an existing folder that holds other files (not an input)")
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="worker processes (with --dask local: cluster workers) [default: the cores here]",
        ),
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            metavar="ADDRESS",
            help="run on a Dask cluster (tcp://host:8786), or 'local' for a local one; needs hivescan[scale]",
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="hives per task at most (a worker holds a task's rows)")
    ] = 8,  # triage.run.BATCH_SIZE (not imported here: it loads pyarrow)
    control_set: ControlSetOpt = "current",
    lenient: Annotated[
        bool, typer.Option("--lenient", help="build records for keys without ErrorControl (assumes 1)")
    ] = False,
    parser: ParserOpt = "regipy-rs",
    no_logs: NoLogsOpt = False,
    deleted: Annotated[
        bool,
        typer.Option(
            "--deleted", help="also service keys recovered from free cells (a scan of each whole hive: slower)"
        ),
    ] = False,
    top: Annotated[int, typer.Option("--top", min=0, help="rows of each stack shown in the table")] = 15,
    fmt: Annotated[str, typer.Option("--format", "-f", help="summary on stdout: table or json")] = "table",
    quiet: QuietOpt = False,
    evtx: EvtxOpt = None,
    no_evtx: NoEvtxOpt = False,
) -> None:
    """Triage many SYSTEM hives at once into Parquet datasets, with findings, a summary and stacking.

    Writes OUTDIR/services/ (one row per service record), OUTDIR/findings/ (one row per
    finding of the detection rules), OUTDIR/hives/ (one row per input: host, sha256, status,
    error code, records, findings, duration, the Windows version, build and confidence detected
    from the hive, the hivescan version), then OUTDIR/summary.json and a summary table: hosts,
    the Windows versions detected, findings per severity, top findings, problems, and services,
    ImagePaths and ServiceDlls by how many hosts have them, rarest first.

    Inputs: hive files, folders (searched recursively by the regf signature; .LOG1/.LOG2 next to
    a dirty hive are replayed), and disk images (every installation and snapshot; needs the
    [images] extra). A bad input is a row with an error code, never a stopped run. A rerun into
    the same folder skips inputs already done (same path and sha256). A hive in a volume folder
    (KAPE, mounted image) is joined with that volume's own System/Security/Sysmon logs (its
    findings in OUTDIR/findings; --no-evtx turns it off). Those logs and --evtx logs (files or
    folders) write OUTDIR/events/ (their service events) and stack installed service names
    across hosts.

    Example: hivescan triage /cases/collection/ -o /cases/triage --jobs 2
    """
    from hivescan.triage.engines import dask_executor, local_engine, start_local_pool

    _check_control_set(control_set)
    if fmt.lower() not in ("table", "json"):
        raise typer.BadParameter("table or json", param_hint="--format")
    if not dask:  # the workers' preload first: it runs while the rest below is imported
        start_local_pool(jobs)
    # pyarrow, numpy and the run's modules: ~55 collections walked what they build (~40 ms)
    with gc_paused():
        from hivescan.render.formats import dumps
        from hivescan.render.output import check_output_folder
        from hivescan.render.triage import print_summary
        from hivescan.triage import ScanOptions, discover, run_triage, seams, summarise, write_summary
        from hivescan.triage.store import DATASETS

    _import_the_end(fmt, no_evtx)
    check_output_folder(outdir, inputs=inputs, force=force, markers=(*DATASETS, "summary.json"))
    engine = dask_executor(dask, jobs) if dask else local_engine(jobs)
    with engine as (executor, workers):  # the workers start while the inputs are found
        readers = seams.container_readers()
        found = discover(inputs, readers)
        if found.ignored and not quiet:  # every one (also in summary.json, "not_scanned")
            _err(f"note: {len(found.ignored)} file(s) met in the folders were not scanned:")
            for item in found.ignored:
                _err(f"note: not scanned: {item.path}: {item.reason}")
        if not found.inputs:
            _err("error: no registry hive found in " + ", ".join(str(p) for p in inputs))
            raise typer.Exit(int(ExitCode.NOT_FOUND))
        options = ScanOptions(
            control_set=control_set,
            lenient=lenient,
            backend=parser,
            analyse=seams.analyser(),
            readers=readers,
            logs=not no_logs,
            deleted=deleted,
            events=not no_evtx,
        )
        with _triage_progress(len(found.inputs), quiet) as advance:
            report = run_triage(
                found.inputs,
                outdir,
                executor=executor,
                options=options,
                batch_size=batch_size,
                workers=workers,
                on_batch=advance,
            )
    summary = summarise(outdir, not_scanned=found.ignored)
    own: list[Any] = []
    if not no_evtx:  # each volume folder's own logs (joined with its hive in the workers)
        from hivescan.triage.hostlogs import host_logs

        own, notes = host_logs(found.inputs, readers, report.host_logs)  # read by the workers: not again
        _warn_hive(notes, quiet)
    if evtx or own:  # OUTDIR/events/ and installed service names stacked across hosts
        from hivescan.cli.events import triage_events

        summary["event_installs"] = triage_events(evtx or [], outdir, quiet, own)
    write_summary(outdir, summary)
    if not quiet:
        done_before = report.count("already_done")
        if done_before:
            _err(f"note: {done_before} hive(s) already in {outdir} (same path and sha256) were not scanned again")
        if report.removed_orphans:
            _err(f"note: removed {len(report.removed_orphans)} part file(s) left by an interrupted run")
    if fmt.lower() == "json":
        sys.stdout.write(dumps(summary) + "\n")
    else:
        from hivescan.render.services import console_for

        print_summary(summary, console_for(), top=top)
    failed = nothing_scanned(report)
    if failed:
        _err(f"error: {failed} (see 'problems' in {outdir / 'summary.json'})")
        raise typer.Exit(int(ExitCode.NOT_FOUND))


def _import_the_end(fmt: str, no_evtx: bool) -> None:
    """Import now what the end of the run imports for certain: the host logs' readers (every
    run without ``--no-evtx`` calls :func:`~hivescan.triage.hostlogs.host_logs`) and the
    table's console. Why now: this process then waits for the pool's preload (about half a
    second), and after the run each import was serial time before the summary is shown
    (measured 12 ms, 20 with the table, on a 2-hive run). Never an import the run would not do."""
    from importlib import import_module

    names = [] if no_evtx else ["hivescan.events.found", "hivescan.files.source"]
    if fmt.lower() != "json":
        names.append("hivescan.render.services")
    for name in names:
        import_module(name)


def nothing_scanned(report: Any) -> str | None:
    """Why the run is a failure, or None: no input of this run was scanned (every one an
    error or skipped) and none was done by an earlier run into the folder. An empty result
    must not look like a clean one (exit 0): it is the same case as no hive found."""
    if not report.outcomes or any(o.status in ("ok", "partial", "already_done") for o in report.outcomes):
        return None
    counts: dict[str, int] = {}
    for outcome in report.outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    statuses = ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
    return f"none of the {len(report.outcomes)} input(s) could be scanned ({statuses})"


def _triage_progress(total: int, quiet: bool) -> Any:
    """A context manager yielding the per-batch callback (a rich progress bar on stderr)."""
    from contextlib import contextmanager

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    @contextmanager
    def progress() -> Any:
        counts: dict[str, int] = {}

        def advance(chunk: Any) -> None:
            for outcome in chunk.outcomes:
                counts[outcome.status] = counts.get(outcome.status, 0) + 1
            if bar is not None:
                text = " ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                bar.update(task, advance=len(chunk.outcomes), status=text)

        console = Console(stderr=True)
        if quiet or not console.is_terminal:
            bar = None
            yield advance
            return
        with Progress(
            TextColumn("triage"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
            console=console,
            transient=False,
        ) as bar:
            task = bar.add_task("triage", total=total, status="")
            yield advance

    return progress()
