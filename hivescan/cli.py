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
    """Describe a hive: version, dirty or clean, checksum, logs, Select, control sets, sha256.

    Also the transaction logs and their replay, recovered keys and hive-level warnings.

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
    lenient: LenientOpt = False,
    software: SoftwareOpt = None,
    parser: ParserOpt = "regipy-rs",
    log: LogOpt = None,
    no_logs: NoLogsOpt = False,
    quiet: QuietOpt = False,
    install: InstallOpt = None,
    snapshot: SnapshotOpt = "live",
) -> None:
    """List every service record the SCM would build at boot, with provenance.

    A dirty hive's transaction logs are replayed in memory first (records changed by them say so).

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
    with hivescan.open_hive(
        hive, backend=parser, logs=logs, install=install, snapshot=snapshot, software=software
    ) as opened:
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
    """List what a disk image holds: volumes, shadow copies, Windows installations, hives, logs.

    Each hive and log found is listed with its path, size and sha256, before any analysis.

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
    """When each service appeared, changed and disappeared across snapshots, ordered by time.

    Snapshots: every control set of HIVE, its RegBack copy and older copies; changes are field by field.

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


# -- findings (rules, catalogs, baselines, diffs)

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


def _run_scan(
    hive: Path,
    *,
    control_set: str,
    fmt: str,
    output: Path | None,
    min_severity: str,
    fail_on: str | None,
    baseline: Path | None,
    rules_dir: Path | None,
    parser: str,
    quiet: bool,
    deleted: bool = True,
    log: list[Path] | None = None,
    no_logs: bool = False,
    software: Path | None = None,
    install: int | None = None,
    snapshot: str = "live",
) -> None:
    import hivescan
    from hivescan.detect.rules import SEVERITY_RANK
    from hivescan.detect.scan import scan_hive
    from hivescan.render.findings import write_findings

    _check_control_set(control_set)
    fmt = _check_format(fmt, ("table", "json", "jsonl", "csv", "html"))
    floor = _check_severity(min_severity, "--min-severity") or "info"
    threshold = _check_severity(fail_on, "--fail-on")
    rules = _load_rules(rules_dir)
    golden = _read_baseline(baseline) if baseline is not None else None
    logs = _logs_choice(log, no_logs)
    with hivescan.open_hive(
        hive, backend=parser, logs=logs, software=software, install=install, snapshot=snapshot
    ) as opened:
        result = scan_hive(
            opened, rules=rules, baseline=golden, control_set=control_set, min_severity=floor, deleted=deleted
        )
    _warn_hive(list(result.diagnostics), quiet)
    counts = result.counts()
    summary = {
        "hive": result.hive_path,
        "sha256": result.hive_sha256,
        "control sets": ", ".join(f"ControlSet{n:03d}" for n in result.control_sets),
        "current set": result.primary_set,
        "service records": result.records,
        "identical records of other sets evaluated once": result.identical_skipped,
        "rules": result.rules,
        "baseline records": result.baseline_records if result.baseline_records is not None else "none",
        "minimum severity": floor,
        "hivescan": hivescan.__version__,
    }
    title = f"{hive} - {len(result.findings)} findings"
    write_findings(list(result.findings), fmt, output, title=title, summary=summary)
    if not quiet and (fmt == "table" or output is not None):
        _err("findings: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    if threshold is not None and any(SEVERITY_RANK[f.severity] >= SEVERITY_RANK[threshold] for f in result.findings):
        raise typer.Exit(int(ExitCode.FINDINGS))


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


@app.command()
@handle_errors
def scan(
    hive: HivePath,
    control_set: ScanSetOpt = "all",
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
    min_severity: SeverityOpt = "info",
    fail_on: FailOnOpt = None,
    baseline: BaselineOpt = None,
    rules: RulesOpt = None,
    deleted: Annotated[
        bool,
        typer.Option(
            "--deleted/--no-deleted",
            help="also analyse service keys recovered from free and unreachable cells (a scan of the whole hive)",
        ),
    ] = True,
    software: SoftwareOpt = None,
    log: LogOpt = None,
    no_logs: NoLogsOpt = False,
    install: InstallOpt = None,
    snapshot: SnapshotOpt = "live",
    parser: ParserOpt = "regipy-rs",
    quiet: QuietOpt = False,
) -> None:
    """Find persistence: run the rules and catalogs over every service record, most severe first.

    Every control set is analysed by default, so that a service present in one set but not
    another (or changed between them) is reported; records identical to the current set's are
    evaluated once. Deleted services recovered from free cells are analysed too (remote-execution
    tools delete theirs). A dirty hive's logs are replayed first; a disk image works like a hive.
    Exit code 1 with --fail-on when a finding reaches that severity.

    Example: hivescan scan ./SYSTEM --min-severity medium -f html -o report.html
    """
    _run_scan(
        hive,
        control_set=control_set,
        fmt=fmt,
        output=output,
        min_severity=min_severity,
        fail_on=fail_on,
        baseline=baseline,
        rules_dir=rules,
        parser=parser,
        quiet=quiet,
        deleted=deleted,
        log=log,
        no_logs=no_logs,
        software=software,
        install=install,
        snapshot=snapshot,
    )


@app.command()
@handle_errors
def demo(
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
    min_severity: SeverityOpt = "info",
    fail_on: FailOnOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Scan the bundled demo hive (fixtures/demo-SYSTEM), which has planted persistence.

    Its SOFTWARE hive (fixtures/demo-SOFTWARE) is read too, for SystemRoot and the svchost groups.

    Example: hivescan demo --min-severity high
    """
    from hivescan.testing import demo_hive_path, demo_software_path

    _run_scan(
        demo_hive_path(),
        software=demo_software_path(),
        control_set="all",
        fmt=fmt,
        output=output,
        min_severity=min_severity,
        fail_on=fail_on,
        baseline=None,
        rules_dir=None,
        parser="regipy-rs",
        quiet=quiet,
    )


@app.command()
@handle_errors
def explain(
    findings_file: Annotated[Path, typer.Argument(help="findings saved with scan -f jsonl (or json)", metavar="FILE")],
    rule: Annotated[list[str] | None, typer.Option("--rule", help="only this rule id; repeatable")] = None,
    service: Annotated[list[str] | None, typer.Option("--service", help="only this service; repeatable")] = None,
    output: OutputOpt = None,
) -> None:
    """Show why each saved finding fired: its evidence tree, without re-running the rules.

    Example: hivescan scan SYSTEM -f jsonl -o f.jsonl && hivescan explain f.jsonl --rule psexec-service
    """
    from hivescan.errors import HiveNotFound
    from hivescan.render.findings import read_findings, write_explain
    from hivescan.render.formats import text_output

    if not findings_file.is_file():
        raise HiveNotFound(f"{findings_file}: no such file")
    try:
        with findings_file.open(encoding="utf-8") as fh:
            found = read_findings(fh)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        _err(f"error: {findings_file}: not findings JSONL from `hivescan scan -f jsonl` ({exc})")
        raise typer.Exit(int(ExitCode.USAGE)) from None
    if rule:
        found = [f for f in found if f.rule_id in set(rule)]
    if service:
        wanted = {s.upper() for s in service}
        found = [f for f in found if f.service.upper() in wanted]
    with text_output(output) as out:
        write_explain(found, out)


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
    with hivescan.open_hive(before, backend=parser) as a:
        side_a = a.services(control_set)
        warnings = list(a.hive_diagnostics())
        if against is not None:
            side_b = a.services(against)
            label = f"{before} {control_set} -> {against}"
    if after is not None:
        if after.suffix.lower() == ".parquet":
            side_b = _read_baseline(after)
            side_a, side_b = side_b, side_a  # baseline is "before", the hive "after"
            label = f"baseline {after} -> {before}"
        else:
            with hivescan.open_hive(after, backend=parser) as b:
                side_b = b.services(control_set)
                warnings += list(b.hive_diagnostics())
            label = f"{before} -> {after}"
    _warn_hive(warnings, quiet)
    changes = diff_records(side_a, side_b)
    write_diff(changes, fmt, output, title=f"{label}: {len(changes)} services differ")


rules_app = typer.Typer(help="Inspect and check the detection rules.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


@rules_app.command("lint")
@handle_errors
def rules_lint(
    rules: RulesOpt = None,
    examples: Annotated[
        bool, typer.Option("--examples/--no-examples", help="also build the example fixtures and check hit/miss")
    ] = True,
) -> None:
    """Check rules: id = file name, examples present and right, fields and catalogs known.

    Example: hivescan rules lint
    """
    from hivescan.detect.lint import lint
    from hivescan.testing import FIXTURES

    problems = lint(rules, fixtures=FIXTURES if examples else None)
    for problem in problems:
        sys.stdout.write(f"{problem}\n")
    failed = sum(1 for p in problems if p.level == "fail")
    sys.stdout.write(f"{failed} failed, {len(problems) - failed} warnings\n")
    if failed:
        raise typer.Exit(int(ExitCode.FINDINGS))


@rules_app.command("list")
@handle_errors
def rules_list(rules: RulesOpt = None) -> None:
    """List the rules: severity, id, ATT&CK techniques, title.

    Example: hivescan rules list
    """
    for rule in _load_rules(rules):
        sys.stdout.write(f"{rule.severity:<9} {rule.id:<40} {','.join(rule.attack):<28} {rule.title}\n")


baseline_app = typer.Typer(help="Build baselines of known-good services from golden images.", no_args_is_help=True)
app.add_typer(baseline_app, name="baseline")


@baseline_app.command("build")
@handle_errors
def baseline_build(
    hives: Annotated[list[Path], typer.Argument(help="SYSTEM hives of golden images", metavar="HIVE...")],
    output: Annotated[Path, typer.Option("--output", "-o", help="the baseline Parquet file to write")],
    control_set: ControlSetOpt = "current",
    parser: ParserOpt = "regipy-rs",
    quiet: QuietOpt = False,
) -> None:
    """Save the service records of golden images as a baseline for `scan --baseline` and `diff`.

    Example: hivescan baseline build golden/*/SYSTEM -o golden.parquet
    """
    import hivescan
    from hivescan.frames import services_frame

    _check_control_set(control_set)
    records = []
    for path in hives:
        with hivescan.open_hive(path, backend=parser) as opened:
            records += opened.services(control_set)
            _warn_hive(list(opened.hive_diagnostics()), quiet)
    services_frame(records).to_parquet(output, index=False)
    if not quiet:
        _err(f"baseline: {len(records)} records from {len(hives)} hive(s) -> {output}")


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
    """Everything about one service: every field, raw value, and diagnostic.

    Raw values with type and hex, and the environment the paths were resolved with.

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
) -> None:
    """Triage many SYSTEM hives at once into Parquet datasets, with findings, a summary and stacking.

    Writes OUTDIR/services/ (one row per service record), OUTDIR/findings/ (one row per
    finding of the detection rules), OUTDIR/hives/ (one row per input: host, sha256, status,
    error code, records, findings, duration), then OUTDIR/summary.json and a summary table:
    hosts, findings per severity, problems, and services, ImagePaths and ServiceDlls by how
    many hosts have them, rarest first.

    Inputs: hive files, folders (searched recursively by the regf signature; .LOG1/.LOG2 next to
    a dirty hive are replayed), and disk images (every installation and snapshot; needs the
    [images] extra). A bad input is a row with an error code, never a stopped run. A rerun into
    the same folder skips hives already done (by sha256).

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
        control_set=control_set,
        lenient=lenient,
        backend=parser,
        analyse=seams.analyser(),
        readers=readers,
        logs=not no_logs,
        deleted=deleted,
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
