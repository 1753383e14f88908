"""What every command shares: the Typer app, option types, checks, and the one place errors
become one line and an exit code (never a traceback; HIVESCAN_DEBUG=1 shows one)."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperGroup

try:  # Typer 0.2x carries its own copy of Click; its exceptions are the ones raised
    from typer._click import exceptions as click_exc
except ImportError:  # pragma: no cover - Typer on the Click package
    from click import exceptions as click_exc  # type: ignore[no-redef]

from hivescan.errors import ExitCode, HivescanError


def _one_line(text: str) -> str:
    """Collapse a message to one line (Click's messages may hold newlines)."""
    return " ".join(text.split())


class OneLineErrors(TyperGroup):
    """The top-level command group: a usage error is one line ``hivescan: error: ...`` on
    stderr and exit 2, not the multi-line box Typer draws (the README promises one line, and
    scripts parse stderr). Everything else (help, commands, exit codes) is Typer's."""

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(
                args=args,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        except click_exc.NoArgsIsHelpError as exc:  # `hivescan` alone: its help, as before
            if not standalone_mode:
                raise
            if exc.format_message().strip():  # plain Click keeps the help in the message (on
                sys.stdout.write(exc.format_message().rstrip("\n") + "\n")  # stdout, as --help)
            sys.exit(int(ExitCode.USAGE))
        except click_exc.ClickException as exc:
            if not standalone_mode:
                raise
            _err(f"error: {_one_line(exc.format_message())}{_help_hint(exc)}")
            sys.exit(exc.exit_code)
        except typer.Abort:
            if not standalone_mode:
                raise
            _err("interrupted")
            sys.exit(130)
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)


def _help_hint(exc: click_exc.ClickException) -> str:
    ctx: Any = getattr(exc, "ctx", None)
    if not isinstance(exc, click_exc.UsageError) or ctx is None:
        return ""
    return f" (see `{ctx.command_path} --help`)"


def _print_version(value: bool) -> None:
    if value:
        import hivescan

        sys.stdout.write(f"hivescan {hivescan.__version__}\n")
        raise typer.Exit(0)


app = typer.Typer(
    cls=OneLineErrors,
    name="hivescan",
    help="Rebuild the Windows service database from offline SYSTEM hives and surface persistence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

F = TypeVar("F", bound=Callable[..., Any])


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="print the hivescan version and exit"),
    ] = False,
) -> None:
    """Rebuild the Windows service database from offline SYSTEM hives and surface persistence."""


def _check_parser(value: str) -> str:
    from hivescan.hive.backends import BACKEND_NAMES

    if value not in BACKEND_NAMES:
        raise typer.BadParameter(f"{value!r} is not a parser; one of {', '.join(BACKEND_NAMES)}")
    return value


RECORD_STATUSES = ("database", "pending_delete", "rejected", "deleted", "orphaned")


def _check_statuses(values: list[str] | None) -> list[str] | None:
    for value in values or ():
        if value not in RECORD_STATUSES:
            raise typer.BadParameter(f"{value!r} is not a record status; one of {', '.join(RECORD_STATUSES)}")
    return values


HivePath = Annotated[
    Path,
    typer.Argument(
        help="SYSTEM hive file, or a disk image (E01, raw/dd, VMDK, VHD, VHDX, QCOW2) holding Windows",
        show_default=False,
        metavar="HIVE|IMAGE",
    ),
]
RootOpt = Annotated[
    Path | None,
    typer.Option(
        "--root",
        help="folder holding the Windows volume's files (mounted image, KAPE or Velociraptor output): "
        "hash and verify the binaries services point at",
    ),
]
NoFilesOpt = Annotated[
    bool,
    typer.Option(
        "--no-files", help="do not read the binaries services point at (on by default when the input holds files)"
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
ForceOpt = Annotated[
    bool,
    typer.Option("--force", help="replace an existing -o file (never an input, its logs, or a hive/log/image)"),
]
ParserOpt = Annotated[
    str,
    typer.Option(
        "--parser",
        help="primary parser backend: regipy-rs (default), regipy, python-registry",
        callback=_check_parser,
    ),
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
SoftwareOpt = Annotated[
    Path | None,
    typer.Option(
        "--software",
        help="SOFTWARE hive of the same system: SystemRoot, program-files variables, svchost groups",
        show_default=False,
    ),
]
EvtxOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--evtx",
        help="event log (System, Security, Sysmon .evtx) or a folder of them to join with the services (repeatable)",
        show_default=False,
    ),
]
NoEvtxOpt = Annotated[
    bool,
    typer.Option(
        "--no-evtx",
        help="do not read the event logs the input holds (folder, .zip collection, disk image and its shadow copies)",
    ),
]
LenientOpt = Annotated[bool, typer.Option("--lenient", help="build records for keys without ErrorControl (assumes 1)")]


def _err(message: str) -> None:
    """One line on stderr. Messages quote key names and paths from the hive: they are shown
    with control characters escaped, so a name cannot clear the screen or add a line."""
    from hivescan.textsafe import visible

    sys.stderr.write(f"hivescan: {visible(message)}\n")


def exit_cleanly_on_termination() -> None:
    """Make SIGTERM and SIGHUP end the command the way an error does: by unwinding, so every
    ``with`` block runs and a half-written ``-o`` file (``.NAME.PID-RANDOM.tmp``) is removed.
    Python's default for SIGTERM kills the process on the spot and left partial output next
    to the target. Only this process unwinds: a worker process it forked (triage) that gets
    the signal dies at once, as before, and its parent reports it."""
    import signal

    owner = os.getpid()

    def terminate(signum: int, _frame: object) -> None:
        if os.getpid() != owner:  # a forked worker inherited the handler
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        signal.signal(signum, signal.SIG_DFL)  # a second signal ends it at once
        _err(f"terminated ({signal.Signals(signum).name})")
        raise SystemExit(128 + signum)

    for name in ("SIGTERM", "SIGHUP"):  # SIGHUP does not exist on Windows
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), terminate)


