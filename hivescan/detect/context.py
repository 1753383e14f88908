"""Facts about a record that need the whole database: other control sets and a baseline.

The scan reads every control set by default so that "present in one set but not another" and
"changed since LastKnownGood" can be seen; this module turns the records into
:class:`~hivescan.detect.fields.Subject`\\ s carrying those facts as context fields (listed in
:data:`hivescan.detect.fields.CONTEXT_FIELDS`). Records of other sets that are identical to
the primary set's record of the same service are left out, so stock services are not reported
once per control set.

What "differs" covers: every field :func:`~hivescan.diff.compare_records` compares, and the
TriggerInfo subkeys byte-exact (:func:`~hivescan.diff.trigger_change`), which it leaves out:
a trigger added to or changed on a service decides when its code starts, a persistence change
an analyst wants to see like an ImagePath change (rules read it as ``triggers`` in
``control_set_changed_fields`` / ``baseline_changed_fields``).

References: detections.md §1.9 (compare every control set with Select\\Current), §2 (baseline).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hivescan.detect.fields import Subject
from hivescan.diff import FieldChange, closest, compare_records, trigger_change
from hivescan.hive.tree import upcase
from hivescan.scm.record import ServiceRecord
from hivescan.scm.winversion import WindowsVersion
from hivescan.textsafe import quoted

MAX_SHOWN = 120


ABSENT = "(absent)"  # a field one side does not have (not engine.NO_VALUE: the explanation quotes a value)


def _shown(value: Any) -> str:
    """Strings quoted with one backslash per backslash (``repr`` doubles them), lists item by
    item, mappings key by key; a flag yes/no (as explanations say it) and a field the set does
    not have ``(absent)``, never Python's ``True``/``None`` or a dict repr."""
    if isinstance(value, str):
        return quoted(value)
    if value is None:
        return ABSENT
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_shown(v)}" for k, v in value.items()) + "}"
    return str(value)


def differences(before: ServiceRecord, after: ServiceRecord) -> tuple[FieldChange, ...]:
    """Every field that differs, the TriggerInfo subkeys too (see the module docstring)."""
    changes = compare_records(before, after)
    triggers = trigger_change(before, after)
    return changes if triggers is None else (*changes, triggers)


def _short(value: Any) -> str:
    text = _shown(value)
    return text if len(text) <= MAX_SHOWN else f"{text[:MAX_SHOWN]}… ({len(text)} chars)"


def describe(change: FieldChange, where: str) -> str:
    return f"{change.field}: {where} {_short(change.before)} -> here {_short(change.after)}"


@dataclass(frozen=True, slots=True)
class SubjectSet:
    subjects: tuple[Subject, ...]
    control_sets: tuple[int, ...]
    primary_set: int | None
    identical_skipped: int  # records of other sets identical to the primary set's


def build_subjects(
    records: Sequence[ServiceRecord],
    *,
    primary_set: int | None = None,
    baseline: Sequence[ServiceRecord] | None = None,
    windows: WindowsVersion | None = None,
) -> SubjectSet:
    """Records with their context, the primary set's first, then what only other sets hold.

    ``windows``: the version the hive was found to be (``context["windows"]``); known-good
    catalogs of one Windows apply only when it is known and matches (None: not applied)."""
    sets = tuple(sorted({r.origin.control_set for r in records if r.origin.control_set is not None}))
    if primary_set is None or primary_set not in sets:
        primary_set = sets[0] if sets else None
    by_set: dict[int | None, dict[str, ServiceRecord]] = {}
    for record in records:
        by_set.setdefault(record.origin.control_set, {}).setdefault(upcase(record.name), record)
    golden: dict[str, list[ServiceRecord]] = {}
    for record in baseline or ():
        golden.setdefault(upcase(record.name), []).append(record)

    shared: dict[tuple[int | None, str], int] = {}
    user_writable: dict[int | None, int] = {}
    for record in records:
        if record.key_security_hex is not None:
            slot = (record.origin.control_set, record.key_security_hex)
            shared[slot] = shared.get(slot, 0) + 1
            if record.key_writable_by_low_privilege:
                number = record.origin.control_set
                user_writable[number] = user_writable.get(number, 0) + 1

    ordered = sorted(records, key=lambda r: (r.origin.control_set != primary_set, r.origin.control_set or 0))
    subjects: list[Subject] = []
    skipped = 0
    for record in ordered:
        key = upcase(record.name)
        number = record.origin.control_set
        context: dict[str, Any] = {"control_sets_scanned": sets}
        if windows is not None:
            context["windows"] = windows
        if record.key_security_hex is not None:
            context["key_security_shared_by"] = shared[(number, record.key_security_hex)]
        context["user_writable_keys_in_set"] = user_writable.get(number, 0)
        if len(sets) > 1:
            primary = by_set.get(primary_set, {}).get(key)
            if number != primary_set and primary is not None and not differences(primary, record):
                skipped += 1
                continue
            context["absent_from_control_sets"] = tuple(n for n in sets if key not in by_set.get(n, {}))
            changed: list[str] = []
            notes: list[str] = []
            for other in sets:
                twin = by_set.get(other, {}).get(key)
                if other == number or twin is None:
                    continue
                for change in differences(twin, record):
                    if change.field not in changed:
                        changed.append(change.field)
                    notes.append(describe(change, f"ControlSet{other:03d}"))
            context["control_set_changed_fields"] = tuple(changed)
            context["control_set_changes"] = tuple(notes)
        if baseline is not None:
            variants = golden.get(key)
            if not variants:
                context["baseline_status"] = "absent"
            else:
                best, changes = closest(record, variants)
                triggers = trigger_change(best, record)
                if triggers is not None:
                    changes = (*changes, triggers)
                context["baseline_status"] = "differs" if changes else "same"
                context["baseline_changed_fields"] = tuple(c.field for c in changes)
                context["baseline_changes"] = tuple(describe(c, "baseline") for c in changes)
        subjects.append(Subject(record, context))
    return SubjectSet(tuple(subjects), sets, primary_set, skipped)
