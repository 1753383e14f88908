"""The HTML case file: one self-contained page an analyst attaches to a case.

Header (case, examiner, report time, hivescan version; host, evidence file, its transaction
logs and their hashes, the SOFTWARE hive; hive-level warnings), a per-severity summary, a
timeline of key last-write times, a timeline plot (inline SVG: key writes, logged service
events, binaries' NTFS times), one card per service with every finding, the record's key
fields, decoded payloads beside the raw text, provenance and last write; then the rules that
fired and the catalogs shipped. Styles and script are inlined from ``report.css`` and
``report.js`` (package data): no network, no external asset. The script only folds and filters;
without it everything shows, and ``@media print`` expands every card.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from hivescan.detect.finding import Finding
from hivescan.detect.scan import ScanResult
from hivescan.render.report.cards import build_cards, card_html, timeline_html
from hivescan.render.report.header import (
    SEVERITIES,
    case_section,
    catalogs_section,
    host_section,
    logs_section,
    rules_section,
    summary_section,
    warnings_section,
)
from hivescan.render.report.plot import plot_section
from hivescan.render.report.text import esc


def _asset(name: str) -> str:
    return resources.files("hivescan.render.report").joinpath(name).read_text(encoding="utf-8")


def _filters(total: int) -> str:
    boxes = "".join(
        f'<label><input type="checkbox" data-severity="{s}" checked> <span class="sev {s}">{s}</span></label>'
        for s in SEVERITIES
    )
    return (
        f'<div class="filters" id="filters">{boxes}'
        '<input type="search" id="filter-text" placeholder="filter: service, path, rule, text..." '
        'aria-label="filter by text"> <button type="button" id="expand-all">expand / fold all</button> '
        f'<span id="filter-count">{total} of {total} services shown</span></div>'
    )


def case_file_html(
    findings: Sequence[Finding],
    *,
    title: str,
    summary: Mapping[str, Any],
    result: ScanResult | None = None,
    case: str | None = None,
    examiner: str | None = None,
    generated_at: str | None = None,
) -> str:
    """The whole report as one HTML document (UTF-8 text)."""
    from hivescan import __version__

    when = generated_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    hive_path = result.hive_path if result is not None else str(summary.get("hive", ""))
    hive_sha = result.hive_sha256 if result is not None else str(summary.get("sha256", ""))
    records = result.subject_records if result is not None else ()
    cards = build_cards(findings, records)
    diagnostics = result.diagnostics if result is not None else ()
    info = result.hive_info if result is not None else None
    host = result.computer_name if result is not None else None
    heading = f"hivescan case file: {host or hive_path}"
    body = "".join(
        (
            f"<h1>{esc(heading)}</h1><p>{esc(title)}</p>",
            case_section(case, examiner, when, __version__, summary),
            host_section(result, hive_path, hive_sha),
            logs_section(result),
            warnings_section(diagnostics),
            summary_section(findings, len(cards)),
            timeline_html(cards, info.last_written if info is not None else None),
            plot_section((c.severity, c.records) for c in cards),
            '<section id="services"><h2>Services with findings</h2>',
            _filters(len(cards)),
            "".join(card_html(i, c) for i, c in enumerate(cards)) or "<p>no findings</p>",
            "</section>",
            rules_section(result.rules_fired if result is not None else (), findings),
            catalogs_section(findings),
            f"<footer>Generated {esc(when)} by hivescan {esc(__version__)}. Every value read from the "
            "evidence is shown escaped and whole (control characters as \\xNN); the evidence files were "
            "only read. Printing expands every card.</footer>",
        )
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f'<meta name="generator" content="hivescan {esc(__version__)}">'
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{esc(heading)}</title><style>{_asset('report.css')}</style></head>"
        f"<body>{body}<script>{_asset('report.js')}</script></body></html>\n"
    )


__all__ = ["case_file_html"]
