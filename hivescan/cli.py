"""The ``hivescan`` command: a thin Typer layer over the library.

Each command makes one library call and one render call. Errors become one line on stderr
and a documented exit code (:class:`hivescan.errors.ExitCode`); set HIVESCAN_DEBUG=1 to
see a traceback instead.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from hivescan.errors import ExitCode, HivescanError

app = typer.Typer(
    name="hivescan",
    help="Rebuild the Windows service database from offline SYSTEM hives and surface persistence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

F = TypeVar("F", bound=Callable[..., Any])

HivePath = Annotated[Path, typer.Argument(help="SYSTEM hive file", show_default=False, metavar="HIVE")]
ControlSetOpt = Annotated[
    str,
    typer.Option(
        "--control-set",
        "-c",
        help="current, default, lkg, failed, all, or a set number (e.g. 3 for ControlSet003)",
    ),
]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="write to this file instead of stdout")]
ParserOpt = Annotated[
    str,
    typer.Option("--parser", help="primary parser backend: regipy-rs (default), regipy, python-registry", hidden=False),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no warnings on stderr")]


def _err(message: str) -> None:
    sys.stderr.write(f"hivescan: {message}\n")


def handle_errors(func: F) -> F:
    """Turn every failure into one clear line and an exit code; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(os.environ.get("HIVESCAN_DEBUG"))
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except HivescanError as exc:
            if debug:
                raise
            _err(f"error: {exc}")
            raise typer.Exit(int(exc.exit_code)) from None
        except typer.BadParameter:
            raise
        except KeyboardInterrupt:
            _err("interrupted")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            sys.stderr.close()
            raise typer.Exit(0) from None
        except Exception as exc:  # a bug: say so plainly, keep the terminal clean
            if debug:
                raise
            from hivescan.render.formats import OutputError

            if isinstance(exc, OutputError):
                _err(f"error: {exc}")
                raise typer.Exit(int(ExitCode.USAGE)) from None
            _err(
                f"internal error: {type(exc).__name__}: {exc} "
                "(a bug in hivescan; rerun with HIVESCAN_DEBUG=1 for a traceback and please report it)"
            )
            raise typer.Exit(int(ExitCode.INTERNAL)) from None

    return wrapper  # type: ignore[return-value]


def _check_control_set(value: str) -> str:
    from hivescan.scm.controlsets import parse_mode

    try:
        parse_mode(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--control-set") from None
    return value


def _warn_hive(diagnostics: list[Any], quiet: bool, per_code: int = 5) -> None:
    """Hive-level warnings on stderr, at most ``per_code`` lines per diagnostic code."""
    if quiet:
        return
    shown: dict[str, int] = {}
    for diag in diagnostics:
        if diag.level == "info":
            continue
        shown[diag.code] = shown.get(diag.code, 0) + 1
        if shown[diag.code] <= per_code:
            _err(f"warning: {diag.code}: {diag.message}")
    for code, count in shown.items():
        if count > per_code:
            _err(f"warning: {code}: ... {count - per_code} more (see `hivescan info`)")


@app.command()
@handle_errors
def info(
    hive: HivePath,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
    parser: ParserOpt = "regipy-rs",
) -> None:
    """Describe a hive: version, dirty or clean, checksum, Select, control sets, sha256, warnings.

    Example: hivescan info ./SYSTEM
    """
    from rich.console import Console

    import hivescan
    from hivescan.render.formats import dumps
    from hivescan.render.info import print_info

    with hivescan.open_hive(hive, backend=parser) as opened:
        summary = opened.info()
    if fmt.lower() == "json":
        sys.stdout.write(dumps(summary.to_dict()) + "\n")
    elif fmt.lower() == "table":
        print_info(summary, Console())
    else:
        raise typer.BadParameter("table or json", param_hint="--format")


@app.command()
@handle_errors
def services(
    hive: HivePath,
    control_set: ControlSetOpt = "current",
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json, jsonl, csv or parquet")] = "table",
    output: OutputOpt = None,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="only these statuses (database, pending_delete, rejected); repeatable"),
    ] = None,
    lenient: Annotated[
        bool, typer.Option("--lenient", help="build records for keys without ErrorControl (assumes 1)")
    ] = False,
    parser: ParserOpt = "regipy-rs",
    quiet: QuietOpt = False,
) -> None:
    """List every service record the SCM would build at boot, with provenance.

    Example: hivescan services ./SYSTEM --control-set all -f jsonl -o services.jsonl
    """
    import hivescan
    from hivescan.render.formats import OutputFormat
    from hivescan.render.services import write_services

    _check_control_set(control_set)
    try:
        out_format = OutputFormat(fmt.lower())
    except ValueError:
        raise typer.BadParameter("table, json, jsonl, csv or parquet", param_hint="--format") from None
    with hivescan.open_hive(hive, backend=parser) as opened:
        records = opened.services(control_set, lenient=lenient)
        warnings = opened.hive_diagnostics()
    if status:
        records = [r for r in records if r.status in set(status)]
    _warn_hive(list(warnings), quiet)
    write_services(records, out_format, output, title=f"{hive} - {len(records)} service records")


