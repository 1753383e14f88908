"""One card per service: all its findings, its record's key fields, decoded payloads beside
the raw text, provenance and last write; and the timeline strip of their last-write times."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from hivescan.detect.finding import Finding
from hivescan.detect.rules import SEVERITY_RANK
from hivescan.hive.tree import upcase
from hivescan.render.findings import tree_lines
from hivescan.render.report.binaries import binaries_html, binary_summary_html
from hivescan.render.report.header import facts
from hivescan.render.report.payloads import decode_payloads
from hivescan.render.report.text import esc
from hivescan.scm.record import ServiceRecord
from hivescan.timeutil import flagged_iso

# the record fields a card shows, in this order (the full record is in `hivescan show`)
KEY_FIELDS = (
    "status",
    "display_name",
    "description",
    "type_name",
    "start_name",
    "error_control_name",
    "load_phase",
    "image_path",
    "image_path_resolved",
    "image_args",
    "service_dll",
    "service_dll_expanded",
    "object_name",
    "group",
    "svchost_group",
    "failure_command",
    "failure_actions",
    "security_sddl",
    "key_writable_by",
    "recovery_confidence",
    "changed_by_log_replay",
    "log_replay_changes",
)
# fields searched for encoded payloads
PAYLOAD_FIELDS = ("image_path", "failure_command", "service_dll", "description", "display_name")


@dataclass(frozen=True, slots=True)
class ServiceCard:
    name: str
    findings: tuple[Finding, ...]  # most severe first
    records: tuple[ServiceRecord, ...]

    @property
    def severity(self) -> str:
        return self.findings[0].severity

    @property
    def last_write(self) -> str | None:
        times = [f.origin.last_write for f in self.findings if f.origin.last_write]
        return max(times) if times else None

    @property
    def last_write_shown(self) -> str:
        """The latest key last write of the card's findings as people read it (0: not set,
        implausible dates flagged with the raw FILETIME; see timeutil.flagged_iso)."""
        times = [f.origin.last_write_filetime for f in self.findings]
        return flagged_iso(max(times)) if times else "unknown"


def build_cards(findings: Sequence[Finding], records: Sequence[ServiceRecord]) -> list[ServiceCard]:
    """Findings grouped by service (case-insensitive, as the registry compares names), most severe
    card first; each card gets the records its findings are about."""
    by_name: dict[str, list[Finding]] = {}
    for f in findings:
        by_name.setdefault(upcase(f.service), []).append(f)
    record_map: dict[str, list[ServiceRecord]] = {}
    for r in records:
        record_map.setdefault(upcase(r.name), []).append(r)
    cards = []
    for key, group in by_name.items():
        group.sort(key=lambda f: (-SEVERITY_RANK.get(f.severity, 0), f.rule_id, f.control_set or 0))
        wanted = {(f.control_set, f.status) for f in group}
        mine = tuple(r for r in record_map.get(key, ()) if (r.control_set, r.status) in wanted)
        cards.append(ServiceCard(group[0].service, tuple(group), mine))
    cards.sort(key=lambda c: (-SEVERITY_RANK.get(c.severity, 0), -len(c.findings), upcase(c.name)))
    return cards


def _finding_html(f: Finding) -> str:
    evidence = facts((k, v) for k, v in f.evidence_map.items())
    tree = esc("\n".join(tree_lines(f.match)))
    where = f" · ControlSet{f.control_set:03d}" if f.control_set is not None else ""
    return (
        f'<div class="finding" data-severity="{esc(f.severity)}" data-rule="{esc(f.rule_id)}">'
        f'<h3><span class="sev {esc(f.severity)}">{esc(f.severity)}</span> {esc(f.title)} '
        f'<small>(<a href="#rule-{esc(f.rule_id)}">{esc(f.rule_id)}</a>; '
        f"{esc(', '.join(f.attack))}{esc(where)}; status {esc(f.status)})</small></h3>"
        f'<p class="explanation">{esc(f.explanation)}</p>'
        f'<div class="more"><h4>Evidence</h4>{evidence}<h4>Evidence tree</h4><pre>{tree}</pre></div></div>'
    )


def _record_html(r: ServiceRecord) -> str:
    data = r.to_dict()
    rows = [(k, data.get(k)) for k in KEY_FIELDS if data.get(k) not in (None, "", [], (), {}, False)]
    provenance = [
        ("hive", r.origin.hive_path),
        ("hive sha256", r.origin.hive_sha256),
        ("key", r.key_path),
        ("control set", r.control_set),
        ("last write (UTC)", flagged_iso(r.origin.last_write_filetime)),
        ("parser", r.origin.parser),
    ]
    provenance += [(f"location: {k}", v) for k, v in (r.origin.location or {}).items()]
    payloads = "".join(
        '<div class="payload">'
        f"<div><h4>raw ({esc(p.source)})</h4><pre>{esc(p.raw)}</pre></div>"
        f"<div><h4>decoded ({esc(p.how)})</h4><pre class='decoded'>{esc(p.decoded)}</pre>"
        f"{f'<p><i>{esc(p.note)}</i></p>' if p.note else ''}</div></div>"
        for field in PAYLOAD_FIELDS
        for p in decode_payloads(field, data.get(field) if isinstance(data.get(field), str) else None)
    )
    codes = ", ".join(r.diagnostic_codes)
    label = f"ControlSet{r.control_set:03d}" if r.control_set is not None else "no control set"
    return (
        f'<div class="record"><h4>Record: {esc(label)}, {esc(r.status)}</h4>{facts(rows)}'
        + binaries_html(data)
        + (f"<h4>Decoded payloads</h4>{payloads}" if payloads else "")
        + f"<h4>Provenance</h4>{facts(provenance)}"
        + (f"<p><small>diagnostics: {esc(codes)}</small></p>" if codes else "")
        + "</div>"
    )


def _origin_only(f: Finding) -> str:
    o = f.origin
    rows = [
        ("hive", o.hive_path),
        ("hive sha256", o.hive_sha256),
        ("key", o.key_path),
        ("last write (UTC)", flagged_iso(o.last_write_filetime)),
        ("parser", o.parser),
    ]
    return f'<div class="record"><h4>Provenance</h4>{facts(rows)}</div>'


def card_html(index: int, card: ServiceCard) -> str:
    severities = sorted({f.severity for f in card.findings}, key=lambda s: -SEVERITY_RANK.get(s, 0))
    records = "".join(_record_html(r) for r in card.records) or _origin_only(card.findings[0])
    heading = esc(card.name) or "<i>(hive-level findings)</i>"
    return (
        f'<article class="card {esc(card.severity)}" id="card-{index}" data-service="{esc(card.name)}" '
        f'data-severities="{esc(" ".join(severities))}">'
        f'<header><h3 class="service">{heading}</h3><span class="sev {esc(card.severity)}">'
        f"{esc(card.severity)}</span><span class='meta'>{len(card.findings)} finding(s) · last write "
        f"{esc(card.last_write_shown)}</span></header>"
        f'<div class="findings">{"".join(_finding_html(f) for f in card.findings)}</div>'
        + (binary_summary_html(card.records[0].to_dict()) if card.records else "")
        + f'<div class="more">{records}</div></article>'
    )


def _parse(when: str) -> datetime | None:
    try:
        return datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        return None


def timeline_html(cards: Sequence[ServiceCard], hive_last_written: str | None) -> str:
    """Key last-write times on one axis (services with findings, and the hive's own last write)."""
    points: list[tuple[datetime, str, str, str]] = []  # when, label, css class, iso
    for card in cards:
        parsed = _parse(card.last_write) if card.last_write else None
        if parsed is not None and parsed.year > 1601:
            points.append((parsed, card.name, card.severity, card.last_write or ""))
    hive_time = _parse(hive_last_written) if hive_last_written else None
    if hive_time is not None and hive_time.year > 1601:
        points.append((hive_time, "hive last written", "hive", hive_last_written or ""))
    if not points:
        return '<section id="timeline"><h2>Timeline</h2><p>no last-write times recorded</p></section>'
    points.sort()
    first, last = points[0][0], points[-1][0]
    span = (last - first).total_seconds() or 1.0
    marks = "".join(
        f'<span class="mark {esc(css)}" style="left:{100 * (when - first).total_seconds() / span:.2f}%" '
        f'title="{esc(iso)} {esc(label)}"></span>'
        for when, label, css, iso in points
    )
    listing = "".join(
        f'<li><span class="mono">{esc(iso)}</span> <span class="sev {esc(css)}">{esc(css)}</span> {esc(label)}</li>'
        for _, label, css, iso in points
    )
    return (
        '<section id="timeline"><h2>Timeline of key last-write times (UTC)</h2>'
        f'<div class="timeline">{marks}</div><div class="timeline-ends"><span>{esc(points[0][3])}</span>'
        f'<span>{esc(points[-1][3])}</span></div><ol class="timeline-list">{listing}</ol></section>'
    )


__all__ = ["KEY_FIELDS", "ServiceCard", "build_cards", "card_html", "timeline_html"]
