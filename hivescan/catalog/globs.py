"""Windows-style globs: ``*`` any run of characters, ``?`` one character, case-insensitive.

``\\`` is a path separator, not an escape, and ``[`` is literal (unlike :mod:`fnmatch`),
because the catalogs' globs are Windows paths and service names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

REMEMBERED = 4096  # texts per index whose answers are kept
# a head (tail) is looked up by its first (last) n characters, n the largest of these that fits:
# a few dictionary lookups per text whatever the number of distinct head lengths
FEW = 4  # globs starting with a wildcard, below which the combined pattern is quicker than the index
KEY_LENGTHS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 64)


def _key_length(size: int) -> int:
    return max(n for n in KEY_LENGTHS if n <= size)


def glob_regex_text(glob: str) -> str:
    parts = []
    for char in glob:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return "".join(parts)


def compile_glob(glob: str) -> re.Pattern[str]:
    """A pattern that matches the whole string."""
    return re.compile(rf"(?is)\A{glob_regex_text(glob)}\Z")


def compile_globs(globs: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern matching any of the globs (a quick first test before finding which)."""
    texts = [glob_regex_text(g) for g in globs]
    if not texts:
        return None
    return re.compile(r"(?is)\A(?:" + "|".join(texts) + r")\Z")


_WILDCARDS = re.compile(r"[*?]")
COMBINED = -1  # GlobIndex.compiled's key of the pattern of all the globs


