"""The database-level pass: facts that need the whole control set, not one key.

``build_service_record`` reads one key. Image paths need the system environment, load order
needs the group list and tag vectors, dependencies and svchost lists need every other
record, instances need their templates. This module reads the plain data those facts come
from (``<ControlSet>\\Control``: ServiceGroupOrder, GroupOrderList, Session Manager\\
Environment; optionally SOFTWARE) and combines the pure functions of
:mod:`~hivescan.scm.imagepath`, :mod:`~hivescan.scm.peruser`, :mod:`~hivescan.scm.svchost`,
:mod:`~hivescan.scm.dependencies` and :mod:`~hivescan.scm.bootplan` into record fields.

Why records are completed in place (``in_place=True``, used by ``SystemHive.services()``):
the pass sets about a dozen fields on nearly every record, and ``dataclasses.replace`` on
the 60-field record costs about 8 us, i.e. 5 ms per 650-record hive -- as much again as the
headroom of the whole rebuild budget (docs/design.md). Records fresh from
``build_service_database`` have not been seen by anyone, so their derived fields are
filled before they are returned; the frozen dataclass is never changed after that. Callers
holding records of their own get copies (the default).

References: scm-spec.md §5-§8; docs/design.md (adding a field, performance).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import compress
from operator import attrgetter
from typing import Any

from hivescan.diagnostics import Diagnostic
from hivescan.hive.model import RawValue
from hivescan.hive.tree import Key, upcase
from hivescan.scm.bootplan import duplicate_tags, plan_boot
from hivescan.scm.constants import (
    DRIVER_TYPES,
    SERVICE_PKG_SERVICE,
    USER_INSTANCE_TYPES,
    USER_TEMPLATE_TYPES,
    WIN32_TYPES,
)
from hivescan.scm.dependencies import build_dependency_graph
from hivescan.scm.environment import Environment, Expansion, build_environment, used_once
from hivescan.scm.groups import GroupOrder, GroupPlace, build_group_order, group_place
from hivescan.scm.imagepath import ImageResolution, resolve_driver_image, resolve_image
from hivescan.scm.peruser import link_user_services
from hivescan.scm.record import ServiceRecord
from hivescan.scm.software import SoftwareData
from hivescan.scm.svchost import HostingChecks, check_membership, is_svchost, list_orphans

_ENVIRONMENT_PATH = ("Session Manager", "Environment")
_NAME = attrgetter("name")
# types resolved by CreateProcess rules, whose result depends only on the ImagePath and its type
# (and on the service's name when the ImagePath is blank: imagepath.resolve_win32_image)
WIN32_LIKE = WIN32_TYPES | USER_TEMPLATE_TYPES | USER_INSTANCE_TYPES


def _slot_setter(name: str) -> Callable[[ServiceRecord, Any], None]:
    """The setter of one slot of the record (its member descriptor's ``__set__``).

    Why: the pass writes thousands of fields per hive into records that are still being
    filled (module docstring). ``object.__setattr__(rec, name, value)`` finds the slot by
    name on every write; the slot's own setter, bound once here, takes about 40 ns instead
    of 70. Like ``object.__setattr__`` it goes past the frozen dataclass's ``__setattr__``.
    """
    setter: Callable[[ServiceRecord, Any], None] = ServiceRecord.__dict__[name].__set__
    return setter


_SET_IMAGE_PATH_EXPANDED = _slot_setter("image_path_expanded")
_SET_IMAGE_PATH_RESOLVED = _slot_setter("image_path_resolved")
_SET_IMAGE_PATH_NT = _slot_setter("image_path_nt")
_SET_IMAGE_ARGS = _slot_setter("image_args")
_SET_IMAGE_CANDIDATES = _slot_setter("image_candidates")
_SET_UNQUOTED_PATH_RISK = _slot_setter("unquoted_path_risk")
_SET_IMAGE_PATH_SOURCE = _slot_setter("image_path_source")
_SET_GROUP_KNOWN = _slot_setter("group_known")
_SET_GROUP_ORDER_INDEX = _slot_setter("group_order_index")
_SET_TAG_ORDER_INDEX = _slot_setter("tag_order_index")
_SET_SVCHOST_GROUP = _slot_setter("svchost_group")
_SET_SVCHOST_SWITCHES = _slot_setter("svchost_switches")
_SET_SVCHOST_LISTED = _slot_setter("svchost_listed")
_SET_SERVICE_DLL_EXPANDED = _slot_setter("service_dll_expanded")
_SET_ENV_VARS = _slot_setter("env_vars")
_SET_DEPENDENTS = _slot_setter("dependents")
_SET_DEPENDENCY_CLOSURE = _slot_setter("dependency_closure")
_SET_LOAD_PHASE = _slot_setter("load_phase")
_SET_ORDER_KEY = _slot_setter("order_key")
_SET_PULLED_IN_BY = _slot_setter("pulled_in_by")
_SET_DIAGNOSTICS = _slot_setter("diagnostics")


def _upper(name: str) -> str:
    return name.upper() if name.isascii() else upcase(name)


@dataclass(frozen=True, slots=True)
class ControlData:
    """What the pass reads from ``<ControlSet>\\Control``, as plain values."""

    group_order_list: RawValue | None = None  # ServiceGroupOrder\List
    group_tag_values: tuple[RawValue, ...] | None = None  # GroupOrderList values; None: key missing
    environment_values: tuple[RawValue, ...] | None = None  # Session Manager\Environment; None: key missing
    diagnostics: tuple[Diagnostic, ...] = ()


def read_control_data(control: Key | None) -> ControlData:
    """Read ServiceGroupOrder\\List, GroupOrderList and Session Manager\\Environment of one set."""
    if control is None:
        return ControlData(
            diagnostics=(
                Diagnostic(
                    "control_key_missing",
                    "Control",
                    "the control set has no Control key: no group order, tag vectors or environment",
                ),
            )
        )
    diags: list[Diagnostic] = []
    order_key = control.subkey("ServiceGroupOrder")
    list_value = order_key.value("List") if order_key is not None else None
    tags_key = control.subkey("GroupOrderList")
    session = control.subkey(_ENVIRONMENT_PATH[0])
    env_key = session.subkey(_ENVIRONMENT_PATH[1]) if session is not None else None
    for key in (order_key, tags_key, env_key):
        if key is not None:
            diags += key.diagnostics
    return ControlData(
        group_order_list=list_value,
        group_tag_values=tuple(tags_key.values()) if tags_key is not None else None,
        environment_values=tuple(env_key.values()) if env_key is not None else None,
        diagnostics=tuple(diags),
    )


# the record's defaults for the ImagePath fields: (), False and None (the rest)
IMAGE_FIELDS = (
    "image_path_expanded",
    "image_path_resolved",
    "image_path_nt",
    "image_args",
    "image_candidates",
    "unquoted_path_risk",
    "image_path_source",
)


def _put_image_fields(rec: ServiceRecord, res: ImageResolution) -> None:
    """Set on a fresh record the ImagePath fields of ``res`` that differ from the defaults.

    Written out field by field: a loop over (name, value) pairs built eight tuples per record,
    a tenth of the pass on a 650-service hive. ``IMAGE_FIELDS`` is the general rule the tests
    compare this with (a value is set unless it is None, () or False)."""
    exp, resolved, nt_path, args, candidates, risk, source, _used, _notes = res  # no slice: one tuple less
    if exp is not None:
        _SET_IMAGE_PATH_EXPANDED(rec, exp)
    if resolved is not None:
        _SET_IMAGE_PATH_RESOLVED(rec, resolved)
    if nt_path is not None:
        _SET_IMAGE_PATH_NT(rec, nt_path)
    if args is not None:
        _SET_IMAGE_ARGS(rec, args)
    if candidates is not None and candidates != ():
        _SET_IMAGE_CANDIDATES(rec, candidates)
    if risk is not None and risk is not False and risk != ():
        _SET_UNQUOTED_PATH_RISK(rec, risk)
    if source is not None:
        _SET_IMAGE_PATH_SOURCE(rec, source)


@dataclass(frozen=True, slots=True)
class DatabaseContext:
    """The set-wide data the pass used (reported by ``hivescan show`` and notebooks)."""

    environment: Environment
    groups: GroupOrder
    software: SoftwareData | None = None


@dataclass(frozen=True, slots=True)
class DatabaseResult:
    records: list[ServiceRecord]
    context: DatabaseContext
    diagnostics: list[Diagnostic]  # set-level notes (environment, groups, svchost lists; not SOFTWARE's own)


def build_context(control: ControlData, software: SoftwareData | None = None) -> DatabaseContext:
    environment = build_environment(
        control.environment_values,
        system_root=software.system_root if software is not None else None,
        program_dirs=software.program_dirs if software is not None else None,
    )
    groups = build_group_order(control.group_order_list, control.group_tag_values)
    return DatabaseContext(environment, groups, software)


def annotate_database(
    records: Sequence[ServiceRecord],
    control: ControlData,
    software: SoftwareData | None = None,
    *,
    in_place: bool = False,
) -> DatabaseResult:
    """Fill the set-wide fields of the records of **one** control set (spec §5-§8).

    ``in_place=True`` completes the given records themselves and is only for records that
    were just built and not yet handed out (see the module docstring); otherwise the
    records are copied first.
    """
    recs = list(records) if in_place else [replace(r) for r in records]
    context = build_context(control, software)
    env = context.environment
    set_notes: list[Diagnostic] = list(control.diagnostics) + list(env.diagnostics) + list(context.groups.diagnostics)
    put = object.__setattr__  # the records are ours and unpublished (module docstring)
    # per record, its new notes; tuples shared between records where possible: the pass runs on
    # hundreds of records and every container it allocates adds to the collector's work
    notes: dict[int, tuple[Diagnostic, ...]] = {}

    def note(index: int, more: tuple[Diagnostic, ...]) -> None:
        notes[index] = notes[index] + more if index in notes else more

    # §5: image paths, and (§6.1-6.2) each record's group and tag position, in one walk
    groups = context.groups
    count = len(recs)
    expanded: list[str | None] = [None] * count
    env_used: list[tuple[tuple[str, bool], ...]] = [()] * count
    # Win32 command lines repeat (svchost -k ...), and so do Group strings: each answer
    # is worked out once per call, keyed by exactly what it depends on (tuple keys: cheaper to
    # build than text, and the dicts die with the call)
    shared: dict[tuple[str | None, str], ImageResolution] = {}
    places: dict[str, GroupPlace] = {}
    for index, rec in enumerate(recs):
        image_path, type_ = rec.image_path, rec.type
        base = None if type_ is None else type_ & ~SERVICE_PKG_SERVICE
        # a blank ImagePath's answer names the service (its legacy default): not shared
        if image_path and base in WIN32_LIKE and not image_path.isspace():
            image_key = (rec.image_path_type, image_path)
            res = shared.get(image_key)  # type: ignore[assignment]
            if res is None:
                res = shared[image_key] = resolve_image(rec.name, type_, image_path, rec.image_path_type, env)
        elif base in DRIVER_TYPES:  # what resolve_image would call for it, without the dispatch
            res = resolve_driver_image(rec.name, image_path, rec.image_path_type, env)
        else:
            res = resolve_image(rec.name, type_, image_path, rec.image_path_type, env)
        exp, used, diags = res.expanded, res.env_used, res.diagnostics
        expanded[index] = exp
        env_used[index] = used
        _put_image_fields(rec, res)
        if diags:
            notes[index] = diags  # the first notes of any record
        group = rec.group
        if group is not None:  # group_facts(rec, groups), its group part once per Group string
            place = places.get(group)
            if place is None:
                place = places[group] = group_place(group, groups)
            known, position, vector, group_notes = place
            _SET_GROUP_KNOWN(rec, known)
            if position is not None:
                _SET_GROUP_ORDER_INDEX(rec, position)
                tag = rec.tag
                if tag is not None and tag in vector:  # groups.tag_index: the first index
                    _SET_TAG_ORDER_INDEX(rec, vector.index(tag))
            if group_notes:
                note(index, group_notes)

    # §8: per-user templates and instances (before svchost: instances inherit ServiceDll)
    links = link_user_services(recs, expanded)
    for index, update in links.updates.items():
        for name, value in update.items():
            put(recs[index], name, value)
    for index, more in links.notes.items():
        note(index, tuple(more))

    # §7: svchost hosting, ServiceDll expansion
    hosted: dict[str, str | None] = {}
    groups_by_name = software.svchost_groups if software is not None else None
    check_lists = groups_by_name is not None  # the orphan check needs every hosted name
    hosting = HostingChecks(env.system_root, groups_by_name is None)
    dlls: dict[str, Expansion] = {}
    distinct: dict[tuple[tuple[str, bool], ...], tuple[tuple[str, bool], ...]] = {}
    for index, rec in enumerate(recs):
        resolved = rec.image_path_resolved
        if resolved is not None and resolved[-11:].lower() == "svchost.exe" and is_svchost(resolved):
            type_ = rec.type
            driver = type_ is not None and (type_ & ~SERVICE_PKG_SERVICE) in DRIVER_TYPES
            accepted = rec.status != "rejected"
            group, switches, added = hosting.answer(resolved, rec.image_args, driver, accepted)
            if group is not None:
                _SET_SVCHOST_GROUP(rec, group)
            if switches:
                _SET_SVCHOST_SWITCHES(rec, switches)
            if group and accepted and groups_by_name is not None:
                membership = check_membership(rec.name, group, groups_by_name, as_name=rec.template)
                if membership.listed is not None:
                    _SET_SVCHOST_LISTED(rec, membership.listed)
                added += membership.diagnostics
            if added:  # note(index, added), inline: most hosted records have a note
                notes[index] = notes[index] + added if index in notes else added
            if check_lists and rec.status == "database" and rec.template is None:
                hosted[_upper(rec.name)] = group
        elif check_lists and rec.status == "database":
            hosted.setdefault(_upper(rec.name), None)
        dll = rec.service_dll
        if dll is not None:
            if rec.service_dll_type == "REG_EXPAND_SZ":
                expansion = dlls.get(dll)
                if expansion is None:
                    expansion = dlls[dll] = env.expand(dll)
                _SET_SERVICE_DLL_EXPANDED(rec, expansion.value)
                if expansion.used:
                    env_used[index] = env_used[index] + expansion.used
            else:
                _SET_SERVICE_DLL_EXPANDED(rec, dll)
        used = env_used[index]
        if used:
            once = distinct.get(used)  # tuples are immutable: records share them
            if once is None:
                once = distinct[used] = used_once(used)
            _SET_ENV_VARS(rec, once)
    if groups_by_name is not None:
        live = {_upper(rec.name): index for index, rec in enumerate(recs) if rec.status == "database"}
        for upper, orphan in list_orphans(groups_by_name, hosted, list(hosted)):
            if upper is None:
                set_notes.append(orphan)  # a listed name without a service: nothing to attach it to
            elif upper in live:
                note(live[upper], (orphan,))

    # §6: tags, dependencies, boot plan
    for index, dup in duplicate_tags(recs).items():
        note(index, (dup,))
    graph = build_dependency_graph(recs)
    # the few records with notes, dependents or needs picked by compress() and names looked up
    # by map(), both in C: these are walks over every record for a third of them
    name_of = list(map(_NAME, recs)).__getitem__
    for index in compress(range(count), graph.notes):
        note(index, graph.notes[index])
    for index in compress(range(count), graph.dependents):
        _SET_DEPENDENTS(recs[index], tuple(map(name_of, graph.dependents[index])))
    closures = graph.closures([i for i in compress(range(count), graph.needs) if recs[i].status == "database"])
    for index, closure in closures.items():
        _SET_DEPENDENCY_CLOSURE(recs[index], tuple(map(name_of, closure)))
    slots, plan_notes = plan_boot(recs, groups, graph)
    for index, (phase, order, pulled_in_by) in slots.items():
        rec = recs[index]
        _SET_LOAD_PHASE(rec, phase)
        _SET_ORDER_KEY(rec, order)
        if pulled_in_by:
            _SET_PULLED_IN_BY(rec, pulled_in_by)
    for index, more in plan_notes.items():
        note(index, tuple(more))
    for index, added in notes.items():
        rec = recs[index]
        _SET_DIAGNOSTICS(rec, rec.diagnostics + added if rec.diagnostics else added)
    return DatabaseResult(recs, context, set_notes)


__all__ = [
    "ControlData",
    "DatabaseContext",
    "DatabaseResult",
    "annotate_database",
    "build_context",
    "read_control_data",
]
