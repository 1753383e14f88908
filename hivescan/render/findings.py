"""Render findings: a table for people, JSON/JSONL/CSV for tools, the evidence tree (explain).

Renderers read finished :class:`~hivescan.detect.finding.Finding` objects only; ``explain``
works the same on findings read back from JSONL as on fresh ones.

References: style.md R10 (rendering apart from analysis; capa's -vv tree).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from hivescan.detect.finding import Finding, Match
from hivescan.detect.scan import ScanResult
from hivescan.render.fields import plain
from hivescan.render.formats import dumps, text_output, write_csv, write_json, write_jsonl
from hivescan.render.safe import DataTable, data_table
from hivescan.textsafe import shown_path, visible
from hivescan.timeutil import flagged_iso, shown_filetime

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
FINDING_FORMATS = ("table", "json", "jsonl", "csv", "html")


def finding_row(finding: Finding) -> dict[str, Any]:
    """The flat CSV form: one line per finding, evidence as JSON text."""
    return {
        "severity": finding.severity,
        "rule_id": finding.rule_id,
        "title": finding.title,
        "service": finding.service,
        "status": finding.status,
        "control_set": finding.control_set,
        "attack": " ".join(finding.attack),
        "explanation": finding.explanation,
        "evidence": dumps(finding.evidence_map),
        "key_path": finding.origin.key_path,
        "last_write": finding.origin.last_write,
        "hive_path": finding.origin.hive_path,
        "hive_sha256": finding.origin.hive_sha256,
    }


def findings_table(findings: Sequence[Finding], *, title: str | None = None) -> DataTable:
    """One row per finding. The rule id heads the explanation in one column, so that at 80
    columns neither is squeezed to a sliver; ids and severities are never broken (they are
    what an analyst greps for) unless the terminal is narrower than the longest id."""
    from rich.console import Group
    from rich.text import Text

    table = data_table(title=title, header_style="bold", show_lines=False)
    id_width = max((len(f.rule_id) for f in findings), default=4)
    # the header counts too: with only "medium" and "low" findings the column was 6 wide and
    # the no-wrap header was cropped to "severi"
    severity_width = max([len("severity"), *(len(f.severity) for f in findings)])
    table.add_column("severity", no_wrap=True, whole=True, min_width=severity_width)
    table.add_column("service", overflow="fold")
    table.add_column("set", justify="right", no_wrap=True)
    table.add_column("rule / explanation", overflow="fold", min_width=id_width, whole=True)
    table.add_column("last write (UTC)", min_width=10)
    for f in findings:
        finding = Group(Text(visible(f.rule_id), style="bold"), Text(visible(f.explanation)))
        table.add_row(
            f.severity,
            f.service,
            str(f.control_set) if f.control_set is not None else "",
            finding,
            shown_filetime(f.origin.last_write_filetime),
            style=SEVERITY_STYLE.get(f.severity, ""),
        )
    return table


def write_findings(
    findings: Sequence[Finding],
    fmt: str,
    output: Path | None,
    *,
    title: str | None = None,
    summary: dict[str, Any] | None = None,
    result: ScanResult | None = None,
    case: str | None = None,
    examiner: str | None = None,
) -> None:
    """Write findings in one of :data:`FINDING_FORMATS` to ``output`` or stdout.

    ``result`` (the :class:`~hivescan.detect.scan.ScanResult`), ``case`` and ``examiner`` feed
    the HTML case file's header; the other formats are rows of findings only."""
    if fmt == "table":
        from hivescan.render.services import print_table

        print_table(findings_table(findings, title=title), output)
        return
    with text_output(output) as out:
        if fmt == "html":
            from hivescan.render.report import case_file_html

            out.write(
                case_file_html(
                    findings,
                    title=title or "hivescan findings",
                    summary=summary or {},
                    result=result,
                    case=case,
                    examiner=examiner,
                )
            )
        elif fmt == "jsonl":
            write_jsonl((f.to_dict() for f in findings), out)
        elif fmt == "json":
            write_json((f.to_dict() for f in findings), out)
        elif fmt == "csv":
            write_csv((finding_row(f) for f in findings), out)
        else:  # pragma: no cover - the CLI validates the format
            raise ValueError(fmt)


def read_findings(lines: Iterable[str]) -> list[Finding]:
    """Findings from JSONL (or one JSON list); blank lines are skipped."""
    text = "".join(lines)
    stripped = text.lstrip()
    if stripped.startswith("["):
        return [Finding.from_dict(d) for d in json.loads(stripped)]
    return [Finding.from_dict(json.loads(line)) for line in text.splitlines() if line.strip()]


def _shown(value: Any, width: int = 100) -> str:
    if value is None:
        return "no value"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, str):
        text = f'"{text}"'
    return text if len(text) <= width else f"{text[:width]}… ({len(text)} chars)"


def tree_lines(match: Match, depth: int = 0, *, under_not: bool = False) -> list[str]:
    """The evidence tree, one line per condition: label, matched or not, what it saw."""
    indent = "  " * depth
    label = f"{indent}{match.label}"
    if match.kind in ("all", "any", "not", "rule"):
        state = "matched" if match.matched else "not matched"
        seen = ""
    elif match.kind == "catalog":
        state = "found" if match.value is not None else "no entry"
        if match.entry is not None:
            where = f"{match.entry.get('file', '')}:{match.entry.get('line', '')}"
            row = match.entry.get("row") or {}
            facts = match.entry.get("facts") or {}
            brief = ", ".join(f"{k}={plain(v)}" for k, v in list(row.items())[:4])
            if facts:
                brief += "; " + ", ".join(f"{k}={plain(v)}" for k, v in facts.items() if k != "observed")
            seen = f"{_shown(match.value, 60)} -> {where} [{brief}]"
        else:
            seen = f"no entry for {_shown(match.value)}" if match.value else ""
        if not match.matched and match.value is not None:
            state = "found, not matched"
    else:
        state = "matched" if match.matched else "not matched"
        seen = _shown(match.value)
    if under_not:
        state += " (under not)"
    note = f"  ({match.note})" if match.note else ""
    lines = [f"{label:<60} {state:<14} {seen}{note}".rstrip()]
    for child in match.children:
        lines += tree_lines(child, depth + 1, under_not=under_not or match.kind == "not")
    return lines


def explain_text(finding: Finding) -> str:
    """One finding as text: header, provenance, explanation, the evidence tree."""
    origin = finding.origin
    sha = origin.hive_sha256[:12] + "…" if origin.hive_sha256 else "?"
    head = [
        f"{finding.rule_id}   {finding.severity}   {', '.join(finding.attack)}",
        f"  {finding.title}",
        f"  {finding.service}   {shown_path(origin.hive_path)} sha256 {sha}   {shown_path(origin.key_path)}   "
        f"last write {flagged_iso(origin.last_write_filetime)}",
        f"  {finding.explanation}",
    ]
    if finding.references:
        head.append(f"  references: {'; '.join(finding.references)}")
    # each line is one line of ours: anything in it that is not printable came from the hive
    return "\n".join(visible(line) for line in head + ["  " + line for line in tree_lines(finding.match)]) + "\n"


def write_explain(findings: Sequence[Finding], out: IO[str]) -> None:
    for i, finding in enumerate(findings):
        if i:
            out.write("\n")
        out.write(explain_text(finding))
