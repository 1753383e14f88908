"""One escaping rule for every string the report shows: evidence is data, never markup.

``html.escape`` (quotes included, so attributes are safe too), after control characters,
bidirectional overrides and lone surrogates are made visible as ``\\xNN``/``\\uNNNN``: a
service name holding U+202E or an ESC sequence must read as what it is, not reorder or
restyle the page.
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any

# C0/C1 controls except tab and newline, DEL, line/paragraph separators, bidi embeddings,
# overrides and isolates, and lone surrogates (damaged UTF-16 in hives)
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def esc(value: Any) -> str:
    """Any value as HTML text: strings as they are, other values as compact JSON."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return escape(_INVISIBLE.sub(_visible, text), quote=True)


__all__ = ["esc"]
