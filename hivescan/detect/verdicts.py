"""Which rules match a record, remembered by the record's fingerprint: stock services repeat.

Why: a triage worker evaluates every rule on every record of every hive, and most records
are the same few hundred stock services on every host. Whether a rule matches depends only
on what the rule can see: the values of the field paths its tree names (resolved exactly as
the engine resolves them, context fields included) and the catalog rows its lookups return,
which in turn depend only on what each lookup reads (declared in
``hivescan.catalog.lookups.LOOKUP_READS``). Two records with the same fingerprint get the
same set of matching rules.

The *fingerprint* is one serialisation (:func:`serialise`: pickle, at C speed) of those
inputs: the record attributes every path root and lookup reads, every context entry under a
name a rule or lookup reads (with its name, so a context field shadowing a record attribute
is seen as ``resolve`` sees it), and, for the paths ``resolve`` derives, their resolved
values (``parameters.<Name>``) or what they are computed from (the diagnostics' code, field
and message for ``diagnostic_notes``; for ``driver_file`` the record attributes declared in
``fields.DERIVED_READS``). Why a serialisation is sound: pickle
is decodable, so equal bytes mean equal values *with their types* (``True``, ``1`` and ``1.0``
pickle differently, as the rules tell them apart; a tuple is not a list; a string is its
exact code points). Only plain data and value objects are accepted: NamedTuples and
dataclasses with generated equality, serialised as their class and every field (an instance
carrying attributes beyond its fields is refused: what a rule reads of these objects is a
field or a property computed from the fields); anything else -- an object with identity
equality, a custom container -- makes the record uncacheable (:class:`Unfreezable`): it is
evaluated, never guessed. A class is written the first time by
module and name (pickle checks that is the very class), and from then on as the number this
cache gave it (the cache holds the class, so the number is never given to another; every
value is written after its classes are numbered, so its bytes do not depend on what came
before it). The memo is off (``fast`` mode), so the bytes describe values, not
which objects happen to be shared. Two equal values can still serialise differently (a dict
in another insertion order): that only costs a miss, never a wrong answer. A context object
every subject of a hive shares (the hive's ``WindowsVersion``) is serialised once and its
bytes remembered by identity -- only for deeply immutable objects (frozen, slotted, fields of
immutable values), held by the cache so the identity is never reused, bounded.

Only the verdict (which rules match) is cached. A finding is still built from the record
itself (``engine._explain``, the explanation, the origin), so key paths, times and hosts are
never shared between records.

The cache belongs to one engine (one rule set) and lives as long as it does: a worker keeps
its engine across hives. It is bounded (``limit`` entries, emptied when full) so a worker's
memory stays bounded whatever the number of hives.
"""

from __future__ import annotations

import dataclasses
import io
import pickle
from collections.abc import Iterator, Mapping
from functools import lru_cache
from operator import attrgetter
from typing import Any

from hivescan.catalog.lookups import CONTEXT_FIELDS_UNREAD, LOOKUP_READS
from hivescan.detect.fields import DERIVED_FIELDS, DERIVED_READS, RECORD_FIELDS, Subject, resolve
from hivescan.detect.rules import CatalogTest, FieldTest, Logic, Node, Rule
from hivescan.hive.tree import upcase

DEFAULT_LIMIT = 10_000  # entries of 1.3 KB on average, 2.3 KB at most (measured): <= ~25 MB per worker


class Unfreezable(Exception):
    """A value without value equality: the record is evaluated, not looked up."""


def _nodes(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, Logic):
        for child in node.children:
            yield from _nodes(child)


