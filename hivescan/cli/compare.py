"""Comparisons: history across snapshots, diff, and baselines of golden images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hivescan.cli.common import (
    ControlSetOpt,
    EvtxOpt,
    ForceOpt,
    HivePath,
    NoEvtxOpt,
    OutputOpt,
    ParserOpt,
    QuietOpt,
    _check_control_set,
    _check_format,
    _check_output,
    _err,
    _read_baseline,
    _warn_hive,
    app,
    handle_errors,
)
from hivescan.errors import ExitCode


@app.command()
@handle_errors
def history(
    hive: HivePath,
    older: Annotated[
        list[Path] | None,
        typer.Argument(help="older copies of the same hive (e.g. from shadow copies or backups)", show_default=False),
    ] = None,
    history_paths: Annotated[
        list[Path] | None, typer.Option("--history", help="an older copy of the hive; repeatable")
    ] = None,
    regback: Annotated[
        bool, typer.Option("--regback/--no-regback", help="use RegBack/<name> next to the hive when present")
    ] = True,
    show_all: Annotated[bool, typer.Option("--all", help="also list every service of the oldest snapshot")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json, jsonl or csv")] = "table",
    output: OutputOpt = None,
    force: ForceOpt = False,
    parser: ParserOpt = "regipy-rs",
    quiet: QuietOpt = False,
    evtx: EvtxOpt = None,
    no_evtx: NoEvtxOpt = False,
) -> None:
    """When each service appeared, changed and disappeared across snapshots, ordered by time.

    Snapshots: every control set of HIVE, its RegBack copy and older copies; changes are field by field.

    Example: hivescan history ./config/SYSTEM --history ./vss1/SYSTEM -f jsonl
    """
    from hivescan.history import untimed_snapshots
    from hivescan.render.formats import OutputFormat
    from hivescan.render.history import write_history
    from hivescan.snapshots import load_history

    try:
        out_format = OutputFormat(fmt.lower())
    except ValueError:
        raise typer.BadParameter("table, json, jsonl or csv", param_hint="--format") from None
    if out_format is OutputFormat.parquet:
        raise typer.BadParameter("table, json, jsonl or csv", param_hint="--format")
    paths = list(older or []) + list(history_paths or [])
    _check_output(output, force, hive, paths, evtx)
    result = load_history(hive, paths, regback=regback, include_present=show_all, backend=parser, files=None)
    logs = _history_logs(hive, evtx, no_evtx, quiet)
    if logs:  # each step gets the service's logged events (service_events)
        from hivescan.events.join import join_history

        result = join_history(result, logs)
    _warn_hive(list(result.diagnostics) + untimed_snapshots(result.snapshots), quiet)
    write_history(result, out_format, output)


def _history_logs(hive: Path, evtx: list[Path] | None, no_evtx: bool, quiet: bool) -> list[Any]:
    """``--evtx`` logs, then those the input holds (folder, image, zip) unless ``--no-evtx``."""
    from hivescan.cli.events import new_logs, read_logs
    from hivescan.volumes import input_event_logs

    given = read_logs(evtx, quiet) if evtx else []
    if no_evtx:
        return given
    found, notes = input_event_logs(hive)
    return given + new_logs(found, notes, given, quiet)


@app.command()
@handle_errors
def diff(
    before: Annotated[Path, typer.Argument(help="SYSTEM hive (side A)", metavar="A")],
    after: Annotated[
        Path | None,
        typer.Argument(help="SYSTEM hive or baseline .parquet (side B); omit to compare sets of A", metavar="B"),
    ] = None,
    control_set: Annotated[str, typer.Option("--control-set", "-c", help="set of A (and of B if a hive)")] = "current",
    against: Annotated[
        str | None, typer.Option("--against-control-set", help="compare A's --control-set with this set of A")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json, jsonl or csv")] = "table",
    output: OutputOpt = None,
    force: ForceOpt = False,
    parser: ParserOpt = "regipy-rs",
    quiet: QuietOpt = False,
) -> None:
    """Added, removed and changed services with field-level before/after.

    B may be a second hive, a baseline Parquet file, or omitted with --against-control-set to
    compare two control sets of A. "before" is A (A's --control-set; the baseline when B is a
    .parquet file), "after" is B (the --against set; the hive when B is a baseline): added means
    only in "after". Each change carries both origins.

    Example: hivescan diff SYSTEM --control-set 1 --against-control-set 2
    """
    import hivescan
    from hivescan.diff import diff_records
    from hivescan.render.diff import write_diff

    fmt = _check_format(fmt, ("table", "json", "jsonl", "csv"))
    _check_control_set(control_set)
    if after is None and against is None:
        raise typer.BadParameter("give B (hive or baseline) or --against-control-set", param_hint="B")
    if after is not None and against is not None:
        raise typer.BadParameter("give either B or --against-control-set, not both", param_hint="B")
    if against is not None:
        _check_control_set(against)
    if _is_parquet(before):
        swap = f"hivescan diff HIVE {before}" if after is None else f"hivescan diff {after} {before}"
        _err(f"error: {before}: a baseline (Parquet), not a hive: a baseline goes second as B ({swap})")
        raise typer.Exit(int(ExitCode.USAGE))
    _check_output(output, force, before, after)
    with hivescan.open_hive(before, backend=parser, files=None) as a:
        side_a = a.services(control_set)
        warnings = list(a.hive_diagnostics())
        if against is not None:
            side_b = a.services(against)
            label = f"{before} {control_set} -> {against}"
    if after is not None:
        if after.suffix.lower() == ".parquet" or _is_parquet(after):
            side_b = _read_baseline(after)
            side_a, side_b = side_b, side_a  # baseline is "before", the hive "after"
            label = f"baseline {after} -> {before}"
        else:
            with hivescan.open_hive(after, backend=parser, files=None) as b:
                side_b = b.services(control_set)
                warnings += list(b.hive_diagnostics())
            label = f"{before} -> {after}"
    _warn_hive(warnings, quiet)
    changes = diff_records(side_a, side_b)
    title = f"{label}: {len(changes)} services differ" if changes else label
    write_diff(changes, fmt, output, title=title)


def _is_parquet(path: Path) -> bool:
    """A Parquet file (magic ``PAR1``), whatever its name: given as A, it is a swapped argument."""
    try:
        with path.open("rb") as fh:
            return fh.read(4) == b"PAR1"
    except OSError:
        return False  # missing or unreadable: open_hive says so


baseline_app = typer.Typer(help="Build baselines of known-good services from golden images.", no_args_is_help=True)
app.add_typer(baseline_app, name="baseline")


@baseline_app.command("build")
@handle_errors
def baseline_build(
    hives: Annotated[list[Path], typer.Argument(help="SYSTEM hives of golden images", metavar="HIVE...")],
    output: Annotated[Path, typer.Option("--output", "-o", help="the baseline Parquet file to write")],
    force: ForceOpt = False,
    control_set: ControlSetOpt = "current",
    parser: ParserOpt = "regipy-rs",
    quiet: QuietOpt = False,
) -> None:
    """Save the service records of golden images as a baseline for `scan --baseline` and `diff`.

    Example: hivescan baseline build golden/*/SYSTEM -o golden.parquet
    """
    import hivescan
    from hivescan.frames import services_frame
    from hivescan.render.formats import write_parquet

    _check_control_set(control_set)
    _check_output(output, force, list(hives))
    records = []
    for path in hives:
        with hivescan.open_hive(path, backend=parser, files=None) as opened:
            records += opened.services(control_set)
            _warn_hive(list(opened.hive_diagnostics()), quiet)
    write_parquet(services_frame(records), output)
    if not quiet:
        _err(f"baseline: {len(records)} records from {len(hives)} hive(s) -> {output}")