def _check_output(output: Path | None, force: bool, *inputs: Path | list[Path] | None) -> None:
    """Before any work: refuse an ``-o`` that would overwrite evidence or an existing file
    without ``--force`` (:func:`hivescan.render.output.check_output`; exit code 9)."""
    if output is None:
        return
    from hivescan.render.output import check_output

    flat: list[Path] = []
    for item in inputs:
        if isinstance(item, list):
            flat += item
        elif item is not None:
            flat.append(item)
    check_output(output, inputs=flat, force=force)


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
    for path in log or ():
        if not path.is_file():  # a wrong path is refused, never a dirty hive read without its log
            from hivescan.errors import HiveNotFound

            raise HiveNotFound(f"{path}: no such transaction log file (--log)")
    return list(log) if log else "auto"


def _files_choice(root: Path | None, no_files: bool) -> Any:
    """``files=`` for open_hive: off, a --root folder, or "auto" (the input's own files)."""
    if no_files and root is not None:
        raise typer.BadParameter("--root and --no-files contradict each other", param_hint="--no-files")
    if no_files:
        return None
    return root if root is not None else "auto"


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


SeverityOpt = Annotated[
    str, typer.Option("--min-severity", help="only findings at or above: info, low, medium, high, critical")
]
RulesOpt = Annotated[Path | None, typer.Option("--rules", help="a folder of rule files instead of the shipped rules")]


def _check_severity(value: str | None, option: str) -> str | None:
    from hivescan.detect.rules import SEVERITIES

    if value is not None and value.lower() not in SEVERITIES:
        raise typer.BadParameter(f"one of {', '.join(SEVERITIES)}", param_hint=option)
    return value.lower() if value is not None else None


def _check_format(value: str, allowed: tuple[str, ...]) -> str:
    if value.lower() not in allowed:
        raise typer.BadParameter(", ".join(allowed), param_hint="--format")
    return value.lower()


def _load_rules(directory: Path | None) -> Any:
    from hivescan.detect.rules import InvalidRule, load_rules

    _check_rules_dir(directory)
    try:
        return load_rules(directory)
    except InvalidRule as exc:
        _err(f"error: {exc}")
        raise typer.Exit(int(ExitCode.USAGE)) from None


def _check_rules_dir(directory: Path | None) -> None:
    """``--rules DIR`` must hold rules: a wrong folder would otherwise scan clean ("0 findings")."""
    from hivescan.detect.rules import rule_files

    if directory is None:
        return
    if not directory.is_dir():
        _err(f"error: --rules {directory}: no such rules folder")
        raise typer.Exit(int(ExitCode.USAGE))
    if not list(rule_files(directory)):
        _err(f"error: --rules {directory}: the folder holds no rule file (*.yaml); a scan with no rules finds nothing")
        raise typer.Exit(int(ExitCode.USAGE))


def _read_baseline(path: Path) -> list[Any]:
    from hivescan.errors import HiveNotFound
    from hivescan.frames import read_records_parquet

    if not path.is_file():
        raise HiveNotFound(f"{path}: no such baseline file")
    try:
        return read_records_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not our Parquet
        _err(f"error: {path}: not a hivescan baseline (Parquet from `hivescan baseline build`): {exc}")
        raise typer.Exit(int(ExitCode.USAGE)) from None


FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table, json, jsonl, csv or html (self-contained)")]
FailOnOpt = Annotated[
    str | None, typer.Option("--fail-on", help="exit 1 when a finding at or above this severity exists")
]
BaselineOpt = Annotated[
    Path | None, typer.Option("--baseline", help="golden records (Parquet from `hivescan baseline build`)")
]
ScanSetOpt = Annotated[
    str,
    typer.Option(
        "--control-set",
        "-c",
        help="all (default: compares sets, so a service present in one set but not another is reported), "
        "current, default, lkg, failed, or a set number",
    ),
]
