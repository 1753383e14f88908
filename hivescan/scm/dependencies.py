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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hivescan.diagnostics import Diagnostic
from hivescan.hive.tree import upcase
from hivescan.scm.constants import ACCEPTED_TYPES, SERVICE_PKG_SERVICE, USER_INSTANCE_TYPES, USER_TEMPLATE_TYPES
from hivescan.scm.record import ServiceRecord

_PER_USER = USER_TEMPLATE_TYPES | USER_INSTANCE_TYPES


def _upper(name: str) -> str:
    return name.upper() if name.isascii() else upcase(name)


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

    def closures(self, indices: Iterable[int]) -> dict[int, tuple[int, ...]]:
        """:meth:`closure` of each of ``indices``, the work shared between them when that is exact.

        Why: a set-wide pass asks for the closure of every record with dependencies (about
        220 on Windows 10), and most of them walk the same few subgraphs (RpcSs, its
        group...). Without a cycle, ``closure(i)`` is, for each need ``n`` in order,
        ``closure(n)`` then ``n``, repeats dropped: a need already seen was reached with
        everything below it, so the depth-first post-order emits nothing new for it. So
        every node is computed once from its needs' results. A cycle (a need reached again
        while it is still being walked) breaks that argument: then every closure is walked
        on its own by :meth:`closure`, whose order is the reference.
        """
        wanted = list(indices)
        done: dict[int, tuple[int, ...]] = {}
        all_needs = self.needs
        for root in wanted:
            if root in done:
                continue
            walking = {root}
            stack: list[tuple[int, int]] = [(root, 0)]
            while stack:
                node, pos = stack[-1]
                needs = all_needs[node]
                if pos < len(needs):
                    stack[-1] = (node, pos + 1)
                    nxt = needs[pos]
                    if nxt in done:
                        continue
                    if nxt in walking:  # a cycle: the shared results would not be exact
                        return {index: self.closure(index) for index in wanted}
                    walking.add(nxt)
                    stack.append((nxt, 0))
                    continue
                stack.pop()
                walking.discard(node)
                if len(needs) == 1:
                    only = needs[0]
                    done[node] = done[only] + (only,)
                    continue
                order: list[int] = []
                seen: set[int] = set()
                for need in needs:
                    for below in done[need]:
                        if below not in seen:
                            seen.add(below)
                            order.append(below)
                    if need not in seen:
                        seen.add(need)
                        order.append(need)
                done[node] = tuple(order)
        return {index: done[index] for index in wanted}


def build_dependency_graph(records: Sequence[ServiceRecord]) -> DependencyGraph:
    """Resolve every record's DependOnService / DependOnGroup against the database (spec §6.4)."""
    count = len(records)
    by_name: dict[str, int] = {}
    members: dict[str, list[int]] = {}
    for index, rec in enumerate(records):
        name = rec.name
        upper = name.upper() if name.isascii() else upcase(name)
        if upper not in by_name or (records[by_name[upper]].status != "database" and rec.status == "database"):
            by_name[upper] = index
        if rec.group and runnable(rec):
            members.setdefault(_upper(rec.group), []).append(index)

    needs: list[tuple[int, ...]] = [()] * count
    via_group: list[frozenset[int]] = [frozenset()] * count
    notes: dict[int, list[Diagnostic]] = {}  # sparse: most records need no note
    for index, rec in enumerate(records):
        if rec.status not in ("database", "pending_delete") or not (rec.depend_on_service or rec.depend_on_group):
            continue
        out: list[int] = []
        group_only: set[int] = set()
        groups = list(rec.depend_on_group) + [d[1:] for d in rec.depend_on_service if d.startswith("+")]
        for dep in rec.depend_on_service:
            if dep.startswith("+") or not dep:
                continue
            target = by_name.get(_upper(dep))
            if target is None or records[target].status != "database":
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
            found = members.get(_upper(group), [])
            if not [t for t in found if t != index]:
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
        via_group[index] = frozenset(group_only)

    dependents: dict[int, list[int]] = {}
    for index, targets in enumerate(needs):
        if targets and records[index].status == "database":
            for target in targets:
                dependents.setdefault(target, []).append(index)

    for component in _cycles(needs, [r.status == "database" for r in records]):
        names = " -> ".join(records[i].name for i in component)
        for index in component:
            notes.setdefault(index, []).append(
                Diagnostic(
                    "dependency_cycle",
                    "DependOnService",
                    f"circular dependency ({names}): CreateService refuses it; the SCM cannot start these",
                )
            )
    return DependencyGraph(
        tuple(needs),
        tuple(via_group),
        tuple(tuple(dependents.get(i, ())) for i in range(count)),
        tuple(tuple(notes.get(i, ())) for i in range(count)),
    )


def _cycles(needs: Sequence[tuple[int, ...]], live: Sequence[bool]) -> list[tuple[int, ...]]:
    """Strongly connected components with a cycle (Tarjan, iterative), in discovery order."""
    index_of: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    found: list[tuple[int, ...]] = []
    counter = 0
    for start in range(len(needs)):
        if not live[start] or start in index_of or not needs[start]:
            continue
        work: list[tuple[int, int]] = [(start, 0)]
        while work:
            node, pos = work[-1]
            if pos == 0:
                index_of[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = needs[node]
            if pos < len(targets):
                work[-1] = (node, pos + 1)
                nxt = targets[pos]
                if not live[nxt]:
                    continue
                if nxt not in index_of:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index_of[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index_of[node]:
                component: list[int] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in needs[node]:
                    found.append(tuple(reversed(component)))
    return found


__all__ = ["DependencyGraph", "build_dependency_graph", "runnable"]
