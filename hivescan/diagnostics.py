"""Diagnostics: the project's way of never losing data silently.

Anything hivescan skips, defaults, truncates or reinterprets is kept raw and gets a
:class:`Diagnostic` on the record (or on the hive, for hive-level trouble). Codes are
stable snake_case identifiers, listed with their meaning in ``docs/diagnostics.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["info", "warning", "error"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One thing an analyst should know about how a value was read.

    ``field`` names the record field (or registry value/key) the note is about; empty for
    notes about the whole record or hive.
    """

    code: str
    field: str
    message: str
    level: Level = "warning"

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field, "message": self.message, "level": self.level}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Diagnostic:
        level = data.get("level", "warning")
        if level not in ("info", "warning", "error"):
            level = "warning"
        return cls(data["code"], data.get("field", ""), data.get("message", ""), level)  # type: ignore[arg-type]


def info(code: str, field: str, message: str) -> Diagnostic:
    return Diagnostic(code, field, message, "info")


def warning(code: str, field: str, message: str) -> Diagnostic:
    return Diagnostic(code, field, message, "warning")


def error(code: str, field: str, message: str) -> Diagnostic:
    return Diagnostic(code, field, message, "error")
