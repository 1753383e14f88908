"""Findings: scan, demo, explain, and the rules command group."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from hivescan.cli.common import (
    BaselineOpt,
    EvtxOpt,
    FailOnOpt,
    ForceOpt,
    FormatOpt,
    HivePath,
    InstallOpt,
    LogOpt,
    NoEvtxOpt,
    NoFilesOpt,
    NoLogsOpt,
    OutputOpt,
    ParserOpt,
    QuietOpt,
    RootOpt,
    RulesOpt,
    ScanSetOpt,
    SeverityOpt,
    SnapshotOpt,
    SoftwareOpt,
    _check_control_set,
    _check_format,
    _check_output,
    _check_rules_dir,
    _check_severity,
    _err,
    _files_choice,
    _load_rules,
    _logs_choice,
    _read_baseline,
    _warn_hive,
    app,
    handle_errors,
)
from hivescan.errors import ExitCode
from hivescan.textsafe import visible

CaseOpt = Annotated[
    str | None,
    typer.Option("--case", help="case name or number, stated in the HTML report's header", show_default=False),
]
ExaminerOpt = Annotated[
    str | None,
    typer.Option("--examiner", help="who ran the scan, stated in the HTML report's header", show_default=False),
]


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
    force: bool = False,
    deleted: bool = True,
    log: list[Path] | None = None,
    no_logs: bool = False,
    software: Path | None = None,
    install: int | None = None,
    snapshot: str = "live",
    case: str | None = None,
    examiner: str | None = None,
    evtx: list[Path] | None = None,
    no_evtx: bool = False,
    files: Any = "auto",
) -> None:
    import hivescan
    from hivescan.cli.events import input_logs, read_logs
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
    _check_output(output, force, hive, log, software, baseline, evtx)
    given = read_logs(evtx, quiet) if evtx else []
    with hivescan.open_hive(
        hive, backend=parser, logs=logs, software=software, install=install, snapshot=snapshot, files=files
    ) as opened:
        event_logs = given + input_logs(opened, no_evtx, quiet, given)  # the input's own logs too
        result = scan_hive(
            opened,
            rules=rules,
            baseline=golden,
            control_set=control_set,
            min_severity=floor,
            deleted=deleted,
            events=event_logs,
        )
    _warn_hive(list(result.diagnostics), quiet)
    counts = result.counts()
    summary = {
        "hive": result.hive_path,
        "sha256": result.hive_sha256,
        "control sets": ", ".join(f"ControlSet{n:03d}" for n in result.control_sets),
        "current set": result.primary_set,
        "Windows": (
            f"{result.windows.label} (confidence {result.windows.confidence})" if result.windows else "not detected"
        ),
        "service records": result.records,
        "identical records of other sets evaluated once": result.identical_skipped,
        "rules": result.rules,
        "baseline records": result.baseline_records if result.baseline_records is not None else "none",
        "minimum severity": floor,
        "hivescan": hivescan.__version__,
    }
    # the version in numbers only (validated digits): product names can come from SOFTWARE text
    found = result.windows
    version = ""
    if found is not None and found.known:
        version = f" - NT {found.nt_version}" + (f" build {found.build}" if found.build is not None else "")
    title = f"{hive}{version} - {len(result.findings)} findings"
    write_findings(
        list(result.findings), fmt, output, title=title, summary=summary, result=result, case=case, examiner=examiner
    )
    if not quiet and (fmt == "table" or output is not None):
        _err("findings: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    if threshold is not None and any(SEVERITY_RANK[f.severity] >= SEVERITY_RANK[threshold] for f in result.findings):
        raise typer.Exit(int(ExitCode.FINDINGS))


@app.command()
@handle_errors
def scan(
    hive: HivePath,
    control_set: ScanSetOpt = "all",
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
    force: ForceOpt = False,
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
    case: CaseOpt = None,
    examiner: ExaminerOpt = None,
    evtx: EvtxOpt = None,
    no_evtx: NoEvtxOpt = False,
    root: RootOpt = None,
    no_files: NoFilesOpt = False,
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
        force=force,
        deleted=deleted,
        log=log,
        no_logs=no_logs,
        software=software,
        install=install,
        snapshot=snapshot,
        case=case,
        examiner=examiner,
        evtx=evtx,
        no_evtx=no_evtx,
        files=_files_choice(root, no_files),
    )


@app.command()
@handle_errors
def demo(
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
    force: ForceOpt = False,
    min_severity: SeverityOpt = "info",
    fail_on: FailOnOpt = None,
    quiet: QuietOpt = False,
    case: CaseOpt = None,
    examiner: ExaminerOpt = None,
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
        case=case,
        examiner=examiner,
        force=force,
    )


@app.command()
@handle_errors
def explain(
    findings_file: Annotated[Path, typer.Argument(help="findings saved with scan -f jsonl (or json)", metavar="FILE")],
    rule: Annotated[list[str] | None, typer.Option("--rule", help="only this rule id; repeatable")] = None,
    service: Annotated[list[str] | None, typer.Option("--service", help="only this service; repeatable")] = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
) -> None:
    """Show why each saved finding fired: its evidence tree, without re-running the rules.

    Example: hivescan scan SYSTEM -f jsonl -o f.jsonl && hivescan explain f.jsonl --rule psexec-service
    """
    from hivescan.errors import HiveNotFound
    from hivescan.render.findings import read_findings, write_explain
    from hivescan.render.formats import text_output

    if not findings_file.is_file():
        raise HiveNotFound(f"{findings_file}: no such file")
    _check_output(output, force, findings_file)
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


rules_app = typer.Typer(help="Inspect and check the detection rules.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


@rules_app.command("lint")
@handle_errors
def rules_lint(
    rules: RulesOpt = None,
    examples: Annotated[
        bool, typer.Option("--examples/--no-examples", help="also build the example fixtures and check hit/miss")
    ] = True,
    hive: Annotated[
        list[Path] | None,
        typer.Option(
            "--hive",
            exists=True,
            dir_okay=False,
            help="also scan this hive and fail on any explanation that quotes (no value) (repeatable)",
        ),
    ] = None,
) -> None:
    """Check rules: id = file name, examples right, fields and catalogs known, explanations quote.

    Explanations must quote what matched: on the hit examples and on each --hive given, no
    finding's explanation may print (no value).

    Example: hivescan rules lint --hive ../shared/hives/win7-SYSTEM
    """
    from hivescan.detect.lint import lint
    from hivescan.testing import FIXTURES

    _check_rules_dir(rules)
    problems = lint(rules, fixtures=FIXTURES if examples else None, hives=tuple(hive or ()))
    for problem in problems:
        sys.stdout.write(f"{visible(problem)}\n")
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
    for rule in _load_rules(rules):  # rules may come from any folder: their text is data too
        line = f"{rule.severity:<9} {rule.id:<40} {','.join(rule.attack):<28} {rule.title}"
        sys.stdout.write(f"{visible(line)}\n")
