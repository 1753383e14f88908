"""Windows-style globs: ``*`` any run of characters, ``?`` one character, case-insensitive.

``\\`` is a path separator, not an escape, and ``[`` is literal (unlike :mod:`fnmatch`),
because the catalogs' globs are Windows paths and service names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


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
