"""A service record's names and paths as the catalogs key them.

Why a module of its own: every catalog looks a record up by something derived from it (the
driver file it loads, the name of a per-user instance's template, a path expanded the way
Trawler read it), and the detection engine's verdict cache must know which attributes those
derivations read (``DRIVER_FILE_READS``). Pure functions of the record's attributes.

References: scm-spec.md §5.2 (driver default path), §8 (per-user instance names).
"""

from __future__ import annotations

import re
from typing import Any

DRIVER_TYPES = frozenset({0x1, 0x2, 0x8})
INSTANCE_SUFFIX = re.compile(r"_[0-9a-fA-F]+\Z")


def _type(record: Any) -> int | None:
    value = getattr(record, "type", None)
    return value if isinstance(value, int) else None


def is_driver(record: Any) -> bool:
    type_ = _type(record)
    return type_ is not None and (type_ & 0xFF) in DRIVER_TYPES


def base_service_name(record: Any) -> str:
    """The name to look up: a per-user instance (Type & 0x80) maps to its template's name."""
    name = str(getattr(record, "name", ""))
    type_ = _type(record)
    if type_ is not None and type_ & 0x80:
        return INSTANCE_SUFFIX.sub("", name)
    return name


def strip_quotes(text: str) -> str:
    text = text.strip()
    if text.startswith('"'):
        end = text.find('"', 1)
        return text[1:end] if end > 0 else text[1:]
    return text


_SEPARATORS = re.compile(r"[\\/]")  # compiled once: driver_file_name runs for every driver record, twice

# what driver_file_name reads of a record (getattr): its answer is a function of these alone
DRIVER_FILE_READS = ("type", "name", "image_path_resolved", "image_path")


def driver_file_name(record: Any) -> str | None:
    """The file a driver record loads (lower case): the last component of its image path, or
    ``<name>.sys`` when ImagePath is absent or empty (the kernel's default, scm-spec §5.2).
    Uses ``image_path_resolved`` when the record has it. None for non-drivers."""
    if not is_driver(record):
        return None
    path = getattr(record, "image_path_resolved", None) or getattr(record, "image_path", None)
    if not path or not str(path).strip():
        return f"{getattr(record, 'name', '')}.sys".lower()
    last = _SEPARATORS.split(strip_quotes(str(path)))[-1]
    return last.strip().lower() or None


_EXPANSIONS = (
    (re.compile(r"(?i)%systemroot%|%windir%"), r"C:\\Windows"),
    (re.compile(r"(?i)%programfiles%"), r"C:\\Program Files"),
    (re.compile(r"(?i)%programfiles\(x86\)%"), r"C:\\Program Files (x86)"),
    (re.compile(r"(?i)%programdata%"), r"C:\\ProgramData"),
    (re.compile(r"(?i)%systemdrive%"), "C:"),
)


_SYSTEMROOT_PREFIX = re.compile(r"(?i)\\systemroot\\")
_DRIVE = re.compile(r"[A-Za-z]:")


def normalise_for_expectation(path: str, *, driver: bool) -> str:
    """The path as Trawler's patterns expect it: environment expanded, NT prefixes mapped.

    Only what comparing with the catalog needs (Trawler read expanded values through
    PowerShell): ``%SystemRoot%``/``%windir%`` and the program-files variables, a leading
    ``\\SystemRoot\\`` or ``\\??\\``, and system-root-relative driver paths. The system root is
    taken as ``C:\\Windows``; the patterns accept any drive letter.
    """
    text = path.strip()
    if "%" in text:  # every expansion names a %variable%
        for pattern, replacement in _EXPANSIONS:
            text = pattern.sub(replacement, text)
    if _SYSTEMROOT_PREFIX.match(text):
        text = "C:\\Windows\\" + text[len("\\SystemRoot\\") :]
    elif text.startswith("\\??\\"):
        text = text[4:]
    elif driver and not text.startswith("\\") and not _DRIVE.match(text):
        text = "C:\\Windows\\" + text
    return text


__all__ = [
    "DRIVER_FILE_READS",
    "DRIVER_TYPES",
    "INSTANCE_SUFFIX",
    "base_service_name",
    "driver_file_name",
    "is_driver",
    "normalise_for_expectation",
    "strip_quotes",
]
