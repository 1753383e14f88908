"""Build the service records the SCM would create from the subkeys of ``Services``.

One record per subkey per control set, never fewer: keys the SCM would skip come out as
``rejected`` with a reason, keys with ``DeleteFlag`` as ``pending_delete``.

References: scm-spec.md §2 (which keys become records), §3 (fields), §7.3 (ServiceDll),
§9.2-9.4 (value rules, names, anomalies).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hivescan.hive.model import KeyView, RawValue
from hivescan.hive.tree import Key
from hivescan.scm.keychecks import classify, flag_display_name_collisions, flag_duplicate_names
from hivescan.scm.keyfields import decode_key, subkey_last_writes, triggers_raw
from hivescan.scm.keywalk import Walked, claim_listings, read_walked, service_walker, walk_service_key
from hivescan.scm.memo import RecordMemo, WalkExtras, record_from_hit
from hivescan.scm.record import HiveRef, Origin, ServiceRecord, new_origin, record_from_fields

_new_tuple = tuple.__new__  # a NamedTuple without its Python-level __new__ (every field given)


def build_service_record(
    key: KeyView,
    *,
    hive: HiveRef,
    control_set: int | None,
    control_set_source: str | None = None,
    lenient: bool = False,
    status_override: str | None = None,
    memo: RecordMemo | None = None,
) -> ServiceRecord:
    """The record for one ``Services\\<name>`` key (spec §2.3, §3).

    ``key`` is a live key or one recovered from free/orphaned cells (hivescan.scm.deleted):
    both are decoded by the same rules. ``memo`` (live keys only): decoded fields of keys
    already seen with the very same content (see :class:`RecordMemo`); None decodes afresh.
    """
    if memo is not None and type(key) is Key and (walked := walk_service_key(key)) is not None:
        origin = new_origin(hive, control_set, key.path, key.last_write, key.parser)
        return _record_from_walk(key, walked, memo, lenient, status_override, origin, control_set_source)
    # every read the decoding makes, first and in its order: listing order matters (a key
    # cell is given out once per hive, see HiveReader._listed), and afterwards the keys'
    # diagnostics are complete, so they can be part of the memo's key
    subkeys = key.subkeys()
    values_list = key.values()
    special = _special_subkeys(subkeys)
    for upper in ("PARAMETERS", "SECURITY"):
        holder = special.get(upper)
        if holder is not None:
            holder.values()
    trigger_key = special.get("TRIGGERINFO")
    trigger_subs = trigger_key.subkeys() if trigger_key is not None else ()
    for sub in trigger_subs:
        sub.values()
    key_hex = key.security_hex()
    origin = new_origin(hive, control_set, key.path, key.last_write, key.parser)
    if memo is None or type(key) is not Key:
        fields = decode_key(key, subkeys, values_list, special, trigger_subs, key_hex, lenient, status_override)
        return record_from_fields(fields, origin=origin, control_set_source=control_set_source)
    content = _content(key, subkeys, values_list, special, trigger_subs, key_hex, lenient, status_override)
    cached = memo.get(content)
    if cached is None:
        fields = decode_key(key, subkeys, values_list, special, trigger_subs, key_hex, lenient, status_override)
        memo.put(content, fields)
        return record_from_fields(fields, origin=origin, control_set_source=control_set_source)
    # the same content decoded before: its fields, with this key's own containers (nothing
    # mutable is shared between records; the values are equal by the memo's key)
    own = dict(cached)
    own["sources"] = dict(cached["sources"])
    if values_list:
        own["raw_values"] = tuple(values_list)
    if subkeys:
        own["subkey_last_writes"] = subkey_last_writes(special, trigger_subs)
    params = special.get("PARAMETERS")
    if params is not None:
        own["parameters_raw"] = tuple(params.values())
    if "triggers_raw" in cached:
        own["triggers_raw"] = triggers_raw(trigger_subs)
    return record_from_fields(own, origin=origin, control_set_source=control_set_source)


def _record_from_walk(
    key: Key,
    walked: Walked,
    memo: RecordMemo,
    lenient: bool,
    status_override: str | None,
    origin: Origin,
    control_set_source: str | None,
) -> ServiceRecord:
    """The record of ``key`` from its compiled walk (hivescan.scm.keywalk), no Key objects
    made: from the memo when the same bytes were decoded before, else decoded from the
    walk's bytes and kept under them. The walked cells are claimed as listed."""
    key_hex = key.security_hex()
    walk_key = ("walk", walked.content, key_hex, lenient, status_override)
    known = memo.get_walked(walk_key)
    claim_listings(key, walked)
    if known is not None:
        return record_from_hit(known, walked, origin, control_set_source)
    view, subkeys, trigger_subs, special = read_walked(key, walked)
    fields = decode_key(view, subkeys, view.values(), special, trigger_subs, key_hex, lenient, status_override)
    record = record_from_fields(fields, origin=origin, control_set_source=control_set_source)
    # the fields dict itself is the entry's from here on (put_walked drops the per-key ones)
    memo.put_walked(walk_key, fields, len(walked.content), _walk_extras(fields, special, trigger_subs))
    return record


