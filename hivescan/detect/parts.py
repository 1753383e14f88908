"""The rule set split in parts for the verdict cache: rules that read an input which differs
from host to host for the same stock service remembered apart from all the others.

Why: with one fingerprint for all rules, a stock service whose record differs from the hosts
before it in any one input is a miss, and all 75 rules are evaluated again (about 0.11 ms).
Three inputs differ most for the same service, each read by a few rules only:

* the start type, what administrators and fleet images change most (services disabled or set
  to manual): 2 rules. On the v3 benchmark corpus it was 390 of the 492 misses of a warm worker
  over 5 hosts (the start type the only difference).
* the hive's Windows (``context["windows"]``, its build and update revision differ between
  update levels of one fleet): read by 5 rules, through the expected-path catalogs and
  ``windows.nt_version``.
* the record's diagnostics (``diagnostic_notes``): a service depending on one that a host lacks
  gets a ``dependency_dangling`` note there only; 1 rule reads the notes. On the held-out
  corpus (seed 1729) these two were 1,067 of the 1,543 misses over 7 hosts, each after another.

Split, the large part's fingerprint holds none of them, so such a record is a hit there, and
only the small part of the rules reading the input that changed is evaluated again or found in
its own cache.

Every part's fingerprint costs, though (about 1-6 us a record each), and a worker that has
seen many hosts has met most records exactly as they are, start type and all (on the v3.1
corpus, 93-96% of a host's records after five hosts). So one fingerprint of everything every
rule reads keys the whole verdict too (:attr:`SplitVerdicts.whole`), asked first: a record seen
before just as it is costs that one fingerprint, and only a record that differs is asked of
the parts (and its joined verdict remembered whole). Memory: each cache is bounded by its
``limit`` (``verdicts.DEFAULT_LIMIT`` entries, emptied when full); the whole set's and the large
part's keys are pickles (about 23 MB each at most), the small parts' mostly plain tuples.

Sound because the whole verdict is remembered under a fingerprint of everything the rules can
read, and each part's under a fingerprint of everything *its* rules can read
(:class:`~hivescan.detect.verdicts.VerdictCache` over the part and the rules its rules
reference), and the verdicts are joined in the rules' own order: the answer is
the one rule set's answer, whatever part each rule is in. A rule goes to the part of the first
of :data:`VOLATILE_GROUPS` that anything it reads is in -- its field paths' roots, what a derived
path is computed from (``fields.DERIVED_READS``), what its catalog lookups read
(``lookups.LOOKUP_READS``), the same for every rule it references -- and to the large part when
it reads none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hivescan.catalog.lookups import LOOKUP_READS
from hivescan.detect.codegen import generate_rule_set
from hivescan.detect.compiled import Test
from hivescan.detect.fields import DERIVED_READS, Subject
from hivescan.detect.rules import CatalogTest, FieldTest, Logic, Node, Rule, RuleRef
from hivescan.detect.verdicts import DEFAULT_LIMIT, VerdictCache

if TYPE_CHECKING:
    from hivescan.detect.engine import _State

# what varies between hosts for the same stock service, each group remembered in a part of its
# own (see the module docstring): record attributes, context names, derived roots
VOLATILE_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"start"}),
    frozenset({"windows"}),
    frozenset({"diagnostic_notes"}),
)
VOLATILE = frozenset().union(*VOLATILE_GROUPS)


def _nodes(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, Logic):
        for child in node.children:
            yield from _nodes(child)


def names_read(rule_id: str, rules: Mapping[str, Rule]) -> frozenset[str]:
    """Every record attribute or context name the rule can read, through derived paths,
    catalog lookups and referenced rules (see the module docstring)."""
    out: set[str] = set()
    seen: set[str] = set()
    pending = [rule_id]
    while pending:
        current = pending.pop()
        if current in seen or current not in rules:
            continue
        seen.add(current)
        for node in _nodes(rules[current].match):
            if isinstance(node, FieldTest):
                root = node.field.partition(".")[0]
                out.add(root)
                out.update(DERIVED_READS.get(root, ()))
            elif isinstance(node, CatalogTest):
                out.update(name for _, name in LOOKUP_READS.get(node.catalog, ()))
            elif isinstance(node, RuleRef):
                pending.append(node.rule)
    return frozenset(out)


def _closure(ids: list[str], rules: Mapping[str, Rule]) -> dict[str, Rule]:
    """The rules named and every rule they reference (what their verdicts can depend on)."""
    out: dict[str, Rule] = {}
    pending = list(ids)
    while pending:
        current = pending.pop()
        if current in out or current not in rules:
            continue
        out[current] = rules[current]
        pending.extend(n.rule for n in _nodes(rules[current].match) if isinstance(n, RuleRef))
    return out


class _Part:
    """Some of the rules: their rule-set function and the cache of their verdicts."""

    def __init__(self, ids: list[str], rules: Mapping[str, Rule], compiled: Mapping[str, Test], limit: int) -> None:
        self.ids = tuple(ids)
        self.matching = generate_rule_set({i: rules[i] for i in ids}, compiled)
        self.cache = VerdictCache(_closure(ids, rules), limit)


class SplitVerdicts:
    """Which rules match a subject, remembered per part (see the module docstring)."""

    def __init__(self, rules: Mapping[str, Rule], compiled: Mapping[str, Test], limit: int = DEFAULT_LIMIT) -> None:
        groups: list[list[str]] = [[] for _ in range(len(VOLATILE_GROUPS) + 1)]  # the large part first
        for rule_id in rules:
            read = names_read(rule_id, rules)
            where = next((n for n, group in enumerate(VOLATILE_GROUPS, start=1) if read & group), 0)
            groups[where].append(rule_id)
        self.order = {rule_id: position for position, rule_id in enumerate(rules)}
        self.parts = tuple(_Part(ids, rules, compiled, limit) for ids in groups if ids)
        # every rule's verdict under one fingerprint of all they read, asked first (see the module
        # docstring): a record just like one seen before is answered with one fingerprint
        self.whole = VerdictCache(rules, limit) if len(self.parts) > 1 else None
        self.enabled = all(p.cache.enabled for p in self.parts)

    @property
    def main(self) -> VerdictCache:
        """The cache asked first: of all the rules, or of the only part (what ``Engine.verdicts``
        shows)."""
        return self.whole if self.whole is not None else self.parts[0].cache

    def matching(self, subject: Subject, state: Callable[[Subject], _State]) -> tuple[tuple[str, ...], Any]:
        """(ids of the matching rules in rule order, the evaluation state or None when the verdict
        was remembered). A part whose fingerprint cannot be made is evaluated."""
        whole = self.whole
        key = whole.fingerprint(subject) if whole is not None else None
        if key is not None:
            assert whole is not None
            known = whole.get(key)
            if known is not None:
                return known, None
        found, made = self._by_part(subject, state)
        if key is not None:
            assert whole is not None
            whole.put(key, found)
        return found, made

    def _by_part(self, subject: Subject, state: Callable[[Subject], _State]) -> tuple[tuple[str, ...], Any]:
        """The verdict joined from each part's, remembered or evaluated."""
        made: _State | None = None
        found: list[str] = []
        for part in self.parts:
            cache = part.cache
            key = cache.fingerprint(subject)
            known = cache.get(key) if key is not None else None
            if known is None:
                if made is None:
                    made = state(subject)
                known = part.matching(made)
                if key is not None:
                    cache.put(key, known)
            found.extend(known)
        if len(self.parts) > 1 and found:
            order = self.order
            found.sort(key=order.__getitem__)
        return tuple(found), made
