"""The join: service events attached to a service database already built, and the facts rules read.

A pass after the database (like the set-wide pass): ``scm/`` stays ignorant of events. Each
record gets ``service_events`` (its events: same name, case-insensitive; per-user instances
through their template; 7045 and the state events also by display name, which is what they
log) and ``event_facts``. Installs (7045/4697) of a service that has no record at all --
the tool deleted it and no key was recovered -- become records of status ``event_only``
whose origin is the event log, so the rules can report them like any other record.

Facts (``event_facts``; every rule reads them as ``event_facts.<name>``):

* ``installs``: how many install events (7045, 4697); ``live_in_hive``: whether a live key
  of that name exists in any control set read;
* ``installed_image_path`` / ``installed_at``: the ImagePath of the last logged install or
  Sysmon ImagePath write; ``image_path_differs_from_install`` compares it with the key's;
* ``last_logged_change``: the last install, 7040 or Sysmon write; ``key_written_after_events``
  is true when the key's last write is later by more than :data:`KEY_WRITE_SLACK`;
* ``installed_by``: 4697 subjects other than the machine (``...$``, SYSTEM, services);
* ``name_looks_random``: the name (or logged display name) is letters in a random-looking
  mix of cases, the shape remote-execution tools give their services;
* ``install_burst``: how many installs form the burst this one belongs to (a run of installs
  in all the logs, each within :data:`BURST_GAP` of the one before);
* ``log_cleared_near``: cleared logs (1102, 104) within :data:`CLEAR_WINDOW` of its events;
* ``computer_mismatch``: the events' computer names when they differ from the hive's.

References: issue 15 ("The join"); style.md R16.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from hivescan.diagnostics import Diagnostic
from hivescan.events.logs import EventLog
from hivescan.events.rows import ServiceEvent, with_key_names
from hivescan.hive.tree import upcase
from hivescan.scm.record import HiveRef, Origin, ServiceRecord
from hivescan.timeutil import datetime_to_filetime

if TYPE_CHECKING:
    from hivescan.snapshots import History

KEY_WRITE_SLACK = timedelta(seconds=60)  # the SCM writes the key while it logs the install
BURST_GAP = timedelta(minutes=10)  # installs closer than this to the one before form one burst
CLEAR_WINDOW = timedelta(hours=24)
INSTALL_IDS = frozenset({7045, 4697})
CHANGE_KINDS = frozenset({"installed", "start_type_changed", "registry_value", "registry_key"})
LIVE_STATUSES = frozenset({"database", "pending_delete", "rejected"})
_MACHINE_USERS = re.compile(r"(^|\\)(system|local service|network service|anonymous logon)$|\$$", re.IGNORECASE)
_EVENT_KEYS = (
    "event_id",
    "time",
    "kind",
    "service_name",
    "display_name",
    "image_path",
    "start_type",
    "account",
    "subject_user",
    "process",
    "state",
    "record_id",
    "computer",
    "channel",
    "evtx_path",
)


@dataclass(frozen=True, slots=True)
class JoinResult:
    """The records with their events, the ``event_only`` records added, and join diagnostics."""

    records: list[ServiceRecord]
    added: int
    diagnostics: list[Diagnostic]


def parse_time(text: str | None) -> datetime | None:
    """An event's ISO 8601 time (``...Z``, up to 7 fraction digits) as an aware datetime."""
    if not text:
        return None
    body = text.rstrip("Z")
    if "." in body:
        head, frac = body.split(".", 1)
        body = f"{head}.{frac[:6]}"
    try:
        when = datetime.fromisoformat(body)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def name_looks_random(name: str | None) -> bool:
    """Letters only, 4 to 20 of them, upper and lower case mixed irregularly (at least three
    case changes after the first letter) and no vowel-free English word: ``KgXItsbKgTJzdzwl``,
    ``TzmQeKbx`` yes; ``PSEXESVC``, ``BTOBTO``, ``WinDefend``, ``wuauserv`` no."""
    if not name or not (4 <= len(name) <= 20) or not name.isascii() or not name.isalpha():
        return False
    changes = sum(1 for a, b in pairwise(name[1:]) if a.isupper() != b.isupper())
    return changes >= 3


def _computer_short(name: str) -> str:
    return name.split(".", 1)[0].upper()


def _event_dict(event: ServiceEvent) -> dict[str, Any]:
    return {key: getattr(event, key) for key in _EVENT_KEYS}


_NT_PREFIX = re.compile(r"^(\\\?\?\\|\\\\\?\\)")
_WINDOWS_DIR = re.compile(r"^(\\systemroot\\|%systemroot%\\|%windir%\\|[a-z]:\\windows\\)", re.IGNORECASE)


