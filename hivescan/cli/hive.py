"""Commands over one hive: info, services, boot-plan, show."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from hivescan.cli.common import (
    ControlSetOpt,
    EvtxOpt,
    ForceOpt,
    HivePath,
    InstallOpt,
    LenientOpt,
    LogOpt,
    NoEvtxOpt,
    NoFilesOpt,
    NoLogsOpt,
    OutputOpt,
    ParserOpt,
    QuietOpt,
    RootOpt,
    SnapshotOpt,
    SoftwareOpt,
    _check_control_set,
    _check_output,
    _check_statuses,
    _err,
    _files_choice,
    _logs_choice,
    _warn_hive,
    app,
    handle_errors,
)


@app.command()
@handle_errors
def info(
    hive: HivePath,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
    parser: ParserOpt = "regipy-rs",
    log: LogOpt = None,
    no_logs: NoLogsOpt = False,
    install: InstallOpt = None,
    snapshot: SnapshotOpt = "live",
    software: SoftwareOpt = None,
) -> None:
    """Describe a hive: version, dirty or clean, checksum, logs, Select, control sets, sha256.

    Also the computer name, the Windows version and build (from SYSTEM, or --software), the
    transaction logs and their replay, recovered keys and hive-level warnings.

    Example: hivescan info ./SYSTEM    (or: hivescan info disk.E01 --install 1)
    """
    import hivescan
    from hivescan.render.formats import dumps, stamped
    from hivescan.render.info import print_info
    from hivescan.render.safe import console_for

    logs = _logs_choice(log, no_logs)
    with hivescan.open_hive(
        hive, backend=parser, logs=logs, install=install, snapshot=snapshot, software=software, files=None
    ) as opened:
        summary = opened.info()
    if fmt.lower() == "json":
        sys.stdout.write(dumps(stamped(summary.to_dict())) + "\n")
    elif fmt.lower() == "table":
        print_info(summary, console_for())
    else:
        raise typer.BadParameter("table or json", param_hint="--format")


@app.command()
@handle_errors
def services(
    hive: HivePath,
    control_set: ControlSetOpt = "current",
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json, jsonl, csv or parquet")] = "table",
    output: OutputOpt = None,
    force: ForceOpt = False,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            help="only these statuses (database, pending_delete, rejected, deleted, orphaned); repeatable; "
            "deleted or orphaned implies --deleted",
            callback=_check_statuses,
        ),
    ] = None,
    deleted: Annotated[
        bool,
        typer.Option(
            "--deleted", help="also service keys recovered from free cells (deleted) and unreachable cells (orphaned)"
        ),
    ] = False,
    unattributed: Annotated[
        bool,
        typer.Option("--unattributed", help="with --deleted: also deleted service-like keys whose parent key is lost"),
    ] = False,
    lenient: LenientOpt = False,
    software: SoftwareOpt = None,
    parser: ParserOpt = "regipy-rs",
    log: LogOpt = None,
    no_logs: NoLogsOpt = False,
    quiet: QuietOpt = False,
    install: InstallOpt = None,
    snapshot: SnapshotOpt = "live",
    evtx: EvtxOpt = None,
    no_evtx: NoEvtxOpt = False,
    root: RootOpt = None,
    no_files: NoFilesOpt = False,
) -> None:
    """List every service record the SCM would build at boot, with provenance.

    A dirty hive's transaction logs are replayed in memory first (records changed by them say so).

    Example: hivescan services ./SYSTEM --control-set all -f jsonl -o services.jsonl
    (a disk image works too: hivescan services disk.E01 -f jsonl)
    """
    import hivescan
    from hivescan.cli.events import join_evtx
    from hivescan.render.formats import OutputFormat
    from hivescan.render.services import write_services

    _check_control_set(control_set)
    try:
        out_format = OutputFormat(fmt.lower())
    except ValueError:
        raise typer.BadParameter("table, json, jsonl, csv or parquet", param_hint="--format") from None
    logs = _logs_choice(log, no_logs)
    recovered_asked = sorted({"deleted", "orphaned"} & set(status or ()))
    if recovered_asked and not (deleted or unattributed):
        # Asked for recovered records without --deleted: searching the free cells is what was
        # meant; say so rather than answer "no records".
        deleted = True
        if not quiet:
            _err(f"note: --status {' '.join(recovered_asked)} implies --deleted (keys recovered from free cells)")
    _check_output(output, force, hive, log, software, evtx)
    files = _files_choice(root, no_files)
    with hivescan.open_hive(
        hive, backend=parser, logs=logs, install=install, snapshot=snapshot, software=software, files=files
    ) as opened:
        records = opened.services(control_set, lenient=lenient)
        if deleted or unattributed:
            records += opened.deleted_services(control_set, unattributed=unattributed, lenient=lenient)
        records = join_evtx(opened, records, evtx, quiet, no_evtx)  # service_events, event_only records
        warnings = opened.hive_diagnostics()
        shown = opened.path  # for an image: IMAGE:VOLUME:PATH of the hive read
    if status:
        records = [r for r in records if r.status in set(status)]
    _warn_hive(list(warnings), quiet)
    write_services(records, out_format, output, title=f"{shown} - {len(records)} service records")


@app.command("boot-plan")
@handle_errors
def boot_plan(
    hive: HivePath,
    control_set: ControlSetOpt = "current",
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json, jsonl or csv")] = "table",
    output: OutputOpt = None,
    force: ForceOpt = False,
    software: SoftwareOpt = None,
    lenient: LenientOpt = False,
    parser: ParserOpt = "regipy-rs",
    quiet: QuietOpt = False,
) -> None:
    """What starts at boot and in what order, per control set.

    Boot and system drivers, auto-start (with the demand-start services they pull in), delayed
    auto-start; trigger-start services apart.

    Example: hivescan boot-plan ./SYSTEM --software ./SOFTWARE -f csv -o bootplan.csv
    """
    import hivescan
    from hivescan.render.bootplan import write_boot_plans
    from hivescan.render.formats import OutputFormat

    _check_control_set(control_set)
    try:
        out_format = OutputFormat(fmt.lower())
    except ValueError:
        raise typer.BadParameter("table, json, jsonl or csv", param_hint="--format") from None
    if out_format is OutputFormat.parquet:
        raise typer.BadParameter("table, json, jsonl or csv", param_hint="--format")
    _check_output(output, force, hive, software)
    with hivescan.open_hive(hive, backend=parser, software=software, files=None) as opened:
        plans = opened.boot_plans(control_set, lenient=lenient)
        warnings = opened.hive_diagnostics()
    _warn_hive(list(warnings), quiet)
    write_boot_plans(plans, out_format, output, title=f"{hive}  ")


@app.command()
@handle_errors
def show(
    hive: HivePath,
    name: Annotated[str, typer.Argument(help="service name (case-insensitive)", show_default=False)],
    control_set: ControlSetOpt = "current",
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
    software: SoftwareOpt = None,
    lenient: LenientOpt = False,
    parser: ParserOpt = "regipy-rs",
    quiet: QuietOpt = False,
    root: RootOpt = None,
    no_files: NoFilesOpt = False,
) -> None:
    """Everything about one service: every field, raw value, and diagnostic.

    Raw values with type and hex, and the environment the paths were resolved with.

    Example: hivescan show ./SYSTEM Schedule --software ./SOFTWARE --control-set all
    """
    import hivescan
    from hivescan.render.formats import dumps, stamped
    from hivescan.render.safe import console_for
    from hivescan.render.show import print_services

    _check_control_set(control_set)
    if fmt.lower() not in ("table", "json"):
        raise typer.BadParameter("table or json", param_hint="--format")
    files = _files_choice(root, no_files)
    with hivescan.open_hive(hive, backend=parser, software=software, files=files) as opened:
        records = opened.find_service(name, control_set, lenient=lenient)
        contexts = opened.database_contexts(control_set)
        warnings = opened.hive_diagnostics()
    _warn_hive(list(warnings), quiet)
    if fmt.lower() == "json":
        sys.stdout.write(dumps([stamped(r.to_dict()) for r in records]) + "\n")
        return
    print_services(records, console_for(), contexts)
