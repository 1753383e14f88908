"""The case file's timeline plot: one inline SVG strip of what happened to the services with
findings, one lane per kind of evidence (registry key writes, logged service events, NTFS
times of their binaries).

Why SVG drawn here: the report is one self-contained page read offline (its CSP allows no
external asset; inline SVG in HTML needs no namespace URL either), and a plot library would
add a dependency for a few dozen shapes. Every label comes from evidence, so it is escaped
(and its control characters shown) before it enters the SVG, exactly as the rest of the page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from hivescan.events.join import parse_time
from hivescan.render.report.text import esc
from hivescan.scm.record import ServiceRecord
from hivescan.timeutil import datetime_flag

LANES = ("registry", "event log", "file")
WIDTH = 1000
LANE_HEIGHT = 28
LEFT = 90  # room for the lane names
MAX_POINTS = 5000  # drawn; the count of the rest is said under the plot (the list and JSON keep all)


@dataclass(frozen=True, slots=True)
class Point:
    """One timed fact on the plot."""

    when: datetime
    lane: str  # one of LANES
    label: str  # from evidence: escaped when drawn
    css: str  # severity of the service's card, or the event kind


def _flagged(label: str, when: datetime) -> str:
    """A point's label, saying so when its time is implausible (before 1990 or from 2100 on)."""
    flag = datetime_flag(when)
    return f"{label} ({flag} time)" if flag else label


def record_points(record: ServiceRecord, severity: str) -> Iterable[Point]:
    """A record's key last write, its logged events, and its binaries' NTFS times."""
    written = record.origin.last_write_datetime
    if written is not None and written.year > 1601:
        yield Point(
            written, "registry", _flagged(f"{record.name}: key last written ({record.key_path})", written), severity
        )
    for event in record.service_events:
        when = parse_time(str(event.get("time") or ""))
        if when is not None and datetime_flag(when) != "not set":
            what = f"{record.name}: event {event.get('event_id')} {event.get('image_path') or ''}".rstrip()
            kind = "install" if event.get("event_id") in (7045, 4697) else "event"
            yield Point(when, "event log", _flagged(what, when), kind)
    for role, facts in (("image", record.image_file), ("ServiceDll", record.service_dll_file)):
        times = facts.get("timestamps") if facts else None
        if not isinstance(times, dict):
            continue
        for key, value in times.items():
            when = parse_time(value) if isinstance(value, str) else None
            if when is not None and datetime_flag(when) != "not set":  # a time of 0 is no point in 1601
                label = f"{record.name}: {role} {facts.get('path')} {key}"  # type: ignore[union-attr]
                yield Point(when, "file", _flagged(label, when), "file")


def _x(when: datetime, first: datetime, span: float) -> float:
    return LEFT + (WIDTH - LEFT - 10) * (when - first).total_seconds() / span


def timeline_svg(points: Sequence[Point]) -> str:
    """The strip as an ``<svg>`` element, or a sentence when there is nothing to draw."""
    if not points:
        return "<p>no timed evidence for the services with findings</p>"
    ordered = sorted(points, key=lambda p: (p.when, p.lane, p.label))
    drawn = ordered[:MAX_POINTS]
    first, last = drawn[0].when, drawn[-1].when
    span = (last - first).total_seconds() or 1.0
    height = LANE_HEIGHT * len(LANES) + 30
    parts = [
        f'<svg class="timeline-plot" role="img" aria-label="timeline of the services with findings" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%">'
    ]
    for index, lane in enumerate(LANES):
        y = 14 + index * LANE_HEIGHT
        parts.append(f'<text x="4" y="{y + 4}" class="lane">{esc(lane)}</text>')
        parts.append(f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - 10}" y2="{y}" class="axis"/>')
    for point in drawn:
        y = 14 + LANES.index(point.lane) * LANE_HEIGHT
        stamp = point.when.strftime("%Y-%m-%dT%H:%M:%SZ")
        parts.append(
            f'<circle cx="{_x(point.when, first, span):.1f}" cy="{y}" r="5" class="pt {esc(point.css)}">'
            f"<title>{esc(stamp)} {esc(point.label)}</title></circle>"
        )
    bottom = height - 6
    parts.append(f'<text x="{LEFT}" y="{bottom}" class="end">{esc(first.strftime("%Y-%m-%dT%H:%M:%SZ"))}</text>')
    parts.append(
        f'<text x="{WIDTH - 10}" y="{bottom}" class="end" text-anchor="end">'
        f"{esc(last.strftime('%Y-%m-%dT%H:%M:%SZ'))}</text></svg>"
    )
    if len(ordered) > len(drawn):
        parts.append(f"<p>{len(ordered) - len(drawn)} later point(s) not drawn (the first {MAX_POINTS} are)</p>")
    return "".join(parts)


def plot_section(cards: Iterable[tuple[str, Sequence[ServiceRecord]]]) -> str:
    """The report section: every record of every card, its points coloured by the card's severity."""
    points = [point for severity, records in cards for record in records for point in record_points(record, severity)]
    return (
        '<section id="timeline-plot"><h2>Timeline plot (UTC): key writes, logged events, file times</h2>'
        f"{timeline_svg(points)}</section>"
    )


__all__ = ["LANES", "Point", "plot_section", "record_points", "timeline_svg"]
