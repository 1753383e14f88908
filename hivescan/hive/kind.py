"""What kind of hive this is, from its root keys (and the base block's file name)."""

from __future__ import annotations

from collections.abc import Iterable

_SIGNS: dict[str, tuple[set[str], str]] = {
    "SOFTWARE": ({"MICROSOFT", "CLASSES", "POLICIES"}, "a SOFTWARE hive"),
    "NTUSER": ({"ENVIRONMENT", "CONSOLE", "CONTROL PANEL", "KEYBOARD LAYOUT"}, "a user hive (NTUSER.DAT)"),
    "USRCLASS": ({"LOCAL SETTINGS", "*", "CLSID"}, "a user classes hive (UsrClass.dat)"),
    "SAM": ({"SAM"}, "a SAM hive"),
    "SECURITY": ({"POLICY", "RXACT"}, "a SECURITY hive"),
    "AMCACHE": ({"ROOT"}, "an Amcache hive"),
    "BCD": ({"OBJECTS", "DESCRIPTION"}, "a BCD store"),
}


def looks_like_system(root_names: Iterable[str]) -> bool:
    names = {n.upper() for n in root_names}
    return "SELECT" in names or any(n.startswith("CONTROLSET") for n in names)


def guess_kind(root_names: Iterable[str], file_name: str = "") -> str:
    """A human description of a non-SYSTEM hive, for the error message."""
    names = {n.upper() for n in root_names}
    base = file_name.replace("/", "\\").rsplit("\\", 1)[-1].upper()
    for kind, (signs, text) in _SIGNS.items():
        if base.startswith(kind) or (signs and len(names & signs) >= min(2, len(signs))):
            return f"this is {text}, not a SYSTEM hive"
    return "not a SYSTEM hive (no Select key and no ControlSetNNN key at its root)"
