"""The per-process memo of decoded service keys (issue 13): entries by a key's full content.

Two kinds of entry, both made by :mod:`hivescan.scm.services`: under the content tuple of a
key the Python reader read (``services._content``), and under the exact bytes of a key the
compiled walk read (:mod:`hivescan.scm.keywalk`), with what a hit rebuilds per key
(:class:`WalkExtras`). Provenance is never in an entry: each record gets its own.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from hivescan.hive.model import RawValue
from hivescan.scm.compiled import KEYWALK
from hivescan.scm.keywalk import Walked
from hivescan.scm.record import Origin, ServiceRecord, new_record
from hivescan.scm.triggers import Trigger

# no C compiler at install time (or a stale build): nothing is walked, no walk entry exists
_copy_slots = KEYWALK.copy_slots if KEYWALK is not None else None

_new_tuple = tuple.__new__  # a Trigger without its Python-level __new__ (all seven fields given)


class RecordMemo:
    """Decoded fields of service keys by their full content, per process and bounded.

    Stock services repeat across hosts byte for byte (about 95% of the records of the
    triage benchmark corpus), and decoding one costs about 20 us. The key is everything
    ``keyfields.decode_key`` reads: either the exact bytes the compiled walk read
    (:mod:`hivescan.scm.keywalk`, with the descriptor and the options), or, for a key the
    walk declined, ``services._content``: the key's name and raw name bytes,
    every value as read (name, type, bytes, reader, exactness, notes), the key's reading
    diagnostics, its subkey names, the values and diagnostics of its Parameters and
    Security subkeys, the names, times, values and diagnostics of its TriggerInfo
    subkeys, its security descriptor, and the options (lenient, status override). What the
    record's provenance holds (hive, control set, path, times, parser) is never part of
    the entry: it is set per record.

    Bounded twice, whatever the input: at most ``limit`` entries and ``max_bytes`` of value
    data held (a hostile hive can give every key 1 MiB values); a key holding more than
    ``max_entry_bytes`` is not kept at all. Oldest entries go first.
    """

    __slots__ = ("_entries", "held_bytes", "hits", "limit", "max_bytes", "max_entry_bytes", "misses")

    def __init__(self, limit: int = 4096, max_bytes: int = 16 << 20, max_entry_bytes: int = 64 << 10) -> None:
        self.limit = limit
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self._entries: dict[tuple[Any, ...], tuple[dict[str, Any], int]] = {}
        self.held_bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, content: tuple[Any, ...]) -> dict[str, Any] | None:
        found = self._entries.get(content)
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        return found[0]

    def put(self, content: tuple[Any, ...], fields: dict[str, Any]) -> None:
        if self.limit <= 0:
            return
        size = _content_bytes(content)
        if size > self.max_entry_bytes or size > self.max_bytes:
            return
        self._make_room(size)
        entries = self._entries
        kept = {name: value for name, value in fields.items() if name not in _PER_KEY}
        kept["sources"] = dict(fields["sources"])  # the record's own dict is never the memo's
        if "triggers_raw" in fields:
            kept["triggers_raw"] = ()  # a marker: rebuilt from the key on a hit
        entries[content] = (kept, size)
        self.held_bytes += size

    def get_walked(self, key: tuple[Any, ...]) -> WalkEntry | None:
        """The entry stored by :meth:`put_walked` under a compiled walk's bytes (see
        hivescan.scm.keywalk), with what a hit rebuilds per key."""
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        return found[0]  # type: ignore[return-value]

    def put_walked(self, key: tuple[Any, ...], fields: dict[str, Any], content_size: int, extras: WalkExtras) -> None:
        """Keep ``fields`` under a walk's bytes; sized as the bytes twice (names and data, and
        the decoded fields made from them), 200 bytes per diagnostic and 1 KiB for the record
        a hit is copied from (:func:`record_from_hit`).

        The caller gives ``fields`` up (its record is built already): the dict itself is kept,
        its per-key fields dropped and its ``sources`` replaced by a copy (the record's own
        dict is never the memo's), which spares copying its ~40 items per new key."""
        size = 2 * content_size + len(fields.get("key_security_hex") or "") + 200 * len(fields["diagnostics"]) + 1024
        if self.limit <= 0 or size > self.max_entry_bytes or size > self.max_bytes:
            return
        entries = self._entries
        if len(entries) >= self.limit or self.held_bytes + size > self.max_bytes:
            self._make_room(size)
        pop = fields.pop
        for name in _PER_KEY:
            pop(name, None)
        fields["sources"] = dict(fields["sources"])
        entries[key] = (WalkEntry(fields, extras), size)  # type: ignore[assignment]
        self.held_bytes += size

    def _make_room(self, size: int) -> None:
        entries = self._entries
        while entries and (len(entries) >= self.limit or self.held_bytes + size > self.max_bytes):
            try:  # threads of one process (a Dask worker with several) may evict at the same time
                dropped = entries.pop(next(iter(entries)))
            except (KeyError, RuntimeError, StopIteration):
                continue
            self.held_bytes -= dropped[1]

    def clear(self) -> None:
        self._entries.clear()
        self.held_bytes = 0


def _content_bytes(content: tuple[Any, ...]) -> int:
    """About what an entry holds: value bytes and names (64 bytes more per value or subkey
    name), the descriptor's hex, 200 bytes per diagnostic.

    The decoded fields are made from these bytes and are no larger than a few times them."""
    values: list[RawValue] = list(content[2])
    for holder in content[8:10]:
        if holder is not None:
            values += holder[0]
    if content[10] is not None:
        for sub in content[10][1]:
            values += sub[2]
    names = 2 * sum(map(len, content[7])) + 64 * len(content[7])
    held = sum([len(v[2]) + 2 * len(v[0]) for v in values]) + 64 * len(values)  # RawValue: name, type, data
    return held + names + 2 * len(content[0]) + len(content[4] or "") + 200 * len(content[3])


class WalkExtras(NamedTuple):
    """What a hit under a walk's bytes rebuilds a record's per-key fields from: the immutable
    value tuples of the first record (equal bytes, equal values: sharing them is sound), the
    names of ``subkey_last_writes`` in the order of the walk's times, per trigger its subkey
    name and values (its time is the key's own), and per decoded trigger (``triggers``, in
    number order) the place of its subkey in list order, whose time it takes.

    Why trigger times are not in the memo's key: Windows writes a service's ``TriggerInfo``
    subkeys when it installs the service, so their times differ from host to host while the
    triggers are the same; a key with triggers would never be answered from another host.
    The decoded triggers depend on a time only by carrying it (hivescan.scm.triggers)."""

    raw_values: tuple[RawValue, ...] | None
    parameters_raw: tuple[RawValue, ...] | None
    time_names: tuple[str, ...]
    triggers: tuple[tuple[str, tuple[RawValue, ...]], ...] | None
    trigger_order: tuple[int, ...] = ()


class WalkEntry:
    """One entry under a walk's bytes: the decoded fields but the per-key ones, what a hit
    rebuilds them from, and (made on the first hit) the record each hit is copied from."""

    __slots__ = ("extras", "fields", "template")

    def __init__(self, fields: dict[str, Any], extras: WalkExtras) -> None:
        self.fields = fields
        self.extras = extras
        self.template: ServiceRecord | None = None


def record_from_hit(entry: WalkEntry, walked: Walked, origin: Origin, control_set_source: str | None) -> ServiceRecord:
    """The record of a key whose walked bytes ``entry`` holds, with its own provenance,
    containers and times: what ``new_record(origin=..., **fields_from_hit(...))`` builds.

    Why a copy: building the frozen record from ~40 fields costs ~5 us of Python stores and
    copying the fields dict ~2 us, per hit, i.e. 4-5 ms of a 680-service hive whose keys are
    nearly all known. The entry's first hit builds a record (the *template*) from its
    fields; every hit is a copy of the template's slots (compiled: ``copy_slots``) whose
    per-key fields are then replaced: provenance, ``sources``, the times, the triggers (their
    times), and every mutable container (``sources``, ``subkey_last_writes``,
    ``event_facts``) made anew, so records share only immutable values, as before. The
    template itself is never handed out (the database pass completes records in place).
    """
    if _copy_slots is None:  # without the extension nothing is walked; kept for completeness
        return new_record(origin=origin, control_set_source=control_set_source, **fields_from_hit(entry, walked))
    template = entry.template
    extras = entry.extras
    if template is None:
        fields = dict(entry.fields)
        if extras.raw_values is not None:
            fields["raw_values"] = extras.raw_values  # immutable tuples: shared by every copy
        if extras.parameters_raw is not None:
            fields["parameters_raw"] = extras.parameters_raw
        # no provenance in the memo: every copy gets its own (and no hive is kept alive by it)
        template = entry.template = new_record(origin=None, control_set_source=None, **fields)
    record: ServiceRecord = _copy_slots(template)
    put = object.__setattr__  # a fresh record, not handed out yet
    put(record, "origin", origin)
    put(record, "control_set_source", control_set_source)
    put(record, "sources", dict(template.sources))
    for name, factory in _FRESH_DEFAULTS:  # what new_record makes anew when not given (event_facts)
        if name not in entry.fields:
            put(record, name, factory())
    times = walked.times
    put(record, "subkey_last_writes", dict(zip(extras.time_names, times, strict=True)) if walked.subkeys else {})
    if extras.triggers is not None:
        times = times[len(times) - len(extras.triggers) :]
        put(
            record,
            "triggers_raw",
            tuple(
                [
                    {"subkey": name, "last_write_filetime": time, "values": values}
                    for (name, values), time in zip(extras.triggers, times, strict=True)
                ]
            ),
        )
        if extras.trigger_order:
            put(
                record,
                "triggers",
                tuple(
                    [
                        _new_tuple(Trigger, (t[0], t[1], times[place], *t[3:]))
                        for t, place in zip(template.triggers, extras.trigger_order, strict=True)
                    ]
                ),
            )
    return record


def fields_from_hit(entry: WalkEntry, walked: Walked) -> dict[str, Any]:
    """A record's fields from a walk-keyed entry, with this key's own containers and times
    (the reference :func:`record_from_hit` is tested against)."""
    cached, extras = entry.fields, entry.extras
    own = dict(cached)
    own["sources"] = dict(cached["sources"])
    if extras.raw_values is not None:
        own["raw_values"] = extras.raw_values
    if walked.subkeys:
        own["subkey_last_writes"] = dict(zip(extras.time_names, walked.times, strict=True))
    if extras.parameters_raw is not None:
        own["parameters_raw"] = extras.parameters_raw
    if extras.triggers is not None:
        times = walked.times[len(walked.times) - len(extras.triggers) :]
        own["triggers_raw"] = tuple(
            [
                {"subkey": name, "last_write_filetime": time, "values": values}
                for (name, values), time in zip(extras.triggers, times, strict=True)
            ]
        )
        if extras.trigger_order:
            own["triggers"] = tuple(
                [
                    _new_tuple(Trigger, (t[0], t[1], times[place], *t[3:]))  # this key's time, the rest decoded
                    for t, place in zip(cached["triggers"], extras.trigger_order, strict=True)
                ]
            )
    return own


# the record's fields a new record gets from a default factory (a new container each), but
# those record_from_hit sets itself: a copy made without one must get its own (a field given
# by the entry's fields is shared, as new_record(**fields) shares it)
_FRESH_DEFAULTS = tuple(
    (f.name, f.default_factory)
    for f in dataclasses.fields(ServiceRecord)
    if f.default_factory is not dataclasses.MISSING and f.name not in ("sources", "subkey_last_writes")
)

# fields made from the key itself on every hit (its own containers), never kept in the memo
_PER_KEY = frozenset({"raw_values", "subkey_last_writes", "parameters_raw", "triggers_raw"})