def rule_reads(rules: Mapping[str, Rule]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(field paths, catalog names) read by any node of any rule, sorted.

    Referenced rules (``rule:`` nodes) are part of the same set, so their reads are included."""
    paths: set[str] = set()
    catalogs: set[str] = set()
    for rule in rules.values():
        for node in _nodes(rule.match):
            if isinstance(node, FieldTest):
                paths.add(node.field)
            elif isinstance(node, CatalogTest):
                catalogs.add(node.catalog)
    return tuple(sorted(paths)), tuple(sorted(catalogs))


@lru_cache(maxsize=256)  # a pure function of the class, asked for every value object of every record
def _value_fields(kind: type) -> tuple[str, ...] | None:
    """The fields that make up a value object's state, or None when ``kind`` is no value type."""
    if issubclass(kind, tuple) and hasattr(kind, "_fields"):  # a NamedTuple: its items are its state
        return ()
    params = getattr(kind, "__dataclass_params__", None)
    if params is None or not params.eq or kind.__eq__ is object.__eq__:
        return None
    return tuple(f.name for f in dataclasses.fields(kind))


class _Pickler(pickle.Pickler):
    """pickle with a whitelist: called (from C) only for objects that are not plain data.

    ``classes`` numbers the value classes met so far (never renumbered): once the serialiser has
    put them in the memo, a class is written as a reference to its number instead of its module
    and name looked up again (a few microseconds each, several per record)."""

    def __init__(self, file: io.BytesIO, classes: dict[type, int]) -> None:
        super().__init__(file, pickle.HIGHEST_PROTOCOL)
        self.fast = True  # no memo of the values: shared objects and equal copies give the same bytes
        self.classes = classes
        self.new_class = False
        self.memo = {id(kind): (number, kind) for kind, number in classes.items()}

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, type):
            return NotImplemented  # a class: pickled by reference (module and qualified name, checked)
        kind: type = type(obj)
        names = _value_fields(kind)
        if names is None:
            raise Unfreezable(kind.__name__)
        if kind not in self.classes:
            self.classes[kind] = len(self.classes)
            self.new_class = True
        if not names:
            if getattr(obj, "__dict__", None):  # a NamedTuple subclass with state beyond its items
                raise Unfreezable(kind.__name__)
            return (kind, tuple(obj))
        extra = getattr(obj, "__dict__", None)
        if extra and not extra.keys() <= set(names):  # state beyond the fields: not a plain value
            raise Unfreezable(kind.__name__)
        return (kind, tuple([getattr(obj, name) for name in names]))


_FAILURES = (pickle.PicklingError, TypeError, ValueError, AttributeError, RecursionError)


def serialise(value: Any) -> bytes:
    """Bytes equal only for values every rule treats alike (types included); see the module
    docstring. Raises :class:`Unfreezable` for anything that is not plain data or a value object."""
    return _Serialiser()(value)


class _Serialiser:
    """One pickler and buffer reused call after call (making them costs as much as a small record)."""

    def __init__(self) -> None:
        self._classes: dict[type, int] = {}  # kept alive here: a class's id is never reused
        self._new()

    def _new(self) -> None:
        self._buffer = io.BytesIO()
        self._pickler = _Pickler(self._buffer, self._classes)

    def __call__(self, value: Any) -> bytes:
        pickler = self._pickler
        self._dump(value)
        if pickler.new_class:
            # a class met for the first time was written by module and name: number it, and
            # write the value again, so a value's bytes never depend on what came before it
            pickler.memo = {id(kind): (number, kind) for kind, number in self._classes.items()}
            pickler.new_class = False
            self._dump(value)
        return self._buffer.getvalue()

    def _dump(self, value: Any) -> None:
        buffer = self._buffer
        buffer.seek(0)
        buffer.truncate()
        try:
            self._pickler.dump(value)
        except BaseException as exc:
            self._new()  # a dump that failed half-way leaves nothing behind
            if isinstance(exc, Unfreezable):
                raise
            if isinstance(exc, _FAILURES):
                raise Unfreezable(type(value).__name__) from exc
            raise


_PLAIN = frozenset({str, int, bool, float, tuple, type(None)})  # context values that are never value objects
# values a plain tuple key may hold: equal only to the same value of the same type
_KEY_SCALARS = frozenset({str, int, type(None)})
Key = bytes | tuple[Any, ...]  # a fingerprint: serialised, or the plain tuple (see VerdictCache.fingerprint)
_IMMUTABLE_SCALARS = frozenset({str, int, float, bool, bytes, complex, type(None)})