def _walk_extras(
    fields: Mapping[str, Any], special: Mapping[str, KeyView], trigger_subs: Sequence[KeyView]
) -> WalkExtras:
    triggers = fields.get("triggers_raw")
    if triggers is None:  # the common case: the names of subkey_last_writes alone (its key order)
        return _new_tuple(
            WalkExtras,
            (
                fields.get("raw_values"),
                fields.get("parameters_raw"),
                tuple([s.name for s in special.values()]),
                None,
                (),
            ),
        )
    # each decoded trigger's subkey in list order (a walked key's subkey names are not alike)
    places = {sub.name: place for place, sub in enumerate(trigger_subs)}
    return WalkExtras(
        fields.get("raw_values"),
        fields.get("parameters_raw"),
        tuple(subkey_last_writes(special, trigger_subs)),
        tuple([(t["subkey"], t["values"]) for t in triggers]),
        tuple([places[t.subkey] for t in fields["triggers"]]),
    )


def _special_subkeys(subkeys: Sequence[KeyView]) -> dict[str, KeyView]:
    """The first Parameters, Security and TriggerInfo subkeys (ci), in listing order."""
    special: dict[str, KeyView] = {}
    for sub in subkeys:
        upper = sub.name.upper()
        if upper in ("PARAMETERS", "SECURITY", "TRIGGERINFO") and upper not in special:
            special[upper] = sub
    return special


def _content(
    key: KeyView,
    subkeys: Sequence[KeyView],
    values: Sequence[RawValue],
    special: Mapping[str, KeyView],
    trigger_subs: Sequence[KeyView],
    key_hex: str | None,
    lenient: bool,
    status_override: str | None,
) -> tuple[Any, ...]:
    """Everything :func:`~hivescan.scm.keyfields.decode_key` reads, as one hashable tuple (the memo's key)."""
    parts: list[Any] = [
        key.name,
        key.name_raw,
        tuple(values),
        tuple(key.diagnostics),
        key_hex,
        lenient,
        status_override,
        tuple([s.name for s in subkeys]),
    ]
    for upper in ("PARAMETERS", "SECURITY"):
        holder = special.get(upper)
        parts.append(None if holder is None else (tuple(holder.values()), tuple(holder.diagnostics)))
    trigger_key = special.get("TRIGGERINFO")
    if trigger_key is None:
        parts.append(None)
    else:
        subs = tuple([(s.name, s.last_write, tuple(s.values()), tuple(s.diagnostics)) for s in trigger_subs])
        parts.append((tuple(trigger_key.diagnostics), subs))
    return tuple(parts)


def build_service_database(
    services_key: Key,
    *,
    hive: HiveRef,
    control_set: int | None,
    control_set_source: str | None = None,
    lenient: bool = False,
    memo: RecordMemo | None = None,
) -> list[ServiceRecord]:
    """Every subkey of ``Services`` as a record, in enumeration (hive) order.

    ``memo``: decoded keys of this process by content (:class:`RecordMemo`); None decodes
    every key afresh (the reference the memo is tested against).
    """
    records: list[ServiceRecord] = []
    append = records.append
    walk = service_walker(services_key)
    for key in services_key.subkeys():
        # what build_service_record does first, without its keyword call per key (~1 us)
        if memo is not None and (walked := walk(key)) is not None:
            origin = new_origin(hive, control_set, key.path, key.last_write, key.parser)
            append(_record_from_walk(key, walked, memo, lenient, None, origin, control_set_source))
            continue
        append(
            build_service_record(
                key,
                hive=hive,
                control_set=control_set,
                control_set_source=control_set_source,
                lenient=lenient,
                memo=memo,
            )
        )
    records = flag_duplicate_names(records)
    return flag_display_name_collisions(records)


__all__ = [
    "RecordMemo",
    "build_service_database",
    "build_service_record",
    "classify",
    "flag_display_name_collisions",
]
