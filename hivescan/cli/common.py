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


def _logs_choice(log: list[Path] | None, no_logs: bool) -> str | list[Path]:
    """``--log``/``--no-logs`` -> the ``logs=`` argument of :func:`hivescan.open_hive`."""
    if log and no_logs:
        raise typer.BadParameter("--log and --no-logs exclude each other", param_hint="--no-logs")
    if no_logs:
        return "none"
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

    try:
        return load_rules(directory)
    except InvalidRule as exc:
        _err(f"error: {exc}")
        raise typer.Exit(int(ExitCode.USAGE)) from None


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
