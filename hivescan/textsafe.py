"""Text from damaged hives may hold unpaired UTF-16 surrogates: valid in Python strings,
invalid in UTF-8 files, Parquet and terminals. Outputs other than JSON (which escapes them
itself) write them as ``\\udXXX`` escapes -- visible, reversible, never an encoding crash."""

from __future__ import annotations

import re
from typing import Any

_LONE = re.compile("[\ud800-\udfff]")


def escape_surrogates(text: str) -> str:
    if text.isascii() or not _LONE.search(text):
        return text
    return _LONE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def deep_escape(value: Any) -> Any:
    """Escape every string inside lists/dicts (for tabular outputs)."""
    if isinstance(value, str):
        return escape_surrogates(value)
    if isinstance(value, list | tuple):
        return [deep_escape(v) for v in value]
    if isinstance(value, dict):
        return {escape_surrogates(str(k)): deep_escape(v) for k, v in value.items()}
    return value


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str) -> str:
    """Evidence text for a message: what ``repr`` would escape (controls, format characters
    such as a right-to-left override, unpaired surrogates) as ``\\xNN``/``\\uNNNN``, and nothing
    else -- a backslash stays one backslash, so a path reads as Windows writes it (``repr``
    doubles them: ``C:\\\\Users\\\\...``)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def quoted(value: object) -> str:
    """A string as ``'text'`` with :func:`printable`'s escapes (how messages quote a path or
    value); anything else as ``repr`` (None, numbers, lists)."""
    return f"'{printable(value)}'" if isinstance(value, str) else repr(value)
