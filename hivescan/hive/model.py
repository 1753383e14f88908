"""Plain data read from a hive: values with their exact bytes, and the view of a key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol

from hivescan.diagnostics import Diagnostic
from hivescan.hive.regtypes import reg_type_name


class RawValue(NamedTuple):
    """A registry value as stored: name, numeric type, data bytes.

    ``reader`` says who produced the bytes: ``cells`` (hivescan's bounds-checked cell reader,
    byte-exact) or a parser library used as a fallback. ``exact`` is False when a library
    gave only a decoded value and the bytes were re-encoded from it; ``notes`` carries what
    the reader had to do (data truncated, capped, ...).

    A NamedTuple rather than a dataclass: immutable and cheap to build, and a hive rebuild
    creates one per value (thousands per hive).
    """

    name: str
    type: int
    data: bytes
    reader: str = "cells"
    exact: bool = True
    notes: tuple[str, ...] = ()

    @property
    def type_name(self) -> str:
        return reg_type_name(self.type)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"type": reg_type_name(self.type), "hex": self.data.hex(), "size": len(self.data)}
        if not self.exact:
            out["exact"] = False
            out["reader"] = self.reader
        if self.notes:
            out["notes"] = list(self.notes)
        return out


class KeyView(Protocol):
    """What the record builder needs of a key: a live :class:`hivescan.hive.tree.Key` or a
    key rebuilt from free or orphaned cells (:class:`hivescan.hive.recover.RecoveredKey`)."""

    name: str
    path: str
    last_write: int
    parser: str
    diagnostics: list[Diagnostic]

    @property
    def name_raw(self) -> bytes | None: ...

    def subkeys(self) -> Sequence[KeyView]: ...

    def values(self) -> Sequence[RawValue]: ...

    def values_by_name(self) -> Mapping[str, RawValue]:
        """:meth:`values` by ordinal upper-case name; of names alike (ci) the first."""
        ...

    def security_descriptor(self) -> bytes | None: ...

    def security_hex(self) -> str | None:
        """Hex of :meth:`security_descriptor` (live keys cache it per shared sk cell)."""
        ...
