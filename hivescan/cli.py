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

HivePath = Annotated[
    Path,
    typer.Argument(
        help="SYSTEM hive file, or a disk image (E01, raw/dd, VMDK, VHD, VHDX, QCOW2) holding Windows",
        show_default=False,
        metavar="HIVE|IMAGE",
    ),
]
InstallOpt = Annotated[
    int | None,
    typer.Option("--install", min=1, help="disk images: which Windows installation (see `hivescan images`)"),
]
SnapshotOpt = Annotated[
    str,
    typer.Option("--snapshot", help="disk images: live (default), regback, or a shadow copy (vss1, vss2, ...)"),
]
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
LogOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--log",
        help="transaction log to replay if the hive is dirty (repeatable); "
        "default: HIVE.LOG1, HIVE.LOG2, HIVE.LOG next to the hive",
        show_default=False,
    ),
]
NoLogsOpt = Annotated[bool, typer.Option("--no-logs", help="analyse the primary file alone, even when it is dirty")]


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


def _logs_choice(log: list[Path] | None, no_logs: bool) -> str | list[Path]:
    """``--log``/``--no-logs`` -> the ``logs=`` argument of :func:`hivescan.open_hive`."""
    if log and no_logs:
        raise typer.BadParameter("--log and --no-logs exclude each other", param_hint="--no-logs")
    if no_logs:
        return "none"
    return list(log) if log else "auto"


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
    log: LogOpt = None,
    no_logs: NoLogsOpt = False,
    install: InstallOpt = None,
    snapshot: SnapshotOpt = "live",
) -> None:
    """Describe a hive: version, dirty or clean, checksum, transaction logs and their replay,
    Select, control sets, sha256, warnings.

    Example: hivescan info ./SYSTEM    (or: hivescan info disk.E01 --install 1)
    """
    from rich.console import Console

    import hivescan
    from hivescan.render.formats import dumps
    from hivescan.render.info import print_info

    logs = _logs_choice(log, no_logs)
    with hivescan.open_hive(hive, backend=parser, logs=logs, install=install, snapshot=snapshot) as opened:
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
        typer.Option(
            "--status", help="only these statuses (database, pending_delete, rejected, deleted, orphaned); repeatable"
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
    lenient: Annotated[
        bool, typer.Option("--lenient", help="build records for keys without ErrorControl (assumes 1)")
    ] = False,
    parser: ParserOpt = "regipy-rs",
    log: LogOpt = None,
    no_logs: NoLogsOpt = False,
    quiet: QuietOpt = False,
    install: InstallOpt = None,
    snapshot: SnapshotOpt = "live",
) -> None:
    """List every service record the SCM would build at boot, with provenance. A dirty hive's
    transaction logs are replayed in memory first (records changed by them say so).

    Example: hivescan services ./SYSTEM --control-set all -f jsonl -o services.jsonl
    (a disk image works too: hivescan services disk.E01 -f jsonl)
    """
    import hivescan
    from hivescan.render.formats import OutputFormat
    from hivescan.render.services import write_services

    _check_control_set(control_set)
    try:
        out_format = OutputFormat(fmt.lower())
    except ValueError:
        raise typer.BadParameter("table, json, jsonl, csv or parquet", param_hint="--format") from None
    logs = _logs_choice(log, no_logs)
    with hivescan.open_hive(hive, backend=parser, logs=logs, install=install, snapshot=snapshot) as opened:
        records = opened.services(control_set, lenient=lenient)
        if deleted or unattributed:
            records += opened.deleted_services(control_set, unattributed=unattributed, lenient=lenient)
        warnings = opened.hive_diagnostics()
        shown = opened.path  # for an image: IMAGE:VOLUME:PATH of the hive read
    if status:
        records = [r for r in records if r.status in set(status)]
    _warn_hive(list(warnings), quiet)
    write_services(records, out_format, output, title=f"{shown} - {len(records)} service records")


@app.command()
@handle_errors
def images(
    image: Annotated[
        Path,
        typer.Argument(help="disk image: E01, raw/dd, VMDK, VHD, VHDX, QCOW2", show_default=False, metavar="IMAGE"),
    ],
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
    quiet: QuietOpt = False,
) -> None:
    """List what a disk image holds before any analysis: volumes, shadow copies, Windows
    installations, and each hive and log found (path, size, sha256).

    Example: hivescan images disk.E01 -f json
    """
    from rich.console import Console

    from hivescan.hive.images import image_inventory
    from hivescan.render.formats import dumps
    from hivescan.render.images import print_inventory

    if fmt.lower() not in ("table", "json"):
        raise typer.BadParameter("table or json", param_hint="--format")
    inventory = image_inventory(image)
    _warn_hive(list(inventory.diagnostics), quiet)
    if fmt.lower() == "json":
        sys.stdout.write(dumps(inventory.to_dict()) + "\n")
    else:
        print_inventory(inventory, Console())
    if not inventory.installations:
        raise typer.Exit(int(ExitCode.IMAGE_ERROR))


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
    parser: ParserOpt = "regipy-rs",
    quiet: QuietOpt = False,
) -> None:
    """When each service appeared, changed (fields before/after) and disappeared across snapshots:
    every control set of HIVE, its RegBack copy and older copies, ordered by time.

    Example: hivescan history ./config/SYSTEM --history ./vss1/SYSTEM -f jsonl
    """
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
    result = load_history(hive, paths, regback=regback, include_present=show_all, backend=parser)
    _warn_hive(list(result.diagnostics), quiet)
    write_history(result, out_format, output)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
