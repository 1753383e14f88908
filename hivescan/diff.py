"""Compare two sets of service records: hive vs hive, hive vs baseline, set vs set.

Pure: records in, :class:`Change` objects out. Services are keyed by their upper-cased name
(the registry's ordinal comparison, :func:`hivescan.hive.tree.upcase`), raw fields are
compared (the integers and effective strings of the record, then every value's exact bytes so
that a change hidden after a NUL still shows; :func:`diff_records` also the TriggerInfo
subkeys' values, which the rules' comparisons in detect/context.py leave out), and each
change carries both records, so both :class:`~hivescan.scm.record.Origin`\\ s (hive, control
set, key, last write).

A field with a decoded form (a named number, the FailureActions blob, the triggers) carries
that form next to the raw value (``before_decoded``/``after_decoded``), read from the record
of each side, so people see what changed without decoding hex and tools keep the raw value.

References: style.md R12; detections.md §2 (DET0427: compare with known-good configurations).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hivescan.hive.model import RawValue
from hivescan.hive.tree import upcase
from hivescan.scm.record import Origin, ServiceRecord

# record field -> the registry value it is read from ("" for fields not read from one value)
COMPARED_FIELDS: Mapping[str, str] = {
    "status": "",
    "type": "Type",
    "start": "Start",
    "error_control": "ErrorControl",
    "tag": "Tag",
    "image_path": "ImagePath",
    "image_path_type": "ImagePath",
    "object_name": "ObjectName",
    "display_name": "DisplayName",
    "description": "Description",
    "group": "Group",
    "depend_on_service": "DependOnService",
    "depend_on_group": "DependOnGroup",
    "service_dll": "ServiceDll",
    "service_dll_source": "",
    "service_main": "ServiceMain",
    "failure_command": "FailureCommand",
    "reboot_message": "RebootMessage",
    "failure_actions_hex": "FailureActions",
    "failure_actions_on_non_crash": "FailureActionsOnNonCrashFailures",
    "delayed_auto_start": "DelayedAutostart",
    "service_sid_type": "ServiceSidType",
    "required_privileges": "RequiredPrivileges",
    "preshutdown_timeout_ms": "PreshutdownTimeout",
    "launch_protected": "LaunchProtected",
    "user_service_flags": "UserServiceFlags",
    "svchost_split_disable": "SvcHostSplitDisable",
    "delete_flag": "DeleteFlag",
    "security_hex": "",
    "key_security_hex": "",
}
_FIELD_OF_VALUE = {upcase(v): f for f, v in COMPARED_FIELDS.items() if v}

ChangeKind = Literal["added", "removed", "changed"]


# field -> its decoded form in a record (the raw value stays the change's before/after)
DECODED: Mapping[str, Callable[[ServiceRecord], Any]] = {
    "type": lambda r: r.type_name,
    "start": lambda r: r.start_name,
    "error_control": lambda r: r.error_control_name,
    "service_sid_type": lambda r: r.service_sid_type_name,
    "launch_protected": lambda r: r.launch_protected_name,
    "user_service_flags": lambda r: r.user_service_flags_name,
    "delayed_auto_start": lambda r: r.delayed_auto_start_name,
    "failure_actions_hex": lambda r: r.failure_actions.to_dict() if r.failure_actions is not None else None,
    "triggers": lambda r: [t.to_dict() for t in r.triggers],
}


def decoded_value(field: str, record: ServiceRecord | None) -> Any:
    """The decoded form of ``field`` in ``record`` (None: no such form, or no record)."""
    decode = DECODED.get(field)
    return decode(record) if decode is not None and record is not None else None


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str  # a record field, or values.<Name> / parameters.<Name> for other raw values
    before: Any
    after: Any
    before_decoded: Any = None  # the decoded form (DECODED), for fields that have one
    after_decoded: Any = None

    def to_dict(self) -> dict[str, Any]:
        out = {"field": self.field, "before": _plain(self.before), "after": _plain(self.after)}
        if self.field in DECODED:
            out["before_decoded"] = _plain(self.before_decoded)
            out["after_decoded"] = _plain(self.after_decoded)
        return out


@dataclass(frozen=True, slots=True)
class Change:
    """One service added, removed or changed between side A (before) and side B (after)."""

    kind: ChangeKind
    name: str
    before: ServiceRecord | None
    after: ServiceRecord | None
    fields: tuple[FieldChange, ...] = ()

    @property
    def before_origin(self) -> Origin | None:
        return self.before.origin if self.before is not None else None

    @property
    def after_origin(self) -> Origin | None:
        return self.after.origin if self.after is not None else None

    def to_dict(self) -> dict[str, Any]:
        def origin(o: Origin | None) -> dict[str, Any] | None:
            if o is None:
                return None
            return {
                "hive_path": o.hive_path,
                "hive_sha256": o.hive_sha256,
                "control_set": o.control_set,
                "key_path": o.key_path,
                "last_write": o.last_write,
                "last_write_filetime": o.last_write_filetime,  # raw: 0 is "not set", not 1601
            }

        return {
            "kind": self.kind,
            "name": self.name,
            "fields": [f.to_dict() for f in self.fields],
            "before": origin(self.before_origin),
            "after": origin(self.after_origin),
        }


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return value


def _value_map(values: Iterable[RawValue]) -> dict[str, RawValue]:
    out: dict[str, RawValue] = {}
    for value in values:
        out.setdefault(upcase(value.name), value)
    return out


def _raw_text(value: RawValue | None) -> str | None:
    return None if value is None else f"{value.type_name}:{value.data.hex()}"


def _triggers_raw(record: ServiceRecord) -> list[dict[str, Any]]:
    """Each TriggerInfo subkey by name with its values as ``TYPE:hex`` (what is compared)."""
    return [
        {"subkey": str(t.get("subkey", "")), "values": {v.name: _raw_text(v) for v in t.get("values", ())}}
        for t in record.triggers_raw
    ]


def trigger_change(before: ServiceRecord, after: ServiceRecord) -> FieldChange | None:
    """The ``triggers`` change when any TriggerInfo subkey or value differs (byte-exact)."""
    a, b = _triggers_raw(before), _triggers_raw(after)
    if a == b:
        return None
    return FieldChange("triggers", a, b, decoded_value("triggers", before), decoded_value("triggers", after))


def compare_records(before: ServiceRecord, after: ServiceRecord) -> tuple[FieldChange, ...]:
    """Field-level differences of two records of the same service (empty when identical)."""
    changes = []
    for name in COMPARED_FIELDS:
        a, b = getattr(before, name), getattr(after, name)
        if a != b:
            changes.append(FieldChange(name, a, b, decoded_value(name, before), decoded_value(name, after)))
    reported = {c.field for c in changes}
    for prefix, a_values, b_values in (
        ("values", before.raw_values, after.raw_values),
        ("parameters", before.parameters_raw, after.parameters_raw),
    ):
        a_map, b_map = _value_map(a_values), _value_map(b_values)
        for key in sorted(a_map.keys() | b_map.keys()):
            a, b = a_map.get(key), b_map.get(key)
            if a is not None and b is not None and a.type == b.type and a.data == b.data:
                continue
            covered = _FIELD_OF_VALUE.get(key)
            if prefix == "parameters" and covered not in ("service_dll", "service_main"):
                covered = None
            if covered is not None and covered in reported:
                continue  # the decoded field already shows this change
            name = (a or b).name  # type: ignore[union-attr]
            changes.append(FieldChange(f"{prefix}.{name}", _raw_text(a), _raw_text(b)))
    return tuple(changes)


def index_by_name(records: Iterable[ServiceRecord]) -> dict[str, ServiceRecord]:
    """Upper-cased name -> record; a second key of the same name (damage) keeps the first."""
    out: dict[str, ServiceRecord] = {}
    for record in records:
        out.setdefault(upcase(record.name), record)
    return out


def diff_records(before: Sequence[ServiceRecord], after: Sequence[ServiceRecord]) -> list[Change]:
    """Added, removed and changed services from ``before`` to ``after``, in name order."""
    a, b = index_by_name(before), index_by_name(after)
    changes: list[Change] = []
    for key in sorted(a.keys() | b.keys()):
        ra, rb = a.get(key), b.get(key)
        if ra is None and rb is not None:
            changes.append(Change("added", rb.name, None, rb))
        elif rb is None and ra is not None:
            changes.append(Change("removed", ra.name, ra, None))
        elif ra is not None and rb is not None:
            triggers = trigger_change(ra, rb)
            fields = compare_records(ra, rb) + ((triggers,) if triggers is not None else ())
            if fields:
                changes.append(Change("changed", rb.name, ra, rb, fields))
    return changes


def closest(
    record: ServiceRecord, candidates: Sequence[ServiceRecord]
) -> tuple[ServiceRecord, tuple[FieldChange, ...]]:
    """The candidate (same service, e.g. from several golden images) with the fewest changes."""
    best = min(((c, compare_records(c, record)) for c in candidates), key=lambda pair: len(pair[1]))
    return best


__all__ = [
    "COMPARED_FIELDS",
    "DECODED",
    "Change",
    "FieldChange",
    "closest",
    "compare_records",
    "decoded_value",
    "diff_records",
    "index_by_name",
    "trigger_change",
]
