"""Which configuration fields differ between two records of the same service.

Used to tell a deleted copy of a key from its live twin (:mod:`hivescan.scm.deleted`) and
to follow a service across snapshots (:mod:`hivescan.history`). Every record field is
compared except provenance, decoding notes and recovery facts, so fields added to
:class:`ServiceRecord` later are compared without touching this module. Values the
decoded fields do not cover are compared byte-exact as ``value:<name>`` and
``Parameters:<name>``.

One change, one row: the FailureActions blob is compared as ``failure_actions_hex`` (raw)
and the TriggerInfo subkeys byte-exact as ``triggers`` (their raw values); each change
carries the decoded form beside the raw one (``before_decoded``/``after_decoded``: the
record's ``failure_actions`` and ``triggers``), never a second row for the same evidence.

References: scm-spec.md §3 (fields); style.md R12 (compare raw fields, upper-cased names).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from hivescan.hive.model import RawValue
from hivescan.hive.tree import upcase
from hivescan.scm.record import DERIVED_FIELDS, ServiceRecord

#: Never compared: where and how a record was read, not what the service is.
NOT_COMPARED = frozenset(
    {
        "name",
        "origin",
        "service_events",  # joined from event logs, not part of the key
        "event_facts",
        "control_set_source",
        "sources",
        "diagnostics",
        "raw_values",
        "parameters_raw",
        "triggers_raw",
        "subkey_last_writes",
        "recovery_confidence",
        "recovery_reasons",
        "recovery_cell_offset",
        "recovered_status",
        "differs_from_live",
        # decoded forms, each compared through its raw evidence (one change per fact, the
        # decoded form carried beside it): failure_actions_hex (FailureCommand, RebootMessage
        # and the non-crash flag are fields of their own) and the TriggerInfo subkeys' values
        "failure_actions",
        "triggers",
    }
)
COMPARED_FIELDS = tuple(
    f.name for f in fields(ServiceRecord) if f.name not in NOT_COMPARED and f.name not in DERIVED_FIELDS
)
# values whose meaning is already compared through a decoded field
_DECODED_VALUES = frozenset(
    {
        "TYPE",
        "START",
        "ERRORCONTROL",
        "TAG",
        "IMAGEPATH",
        "OBJECTNAME",
        "DISPLAYNAME",
        "DESCRIPTION",
        "GROUP",
        "DEPENDONSERVICE",
        "DEPENDONGROUP",
        "SERVICEDLL",
        "FAILURECOMMAND",
        "REBOOTMESSAGE",
        "FAILUREACTIONS",
        "FAILUREACTIONSONNONCRASHFAILURES",
        "DELAYEDAUTOSTART",
        "SERVICESIDTYPE",
        "REQUIREDPRIVILEGES",
        "PRESHUTDOWNTIMEOUT",
        "LAUNCHPROTECTED",
        "USERSERVICEFLAGS",
        "SVCHOSTSPLITDISABLE",
        "DELETEFLAG",
    }
)
_DECODED_PARAMETERS = frozenset({"SERVICEDLL", "SERVICEMAIN", "SERVICEDLLUNLOADONSTOP", "SERVICEMANIFEST"})


#: fields whose change carries a decoded form, and where a record holds it
WITH_DECODED: Mapping[str, str] = {"failure_actions_hex": "failure_actions", "triggers": "triggers"}


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field of a service, before and after (None: absent); for the fields of
    :data:`WITH_DECODED`, the decoded form of each side too (what the raw value means)."""

    field: str
    before: Any
    after: Any
    before_decoded: Any = None
    after_decoded: Any = None

    def to_dict(self) -> dict[str, Any]:
        out = {"field": self.field, "before": _plain(self.before), "after": _plain(self.after)}
        if self.field in WITH_DECODED:
            out["before_decoded"] = _plain(self.before_decoded)
            out["after_decoded"] = _plain(self.after_decoded)
        return out


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):  # decoded values (FailureActions...) keep their field names
        return value.to_dict()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _value_map(values: Iterable[RawValue], skip: frozenset[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for value in values:
        upper = upcase(value.name)
        if upper not in skip and upper not in out:
            out[upper] = (value.name, {"type": value.type_name, "hex": value.data.hex()})
    return out


def _triggers(record: ServiceRecord) -> tuple[tuple[str, tuple[tuple[str, int, str], ...]], ...]:
    """What is compared: each TriggerInfo subkey's values, byte-exact and in order."""
    return tuple(
        (str(t.get("subkey", "")), tuple((v.name, v.type, v.data.hex()) for v in t.get("values", ())))
        for t in record.triggers_raw
    )


def _triggers_shown(record: ServiceRecord) -> list[dict[str, Any]]:
    """The raw side of a ``triggers`` change: each subkey's values as ``TYPE:hex`` (as diff
    writes them); a value name seen twice in one damaged subkey keeps every copy (``#2``)."""
    out = []
    for t in record.triggers_raw:
        values: dict[str, str] = {}
        for v in t.get("values", ()):
            name, n = v.name, 1
            while name in values:
                n += 1
                name = f"{v.name}#{n}"
            values[name] = f"{v.type_name}:{v.data.hex()}"
        out.append({"subkey": str(t.get("subkey", "")), "values": values})
    return out


def _with_decoded(name: str, before: ServiceRecord, after: ServiceRecord) -> FieldChange:
    field = WITH_DECODED.get(name)
    a, b = getattr(before, name), getattr(after, name)
    if field is None:
        return FieldChange(name, a, b)
    return FieldChange(name, a, b, getattr(before, field), getattr(after, field))


def changed_fields(before: ServiceRecord, after: ServiceRecord, *, ignore: Sequence[str] = ()) -> list[FieldChange]:
    """Fields whose values differ, in record order, then other values by name."""
    skip = set(ignore)
    changes = [
        _with_decoded(name, before, after)
        for name in COMPARED_FIELDS
        if name not in skip and getattr(before, name) != getattr(after, name)
    ]
    if "triggers" not in skip and _triggers(before) != _triggers(after):
        changes.append(
            FieldChange("triggers", _triggers_shown(before), _triggers_shown(after), before.triggers, after.triggers)
        )
    for prefix, attr, decoded in (
        ("value", "raw_values", _DECODED_VALUES),
        ("Parameters", "parameters_raw", _DECODED_PARAMETERS),
    ):
        old = _value_map(getattr(before, attr), decoded)
        new = _value_map(getattr(after, attr), decoded)
        for upper in sorted(old.keys() | new.keys()):
            a, b = old.get(upper), new.get(upper)
            if (a and a[1]) != (b and b[1]):
                label = b[0] if b is not None else a[0] if a is not None else upper
                changes.append(FieldChange(f"{prefix}:{label}", a[1] if a else None, b[1] if b else None))
    return changes


__all__ = ["COMPARED_FIELDS", "WITH_DECODED", "FieldChange", "changed_fields"]
