"""What a rule can test: the fields of a service record, a few derived views, and context.

A rule names fields by path. ``image_path`` is the record attribute; ``values.ImagePath`` and
``parameters.ServiceDll`` read one raw value of the key or of its ``Parameters`` subkey
(decoded the SCM's way); a dotted path walks into mappings and lists (``failure_actions.
actions.action`` yields every action's type). Context fields are computed by the scan over the
whole database (control sets, baseline) and passed in next to the record.

A field a record does not have is *no value*, never an error: rules written for fields other

References: style.md R8; detections.md §1.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from hivescan.catalog.lookups import DRIVER_FILE_READS, driver_file_name
from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_SZ
from hivescan.hive.tree import upcase
from hivescan.scm.decode import decode_dword, decode_multi_sz, decode_string
from hivescan.scm.record import ServiceRecord

# the record's dataclass fields and its derived properties (type_name, security_sddl,
# security_access, key_writable_by, ...): everything a rule may name on the record itself
RECORD_FIELDS = frozenset(f.name for f in dataclasses.fields(ServiceRecord)) | frozenset(
    name for name, value in vars(ServiceRecord).items() if isinstance(value, property)
)

DERIVED_FIELDS: Mapping[str, str] = {
    "values": "values.<Name>: one value of the service key, decoded (string, DWORD, multi-string; else hex)",
    "parameters": "parameters.<Name>: one value of the Parameters subkey, decoded",
    "value_names": "names of the service key's values",
    "parameter_names": "names of the Parameters subkey's values",
    "diagnostic_notes": "'<code> <field>: <message>' for each diagnostic of the record",
    "driver_file": "for drivers: the file name loaded (ImagePath's last component, or <name>.sys)",
}

# derived roots whose value is a function of these record attributes alone (read with getattr;
# the verdict cache fingerprints the attributes instead of computing the value)
DERIVED_READS: Mapping[str, tuple[str, ...]] = {"driver_file": DRIVER_FILE_READS}

CONTEXT_FIELDS: Mapping[str, str] = {
    "control_sets_scanned": "numbers of the control sets the scan read",
    "absent_from_control_sets": "control sets (of those scanned) without a service of this name",
    "control_set_changed_fields": "fields whose raw value differs from the same service in another set",
    "control_set_changes": "'<field>: ControlSetNNN <before> -> <after>' for each such difference",
    "baseline_status": "absent | differs | same (only with a baseline)",
    "baseline_changed_fields": "fields that differ from the closest baseline record",
    "baseline_changes": "'<field>: baseline <before> -> <after>' for each such difference",
    "key_security_shared_by": "how many service keys of the same control set have exactly this key's security "
    "descriptor (an OS-wide default is shared by most; a planted ACL by few)",
    "windows": "the Windows the hive was found to be: windows.nt_version ('10.0', '6.1', '5.1'), windows.build, "
    "windows.product, windows.release, windows.confidence (high | medium | low | none); absent when not detected",
    "user_writable_keys_in_set": "how many service keys of the same control set any ordinary user may write to "
    "(key_writable_by_low_privilege): 0-3 on modern Windows, most keys on NT 4",
}


def known_root(path: str) -> bool:
    """Whether a field path starts at something a rule may name (for the lint)."""
    root = path.split(".", 1)[0]
    return root in RECORD_FIELDS or root in DERIVED_FIELDS or root in CONTEXT_FIELDS


@dataclass(frozen=True, slots=True)
class Subject:
    """A record and the context the scan computed for it: what rules are evaluated on."""

    record: ServiceRecord
    context: Mapping[str, Any] = field(default_factory=dict)


def decode_raw(value: RawValue) -> Any:
    """One raw value, read as its type says (strings effective, without hidden tails)."""
    if value.type in (REG_SZ, REG_EXPAND_SZ):
        return decode_string(value.name, value)[0].value
    if value.type == REG_MULTI_SZ:
        return decode_multi_sz(value.name, value)[0].items
    if value.type == REG_DWORD:
        return decode_dword(value.name, value)[0]
    return value.data.hex()


def _find_value(values: Sequence[RawValue], name: str) -> RawValue | None:
    wanted = upcase(name)
    for value in values:
        if upcase(value.name) == wanted:
            return value
    return None


def _is_sequence(value: Any) -> bool:
    """Lists and plain tuples fan out; a NamedTuple (e.g. FailureActions) is one object."""
    return isinstance(value, list | tuple | set | frozenset) and not hasattr(value, "_fields")


def _walk(value: Any, parts: Sequence[str]) -> list[Any]:
    """Follow a dotted path through mappings, attributes and lists (lists fan out)."""
    current = [value]
    for part in parts:
        nxt: list[Any] = []
        for item in current:
            for element in item if _is_sequence(item) else (item,):
                if isinstance(element, Mapping):
                    got = element.get(part)
                else:
                    got = getattr(element, part, None)
                if got is not None:
                    nxt.append(got)
        current = nxt
    return current


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, tuple | list | Mapping | set | frozenset) and len(value) == 0)


def resolve(subject: Subject, path: str) -> tuple[Any, ...] | None:
    """The field's value(s) as a tuple (fanned out over lists), or None for *no value*."""
    root, _, rest = path.partition(".")
    record = subject.record
    if root in subject.context:
        base: Any = subject.context[root]
    elif root in ("values", "parameters"):
        holder = record.raw_values if root == "values" else record.parameters_raw
        found = _find_value(holder, rest) if rest else None
        base = decode_raw(found) if found is not None else None
        rest = ""
    elif root == "value_names":
        base = tuple(v.name for v in record.raw_values)
    elif root == "parameter_names":
        base = tuple(v.name for v in record.parameters_raw)
    elif root == "diagnostic_notes":
        base = tuple(f"{d.code} {d.field}: {d.message}".replace("  ", " ") for d in record.diagnostics)
    elif root == "driver_file":
        base = driver_file_name(record)
    else:
        base = getattr(record, root, None)
    values = _walk(base, rest.split(".")) if rest else [base]
    flat: list[Any] = []
    for value in values:
        if _is_sequence(value):
            flat.extend(v for v in value if v is not None)
        elif not _empty(value):
            flat.append(value)
    return tuple(flat) if flat else None


Resolver = Callable[[Subject], "tuple[Any, ...] | None"]
ONE_VALUE = frozenset({str, int, bool, float})  # never fanned out, never empty: (value,)


@lru_cache(maxsize=1024)  # a pure function of the path; rules name a few dozen
def path_resolver(path: str) -> Resolver:
    """``resolve`` for one path, with the common cases short: a record attribute (not derived,
    not in the context), followed through plain dicts for a dotted path (``image_file.
    signature.status``), that ends at one string or number is ``(value,)``, and at None is no
    value; anything else (a list to fan out, an object, a context field) goes through
    :func:`resolve` itself. A part starting with ``_`` always does (``getattr`` would find
    attributes of None and of strings there)."""
    root, _, rest = path.partition(".")
    parts = tuple(rest.split(".")) if rest else ()
    if root in DERIVED_FIELDS or any(not p or p.startswith("_") for p in parts):
        return lambda subject: resolve(subject, path)

    def attribute(subject: Subject) -> tuple[Any, ...] | None:
        if root in subject.context:
            return resolve(subject, path)
        value = getattr(subject.record, root, None)
        for part in parts:
            if value is None:
                return None
            if type(value) is not dict:
                return resolve(subject, path)
            value = value.get(part)
        if value is None:
            return None
        if type(value) in ONE_VALUE:
            return (value,)
        return resolve(subject, path)

    return attribute
