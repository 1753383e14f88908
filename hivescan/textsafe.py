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
