"""What an ImagePath resolves to (:class:`ImageResolution`), and what both rule sets share.

The driver rules (:mod:`hivescan.scm.driverimage`) and the CreateProcess rules
(:mod:`hivescan.scm.win32image`) fill the same record fields, recognise the same path shapes
and carry the same note when SystemRoot had to be assumed.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

from hivescan.diagnostics import Diagnostic

DRIVE_ABSOLUTE = re.compile(r"^[A-Za-z]:[\\/]")
DRIVE_RELATIVE = re.compile(r"^[A-Za-z]:(?![\\/])")
VARIABLE = re.compile(r"%[^%]+%")
SYSTEMROOT_PREFIX = "\\SYSTEMROOT\\"


class ImageResolution(NamedTuple):
    """The record fields of spec §5 for one ImagePath."""

    expanded: str | None = None  # after %VAR% expansion (Win32, REG_EXPAND_SZ only); drivers: unchanged
    resolved: str | None = None  # DOS path of the module that loads; None when not knowable
    nt_path: str | None = None  # drivers: the NT path the kernel opens
    args: str | None = None  # Win32: arguments after the module
    candidates: tuple[str, ...] = ()  # alternatives in the order Windows tries them (or alternative readings)
    unquoted_path_risk: bool = False
    source: str | None = None  # registry | default; None when there is no ImagePath at all
    env_used: tuple[tuple[str, bool], ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()


@functools.lru_cache(maxsize=8)
def assumed_note(root: str) -> Diagnostic:
    """One shared note per root (diagnostics are immutable; hundreds of records carry it)."""
    return Diagnostic("systemroot_assumed", "ImagePath", f"resolved against the assumed SystemRoot {root}", "info")


def under_root(path: str | None, root: str) -> bool:
    """Whether ``path`` lies under ``root`` (ci): only such a path depends on an assumed SystemRoot."""
    return path is not None and path[: len(root)].upper() == root.upper()
