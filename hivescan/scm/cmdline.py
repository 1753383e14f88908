"""How CreateProcess splits a service's command line into the module and its arguments.

A pure function of the text (spec §5.3 steps 2-3, [M16] CreateProcessW): which file the
command line names is resolved elsewhere (:mod:`hivescan.scm.win32image`); this module only
says where the module ends, which names Windows would try, and whether hivescan had to guess.
"""

from __future__ import annotations

import re
from typing import NamedTuple

WHITESPACE = " \t"
_BLANK_RUN = re.compile(r"[ \t]+")


class CommandLine(NamedTuple):
    """How CreateProcess splits a command line whose application name is NULL.

    ``candidates`` are the module names Windows tries in order (``.exe`` appended where the
    last component has no extension) up to the one hivescan assumes exists, ``chosen`` its
    index: just the module when that is the first one Windows tries (nothing to guess but
    its existence), every candidate when ``guessed``. ``args`` is what follows the module
    (trimmed, None if nothing).
    """

    module: str
    args: str | None
    quoted: bool
    candidates: tuple[str, ...]
    chosen: int
    unbalanced_quote: bool = False
    guessed: bool = False


def _has_extension(path: str) -> bool:
    cut = max(path.rfind("\\"), path.rfind("/"))
    return path.find(".", cut + 1) >= 0


def with_default_extension(path: str) -> str:
    """``.exe`` appended when the last component has no extension (and does not end in '.')."""
    return path if _has_extension(path) else path + ".exe"


def split_command_line(text: str) -> CommandLine:
    """Split a service command line the way CreateProcess does (spec §5.3 steps 2-3).

    Never raises. Quoted: the module is everything up to the next ``"``. Unquoted with
    blanks: each prefix ending before a space/tab is a candidate, then the whole line;
    the assumed module is the first candidate ending in ``.exe`` (heuristic), else the
    first with an extension, else the first; ``guessed`` when that is not simply the
    first candidate Windows tries.
    """
    line = text.lstrip(WHITESPACE)
    if line.startswith('"'):
        end = line.find('"', 1)
        if end < 0:
            module = line[1:]
            return CommandLine(module, None, True, (with_default_extension(module),), 0, unbalanced_quote=True)
        module = line[1:end]
        args = line[end + 1 :].strip(WHITESPACE) or None
        return CommandLine(module, args, True, (with_default_extension(module),), 0)
    whole = line.rstrip(WHITESPACE)
    if not whole:
        return CommandLine("", None, False, (), 0)
    blank = _BLANK_RUN.search(whole)
    if blank is None:  # one candidate: nothing is guessed but that it exists
        return CommandLine(whole, None, False, (with_default_extension(whole),), 0)
    first = whole[: blank.start()]
    if first[-4:].lower() == ".exe":
        # the first one Windows tries is an .exe (so it has its extension): nothing is guessed
        # but that it exists (the common "C:\...\svchost.exe -k group" shape; the first blank
        # is all this needs to find)
        return CommandLine(first, whole[blank.end() :] or None, False, (first,), 0)
    ends = [m.start() for m in _BLANK_RUN.finditer(whole, blank.start())] + [len(whole)]
    prefixes = [whole[:end] for end in ends]
    chosen = next((i for i, p in enumerate(prefixes) if p[-4:].lower() == ".exe"), None)
    if chosen is None:
        chosen = next((i for i, p in enumerate(prefixes) if _has_extension(p)), 0)
    args = whole[ends[chosen] :].lstrip(WHITESPACE) or None
    if chosen == 0:
        # Windows tries this one first: assuming it is no guess beyond "the file exists"
        return CommandLine(first, args, False, (with_default_extension(first),), 0)
    # assuming a later candidate is: an earlier one, if it existed, would run instead
    candidates = tuple(with_default_extension(p) for p in prefixes)
    return CommandLine(prefixes[chosen], args, False, candidates, chosen, guessed=True)
