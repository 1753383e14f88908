"""Plain data read from a hive: values with their exact bytes."""

from __future__ import annotations

from typing import NamedTuple

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
