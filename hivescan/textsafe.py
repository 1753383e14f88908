"""Every string read from a hive is data, never instructions to a terminal, a spreadsheet or
a browser. This module is the one place that makes such text safe to show; every renderer
uses it.

* :func:`visible` shows control characters as escapes (``\\x1b``, ``\\n``, ``\\r``, ``\\t``,
  ``\\x00``...): a key named ``ESC[2J`` must not clear the analyst's screen, a newline in a
  name must not make a fake table row, a bidi override must not reorder what is read. JSON,
  JSONL and Parquet keep the exact text; tables, CSV, HTML and messages show this form.
  Backslashes are left alone so that paths read as Windows writes them (``C:\\Windows``), which
  makes ``\\x1b`` ambiguous with the four characters; the JSON output is the exact record.
* Text from damaged hives may hold unpaired UTF-16 surrogates: valid in Python strings,
  invalid in UTF-8 files, Parquet and terminals. Outputs other than JSON (which escapes them
  itself) write them as ``\\udXXX`` escapes -- visible, reversible, never an encoding crash.
* :func:`csv_cell` neutralises spreadsheet formulas (OWASP "CSV injection").
* :func:`shown_path` prints a path as Windows (or the OS) writes it: single backslashes,
  never ``repr``'s doubled ones.
"""

from __future__ import annotations

import html
import os
import re
from typing import Any

_LONE = re.compile("[\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0, DEL, C1; line/paragraph separators; bidi embeddings, overrides and isolates
# (they reorder what a person reads); the BOM / zero-width no-break space.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\ufeff\ud800-\udfff]")
# OWASP: a cell starting with one of these is a formula in Excel/LibreOffice/Sheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_surrogates(text: str) -> str:
    if text.isascii() or not _LONE.search(text):
        return text
    return _LONE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _escape_char(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: object, *, keep_layout: bool = False) -> str:
    """``text`` with every control, bidi and lone-surrogate character shown as an escape.

    Anything not a string is shown with ``str()`` first (numbers, paths). Printable text,
    including every non-Latin script, is unchanged. ``keep_layout`` leaves newlines and tabs
    as they are, for blocks that show multi-line text as lines (a decoded script, a
    Zone.Identifier in a report's ``<pre>``), where a newline cannot fake a table row.
    """
    value = text if isinstance(text, str) else str(text)
    if value.isprintable() and value.isascii():
        return value
    if keep_layout:
        return _UNSAFE.sub(lambda m: m.group() if m.group() in "\n\t" else _escape_char(m), value)
    return _UNSAFE.sub(_escape_char, value)


def has_unsafe(text: str) -> bool:
    """Whether :func:`visible` would change ``text``."""
    return _UNSAFE.search(text) is not None


def shown_path(path: object) -> str:
    """A path as its system writes it (``C:\\Windows\\System32``, ``/cases/SYSTEM``), made
    visible: never ``repr()``, whose doubled backslashes are not what Windows shows."""
    value = os.fspath(path) if isinstance(path, os.PathLike) else path
    if isinstance(value, bytes):
        value = value.decode("utf-8", "surrogateescape")
    return visible(value)


def csv_cell(text: str) -> str:
    """A CSV cell: visible, and prefixed with ``'`` when a spreadsheet would read it as a
    formula (``=``, ``+``, ``-``, ``@``, tab, CR first), as OWASP recommends. The quote shows
    in the cell; the exact value is in the JSON outputs."""
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return visible(text)


def html_text(text: object) -> str:
    """HTML-escaped (quotes too) and visible: for text and attribute values of a report."""
    return html.escape(visible(text), quote=True)


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
    if char in _NAMED:  # as visible() shows them: the same name reads the same in every output
        return _NAMED[char]
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
