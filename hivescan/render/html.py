"""The HTML report of ``hivescan scan -f html``: the case file of :mod:`hivescan.render.report`.

Kept as the entry point the findings writer calls; the report itself (header, cards, timeline,
filters, print layout, package-data CSS/JS) lives in the ``report`` package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hivescan.detect.finding import Finding
from hivescan.detect.scan import ScanResult
from hivescan.render.report import case_file_html


def findings_html(
    findings: Sequence[Finding],
    *,
    title: str,
    summary: Mapping[str, Any],
    result: ScanResult | None = None,
    case: str | None = None,
    examiner: str | None = None,
) -> str:
    """A self-contained case-file report (see :func:`hivescan.render.report.case_file_html`)."""
    return case_file_html(findings, title=title, summary=summary, result=result, case=case, examiner=examiner)


__all__ = ["findings_html"]
