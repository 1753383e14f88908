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
SoftwareOpt = Annotated[
    Path | None,
    typer.Option(
        "--software",
        help="SOFTWARE hive of the same system: SystemRoot, program-files variables, svchost groups",
        show_default=False,
    ),
]
LenientOpt = Annotated[bool, typer.Option("--lenient", help="build records for keys without ErrorControl (assumes 1)")]


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
    lenient: LenientOpt = False,
    software: SoftwareOpt = None,
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
    with hivescan.open_hive(hive, backend=parser, software=software) as opened:
        records = opened.services(control_set, lenient=lenient)
        warnings = opened.hive_diagnostics()
    if status:
        records = [r for r in records if r.status in set(status)]
    _warn_hive(list(warnings), quiet)
    write_services(records, out_format, output, title=f"{hive} - {len(records)} service records")


@app.command("boot-plan")
@handle_errors
def boot_plan(
    hive: HivePath,
    control_set: ControlSetOpt = "current",
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json, jsonl or csv")] = "table",
    output: OutputOpt = None,
    software: SoftwareOpt = None,
    lenient: LenientOpt = False,
    parser: ParserOpt = "regipy-rs",
    quiet: QuietOpt = False,
) -> None:
    """What starts at boot and in what order: boot and system drivers, auto-start (with the
    demand-start services they pull in), delayed auto-start; trigger-start services apart.

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
    with hivescan.open_hive(hive, backend=parser, software=software) as opened:
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
) -> None:
    """Everything about one service: every field, every raw value (type and hex), the
    environment it was resolved with, and its diagnostics.

    Example: hivescan show ./SYSTEM Schedule --software ./SOFTWARE --control-set all
    """
    import hivescan
    from hivescan.render.formats import dumps
    from hivescan.render.services import console_for
    from hivescan.render.show import print_services

    _check_control_set(control_set)
    if fmt.lower() not in ("table", "json"):
        raise typer.BadParameter("table or json", param_hint="--format")
    with hivescan.open_hive(hive, backend=parser, software=software) as opened:
        records = opened.find_service(name, control_set, lenient=lenient)
        contexts = opened.database_contexts(control_set)
        warnings = opened.hive_diagnostics()
    _warn_hive(list(warnings), quiet)
    if fmt.lower() == "json":
        sys.stdout.write(dumps([r.to_dict() for r in records]) + "\n")
        return
    print_services(records, console_for(), contexts)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
