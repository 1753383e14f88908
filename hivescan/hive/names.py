"""Registry names compared as Windows compares them: ordinal, case-insensitive (scm-spec §9.3).

Kept apart from the key tree because nearly every stage compares names: importing these two
helpers must not pull in the hive reader and its parser backends.
"""

from __future__ import annotations

from collections.abc import Sequence

from hivescan.hive.model import RawValue


def upcase(name: str) -> str:
    """Ordinal, length-preserving upper case of a registry name (scm-spec §9.3)."""
    if name.isascii():
        return name.upper()
    out = []
    for ch in name:
        up = ch.upper()
        out.append(up if len(up) == 1 else ch)
    return "".join(out)


def values_by_name(values: Sequence[RawValue]) -> dict[str, RawValue]:
    """Values by ordinal upper-case name, in order; of names alike (ci) the first (scm-spec §9.3)."""
    by_name: dict[str, RawValue] = {}
    for value in values:
        name = value.name
        by_name.setdefault(name.upper() if name.isascii() else upcase(name), value)
    return by_name
