"""``hivescan events``: the service events of EVTX logs; ``hivescan timeline``; and the
``--evtx`` join the other commands share (:func:`join_evtx`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hivescan.cli.common import (
    EvtxOpt,
    ForceOpt,
    HivePath,
    InstallOpt,
    NoEvtxOpt,
    OutputOpt,
    ParserOpt,
    QuietOpt,
    SnapshotOpt,
    _check_format,
    _check_output,
    _err,
    _warn_hive,
    app,
    handle_errors,
)

if TYPE_CHECKING:
    from hivescan.events.logs import EventLog
    from hivescan.scm.record import ServiceRecord

EvtxArg = Annotated[
    list[Path],
    typer.Argument(
        help="EVTX files, folders searched for *.evtx, disk images or .zip collections (their System, "
        "Security and Sysmon logs, shadow copies' too)",
        show_default=False,
        metavar="EVTX...|DIR|IMAGE|ZIP",
    ),
]


def read_logs(paths: Sequence[Path], quiet: bool) -> list[EventLog]:
    """Every log of ``paths``, its damage warned about on stderr (one line per diagnostic)."""
    from hivescan.events.logs import read_service_events

    logs = read_service_events(paths)
    for log in logs:
        _warn_hive([_prefixed(d, log.path) for d in log.diagnostics], quiet)
    return logs


def _prefixed(diag: Any, path: str) -> Any:
    from dataclasses import replace

    return replace(diag, message=f"{path}: {diag.message}")


def input_logs(opened: Any, no_evtx: bool, quiet: bool, given: Sequence[EventLog] = ()) -> list[EventLog]:
    """The service logs the input itself holds (``opened.event_locations``: a folder, a zip
    collection, a disk image and its shadow copies), unless ``--no-evtx``; a log already given
    with ``--evtx`` (same sha256) is not read twice. Damage and skipped logs are warned about."""
    locations = getattr(opened, "event_locations", None)
    if no_evtx or not locations:
        return []
    from hivescan.events.found import read_found_logs

    found, notes = read_found_logs(locations)
    return new_logs(found, notes, given, quiet)


def new_logs(found: Sequence[EventLog], notes: list[Any], given: Sequence[EventLog], quiet: bool) -> list[EventLog]:
    """The logs ``found`` in the input that are not among those ``given`` with ``--evtx`` (same
    sha256: not read twice), each one's damage and the search's ``notes`` warned about."""
    known = {log.sha256 for log in given}
    logs = [log for log in found if log.sha256 not in known]
    for log in logs:
        _warn_hive([_prefixed(d, log.path) for d in log.diagnostics], quiet)
    _warn_hive(notes, quiet)
    return logs


def all_logs(opened: Any, evtx: Sequence[Path] | None, no_evtx: bool, quiet: bool) -> list[EventLog]:
    """``--evtx`` logs first, then the input's own (see :func:`input_logs`)."""
    given = read_logs(evtx, quiet) if evtx else []
    return given + input_logs(opened, no_evtx, quiet, given)


def join_evtx(
    opened: Any, records: list[ServiceRecord], evtx: Sequence[Path] | None, quiet: bool, no_evtx: bool = False
) -> list[ServiceRecord]:
    """``--evtx`` and the input's own logs: join their service events with ``records`` (events
    of another computer than the hive's are joined too, with a warning)."""
    logs = all_logs(opened, evtx, no_evtx, quiet)
    if not logs:
        return records
    from hivescan.events.join import join_events

    result = join_events(records, logs, computer_name=opened.computer_name()[0])
    _warn_hive(result.diagnostics, quiet)
    return result.records


def _events_inputs(paths: Sequence[Path], quiet: bool) -> list[EventLog]:
    """``hivescan events`` inputs in order: EVTX files and folders as given, and the logs
    inside disk images and zipped collections (found where Windows keeps them)."""
    from hivescan.volumes import container_event_logs

    logs: list[EventLog] = []
    for path in paths:
        inside = container_event_logs(path) if path.is_file() else None
        if inside is None:
            logs += read_logs([path], quiet)
            continue
        found, notes = inside
        for log in found:
            _warn_hive([_prefixed(d, log.path) for d in log.diagnostics], quiet)
        _warn_hive(notes, quiet)
        if not found and not quiet:
            _err(f"warning: {path}: no System, Security or Sysmon log found inside")
        logs += found
    return logs


