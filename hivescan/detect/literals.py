"""The literal text a regex cannot match without: a cheap test that rules most texts out.

Why: Python's ``re`` searches a case-insensitive alternation of words (``cachedump|dumpsvc|
gsecdump|...``, ``\\.download(string|file|data)\\(|\\biex\\s*\\(|...``) by trying every
branch at every position of the text: about 20 µs per ImagePath, and a handful of rules cost
as much as all the others together on services seen for the first time. Such a pattern
cannot match a text that holds none of its words; asking ``word in text`` of each word is a
substring search in C, about a hundredth of that.

:func:`required_literals` reads the pattern's parse tree (``re._parser``, the parser ``re``
itself compiles) and returns words, one of which appears in every text the pattern matches,
upper-cased. Only ASCII texts are screened with them (``value.isascii()``): for ASCII text
and ASCII words, ``re.IGNORECASE`` equality is equality of upper case (the special
case-insensitive pairs of ``re``, like ``k`` and the Kelvin sign, all involve a non-ASCII
character), and a case-sensitive match implies it. Any other text goes to the regex.

Why the words are necessary (by the shape of the tree): a sequence matches as a contiguous
stretch of the text, so every run of consecutive literal characters in it appears in the
text; a group matches what its contents match; one branch of an alternation matches, so
the words of all branches together are needed (only when every branch has some); a repeat
of at least one matches its body at least once. Everything else (character classes,
anchors, back-references, repeats that may be empty, non-ASCII literals) ends a run and
adds nothing, which only makes the test weaker, never wrong. Of the candidates found, the
one whose shortest word is longest is used. ``tests/detect/test_literals.py`` checks on
random texts that every pattern of the shipped rules matches no text the words rule out.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

try:  # the parser re compiles with (Python 3.11+); an older name before
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_parse  # type: ignore[no-redef]

_LITERAL = sre_parse.LITERAL
_SUBPATTERN = sre_parse.SUBPATTERN
_BRANCH = sre_parse.BRANCH
_REPEATS = frozenset(
    op for op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, getattr(sre_parse, "POSSESSIVE_REPEAT", None)) if op
)
_ATOMIC = getattr(sre_parse, "ATOMIC_GROUP", None)

Words = frozenset[str]


@lru_cache(maxsize=1024)  # a pure function of the compiled pattern, asked for by every compiled form of a rule
def required_literals(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """Upper-case words, one of which every ASCII text the pattern matches contains (case
    aside); None when the pattern names none (or is not one this module reads)."""
    if pattern.flags & re.LOCALE or not isinstance(pattern.pattern, str):
        return None
    try:
        tree = sre_parse.parse(pattern.pattern, pattern.flags)
    except (re.error, RecursionError):  # pragma: no cover - the pattern compiled already
        return None
    found = _sequence(list(tree))
    if not found or "" in found:
        return None
    return tuple(sorted(found))


def _sequence(items: list[tuple[Any, Any]]) -> Words | None:
    """The best requirement of a sequence of parse items (see the module docstring)."""
    candidates: list[Words] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            candidates.append(frozenset({"".join(run).upper()}))
            run.clear()

    for op, arg in items:
        if op is _LITERAL and arg < 128:
            run.append(chr(arg))
            continue
        flush()
        inner: Words | None = None
        if op is _SUBPATTERN:
            inner = _sequence(list(arg[-1]))
        elif op is _ATOMIC and _ATOMIC is not None:
            inner = _sequence(list(arg))
        elif op is _BRANCH:
            branches = [_sequence(list(branch)) for branch in arg[1]]
            if branches and all(branches):
                inner = frozenset().union(*(b for b in branches if b))
        elif op in _REPEATS:
            low, _high, body = arg
            if low >= 1:
                inner = _sequence(list(body))
        if inner:
            candidates.append(inner)
    flush()
    if not candidates:
        return None
    return max(candidates, key=lambda words: (min(map(len, words)), -len(words)))