def deeply_immutable(value: Any) -> bool:
    """Whether nothing reachable from ``value`` can change: scalars, tuples, frozensets, and
    frozen dataclasses / NamedTuples of those (a frozen dataclass holding a list is not)."""
    kind = type(value)
    if kind in _IMMUTABLE_SCALARS:
        return True
    if kind is tuple or kind is frozenset:
        return all(deeply_immutable(v) for v in value)
    if issubclass(kind, tuple) and hasattr(kind, "_fields"):
        return all(deeply_immutable(v) for v in value)
    params = getattr(kind, "__dataclass_params__", None)
    if params is None or not params.frozen or hasattr(value, "__dict__"):
        return False  # frozen, with slots only: a __dict__ could hold state beyond the fields
    return all(deeply_immutable(getattr(value, f.name)) for f in dataclasses.fields(kind))


class VerdictCache:
    """Fingerprint -> ids of the rules that match, for one rule set (see the module docstring)."""

    def __init__(self, rules: Mapping[str, Rule], limit: int = DEFAULT_LIMIT) -> None:
        paths, catalogs = rule_reads(rules)
        missing = [c for c in catalogs if c not in LOOKUP_READS]
        # a lookup that does not declare its reads cannot be fingerprinted: no caching at all
        self.enabled = not missing
        # A path's values are a function of its root's value (``resolve`` walks down from it), so
        # the fingerprint holds each root once -- the whole ``image_file`` mapping for its ten
        # paths -- which says at least as much. Roots ``resolve`` derives from a path's tail
        # (``values.<Name>``) or computes keep their paths, unless what they are computed from is
        # declared (``DERIVED_READS``): then those record attributes are read instead.
        attributes: set[str] = set()
        names: set[str] = set()  # every name ``resolve`` or a lookup may read from the context
        derived: set[str] = set()
        for path in paths:
            root = path.partition(".")[0]
            names.add(root)
            if root in DERIVED_READS:
                attributes.update(DERIVED_READS[root])
            elif root in DERIVED_FIELDS:
                derived.add(path)
            elif root in RECORD_FIELDS:
                attributes.add(root)
        for catalog in catalogs:
            for where, name in LOOKUP_READS.get(catalog, ()):
                (attributes if where == "record" else names).add(name)
        self.attributes = tuple(sorted(attributes))
        self.context_names = frozenset(names)
        # context objects' fields nothing reads (see CONTEXT_FIELDS_UNREAD), left out of the
        # fingerprint unless a rule names the object whole or the field itself: the version's
        # ``basis`` text names the host's service count, so keeping it made every host miss
        self._unread: dict[str, tuple[str, ...]] = {}
        for name, fields in CONTEXT_FIELDS_UNREAD.items():
            unread = tuple(f for f in fields if not any(p == name or p.startswith(f"{name}.{f}") for p in paths))
            if unread:
                self._unread[name] = unread
        self.derived = tuple(sorted(derived))
        self._read = attrgetter(*self.attributes) if self.attributes else None
        self._one_attribute = len(self.attributes) == 1  # attrgetter of one name gives the value itself
        # plain keys (see fingerprint): only when no derived path needs its inputs written
        self._plain = not self.derived
        # (path, root, what it is computed from: the record attribute holding the values, or
        # "diagnostics" for diagnostic_notes; None: ask resolve; ...
        holders = {"values": "raw_values", "parameters": "parameters_raw", "diagnostic_notes": "diagnostics"}
        # and the upper-case name of the raw value it decodes, for values.<Name> / parameters.<Name>)
        self._derived_specs = tuple(
            (path, root, holders.get(root), upcase(rest) if root != "diagnostic_notes" else "-")
            for path in self.derived
            for root, _, rest in [path.partition(".")]
        )
        self.limit = limit
        self.entries: dict[Key, tuple[str, ...]] = {}
        self.hits = 0
        self.misses = 0
        self._serialise = _Serialiser()
        # context objects every subject of a hive shares (the hive's WindowsVersion), serialised
        # once: (name, id) -> (the object, kept alive so its id is not reused; its bytes). Only deeply
        # immutable objects, so the bytes stay true; bounded like the verdicts.
        self._shared: dict[tuple[str, int], tuple[Any, bytes]] = {}

    def _shared_bytes(self, name: str, value: Any) -> bytes | None:
        """``value`` serialised, remembered by identity; None when it may change (not remembered).

        Fields nothing reads (``self._unread[name]``) are serialised at their defaults."""
        known = self._shared.get((name, id(value)))
        if known is not None and known[0] is value:
            return known[1]
        if not deeply_immutable(value):
            return None
        unread = self._unread.get(name)
        if unread and dataclasses.is_dataclass(value):
            defaults = {f.name: f.default for f in dataclasses.fields(value) if f.name in unread}
            if len(defaults) == len(unread) and all(d is not dataclasses.MISSING for d in defaults.values()):
                value_seen = dataclasses.replace(value, **defaults)  # type: ignore[type-var]
            else:
                value_seen = value
            blob = self._serialise(value_seen)
        else:
            blob = self._serialise(value)
        if len(self._shared) >= 64:
            self._shared.clear()
        self._shared[(name, id(value))] = (value, blob)
        return blob

    def _derived(self, subject: Subject) -> list[Any]:
        """What each derived path's value is computed from: its value as ``resolve`` gives it
        when the context names the root; for ``values.<Name>`` / ``parameters.<Name>`` the raw
        value ``resolve`` would decode (the first whose name is ``<Name>`` in any case, found in
        one pass over the key's values for all such paths; None when there is none), since
        the decoded value is a function of it; for ``diagnostic_notes`` the diagnostics' code,
        field and message, all the notes are made of."""
        record, context = subject.record, subject.context
        out: list[Any] = []
        by_name: dict[str, dict[str, Any]] = {}
        for path, root, holder, wanted in self._derived_specs:
            if root in context or holder is None or not wanted:
                out.append(resolve(subject, path))
            elif holder == "diagnostics":
                out.append([(d.code, d.field, d.message) for d in record.diagnostics])
            else:
                found = by_name.get(holder)
                if found is None:
                    found = by_name[holder] = {}
                    for value in getattr(record, holder):
                        found.setdefault(upcase(value.name), value)
                out.append(found.get(wanted))
        return out

    def fingerprint(self, subject: Subject) -> Key | None:
        """The record's fingerprint, or None when it cannot be made (then the record is evaluated).

        When nothing is derived and every value read is a ``str``, an ``int`` or None (exact
        types, so never a bool or a float: ``True == 1 == 1.0``), the fingerprint is the tuple
        of those values and the context entries themselves (a shared object's entry holding
        its bytes, as below), with no serialisation: tuples of such values are equal only when
        every value is the same value of the same type. Why: the rules reading the start
        type (``detect/parts.py``) read only such values, and a tuple costs a third of a
        pickle. A tuple never equals the ``bytes`` of a serialised fingerprint.

        The record attributes are read wherever they are also shadowed by the context: the
        context entry is in the fingerprint too, under its name, and lookups read the record's
        attribute itself. A shared value object of the context is in it as its own bytes, in a
        three-item entry (a plain entry has two items, so the two never meet)."""
        if not self.enabled:
            return None
        record, context = subject.record, subject.context
        names = self.context_names
        read = self._read
        try:
            values = read(record) if read is not None else ()
            # a tuple key when every value is a str, an int or None (exact types) and nothing
            # is derived: see plain_key
            plain = self._plain and (self._one_attribute or set(map(type, values)) <= _KEY_SCALARS)
            items: list[tuple[Any, ...]] = []
            for name, value in context.items():
                if name not in names:
                    continue
                kind = type(value)
                shared = kind not in _PLAIN and hasattr(kind, "__dataclass_params__")
                blob = self._shared_bytes(name, value) if shared else None
                if blob is None:
                    items.append((name, value))
                    plain = plain and kind in _KEY_SCALARS
                else:
                    items.append((name, None, blob))
            if plain and (not self._one_attribute or type(values) in _KEY_SCALARS):
                return (values, tuple(items))
            return self._serialise((values, items, self._derived(subject)))
        except (Unfreezable, AttributeError):
            return None

    def get(self, key: Key) -> tuple[str, ...] | None:
        found = self.entries.get(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, key: Key, matched: tuple[str, ...]) -> None:
        if len(self.entries) >= self.limit:
            self.entries.clear()  # bounded memory; the next hives refill it
        self.entries[key] = matched