def comparable_path(path: str | None) -> str:
    """An ImagePath in the form used to compare a logged one with the key's: blanks around it
    dropped (quotes are kept: losing them is a hijack of its own), ``\\??\\`` dropped
    (CreateService stores a driver's DOS path with it while 7045/4697 log it as given), the
    Windows folder written one way (``\\SystemRoot\\``,
    ``%SystemRoot%\\``, ``%windir%\\``, ``C:\\Windows\\``; a driver path relative to it,
    ``System32\\...``, too), case folded. Only for comparing: the values shown stay as read."""
    text = (path or "").strip()
    text = _NT_PREFIX.sub("", text)
    text = _WINDOWS_DIR.sub(lambda _m: "%systemroot%\\", text)
    if text.lower().startswith("system32\\"):
        text = "%systemroot%\\" + text
    return text.casefold()


def _same_path(a: str | None, b: str | None) -> bool:
    return comparable_path(a) == comparable_path(b)


def _index(events: Iterable[ServiceEvent]) -> dict[str, list[ServiceEvent]]:
    """Events by upper-case service name and display name (an event may sit under both)."""
    out: dict[str, list[ServiceEvent]] = {}
    for event in events:
        keys = {upcase(n) for n in (event.service_name, event.display_name) if n}
        for key in keys:
            out.setdefault(key, []).append(event)
    return out


@dataclass(frozen=True, slots=True)
class _Bursts:
    """Install times (sorted) and, for each, the size of the run it belongs to (each install
    within :data:`BURST_GAP` of the one before): computed once, looked up by bisection."""

    times: tuple[datetime, ...]
    sizes: tuple[int, ...]

    @classmethod
    def of(cls, times: Sequence[datetime]) -> _Bursts:
        ordered = sorted(times)
        sizes: list[int] = []
        start = 0
        for index in range(1, len(ordered) + 1):
            if index == len(ordered) or ordered[index] - ordered[index - 1] > BURST_GAP:
                sizes.extend([index - start] * (index - start))
                start = index
        return cls(tuple(ordered), tuple(sizes))

    def size(self, at: datetime) -> int:
        index = bisect_left(self.times, at)
        return self.sizes[index] if index < len(self.times) and self.times[index] == at else 1


def _facts(
    record: ServiceRecord,
    events: Sequence[ServiceEvent],
    *,
    live_names: frozenset[str],
    bursts: _Bursts,
    clears: Sequence[ServiceEvent],
    hive_computer: str | None,
) -> dict[str, Any]:
    installs = [e for e in events if e.event_id in INSTALL_IDS]
    facts: dict[str, Any] = {
        "installs": len(installs),
        "live_in_hive": upcase(record.name) in live_names,
    }
    names = [record.name, *(e.display_name for e in installs if e.display_name)]
    facts["name_looks_random"] = any(name_looks_random(n) for n in names)
    image_events = [e for e in events if e.image_path and (e.event_id in INSTALL_IDS or e.event_id == 13)]
    if image_events:
        last = image_events[-1]
        facts["installed_image_path"] = last.image_path
        facts["installed_at"] = last.time
        if record.status != "event_only" and record.image_path is not None:
            facts["image_path_differs_from_install"] = not _same_path(record.image_path, last.image_path)
    changes = [e for e in events if e.kind in CHANGE_KINDS]
    if changes:
        facts["last_logged_change"] = changes[-1].time
        changed_at = parse_time(changes[-1].time)
        written = record.origin.last_write_datetime if record.status != "event_only" else None
        if changed_at is not None and written is not None:
            facts["key_written_after_events"] = written - changed_at > KEY_WRITE_SLACK
    users = sorted({e.subject_user for e in installs if e.subject_user and not _MACHINE_USERS.search(e.subject_user)})
    if users:
        facts["installed_by"] = tuple(users)
    if installs:
        burst = 0
        for install in installs:
            at = parse_time(install.time)
            if at is not None:
                burst = max(burst, bursts.size(at))
        facts["install_burst"] = burst
    times = [t for t in (parse_time(e.time) for e in events) if t is not None]
    near = []
    for clear in clears:
        at = parse_time(clear.time)
        if at is not None and any(abs(at - t) <= CLEAR_WINDOW for t in times):
            near.append(
                f"{clear.event_id} {clear.channel or clear.state or ''} cleared {clear.time} by {clear.subject_user}"
            )
    if near:
        facts["log_cleared_near"] = tuple(near)
    if hive_computer:
        others = sorted(
            {e.computer for e in events if e.computer and _computer_short(e.computer) != upcase(hive_computer)}
        )
        if others:
            facts["computer_mismatch"] = tuple(others)
    return facts