@app.command()
@handle_errors
def triage(
    inputs: Annotated[
        list[Path],
        typer.Argument(help="hive files and folders (searched recursively)", show_default=False, metavar="INPUT..."),
    ],
    outdir: Annotated[Path, typer.Option("--output", "-o", help="output folder (created; reruns resume)")],
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
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="hives per task")] = 50,
    control_set: ControlSetOpt = "current",
    lenient: Annotated[
        bool, typer.Option("--lenient", help="build records for keys without ErrorControl (assumes 1)")
    ] = False,
    parser: ParserOpt = "regipy-rs",
    top: Annotated[int, typer.Option("--top", min=0, help="rows of each stack shown in the table")] = 15,
    fmt: Annotated[str, typer.Option("--format", "-f", help="summary on stdout: table or json")] = "table",
    quiet: QuietOpt = False,
) -> None:
    """Triage many SYSTEM hives at once into Parquet datasets, with a summary and stacking.

    Writes OUTDIR/services/ (one row per service record), OUTDIR/hives/ (one row per input:
    host, sha256, status, error code, records, duration) and OUTDIR/findings/, then
    OUTDIR/summary.json and a summary table: hosts, records, problems, and services,
    ImagePaths and ServiceDlls by how many hosts have them, rarest first.

    FINDINGS: this build has no detection engine connected. OUTDIR/findings/ is written
    with its documented schema and no rows, and the summary says findings are not
    available; nothing is invented.

    A bad input is a row with an error code, never a stopped run. A rerun into the same
    folder skips hives already done (by sha256). Disk images need the disk-image reader,
    not connected in this build (their rows say image_unsupported).

    Example: hivescan triage /cases/collection/ -o /cases/triage --jobs 2
    """
    from hivescan.render.formats import dumps
    from hivescan.render.triage import print_summary
    from hivescan.triage import ScanOptions, discover, run_triage, seams, summarise, write_summary
    from hivescan.triage.engines import dask_executor, local_engine

    _check_control_set(control_set)
    if fmt.lower() not in ("table", "json"):
        raise typer.BadParameter("table or json", param_hint="--format")
    if outdir.exists() and not outdir.is_dir():
        raise typer.BadParameter(f"{outdir} exists and is not a folder", param_hint="--output")
    readers = seams.container_readers()
    found = discover(inputs, readers)
    if found.ignored and not quiet:
        shown = "; ".join(f"{i.path} ({i.reason})" for i in found.ignored[:3])
        more = f"; ... {len(found.ignored) - 3} more" if len(found.ignored) > 3 else ""
        _err(f"note: {len(found.ignored)} file(s) in the folders are not hives and were not scanned: {shown}{more}")
    if not found.inputs:
        _err("error: no registry hive found in " + ", ".join(str(p) for p in inputs))
        raise typer.Exit(int(ExitCode.NOT_FOUND))
    options = ScanOptions(
        control_set=control_set, lenient=lenient, backend=parser, analyse=seams.analyser(), readers=readers
    )
    engine = dask_executor(dask, jobs) if dask else local_engine(jobs)
    with _triage_progress(len(found.inputs), quiet) as advance, engine as (executor, workers):
        report = run_triage(
            found.inputs,
            outdir,
            executor=executor,
            options=options,
            batch_size=batch_size,
            workers=workers,
            on_batch=advance,
        )
    summary = summarise(outdir)
    write_summary(outdir, summary)
    if not quiet:
        done_before = report.count("already_done")
        if done_before:
            _err(f"note: {done_before} hive(s) already in {outdir} (same sha256) were not scanned again")
        if report.removed_orphans:
            _err(f"note: removed {len(report.removed_orphans)} part file(s) left by an interrupted run")
    if fmt.lower() == "json":
        sys.stdout.write(dumps(summary) + "\n")
    else:
        from hivescan.render.services import console_for

        print_summary(summary, console_for(), top=top)


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


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
