"""The rule set split in two for the verdict cache: rules that read a service's start type
remembered apart from all the others.

Why: the start type is what administrators and fleet images change most from host to host
(services disabled or set to manual), and only 2 of the 75 shipped rules read it. With one
fingerprint for all rules, a stock service whose Start differs from the hosts before it is a
miss, and all 75 rules are evaluated again (about 0.11 ms). On the v3 benchmark corpus that
was 390 of the 492 misses of a warm worker over 5 hosts (the start type the only difference).
Split, the large part's fingerprint does not hold the start type, so such a record is a hit
there, and only the small part (the rules reading it) is evaluated or found in its own cache.

Sound because each part's verdict is remembered under a fingerprint of everything *its*
rules can read (:class:`~hivescan.detect.verdicts.VerdictCache` over the part and the rules
its rules reference), and the two verdicts are joined in the rules' own order: the answer is
the one rule set's answer, whatever part each rule is in. A rule goes to the small part when
anything it reads -- its field paths' roots, what a derived path is computed from
(``fields.DERIVED_READS``), what its catalog lookups read (``lookups.LOOKUP_READS``), the
same for every rule it references -- is one of :data:`VOLATILE`.
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

# record fields that vary between hosts for the same stock service (see the module docstring)
VOLATILE = frozenset({"start"})


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
        volatile = [i for i in rules if names_read(i, rules) & VOLATILE]
        steady = [i for i in rules if i not in volatile]
        self.order = {rule_id: position for position, rule_id in enumerate(rules)}
        self.parts = tuple(_Part(ids, rules, compiled, limit) for ids in (steady, volatile) if ids)
        self.enabled = all(p.cache.enabled for p in self.parts)

    @property
    def main(self) -> VerdictCache:
        """The cache of the part that holds most rules (what ``Engine.verdicts`` shows)."""
        return self.parts[0].cache

    def matching(self, subject: Subject, state: Callable[[Subject], _State]) -> tuple[tuple[str, ...], Any]:
        """(ids of the matching rules in rule order, the evaluation state or None when every part's
        verdict was remembered). A part whose fingerprint cannot be made is evaluated."""
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