@dataclass(frozen=True, slots=True)
class GlobIndex:
    """Which of many globs is the first (in table order) to match a text, without trying them all.

    Why: a regex of hundreds of alternatives, many starting with ``*``, is tried position by
    position (about 20 microseconds per image path for LOLRMM's install paths). Every glob
    match needs the text to start with the glob's literal head (up to its first wildcard) and
    end with its literal tail (after its last wildcard): the heads' first characters and the
    tails' last are looked up in dictionaries by length (``KEY_LENGTHS``); a glob with neither
    (``*\\AnyDesk\\*``) needs its longest literal in the text. Only the few globs found are
    tried, with their own patterns, lowest row first:
    the same answer as trying every glob in order.

    Exact for ASCII text and ASCII globs, where case-insensitive matching is ``lower()``
    equality; a non-ASCII text (Unicode case folding: the Kelvin sign matches ``k``) is
    matched the original way, and a non-ASCII glob is always tried.

    Each glob's pattern, and the one of all of them, is compiled the first time it is tried
    (:meth:`pattern`, :meth:`combined`). Why: compiling the 672 globs of the catalogs and their
    combined patterns took 50 ms of every run's start (the forkserver's preload, issue 13),
    and a run tries few of them: the index rules most globs out by their literals before any
    pattern is needed. A pattern is a function of its glob alone, so it is kept for the
    index's life (at most one per glob, plus the combined one).
    """

    rows: tuple[int, ...]  # the table row of each glob
    globs: tuple[str, ...]
    heads: tuple[tuple[int, dict[str, tuple[int, ...]]], ...]  # (length, head -> glob positions)
    tails: tuple[tuple[int, dict[str, tuple[int, ...]]], ...]  # for globs without a head
    middles: tuple[tuple[int, str], ...]  # (position, longest literal) of ``*...*`` globs
    always: tuple[int, ...]  # positions of globs without any literal, or not ASCII
    # (head, tail) of each ASCII glob in lower case, None for the others: a text (ASCII, lower
    # case) the glob matches starts with the head, ends with the tail and holds both, so a
    # candidate failing that is not matched against its pattern (most candidates found by a
    # head, "c:\windows\", end otherwise)
    ends: tuple[tuple[str, str] | None, ...] = ()
    # text -> answer: the same paths recur (svchost.exe hundreds of times a hive); the answer is a
    # function of the text alone (the index never changes); emptied when full, so bounded
    answers: dict[str, int | None] = field(default_factory=dict)
    # glob position -> its pattern (COMBINED: the pattern of all the globs), compiled on first use
    compiled: dict[int, re.Pattern[str] | None] = field(default_factory=dict)

    @classmethod
    def build(cls, rows: Sequence[int], globs: Sequence[str]) -> GlobIndex:
        heads: dict[int, dict[str, list[int]]] = {}
        tails: dict[int, dict[str, list[int]]] = {}
        middles: list[tuple[int, str]] = []
        always: list[int] = []
        ends: list[tuple[str, str] | None] = []
        for position, glob in enumerate(globs):
            pieces = _WILDCARDS.split(glob)
            head, tail = (glob, "") if len(pieces) == 1 else (pieces[0], pieces[-1])
            ends.append((head.lower(), tail.lower()) if glob.isascii() else None)
            if not glob.isascii():
                always.append(position)
            elif head:
                size = _key_length(len(head))
                heads.setdefault(size, {}).setdefault(head.lower()[:size], []).append(position)
            elif tail:
                size = _key_length(len(tail))
                tails.setdefault(size, {}).setdefault(tail.lower()[-size:], []).append(position)
            elif max(pieces, key=len):
                middles.append((position, max(pieces, key=len).lower()))
            else:
                always.append(position)

        def frozen(by_length: dict[int, dict[str, list[int]]]) -> tuple[tuple[int, dict[str, tuple[int, ...]]], ...]:
            return tuple((n, {k: tuple(v) for k, v in found.items()}) for n, found in sorted(by_length.items()))

        return cls(
            tuple(rows),
            tuple(globs),
            frozen(heads),
            frozen(tails),
            tuple(middles),
            tuple(always),
            tuple(ends),
        )

    def pattern(self, position: int) -> re.Pattern[str]:
        """The pattern of the glob at ``position``, compiled on first use."""
        found = self.compiled.get(position)
        if found is None:
            found = self.compiled[position] = compile_glob(self.globs[position])
        return found

    def combined(self) -> re.Pattern[str] | None:
        """All the globs in one pattern (the original way), compiled on first use; None without globs."""
        if COMBINED not in self.compiled:
            self.compiled[COMBINED] = compile_globs(self.globs)
        return self.compiled[COMBINED]

    def first(self, text: str) -> int | None:
        """The row of the first glob (in table order) matching the whole text, or None."""
        answers = self.answers
        if text in answers:
            return answers[text]
        found = self._first(text)
        if len(answers) >= REMEMBERED:
            answers.clear()
        answers[text] = found
        return found

    def _first(self, text: str) -> int | None:
        if not self.globs:
            return None
        if not text.isascii() or len(self.middles) + len(self.tails) <= FEW:
            # without many globs starting with a wildcard, the one pattern fails fast at the start
            return self._first_by_regex(text)
        low = text.lower()
        size = len(low)
        found = [position for position, piece in self.middles if piece in low]
        found += self.always
        for length, by_head in self.heads:
            if length > size:
                break
            hit = by_head.get(low[:length])
            if hit is not None:
                found.extend(hit)
        for length, by_tail in self.tails:
            if length > size:
                break
            hit = by_tail.get(low[size - length :])
            if hit is not None:
                found.extend(hit)
        pattern, ends = self.pattern, self.ends
        for position in sorted(found):
            literal = ends[position]
            if literal is not None:
                head, tail = literal
                if len(head) + len(tail) > size or not low.startswith(head) or not low.endswith(tail):
                    continue
            if pattern(position).match(text):
                return self.rows[position]
        return None

    def _first_by_regex(self, text: str) -> int | None:
        """Every glob tried in order (after one combined test): the reference :meth:`first` equals."""
        combined = self.combined()
        if combined is None or not combined.match(text):
            return None
        for position, row in enumerate(self.rows):
            if self.pattern(position).match(text):
                return row
        return None  # pragma: no cover - the combined pattern matched, so one glob does
