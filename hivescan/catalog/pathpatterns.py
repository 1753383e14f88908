"""Trawler's expected-path patterns, searched without compiling a regex where that is exact.

Why: ``windows_expected.csv`` holds about 800 distinct ``expected_regex`` patterns; compiling
them took 85 ms of every triage run's serial start (the forkserver's preload, issue 13,
session 19), and a hive compares most of them, so compiling them later in each worker only
moves the cost (twice, on two workers). But 96% of them are plain paths: literal characters
(escaped or not), a drive letter class ``[A-Za-z]`` (``{1}``) and ``.*``. On ASCII text
without a newline, such a pattern searched case-insensitively is a sequence of fixed-length
blocks separated by "anything", each block literal characters compared in lower case and
letter slots: the blocks found leftmost one after the other answer exactly what ``re.search``
answers (every block has a fixed length and a gap can be any length, so the leftmost place
of each block leaves the most room for the next). Any other pattern, and any text with a
non-ASCII character (Unicode case folding: ``ſ`` matches ``s``, the Kelvin sign ``k``) or a
newline (``.`` does not match it), goes to the compiled regex, compiled on first use.
tests/catalog/test_pathpatterns.py compares both ways on generated patterns and texts and on
every shipped pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from string import ascii_lowercase

LETTER = None  # a block's slot for one ASCII letter (the drive class)
_LETTERS = frozenset(ascii_lowercase)
# A plain pattern, token by token: the drive class, ``.*``, a backslash before ASCII punctuation
# or a space (that character: before a letter or digit it is a class, an anchor or a
# back-reference), or a printable ASCII character that is not special.
_PLAIN = re.compile(r"(?:\[A-Za-z\](?:\{1\})?|\.\*|\\[ -/:-@\[-`{-~]|[ !\"#%&',\-/0-9:;<=>@A-Z_`a-z~])*")
_DRIVE = re.compile(r"\[A-Za-z\](?:\{1\})?")
_ESCAPE = re.compile(r"\\(.)")

Block = tuple[str | None, ...]  # runs of lower-case characters, and LETTER slots


def plain_blocks(regex: str) -> tuple[Block, ...] | None:
    """The blocks of a plain-path pattern (split at ``.*``), or None when it is anything more.

    In a plain pattern every ``.*`` is the wildcard (an escaped dot before ``*`` is not plain)
    and every ``[A-Za-z]`` the drive class (an escaped ``[`` would leave a bare ``]``), so
    splitting the text at them is splitting it token by token."""
    if not _PLAIN.fullmatch(regex):
        return None
    blocks = []
    for part in regex.split(".*"):
        items: list[str | None] = []
        for k, run in enumerate(_DRIVE.split(part)):
            if k:
                items.append(LETTER)
            if run:
                items.append(_ESCAPE.sub(r"\1", run).lower())
        blocks.append(tuple(items))
    return tuple(blocks)


def _width(block: Block) -> int:
    return sum(1 if item is LETTER else len(item) for item in block)


def _anchor(block: Block) -> tuple[int, str]:
    """The block's longest run of characters and its offset ((0, "") for letter slots only)."""
    best: tuple[int, str] = (0, "")
    offset = 0
    for item in block:
        if item is LETTER:
            offset += 1
        else:
            if len(item) > len(best[1]):
                best = (offset, item)
            offset += len(item)
    return best


Plan = tuple[tuple[Block, int, int, str], ...]  # each block, its width, its anchor run's offset and text


def plan(blocks: tuple[Block, ...]) -> Plan:
    return tuple((block, _width(block), *_anchor(block)) for block in blocks)


def _fits(block: Block, low: str, position: int) -> bool:
    for item in block:
        if item is LETTER:
            if low[position] not in _LETTERS:
                return False
            position += 1
        else:
            if not low.startswith(item, position):
                return False
            position += len(item)
    return True


def _find_block(block: Block, width: int, offset: int, anchor: str, low: str, start: int) -> int:
    """The leftmost position >= start where ``block`` (``width`` characters) matches ``low``, or -1."""
    last = len(low) - width
    if not anchor:  # letter slots only (or an empty block): every position in turn
        return next((p for p in range(start, last + 1) if _fits(block, low, p)), -1)
    at = low.find(anchor, start + offset)
    while 0 <= at <= last + offset:
        if _fits(block, low, at - offset):
            return at - offset
        at = low.find(anchor, at + 1)
    return -1


def plain_search(steps: Plan, text: str) -> bool:
    """``re.search(pattern, text, re.IGNORECASE)`` for a plain pattern and ASCII text without a newline."""
    low = text.lower()
    position = 0
    for block, width, offset, anchor in steps:
        found = _find_block(block, width, offset, anchor, low, position)
        if found < 0:
            return False
        position = found + width
    return True


@dataclass(slots=True)
class ExpectedPattern:
    """One ``expected_regex``, searched case-insensitively (``search``); None-safe: a pattern that
    does not compile never matches (the catalog entry still says the service is known)."""

    regex: str
    steps: Plan | None  # None: not a plain path, always the regex
    compiled: list[re.Pattern[str] | None] = field(default_factory=list)  # [] until compiled

    @classmethod
    def of(cls, regex: str) -> ExpectedPattern:
        blocks = plain_blocks(regex)
        return cls(regex, None if blocks is None else plan(blocks))

    def search(self, text: str) -> bool:
        if self.steps is not None and text.isascii() and "\n" not in text:
            return plain_search(self.steps, text)
        pattern = self.pattern()
        return pattern is not None and pattern.search(text) is not None

    def pattern(self) -> re.Pattern[str] | None:
        """The compiled regex (the reference), compiled on first use; None when it does not compile."""
        if not self.compiled:
            try:
                self.compiled.append(re.compile(self.regex, re.IGNORECASE))
            except re.error:
                self.compiled.append(None)
        return self.compiled[0]
