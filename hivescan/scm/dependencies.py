"""Service and group dependencies over one control set: edges, dangling targets, cycles.

``DependOnService`` names services (ci); ``DependOnGroup`` names load-order groups, and a
``+name`` entry in ``DependOnService`` is a group too (the API form; flagged per key). A
service dependency on a name with no record in the database (missing, rejected, pending
delete) is *dangling*: starting the dependent fails with ERROR_SERVICE_DEPENDENCY_DELETED.
A group dependency is satisfied if one member runs after all were tried; a group without
members is *unsatisfiable*. CreateService refuses circular dependencies, so every member of
a cycle is flagged. ``dependents`` are the reverse edges (what EnumDependentServices lists).

The graph is over record indices of one control set; only records in the database
(``status == "database"``) are nodes. Everything is iterative: no recursion on hive data.

References: scm-spec.md §6.4; [M1] CreateService (lpDependencies); [R2] ScmReadDependencies.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

from hivescan.diagnostics import Diagnostic
from hivescan.hive.tree import upcase
from hivescan.scm.constants import ACCEPTED_TYPES, SERVICE_PKG_SERVICE, USER_INSTANCE_TYPES, USER_TEMPLATE_TYPES
from hivescan.scm.record import ServiceRecord

_PER_USER = USER_TEMPLATE_TYPES | USER_INSTANCE_TYPES
_STATUS = attrgetter("status")


def runnable(record: ServiceRecord) -> bool:
    """A record the SCM could start: in the database, an accepted type, not a per-user template/instance."""
    if record.status != "database" or record.type is None:
        return False
    base = record.type & ~SERVICE_PKG_SERVICE
    return base in ACCEPTED_TYPES and base not in _PER_USER


@dataclass(frozen=True, slots=True)
class DependencyGraph:
    """Edges between records of one control set (indices into the record list)."""

    needs: tuple[tuple[int, ...], ...]  # per record: the records it needs started first (services, then group members)
    via_group: tuple[frozenset[int], ...]  # per record: which of ``needs`` come only from group dependencies
    dependents: tuple[tuple[int, ...], ...]  # per record: database records that need it
    notes: tuple[tuple[Diagnostic, ...], ...]  # per record: dangling, unsatisfiable, disabled, cycle

    def closure(self, index: int) -> tuple[int, ...]:
        """Every record ``index`` needs, transitively, dependencies first (depth-first post-order)."""
        order: list[int] = []
        seen = {index}
        stack: list[tuple[int, int]] = [(index, 0)]
        while stack:
            node, pos = stack[-1]
            needs = self.needs[node]
            if pos < len(needs):
                stack[-1] = (node, pos + 1)
                nxt = needs[pos]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, 0))
            else:
                stack.pop()
                if node != index:
                    order.append(node)
        return tuple(order)

    # per record: runnable(record), read once while the graph is built (the boot plan asks too)
    runnable: tuple[bool, ...] = field(default=(), repr=False, compare=False)
    # closures worked out while the graph was built (its acyclic case), by record index
    shared_closures: Mapping[int, tuple[int, ...]] = field(default_factory=dict, repr=False, compare=False)

    def closures(self, indices: Iterable[int]) -> dict[int, tuple[int, ...]]:
        """:meth:`closure` of each of ``indices``, the work shared between them when that is exact.

        Why: a set-wide pass asks for the closure of every record with dependencies (about
        220 on Windows 10), and most of them walk the same few subgraphs (RpcSs, its
        group...). See :func:`_shared_closures`; with a cycle every closure is walked on its
        own by :meth:`closure`, whose order is the reference.
        """
        wanted = list(indices)
        known = self.shared_closures
        if known and all(index in known for index in wanted):
            return {index: known[index] for index in wanted}
        shared = _shared_closures(self.needs, wanted)
        if shared is None:
            return {index: self.closure(index) for index in wanted}
        return shared


def _shared_closures(all_needs: Sequence[tuple[int, ...]], wanted: list[int]) -> dict[int, tuple[int, ...]] | None:
    """``closure(i)`` of each wanted record computed once per node, or None on a cycle.

    Without a cycle, ``closure(i)`` is, for each need ``n`` in order, ``closure(n)`` then
    ``n``, repeats dropped: a need already seen was reached with everything below it, so the
    depth-first post-order emits nothing new for it. A cycle (a need reached again while it
    is still being walked) breaks that argument, so it ends the shared walk: None.
    """
    done: dict[int, tuple[int, ...]] = {}
    for root in wanted:
        if root in done:
            continue
        walking = {root}
        # each frame resumes its own iterator over the node's needs (no (node, position) pairs)
        stack: list[tuple[int, Iterator[int]]] = [(root, iter(all_needs[root]))]
        while stack:
            node, pending = stack[-1]
            for nxt in pending:
                if nxt in done:
                    continue
                if nxt in walking:  # a cycle: the shared results would not be exact
                    return None
                below = all_needs[nxt]
                if not below:  # a record needing nothing: done at once, nothing to walk
                    done[nxt] = ()
                    continue
                walking.add(nxt)
                stack.append((nxt, iter(below)))
                break
            else:
                stack.pop()
                walking.discard(node)
                needs = all_needs[node]
                if len(needs) == 1:
                    only = needs[0]
                    done[node] = done[only] + (only,)
                    continue
                order: list[int] = []
                seen: set[int] = set()
                for need in needs:
                    for below_need in done[need]:
                        if below_need not in seen:
                            seen.add(below_need)
                            order.append(below_need)
                    if need not in seen:
                        seen.add(need)
                        order.append(need)
                done[node] = tuple(order)
    return {index: done[index] for index in wanted}


def build_dependency_graph(records: Sequence[ServiceRecord]) -> DependencyGraph:
    """Resolve every record's DependOnService / DependOnGroup against the database (spec §6.4).

    Written for the hundreds of records of one set: names upper-cased once, statuses read
    once, the per-record tuples filled in place of being rebuilt for every index.
    """
    count = len(records)
    statuses = list(map(_STATUS, records))  # read once, in C
    by_name: dict[str, int] = {}
    members: dict[str, list[int]] = {}
    able = [False] * count  # runnable(rec), inline: every record is asked
    dependent: list[int] = []  # records with dependencies, for the second walk (a third of them)
    for index, rec in enumerate(records):
        name = rec.name
        upper = name.upper() if name.isascii() else upcase(name)
        status = statuses[index]
        known = by_name.get(upper)
        if known is None or (statuses[known] != "database" and status == "database"):
            by_name[upper] = index
        if (rec.depend_on_service or rec.depend_on_group) and status in ("database", "pending_delete"):
            dependent.append(index)
        type_ = rec.type
        if status != "database" or type_ is None:
            continue
        base = type_ & ~SERVICE_PKG_SERVICE
        if base not in ACCEPTED_TYPES or base in _PER_USER:
            continue
        able[index] = True
        group = rec.group
        if group:
            members.setdefault(group.upper() if group.isascii() else upcase(group), []).append(index)

    needs: list[tuple[int, ...]] = [()] * count
    via_group: list[frozenset[int]] = [frozenset()] * count
    notes: dict[int, list[Diagnostic]] = {}  # sparse: most records need no note
    for index in dependent:
        rec = records[index]
        on_services, on_groups = rec.depend_on_service, rec.depend_on_group
        out: list[int] = []
        group_only: set[int] = set()
        groups = on_groups  # then the "+group" entries of DependOnService, in their order
        for dep in on_services:
            if not dep:
                continue
            if dep[0] == "+":
                groups = (*groups, dep[1:])
                continue
            target = by_name.get(dep.upper() if dep.isascii() else upcase(dep))
            if target is None or statuses[target] != "database":
                why = "no such service key"
                if target is not None:
                    other = records[target]
                    why = (
                        "pending delete"
                        if other.status == "pending_delete"
                        else f"{other.status} ({other.reject_reason})"
                    )
                notes.setdefault(index, []).append(
                    Diagnostic(
                        "dependency_dangling",
                        "DependOnService",
                        f"depends on {dep!r}: {why}; starting it fails (ERROR_SERVICE_DEPENDENCY_DELETED)",
                    )
                )
                continue
            if records[target].start == 4:
                notes.setdefault(index, []).append(
                    Diagnostic(
                        "dependency_disabled",
                        "DependOnService",
                        f"depends on {records[target].name!r}, which is disabled: starting it fails",
                        "info",
                    )
                )
            if target not in out:
                out.append(target)
        for group in groups:
            if not group:
                continue
            found = members.get(group.upper() if group.isascii() else upcase(group), ())
            if not found or (len(found) == 1 and found[0] == index):  # members are listed once each
                notes.setdefault(index, []).append(
                    Diagnostic(
                        "dependency_group_unsatisfiable",
                        "DependOnGroup",
                        f"depends on group {group!r}, which has no member in the database: starting it fails",
                    )
                )
            for target in found:
                if target != index and target not in out:  # a member does not wait for itself
                    out.append(target)
                    group_only.add(target)
        needs[index] = tuple(out)
        if group_only:
            via_group[index] = frozenset(group_only)

    dependents: dict[int, list[int]] = {}  # sparse: a few dozen records are needed
    for index in dependent:
        targets = needs[index]
        if targets and statuses[index] == "database":
            for target in targets:
                listed = dependents.get(target)
                if listed is None:
                    dependents[target] = [index]
                else:
                    listed.append(index)
    dependents_of: list[tuple[int, ...]] = [()] * count
    for target, listed in dependents.items():
        dependents_of[target] = tuple(listed)

    # every target of ``needs`` is a database record (dangling ones are notes, group members
    # are runnable), so a cycle can only run through database records with needs: the shared
    # closure walk from all of them finds one if there is one. When it finds none, Tarjan
    # has nothing to report and is not run; the closures are kept for the pass.
    roots = [index for index in dependent if needs[index] and statuses[index] == "database"]
    shared = _shared_closures(needs, roots)
    cycles = _cycles(needs, [status == "database" for status in statuses]) if shared is None else []
    for component in cycles:
        names = " -> ".join(records[i].name for i in component)
        for index in component:
            notes.setdefault(index, []).append(
                Diagnostic(
                    "dependency_cycle",
                    "DependOnService",
                    f"circular dependency ({names}): CreateService refuses it; the SCM cannot start these",
                )
            )
    notes_of: list[tuple[Diagnostic, ...]] = [()] * count
    for index, listed_notes in notes.items():
        notes_of[index] = tuple(listed_notes)
    return DependencyGraph(
        tuple(needs),
        tuple(via_group),
        tuple(dependents_of),
        tuple(notes_of),
        tuple(able),
        shared or {},
    )


def _cycles(needs: Sequence[tuple[int, ...]], live: Sequence[bool]) -> list[tuple[int, ...]]:
    """Strongly connected components with a cycle (Tarjan, iterative), in discovery order.

    Per-node state in lists indexed by record (-1: not reached yet), not dicts: the walk
    touches every record with dependencies on every hive.
    """
    count = len(needs)
    index_of = [-1] * count
    low = [0] * count
    on_stack = [False] * count
    stack: list[int] = []
    found: list[tuple[int, ...]] = []
    counter = 0
    for start in range(count):
        if not live[start] or index_of[start] >= 0 or not needs[start]:
            continue
        work: list[tuple[int, int]] = [(start, 0)]
        while work:
            node, pos = work[-1]
            if pos == 0:
                index_of[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack[node] = True
            targets = needs[node]
            if pos < len(targets):
                work[-1] = (node, pos + 1)
                nxt = targets[pos]
                if not live[nxt]:
                    continue
                if index_of[nxt] < 0:
                    work.append((nxt, 0))
                elif on_stack[nxt] and index_of[nxt] < low[node]:
                    low[node] = index_of[nxt]
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                if low[node] < low[parent]:
                    low[parent] = low[node]
            if low[node] == index_of[node]:
                component: list[int] = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in needs[node]:
                    found.append(tuple(reversed(component)))
    return found


__all__ = ["DependencyGraph", "build_dependency_graph", "runnable"]
