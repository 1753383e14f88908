"""Every string the report shows is evidence, never markup: ``html.escape`` (quotes included,
so attributes are safe too) after :func:`hivescan.textsafe.visible` -- a service name holding
U+202E or an ESC sequence reads as what it is, it does not reorder or restyle the page.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from hivescan.textsafe import visible


def esc(value: Any) -> str:
    """Any value as HTML text: strings as they are, other values as compact JSON; controls,
    bidi and lone surrogates made visible by the project's one rule (:mod:`hivescan.textsafe`),
    newlines and tabs kept for the report's multi-line blocks. A flag reads yes/no, as the
    explanations and ``show`` say it (not JSON's true/false)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return escape(visible(text, keep_layout=True), quote=True)


__all__ = ["esc"]
