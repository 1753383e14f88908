"""What starts at boot, in what order: phases, groups, tags and dependency closure.

Phases (spec §6.3):

1. ``boot``: boot-start drivers (Start 0), loaded by the boot loader; Early-Launch (ELAM)
   drivers first [M21], then groups in ``ServiceGroupOrder\\List`` order, inside a group the
   members whose Tag is in the group's vector in vector order, then the rest; then members
   of unknown groups (in order of first appearance), then drivers without a group.
2. ``system``: system-start drivers (Start 1), loaded by the I/O manager, same ordering.
3. ``auto``: auto-start drivers and services (Start 2, not delayed), started by the SCM in
   the same group/tag order ([R1] ScmAutoStartServices); before each one, everything it
   depends on that is not running yet is started, demand-start services included [M8]
   (depth-first, dependencies first; such services record ``pulled_in_by``).
4. ``delayed_auto``: Win32 auto-start services with DelayedAutostart, after phase 3, with
   their own dependency closure.
5. ``trigger``: services with triggers not started above; they start only if the trigger
   condition holds (undecidable offline), listed apart.

Excluded: everything else (demand-start not pulled in, disabled, pending delete, per-user
templates and instances, rejected keys) -- :func:`exclusion_reason` says why.

The ordering of unknown groups, ungrouped drivers and ELAM drivers among themselves is not
documented: hive (enumeration) order is used **(heuristic)**.

References: scm-spec.md §6.1-6.3, §8; [R1] ScmAutoStartServices; [R9] WinLdrScanRegistry;
[M8] Automatically Starting Services; [M11] KB115486; [M21] ELAM.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from hivescan.diagnostics import Diagnostic
from hivescan.hive.tree import upcase
from hivescan.scm.constants import (
    DRIVER_TYPES,
    SERVICE_PKG_SERVICE,
    USER_INSTANCE_TYPES,
    USER_TEMPLATE_TYPES,
    WIN32_TYPES,
)
from hivescan.scm.dependencies import DependencyGraph, runnable
from hivescan.scm.groups import GroupOrder, group_place, tag_index
from hivescan.scm.record import ServiceRecord

PHASES = ("boot", "system", "auto", "delayed_auto", "trigger")
ELAM_GROUP = "EARLY-LAUNCH"


def _upper(name: str) -> str:
    return name.upper() if name.isascii() else upcase(name)


def _base(record: ServiceRecord) -> int | None:
    return None if record.type is None else record.type & ~SERVICE_PKG_SERVICE


class GroupFacts(NamedTuple):
    known: bool | None  # None: no Group value
    position: int | None
    tag_position: int | None
    diagnostics: tuple[Diagnostic, ...] = ()


def group_facts(record: ServiceRecord, groups: GroupOrder) -> GroupFacts:
    """``group_known``, ``group_order_index`` and ``tag_order_index`` of one record (spec §6.1-6.2)."""
    known, position, vector, notes = group_place(record.group, groups)
    return GroupFacts(known, position, tag_index(vector, record.tag), notes)


def duplicate_tags(records: Sequence[ServiceRecord]) -> dict[int, Diagnostic]:
    """Records sharing a registry Tag inside one group (CreateService assigns unique tags)."""
    seen: dict[tuple[str, int], list[int]] = {}
    for index, rec in enumerate(records):
        group, tag = rec.group, rec.tag
        if tag is not None and group and rec.status == "database":
            seen.setdefault((group.upper() if group.isascii() else upcase(group), tag), []).append(index)
    out: dict[int, Diagnostic] = {}
    for (_group, tag), indices in seen.items():
        if len(indices) > 1:
            names = ", ".join(records[i].name for i in indices)
            for index in indices:
                out[index] = Diagnostic(
                    "duplicate_tag", "Tag", f"Tag {tag} is shared in group {records[index].group!r} by {names}", "info"
                )
    return out


def _ordered(members: Iterable[int], records: Sequence[ServiceRecord], groups: GroupOrder) -> list[int]:
    """Group/tag order of spec §6.3 for one phase; ties keep enumeration order."""
    known: dict[int, list[int]] = {}
    unknown: dict[str, list[int]] = {}
    ungrouped: list[int] = []
    for index in members:
        group = records[index].group
        position = groups.position(group)
        if position is not None:
            known.setdefault(position, []).append(index)
        elif group:
            unknown.setdefault(_upper(group), []).append(index)
        else:
            ungrouped.append(index)
    out: list[int] = []
    for position in sorted(known):
        items = known[position]
        # one tag vector per position: a listed group's position stands for one upper-cased name
        group = records[items[0]].group
        vector = groups.tag_vectors.get(_upper(group)) if group else None
        if not vector:
            out += items  # no vector: GroupOrder.tag_position is None for every member
            continue
        tagged = [(tag_index(vector, records[i].tag), i) for i in items]
        out += [i for t, i in sorted((t, i) for t, i in tagged if t is not None)]
        out += [i for t, i in tagged if t is None]
    for items in unknown.values():
        out += items
    out += ungrouped
    return out


class Slot(NamedTuple):
    """Where one record lands in the plan."""

    phase: str
    order: int
    pulled_in_by: tuple[str, ...] = ()


def plan_boot(
    records: Sequence[ServiceRecord], groups: GroupOrder, graph: DependencyGraph
) -> tuple[dict[int, Slot], dict[int, list[Diagnostic]]]:
    """Phase and position of every record that starts at boot (spec §6.3), plus notes."""
    notes: dict[int, list[Diagnostic]] = {}
    boot: list[int] = []
    system: list[int] = []
    auto: list[int] = []
    delayed: list[int] = []
    able = graph.runnable  # read while the graph was built
    if len(able) != len(records):  # a graph built by hand
        able = tuple(runnable(rec) for rec in records)
    for index, rec in enumerate(records):
        if not able[index]:
            continue
        start = rec.start
        if start is None or start > 2:
            continue
        base = _base(rec)
        if base in DRIVER_TYPES and start == 0:
            boot.append(index)
        elif base in DRIVER_TYPES and start == 1:
            system.append(index)
        elif start == 2:
            if base in WIN32_TYPES and rec.delayed_auto_start:
                delayed.append(index)
            else:
                auto.append(index)

    sequence: list[tuple[int, str]] = []
    elam = [i for i in boot if _upper(records[i].group or "") == ELAM_GROUP]
    elam_set = set(elam)
    rest = [i for i in boot if i not in elam_set]
    for index in elam + _ordered(rest, records, groups):
        sequence.append((index, "boot"))
        if groups.position(records[index].group) is None:
            notes.setdefault(index, []).append(
                Diagnostic(
                    "ros_boot_driver_not_loaded",
                    "Group",
                    "boot driver outside the listed groups: ReactOS' loader would skip it (Windows loads it)",
                    "info",
                )
            )
    sequence += [(i, "system") for i in _ordered(system, records, groups)]
    started = {i for i, _ in sequence}
    pulled: dict[int, list[str]] = {}
    for phase, members in (("auto", auto), ("delayed_auto", delayed)):
        roots = _ordered(members, records, groups)
        for index in _with_dependencies(roots, records, graph, started, pulled, set(members), able):
            sequence.append((index, phase))
            started.add(index)
    for index, rec in enumerate(records):
        if rec.triggers_raw and able[index] and index not in started and rec.start in (2, 3):  # few have triggers
            sequence.append((index, "trigger"))
    slots = {
        index: Slot(phase, order, tuple(pulled[index]) if index in pulled else ())
        for order, (index, phase) in enumerate(sequence, 1)
    }
    return slots, notes


def _with_dependencies(
    roots: Sequence[int],
    records: Sequence[ServiceRecord],
    graph: DependencyGraph,
    started: set[int],
    pulled: dict[int, list[str]],
    members: set[int],
    able: Sequence[bool],
) -> list[int]:
    """Roots in order, each preceded by what it needs that is not started (iterative DFS)."""
    out: list[int] = []
    placed = set(started)
    for root in roots:
        if root in placed:
            continue
        visiting = {root}
        stack: list[tuple[int, int]] = [(root, 0)]
        while stack:
            node, pos = stack[-1]
            needs = graph.needs[node]
            if pos < len(needs):
                stack[-1] = (node, pos + 1)
                dep = needs[pos]
                # a dependency the SCM starts on demand: runnable, not disabled, not a boot/system driver
                if not (able[dep] and records[dep].start in (2, 3)):
                    continue
                if dep not in members and dep not in started:
                    who = pulled.setdefault(dep, [])
                    if records[node].name not in who:
                        who.append(records[node].name)
                if dep in placed or dep in visiting:
                    continue
                visiting.add(dep)
                stack.append((dep, 0))
                continue
            stack.pop()
            visiting.discard(node)
            if node not in placed:
                placed.add(node)
                out.append(node)
    return out


def exclusion_reason(record: ServiceRecord) -> str:
    """Why a record is not in the boot plan (for records with ``load_phase`` None)."""
    if record.status == "rejected":
        return f"rejected ({record.reject_reason})"
    if record.status != "database":
        return record.status
    base = _base(record)
    if base in USER_TEMPLATE_TYPES:
        return "user_template"
    if base in USER_INSTANCE_TYPES:
        return "user_instance"
    if record.start == 4:
        return "disabled"
    if record.start == 3:
        return "demand_start"
    if record.start in (0, 1) and base not in DRIVER_TYPES:
        return "start_invalid_for_win32"
    if record.start is not None and record.start > 4:
        return "start_out_of_range"
    return "not_started"


@dataclass(frozen=True, slots=True)
class BootEntry:
    """One line of the boot plan."""

    order: int
    phase: str
    name: str
    control_set: int | None
    type: int | None
    type_name: str | None
    start: int | None
    start_name: str | None
    group: str | None
    group_known: bool | None
    group_order_index: int | None
    tag: int | None
    tag_order_index: int | None
    pulled_in_by: tuple[str, ...]
    depend_on: tuple[str, ...]
    image_path_resolved: str | None
    triggers: int
    notes: tuple[str, ...]
    # the DLL svchost.exe loads for a shared-process service: the code that runs, where the
    # image is only the host (None when the record has no ServiceDll)
    service_dll: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__slots__}
        out["pulled_in_by"] = list(self.pulled_in_by)
        out["depend_on"] = list(self.depend_on)
        out["notes"] = list(self.notes)
        return out


@dataclass(frozen=True, slots=True)
class BootPlan:
    """The boot plan of one control set, built from records the database pass annotated."""

    control_set: int | None
    entries: tuple[BootEntry, ...] = ()
    excluded: tuple[tuple[str, str], ...] = ()  # (name, reason), enumeration order

    def phase(self, name: str) -> tuple[BootEntry, ...]:
        return tuple(e for e in self.entries if e.phase == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "control_set": self.control_set,
            "entries": [e.to_dict() for e in self.entries],
            "excluded": [{"name": n, "reason": r} for n, r in self.excluded],
        }

    @classmethod
    def from_records(cls, records: Sequence[ServiceRecord]) -> list[BootPlan]:
        """One plan per control set, in the order the sets first appear."""
        by_set: dict[int | None, list[ServiceRecord]] = {}
        for rec in records:
            by_set.setdefault(rec.control_set, []).append(rec)
        plans = []
        for number, recs in by_set.items():
            entries = [_entry(r) for r in recs if r.load_phase is not None and r.order_key is not None]
            entries.sort(key=lambda e: e.order)
            excluded = tuple((r.name, exclusion_reason(r)) for r in recs if r.load_phase is None)
            plans.append(cls(number, tuple(entries), excluded))
        return plans


def _entry(rec: ServiceRecord) -> BootEntry:
    return BootEntry(
        order=rec.order_key or 0,
        phase=rec.load_phase or "",
        name=rec.name,
        control_set=rec.control_set,
        type=rec.type,
        type_name=rec.type_name,
        start=rec.start,
        start_name=rec.start_name,
        group=rec.group,
        group_known=rec.group_known,
        group_order_index=rec.group_order_index,
        tag=rec.tag,
        tag_order_index=rec.tag_order_index,
        pulled_in_by=rec.pulled_in_by,
        depend_on=tuple(rec.depend_on_service) + tuple(f"+{g}" for g in rec.depend_on_group),
        image_path_resolved=rec.image_path_resolved,
        service_dll=rec.service_dll_expanded or rec.service_dll,
        triggers=len(rec.triggers_raw),
        notes=tuple(sorted({d.code for d in rec.diagnostics if d.level != "info"})),
    )


__all__ = [
    "PHASES",
    "BootEntry",
    "BootPlan",
    "GroupFacts",
    "Slot",
    "duplicate_tags",
    "exclusion_reason",
    "group_facts",
    "plan_boot",
]
