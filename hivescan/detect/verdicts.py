"""Which rules match a record, remembered by the record's fingerprint: stock services repeat.

Why: a triage worker evaluates every rule on every record of every hive, and most records
are the same few hundred stock services on every host. Whether a rule matches depends only
on what the rule can see: the values of the field paths its tree names (resolved exactly as
the engine resolves them, context fields included) and the catalog rows its lookups return,
which in turn depend only on what each lookup reads (declared in
``hivescan.catalog.lookups.LOOKUP_READS``). The *fingerprint* of a record is those inputs,
frozen with their types (``True`` and ``1`` differ, as they do to the rules); two records
with the same fingerprint get the same set of matching rules.

Only the verdict (which rules match) is cached. A finding is still built from the record
itself (``engine._explain``, the explanation, the origin), so key paths, times and hosts are
never shared between records. A value that cannot be frozen (an object without value
equality) makes the record uncacheable: it is evaluated, never guessed.

The cache belongs to one engine (one rule set) and lives as long as it does: a worker keeps
its engine across hives. It is bounded (``limit`` entries, emptied when full) so a worker's
memory stays bounded whatever the number of hives.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from hivescan.catalog.lookups import LOOKUP_READS
from hivescan.detect.fields import DERIVED_FIELDS, Subject, resolve
from hivescan.detect.rules import CatalogTest, FieldTest, Logic, Node, Rule

DEFAULT_LIMIT = 10_000  # entries of about 6 KB (measured): <= ~64 MB per worker; ~700 per Windows build


_SCALARS = frozenset({str, int, float, bool, bytes, type(None)})


def _first(item: tuple[Any, Any]) -> Any:
    return item[0]


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


def freeze(value: Any) -> Any:
    """A hashable stand-in equal only for values every rule treats alike (type included)."""
    kind = type(value)
    if kind in _SCALARS:
        return (kind, value)
    if value is None or isinstance(value, str | bytes | int | float):
        return (kind, value)
    if kind is dict and all(type(k) is str for k in value):  # the common case: sorted by key alone
        return (kind, tuple([(k, freeze(v)) for k, v in sorted(value.items(), key=_first)]))
    if isinstance(value, Mapping):
        return (kind, "repr", tuple(sorted((repr(k), freeze(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return (type(value), tuple(freeze(v) for v in value))
    if isinstance(value, set | frozenset):
        return (type(value), frozenset(freeze(v) for v in value))
    if type(value).__eq__ is object.__eq__:
        raise Unfreezable(type(value).__name__)  # identity equality: never shared
    try:
        hash(value)
    except TypeError as exc:
        raise Unfreezable(type(value).__name__) from exc
    return (type(value), value)


class VerdictCache:
    """Fingerprint -> ids of the rules that match, for one rule set (see the module docstring)."""

    def __init__(self, rules: Mapping[str, Rule], limit: int = DEFAULT_LIMIT) -> None:
        paths, catalogs = rule_reads(rules)
        missing = [c for c in catalogs if c not in LOOKUP_READS]
        # a lookup that does not declare its reads cannot be fingerprinted: no caching at all
        self.enabled = not missing
        # A path's values are a function of its root's value (``resolve`` walks down from it), so
        # the fingerprint holds each root once -- the whole ``image_file`` mapping for its ten
        # paths -- which is cheaper and says at least as much. Roots ``resolve`` derives from a
        # path's tail (``values.<Name>``) or computes keep their paths.
        roots: set[str] = set()
        derived: set[str] = set()
        for path in paths:
            root = path.partition(".")[0]
            (derived if root in DERIVED_FIELDS else roots).add(path if root in DERIVED_FIELDS else root)
        context_reads: set[str] = set()
        for catalog in catalogs:
            for where, name in LOOKUP_READS.get(catalog, ()):
                (roots if where == "record" else context_reads).add(name)
        self.roots = tuple(sorted(roots))
        self.derived = tuple(sorted(derived))
        self.context_reads = tuple(sorted(context_reads))
        self.limit = limit
        self.entries: dict[Any, tuple[str, ...]] = {}
        self.hits = 0
        self.misses = 0

    def fingerprint(self, subject: Subject) -> Any:
        """The record's fingerprint, or None when it cannot be made.

        A root is read where ``resolve`` reads it: the context first (context fields shadow
        record attributes), else the record. A lookup reads the record's attribute itself, so
        a root both name is in the fingerprint from both places when they differ."""
        if not self.enabled:
            return None
        record, context = subject.record, subject.context
        parts: list[Any] = []
        try:
            for root in self.roots:
                if root in context:
                    parts.append(("context", freeze(context[root]), freeze(getattr(record, root, None))))
                else:
                    parts.append(freeze(getattr(record, root, None)))
            for path in self.derived:
                parts.append(freeze(resolve(subject, path)))
            for name in self.context_reads:
                parts.append((name in context, freeze(context.get(name))))
        except Unfreezable:
            return None
        return tuple(parts)

    def get(self, key: Any) -> tuple[str, ...] | None:
        found = self.entries.get(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, key: Any, matched: tuple[str, ...]) -> None:
        if len(self.entries) >= self.limit:
            self.entries.clear()  # bounded memory; the next hives refill it
        self.entries[key] = matched
