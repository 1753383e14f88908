"""Records + rules + catalogs + baseline -> findings: the analysis ``hivescan scan`` runs.

By default every control set is read, so that a service present in one set but not another,
or changed between them, can be reported; records of other sets identical to the current
set's are evaluated once (from the current set).

References: detections.md §1.9, §2; style.md R10.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from hivescan.catalog.lookups import applies, version_scoped
from hivescan.detect.context import build_subjects
from hivescan.detect.engine import Engine
from hivescan.detect.finding import Finding
from hivescan.detect.rules import SEVERITY_RANK, Rule, RuleSet, load_rules
from hivescan.diagnostics import Diagnostic
from hivescan.events.join import join_events
from hivescan.events.logs import EventLog
from hivescan.hive.tree import upcase
from hivescan.scm.record import ServiceRecord
from hivescan.scm.winversion import WindowsVersion
from hivescan.system import HiveInfo, SystemHive


@dataclass(frozen=True, slots=True)
class ScanResult:
    """Findings (most severe first) and what the scan looked at."""

    hive_path: str
    hive_sha256: str
    findings: tuple[Finding, ...]
    records: int
    control_sets: tuple[int, ...]
    primary_set: int | None
    identical_skipped: int
    rules: int
    baseline_records: int | None = None
    windows: WindowsVersion | None = None
    diagnostics: tuple[Diagnostic, ...] = field(default_factory=tuple)
    # What a case-file report states beside the findings (hivescan.render.report): the host,
    # the evidence file and its logs, the SOFTWARE hive read, the records findings are about
    # and the rules that fired (their descriptions and references).
    computer_name: str | None = None
    hive_info: HiveInfo | None = None
    software: tuple[str, str] | None = None  # (path, sha256) of the --software hive
    subject_records: tuple[ServiceRecord, ...] = ()
    rules_fired: tuple[Rule, ...] = ()

    def counts(self) -> dict[str, int]:
        out = {name: 0 for name in sorted(SEVERITY_RANK, key=SEVERITY_RANK.__getitem__, reverse=True)}
        for finding in self.findings:
            out[finding.severity] = out.get(finding.severity, 0) + 1
        return out


def analyse_records(
    records: Sequence[ServiceRecord],
    *,
    rules: RuleSet | None = None,
    baseline: Sequence[ServiceRecord] | None = None,
    primary_set: int | None = None,
    windows: WindowsVersion | None = None,
    engine: Engine | None = None,
) -> tuple[list[Finding], int, tuple[int, ...], int | None]:
    """Findings for records already read (any number of control sets); ``windows`` the hive's
    version (:meth:`SystemHive.windows_version`), which decides which known-good catalogs apply.

    ``engine``: one built once and reused over many hives (triage workers: rules compiled once,
    verdicts remembered across hosts); ``rules`` is then ignored."""
    subjects = build_subjects(records, primary_set=primary_set, baseline=baseline, windows=windows)
    if engine is None:
        engine = Engine(rules if rules is not None else load_rules())
    return engine.run(subjects.subjects), subjects.identical_skipped, subjects.control_sets, subjects.primary_set


def scan_hive(
    hive: SystemHive,
    *,
    rules: RuleSet | None = None,
    baseline: Sequence[ServiceRecord] | None = None,
    control_set: str | int = "all",
    min_severity: str = "info",
    deleted: bool = True,
    events: Sequence[EventLog] | None = None,
) -> ScanResult:
    """Scan an open hive. ``control_set`` as for ``services()``; ``all`` (default) compares sets.

    ``deleted`` (default on): also the service keys recovered from free and unreachable cells --
    remote-execution tools delete the services they create, so the evidence is often only there.
    ``events``: event logs joined with the records first (:mod:`hivescan.events.join`), so the
    event rules can fire; their warnings join the scan's diagnostics.
    """
    ruleset = rules if rules is not None else load_rules()
    records = hive.services(control_set, deleted=deleted)
    joined: list[Diagnostic] = []
    if events:
        join = join_events(records, events, computer_name=hive.computer_name()[0])
        records, joined = join.records, join.diagnostics
    current = hive.resolve("current").chosen
    primary = current[0].number if current else None
    windows = hive.windows_version()
    scope_notes = catalog_scope(windows)
    findings, skipped, sets, primary = analyse_records(
        records, rules=ruleset, baseline=baseline, primary_set=primary, windows=windows
    )
    floor = SEVERITY_RANK[min_severity]
    kept = tuple(f for f in findings if SEVERITY_RANK.get(f.severity, 0) >= floor)
    about = {(upcase(f.service), f.control_set, f.status) for f in kept}
    fired = {f.rule_id for f in kept}
    computer_name, _ = hive.computer_name()  # its absence is a hive diagnostic already reported by info
    software = (hive.software.path, hive.software.sha256) if hive.software is not None else None
    return ScanResult(
        hive_path=hive.path,
        hive_sha256=hive.sha256,
        findings=kept,
        records=len(records),
        control_sets=sets,
        primary_set=primary,
        identical_skipped=skipped,
        rules=len(ruleset),
        baseline_records=len(baseline) if baseline is not None else None,
        windows=windows,
        diagnostics=(*hive.hive_diagnostics(), *joined, *scope_notes),
        computer_name=computer_name,
        hive_info=hive.info(recover=False),
        software=software,
        subject_records=tuple(r for r in records if (upcase(r.name), r.control_set, r.status) in about),
        rules_fired=tuple(rule for rule in ruleset if rule.id in fired),
    )


def catalog_scope(windows: WindowsVersion) -> list[Diagnostic]:
    """Say which known-good catalogs were left out because they describe another Windows (or
    the version could not be told): a comparison not made is stated, never silent."""
    notes: list[Diagnostic] = []
    for names, table in version_scoped():
        if applies(table, {"windows": windows}):
            continue
        described = table.header.get("applies to", "another Windows")
        if windows.known:
            notes.append(
                Diagnostic(
                    "catalog_not_applied",
                    "",
                    f"{', '.join(names)} ({table.name}) describe {described}; this hive is {windows.label} "
                    f"(confidence {windows.confidence}): its services are not compared with them",
                    "info",
                )
            )
        else:
            notes.append(
                Diagnostic(
                    "windows_version_unknown",
                    "",
                    f"the Windows version could not be told from the hive (give --software SOFTWARE): "
                    f"{', '.join(names)} ({table.name}, {described}) not compared",
                    "warning",
                )
            )
    return notes
