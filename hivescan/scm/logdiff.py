"""Which service records a transaction-log replay changed, and how.

The records of the replayed hive are compared with the records built from the primary file
alone (same control sets): a record whose key is not in the primary is ``new``; a record
whose SCM-visible content differs lists the changed fields (JSONL names) in
``log_replay_changes``, gets ``Origin.from_log`` (``changed_by_log_replay``) and an info
diagnostic naming the old values; a key present only in the primary is reported at hive
level (the logs delete it).

Why records and not pages: the kernel logs whole 4 KiB pages, and a page holds cells of
many keys. On the Windows 10 test hive the replay rewrites 2.6 MB in 315 page runs; the key
cells of 48 service keys lie in them, while 8 records actually change (one new service, five
key last-write times, two ``Parameters`` timestamps) -- measured, see the README section
"Dirty hives". Page membership would flag 40 unchanged services and still miss a change
whose cells are elsewhere (a subkey, a value's data cell). Comparing records flags exactly
those whose fields, raw values or subkey timestamps differ, and says what they were before.
The price is a second rebuild, paid only for dirty hives that were replayed, and only for
the records whose bytes the replay changed (:mod:`hivescan.scm.logmarks`; the full rebuild
compared here is its reference).

References: scm-spec.md §3 (the fields compared); hivescan/hive/logs/.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields, replace
from operator import attrgetter
from typing import Any

from hivescan.diagnostics import Diagnostic, info, warning
from hivescan.scm.record import DERIVED_FIELDS, ServiceRecord
from hivescan.timeutil import filetime_to_iso

#: JSONL fields that are provenance, labels derived from other fields, or duplicates of a
#: compared field in another form: never reported as changes.
IGNORED_FIELDS = frozenset(
    {
        "hive_path",
        "hive_sha256",
        "parser",
        "location",
        "changed_by_log_replay",
        "log_replay_changes",
        "diagnostics",
        "sources",
        "control_set_source",
        "last_write",
        "type_name",
        "start_name",
        "error_control_name",
        "subkey_last_writes",
    }
)


#: Record fields none of the compared JSONL fields depend on: provenance (``origin`` is
#: compared through its control set, key path and FILETIME), how the set was chosen, sources,
#: diagnostics, and the fields the database pass derives.
_NOT_COMPARED = frozenset({"origin", "control_set_source", "sources", "diagnostics"}) | DERIVED_FIELDS
_compared = attrgetter(*(f.name for f in fields(ServiceRecord) if f.name not in _NOT_COMPARED))


def _same(old: ServiceRecord, new: ServiceRecord) -> bool:
    """True when every field the compared JSONL fields are made from is equal, so that
    :func:`_comparable` would give equal mappings (False proves nothing: the caller compares
    those). Why: most records do not change, and this costs a fiftieth of two ``to_dict``."""
    a, b = old.origin, new.origin
    if a.control_set != b.control_set or a.key_path != b.key_path or a.last_write_filetime != b.last_write_filetime:
        return False
    return bool(_compared(old) == _compared(new))


def _comparable(record: ServiceRecord) -> dict[str, Any]:
    return {k: v for k, v in record.to_dict().items() if k not in IGNORED_FIELDS and k not in DERIVED_FIELDS}


_RENAMED = {"last_write_filetime": "last_write", "subkey_last_writes_filetime": "subkey_last_writes"}


def _field_name(key: str) -> str:
    return _RENAMED.get(key, key)


def _describe(key: str, before: Any, after: Any) -> str:
    name = _field_name(key)
    if key == "last_write_filetime":
        return f"last_write {filetime_to_iso(before)} -> {filetime_to_iso(after)}"
    if key == "subkey_last_writes_filetime":
        old, new = dict(before or {}), dict(after or {})
        return f"{name}: " + ", ".join(
            f"{sub} {filetime_to_iso(old.get(sub))} -> {filetime_to_iso(new.get(sub))}"
            for sub in dict.fromkeys([*old, *new])
            if old.get(sub) != new.get(sub)
        )
    if isinstance(before, Mapping) or isinstance(after, Mapping):
        old, new = dict(before or {}), dict(after or {})
        added = [k for k in new if k not in old]
        removed = [k for k in old if k not in new]
        changed = [k for k in new if k in old and new[k] != old[k]]
        parts = [f"{label} {', '.join(map(str, names))}" for label, names in
                 (("added", added), ("removed", removed), ("changed", changed)) if names]  # fmt: skip
        return f"{name}: " + "; ".join(parts)
    return f"{name} {before!r} -> {after!r}"


def mark_log_changes(
    before: Iterable[ServiceRecord], after: Iterable[ServiceRecord]
) -> tuple[list[ServiceRecord], list[Diagnostic]]:
    """``after`` (records of the replayed hive) with replay changes marked, and hive-level
    diagnostics for keys the replay removed. ``before``: records of the primary file alone."""
    index = index_records(before)
    seen: set[tuple[int | None, str]] = set()
    out: list[ServiceRecord] = []
    for record in after:
        key = record_key(record)
        seen.add(key)
        out.append(mark_record(index.get(key), record))
    return out, removed_warnings(record for key, record in index.items() if key not in seen)


def record_key(record: ServiceRecord) -> tuple[int | None, str]:
    """What a record is matched by across the primary file and the replayed hive."""
    return record.control_set, record.name.upper()


def index_records(records: Iterable[ServiceRecord]) -> dict[tuple[int | None, str], ServiceRecord]:
    """The first record of each :func:`record_key`, in the order given."""
    index: dict[tuple[int | None, str], ServiceRecord] = {}
    for record in records:
        index.setdefault(record_key(record), record)
    return index


def mark_record(old: ServiceRecord | None, record: ServiceRecord) -> ServiceRecord:
    """``record`` (replayed hive) marked against ``old`` (its primary-file record, None when
    the primary has no such key); the same object when nothing compared differs."""
    if old is None:
        changes: tuple[str, ...] = ("new",)
        message = "new: this service key exists only in the transaction logs, not in the primary file"
    elif _same(old, record):
        return record
    else:
        a, b = _comparable(old), _comparable(record)
        keys = [k for k in b if a.get(k) != b[k]] + [k for k in a if k not in b]
        if not keys:
            return record
        changes = tuple(_field_name(k) for k in keys)
        message = "changed by the log replay: " + "; ".join(_describe(k, a.get(k), b.get(k)) for k in keys)
    return replace(
        record,
        origin=replace(record.origin, from_log=True),
        log_replay_changes=changes,
        diagnostics=(*record.diagnostics, info("changed_by_log_replay", "", message)),
    )


def removed_warnings(removed: Iterable[ServiceRecord]) -> list[Diagnostic]:
    """Hive-level warnings for primary-file records the replay deleted."""
    return [
        warning(
            "log_replay_removed_service",
            record.name,
            f"{record.key_path} is in the primary file but not after the log replay: a logged change deleted it",
        )
        for record in removed
    ]