@app.command()
@handle_errors
def events(
    evtx: EvtxArg,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json, jsonl, csv or parquet")] = "table",
    output: OutputOpt = None,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """List the service events of event logs: installs (7045, 4697), changes, failures, cleared logs.

    Damaged logs give every event that can be read, with warnings.

    Example: hivescan events System.evtx Security.evtx -f jsonl -o events.jsonl
    """
    from hivescan.render.events import write_events
    from hivescan.render.formats import OutputFormat

    try:
        out_format = OutputFormat(fmt.lower())
    except ValueError:
        raise typer.BadParameter("table, json, jsonl, csv or parquet", param_hint="--format") from None
    _check_output(output, force, evtx)
    logs = _events_inputs(evtx, quiet)
    if not logs:
        _err("warning: no .evtx file found")
    count = sum(len(log.events) for log in logs)
    read = sum(log.events_read for log in logs)
    write_events(logs, out_format, output, title=f"{len(logs)} log(s), {read} events read, {count} service events")


@app.command()
@handle_errors
def timeline(
    hive: HivePath,
    evtx: EvtxOpt = None,
    no_evtx: NoEvtxOpt = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl (Timesketch) or csv")] = "jsonl",
    output: OutputOpt = None,
    force: ForceOpt = False,
    deleted: Annotated[
        bool, typer.Option("--deleted/--no-deleted", help="also the last writes of deleted service keys")
    ] = True,
    parser: ParserOpt = "regipy-rs",
    quiet: QuietOpt = False,
    install: InstallOpt = None,
    snapshot: SnapshotOpt = "live",
    snapshots: Annotated[
        bool,
        typer.Option(
            "--snapshots/--no-snapshots",
            help="also what changed since the RegBack copy and (disk images) each shadow copy",
        ),
    ] = True,
) -> None:
    """One sorted timeline of what happened to services: key last writes, deleted keys, events.

    Every control set's service keys and Parameters subkeys, the keys the transaction logs
    changed, deleted keys recovered from free cells, what changed since the RegBack and
    shadow-copy snapshots, the NTFS times of the service binaries (disk images), and the
    service events of --evtx logs and of the logs the input holds, in Timesketch's JSONL
    format (message, datetime, timestamp_desc); each row names its source. A time before
    1990 or from 2100 on is kept with time_flag=implausible; a fact whose time is 0 (not
    set) or no date is not put at 1601 but named in a timeline_no_time warning on stderr.

    Example: hivescan timeline ./SYSTEM --evtx System.evtx --evtx Security.evtx -o timeline.jsonl
    """
    import hivescan
    from hivescan.render.timeline import build_timeline, write_timeline

    fmt = _check_format(fmt, ("jsonl", "csv"))
    _check_output(output, force, hive, evtx)
    with hivescan.open_hive(hive, backend=parser, install=install, snapshot=snapshot) as opened:
        logs = all_logs(opened, evtx, no_evtx, quiet)
        records = opened.services("all", deleted=deleted)
        warnings = list(opened.hive_diagnostics())
        local = opened.evidence.file_path  # a folder input: its SYSTEM file, whose RegBack is beside it
    history = None
    if snapshots:
        history, notes = _snapshot_history(local if hive.is_dir() and local is not None else hive, parser)
        warnings += notes
    _warn_hive(warnings, quiet)
    rows, no_time = build_timeline(records, logs, history)
    _warn_hive(no_time, quiet, per_code=len(no_time))  # each fact left off is named: none is dropped unsaid
    write_timeline(rows, fmt, output)


def _snapshot_history(path: Path | str, parser: str) -> tuple[Any, list[Any]]:
    """The hive's snapshot history (RegBack, shadow copies) for the timeline, or None with
    the reason as a warning when a copy cannot be read (the timeline still has the rest)."""
    from hivescan.diagnostics import Diagnostic
    from hivescan.errors import HivescanError
    from hivescan.snapshots import load_history

    try:
        history = load_history(path, (), regback=True, backend=parser, files=None)
    except HivescanError as exc:
        return None, [Diagnostic("timeline_snapshots_unreadable", str(path), f"snapshots not compared: {exc}")]
    copies = ("regback_unreadable", "shadow_copy_hive_unreadable")  # the hive's own are warned already
    return history, [d for d in history.diagnostics if d.code in copies]


def triage_events(
    evtx: Sequence[Path], outdir: Path, quiet: bool, host_logs: Sequence[EventLog] = ()
) -> list[dict[str, Any]]:
    """``triage``: the service events of the ``--evtx`` logs and of the hosts' own logs
    (``host_logs``) as ``OUTDIR/events/events.parquet`` (rewritten on each run) and the
    install stack for the summary."""
    from hivescan.events.stacking import stack_installs
    from hivescan.render.events import write_events
    from hivescan.render.formats import OutputFormat

    given = read_logs(evtx, quiet) if evtx else []
    known = {log.sha256 for log in given}
    logs = given + [log for log in host_logs if log.sha256 not in known]
    folder = outdir / "events"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "events.parquet"
    partial = folder / ".events.parquet.tmp"
    write_events(logs, OutputFormat.parquet, partial)
    partial.replace(target)
    return stack_installs(logs)
