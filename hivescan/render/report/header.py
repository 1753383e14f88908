"""The case-file header: case and examiner, the tool, the host, the evidence file and its
transaction logs, the SOFTWARE hive, hive-level warnings, rules and catalogs used."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from typing import Any

from hivescan.detect.finding import Finding
from hivescan.detect.rules import Rule
from hivescan.detect.scan import ScanResult
from hivescan.diagnostics import Diagnostic
from hivescan.render.report.text import esc
from hivescan.timeutil import flagged_iso, time_flag

SEVERITIES = ("critical", "high", "medium", "low", "info")


def facts(rows: Iterable[tuple[str, Any]], css_id: str = "") -> str:
    """A definition list; every value escaped; empty values say so (never a blank)."""
    ident = f' id="{esc(css_id)}"' if css_id else ""
    items = "".join(
        f"<dt>{esc(k)}</dt><dd>{esc(v) if v not in (None, '') else '<i>not recorded</i>'}</dd>" for k, v in rows
    )
    return f'<dl class="facts"{ident}>{items}</dl>'


def case_section(
    case: str | None, examiner: str | None, generated_at: str, version: str, summary: Mapping[str, Any]
) -> str:
    rows: list[tuple[str, Any]] = [
        ("case", case or "(not given: --case)"),
        ("examiner", examiner or "(not given: --examiner)"),
        ("report generated (UTC)", generated_at),
        ("hivescan version", version),
    ]
    rows += [(str(k), v) for k, v in summary.items() if k not in ("hivescan", "hive", "sha256")]
    return f'<section id="case"><h2>Case</h2>{facts(rows, "case-facts")}</section>'


def host_section(result: ScanResult | None, hive_path: str, hive_sha256: str) -> str:
    info = result.hive_info if result is not None else None
    name = result.computer_name if result is not None else None
    rows: list[tuple[str, Any]] = [
        ("ComputerName", name or "(no ComputerName value in the current control set)"),
        ("evidence file", hive_path),
        ("sha256", hive_sha256),
    ]
    if info is not None:
        rows += [
            ("size (bytes)", info.size),
            ("regf version", info.regf_version),
            ("file name in base block", info.file_name),
            ("hive last written (UTC)", _when(info.last_written, info.last_written_filetime)),
            ("state", "dirty (sequence numbers differ or checksum wrong)" if info.dirty else "clean"),
            ("sequence numbers", f"{info.primary_sequence} / {info.secondary_sequence}"),
            (
                "checksum",
                "ok"
                if info.checksum_ok
                else f"stored 0x{info.checksum_stored:08x}, computed 0x{info.checksum_computed:08x}",
            ),
            ("Select", ", ".join(f"{k}={v}" for k, v in info.select.items())),
            ("parser", info.parser),
        ]
        rows += [(f"location: {k}", v) for k, v in info.location.items()]
    software = result.software if result is not None else None
    if software is not None:
        rows += [("SOFTWARE hive", software[0]), ("SOFTWARE sha256", software[1])]
    else:
        rows += [("SOFTWARE hive", "not given: SystemRoot assumed C:\\Windows, svchost groups unknown")]
    return (
        f'<section id="host"><h2>Host and evidence</h2>{facts(rows, "host-facts")}'
        f"<h3>Windows</h3>{facts(windows_rows(result), 'windows-facts')}</section>"
    )


def windows_rows(result: ScanResult | None) -> list[tuple[str, Any]]:
    """The detected Windows (version, build, edition) with how sure and on what it rests:
    the known-good catalogs were applied (or not) on this answer, so the reader sees it."""
    windows = result.windows if result is not None else None
    if windows is None:
        return [("Windows version", "not detected (no hive analysed)")]
    if not windows.known:
        return [
            ("Windows version", "unknown: nothing in the hive tells it (give --software SOFTWARE)"),
            ("confidence", windows.confidence),
            ("basis", "; ".join(windows.basis) or "nothing recognisable"),
        ]
    build = windows.build
    if build is not None and windows.update_revision:
        build_text: Any = f"{build}.{windows.update_revision}"
    else:
        build_text = build
    rows: list[tuple[str, Any]] = [
        ("Windows version", windows.label),
        ("NT version", windows.nt_version),
        ("build", build_text if build_text is not None else "not recorded in the hive"),
        ("release", windows.release),
        ("service pack", windows.service_pack),
        ("edition", windows.edition),
        ("product type", windows.product_type),
        ("confidence", windows.confidence),
        ("basis", "; ".join(windows.basis)),
        ("read from", {"system": "SYSTEM hive", "software": "SOFTWARE hive"}.get(windows.source, windows.source)),
    ]
    return [(k, v) for k, v in rows if v is not None or k in ("edition", "basis")]


def _when(iso: str | None, filetime: int | None = None) -> str:
    """A time as stored; a zero FILETIME (1601-01-01) is "not set", not a date; one before
    1990 or from 2100 on is flagged with its raw value (timeutil.flagged_iso)."""
    if filetime == 0 or (iso or "").startswith("1601-01-01T00:00:00"):
        return "not set (zero FILETIME in the file)"
    if filetime is not None and time_flag(filetime) is not None:
        return flagged_iso(filetime)
    return iso or "not set"


def logs_section(result: ScanResult | None) -> str:
    info = result.hive_info if result is not None else None
    if info is None:
        return ""
    replay = info.log_replay or {}
    state = "dirty" if info.dirty else "clean"
    if not info.logs:
        said = "no transaction log found or given" + (
            " (a dirty hive without logs: logs_missing)" if info.dirty else ""
        )
        return f'<section id="logs"><h2>Transaction logs</h2><p id="log-state">{esc(state)}: {esc(said)}</p></section>'
    head = "".join(
        f"<th>{h}</th>" for h in ("log", "sha256", "format", "entries", "sequence", "applied", "rejected", "status")
    )
    rows = "".join(
        "<tr class='log'>"
        f"<td class='mono'>{esc(log.path)}</td><td class='mono'>{esc(log.sha256)}</td><td>{esc(log.format)}</td>"
        f"<td>{log.entries}</td><td>{esc(_range(log.sequence_first, log.sequence_last))}</td>"
        f"<td class='applied'>{log.applied}</td><td>{log.rejected}</td><td>{esc(log.status)}</td></tr>"
        for log in info.logs
    )
    applied = sum(log.applied for log in info.logs)
    replay_rows = facts((str(k), v) for k, v in replay.items()) if replay else ""
    return (
        '<section id="logs"><h2>Transaction logs</h2>'
        f'<p id="log-state">{esc(state)}: {len(info.logs)} log(s), {applied} entries applied in memory '
        "(the evidence files were only read)</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{replay_rows}</section>"
    )


def _range(first: int | None, last: int | None) -> str:
    if first is None:
        return ""
    return f"{first}-{last}" if last is not None and last != first else str(first)


def warnings_section(diagnostics: Sequence[Diagnostic]) -> str:
    shown = [d for d in diagnostics if d.level != "info"]
    notes = [d for d in diagnostics if d.level == "info"]
    if not diagnostics:
        return '<section id="warnings"><h2>Hive-level warnings</h2><p>none</p></section>'
    items = "".join(
        f'<div class="warn"><b>{esc(d.code)}</b> <span class="mono">{esc(d.field)}</span>: {esc(d.message)}</div>'
        for d in shown
    )
    note_items = "".join(f"<li><b>{esc(d.code)}</b>: {esc(d.message)}</li>" for d in notes)
    return (
        f'<section id="warnings"><h2>Hive-level warnings ({len(shown)})</h2>{items or "<p>none</p>"}'
        + (f"<h4>Notes ({len(notes)})</h4><ul>{note_items}</ul>" if notes else "")
        + "</section>"
    )


def summary_section(findings: Sequence[Finding], services: int) -> str:
    counts = {s: 0 for s in SEVERITIES}
    for f in findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    boxes = "".join(
        f'<span class="count" data-severity="{esc(s)}"><span class="sev {esc(s)}">{esc(s)}</span><b>{n}</b></span>'
        for s, n in counts.items()
    )
    return (
        f'<section id="summary"><h2>Summary</h2><p><b id="total-findings">{len(findings)}</b> findings on '
        f'<b id="total-services">{services}</b> services</p><div class="summary">{boxes}</div></section>'
    )


def rules_section(rules: Sequence[Rule], findings: Sequence[Finding]) -> str:
    fired: dict[str, int] = {}
    for f in findings:
        fired[f.rule_id] = fired.get(f.rule_id, 0) + 1
    known = {r.id for r in rules}
    rows = []
    for rule in sorted(rules, key=lambda r: (-r.rank, r.id)):
        refs = "".join(f"<li>{esc(ref)}</li>" for ref in rule.references)
        rows.append(
            f'<div class="rule" id="rule-{esc(rule.id)}"><h3><span class="sev {esc(rule.severity)}">'
            f"{esc(rule.severity)}</span> {esc(rule.id)}: {esc(rule.title)} "
            f"<small>({fired.get(rule.id, 0)} findings; ATT&amp;CK {esc(', '.join(rule.attack))})</small></h3>"
            f"<p>{esc(rule.description) or '<i>no description</i>'}</p>"
            + (f"<h4>References</h4><ul>{refs}</ul>" if refs else "")
            + "</div>"
        )
    unknown = sorted(set(fired) - known)  # findings read back without their rule (should not happen in scan)
    rows += [f"<p>{esc(rid)}: rule not loaded in this run</p>" for rid in unknown]
    return (
        '<section id="rules"><h2>Rules that fired</h2>'
        "<p><small>References name the sources each rule was written from; <code>detections.md</code> "
        "and <code>scm-spec.md</code> are hivescan's design notes, not shipped with this report: "
        "the description above is the rule's own account.</small></p>" + "".join(rows) + "</section>"
    )


def catalogs_section(findings: Sequence[Finding]) -> str:
    cited: dict[str, int] = {}
    for f in findings:
        for name in _catalog_files(f.match):
            cited[name] = cited.get(name, 0) + 1
    rows = []
    data = resources.files("hivescan.catalog").joinpath("data")
    for entry in sorted(data.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".csv"):
            continue
        header: list[str] = []
        for line in entry.read_text(encoding="utf-8").splitlines():
            if not line.startswith("#"):
                break
            header.append(line[1:].strip())
        rows.append(
            f"<tr><td class='mono'>{esc(entry.name)}</td><td>{cited.get(entry.name, 0)}</td>"
            f"<td>{'<br>'.join(esc(h) for h in header)}</td></tr>"
        )
    return (
        '<section id="catalogs"><h2>Catalogs (reference data shipped with hivescan)</h2>'
        "<table><colgroup><col style='width:14em'><col style='width:6em'><col></colgroup>"
        "<thead><tr><th>file</th><th>cited by findings</th><th>what, source, commit, licence, built</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _catalog_files(match: Any) -> set[str]:
    out: set[str] = set()
    entry = getattr(match, "entry", None)
    if isinstance(entry, Mapping) and entry.get("file"):
        out.add(str(entry["file"]).replace("\\", "/").rsplit("/", 1)[-1])  # cited as a path; listed by name
    for child in getattr(match, "children", ()):
        out |= _catalog_files(child)
    return out


__all__ = [
    "case_section",
    "catalogs_section",
    "facts",
    "host_section",
    "logs_section",
    "rules_section",
    "summary_section",
    "warnings_section",
    "windows_rows",
]