def _event_only_record(name: str, events: Sequence[ServiceEvent]) -> ServiceRecord:
    """A record for a service the logs installed and the hive no longer has: what the last
    install event says, with the event log as its origin."""
    install = [e for e in events if e.event_id in INSTALL_IDS][-1]
    at = parse_time(install.time)
    origin = Origin(
        hive=HiveRef(install.evtx_path, install.evtx_sha256),
        control_set=None,
        key_path="",
        last_write_filetime=datetime_to_filetime(at) if at is not None else 0,
        parser="evtx",
    )
    display = install.display_name if install.display_name and install.display_name != name else None
    return ServiceRecord(
        name=name,
        status="event_only",
        origin=origin,
        image_path=install.image_path,
        display_name=display,
        object_name=install.account,
        sources={"image_path": "derived", "object_name": "derived"},
        diagnostics=(
            Diagnostic(
                "service_only_in_event_log",
                "status",
                f"installed per {install.channel} event {install.event_id} (record {install.record_id}, "
                f"{install.time}); no key of that name in the hive",
                "info",
            ),
        ),
    )


def join_events(
    records: Sequence[ServiceRecord],
    logs: Sequence[EventLog],
    *,
    computer_name: str | None = None,
) -> JoinResult:
    """Attach the logs' service events to ``records`` and add ``event_only`` records for
    installs the hive has no key for. ``computer_name`` is the hive's ComputerName: events
    of another computer are still joined, with a warning (the analyst chose the inputs)."""
    events = sorted((e for log in logs for e in log.events), key=lambda e: (e.time, e.record_id or 0))
    service_events = [e for e in events if e.kind != "log_cleared"]
    service_events = with_key_names(service_events)
    clears = [e for e in events if e.kind == "log_cleared"]
    by_name = _index(service_events)
    bursts = _Bursts.of([t for t in (parse_time(e.time) for e in service_events if e.event_id in INSTALL_IDS) if t])
    diagnostics: list[Diagnostic] = []
    if computer_name:
        foreign = sorted(
            {e.computer for e in events if e.computer and _computer_short(e.computer) != upcase(computer_name)}
        )
        if foreign:
            diagnostics.append(
                Diagnostic(
                    "events_computer_mismatch",
                    "computer",
                    f"events from {', '.join(foreign)}; the hive's ComputerName is {computer_name}: joined anyway",
                    "warning",
                )
            )
    live_names = frozenset(upcase(r.name) for r in records if r.status in LIVE_STATUSES)
    known_names = {upcase(r.name) for r in records} | {upcase(r.display_name) for r in records if r.display_name}

    by_image: dict[str, set[str]] = {}
    for record in records:
        if record.status in LIVE_STATUSES and record.image_path:
            by_image.setdefault(comparable_path(record.image_path), set()).add(record.name)

    extra: list[ServiceRecord] = []
    seen: set[str] = set()
    for event in service_events:
        if event.event_id not in INSTALL_IDS:
            continue
        name = event.service_name or event.display_name
        if not name:
            continue
        keys = {upcase(n) for n in (event.service_name, event.display_name) if n}
        if keys & known_names or keys & seen:
            continue
        owners = by_image.get(comparable_path(event.image_path), set()) if event.image_path else set()
        if len(owners) == 1:
            # 7045 logs the display name given to CreateService, which the key may no longer
            # hold (an indirect @dll,-id string, a later rename): one live service with the
            # very same ImagePath is that service
            (owner,) = owners
            for key in keys:
                by_name[key] = [e for e in by_name.get(key, ()) if e is not event]
            by_name.setdefault(upcase(owner), []).append(replace(event, service_name=owner))
            continue
        seen |= keys
        matching = sorted(
            {id(e): e for k in keys for e in by_name.get(k, ())}.values(), key=lambda e: (e.time, e.record_id or 0)
        )
        extra.append(_event_only_record(name, matching))

    out: list[ServiceRecord] = []
    for record in [*records, *extra]:
        names = [upcase(record.name)]
        if record.display_name:
            names.append(upcase(record.display_name))
        if record.template:
            names.append(upcase(record.template))
        found = {id(e): e for k in names for e in by_name.get(k, ())}
        if not found:
            out.append(record)
            continue
        mine = sorted(found.values(), key=lambda e: (e.time, e.record_id or 0))
        facts = _facts(record, mine, live_names=live_names, bursts=bursts, clears=clears, hive_computer=computer_name)
        out.append(replace(record, service_events=tuple(_event_dict(e) for e in mine), event_facts=facts))
    return JoinResult(out, len(extra), diagnostics)


def join_history(history: History, logs: Sequence[EventLog]) -> History:
    """``history --evtx``: each step of a service's history gets the service's logged events
    (same name or display name), so that an appearance between two snapshots can be dated by
    its install event."""
    events = [e for log in logs for e in log.events if e.kind != "log_cleared"]
    by_name = _index(with_key_names(events))
    steps = []
    for step in history.events:
        record = step.after if step.after is not None else step.before
        names = {upcase(step.name)}
        if record is not None and record.display_name:
            names.add(upcase(record.display_name))
        found = {id(e): e for n in names for e in by_name.get(n, ())}
        mine = sorted(found.values(), key=lambda e: (e.time, e.record_id or 0))
        steps.append(replace(step, service_events=tuple(_event_dict(e) for e in mine)) if mine else step)
    return replace(history, events=tuple(steps))
