"""What a parser backend must offer, and the shared re-encoding of decoded values."""

from __future__ import annotations

import struct
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import (
    REG_DWORD,
    REG_DWORD_BIG_ENDIAN,
    REG_EXPAND_SZ,
    REG_MULTI_SZ,
    REG_QWORD,
    REG_SZ,
    REG_TYPE_NUMBERS,
)


class BackendError(Exception):
    """A backend could not read what was asked (wraps the library's own exception)."""


class Child(NamedTuple):
    """One subkey as a backend lists it.

    A NamedTuple (immutable, like a frozen dataclass) because one is made for every subkey
    listed -- thousands per rebuild -- and it costs a third as much to build.
    """

    name: str
    cell_offset: int | None  # relative to the hive bins; None when the library hides it
    last_write: int | None  # FILETIME
    handle: Any


class Backend(ABC):
    name: str

    @abstractmethod
    def root(self) -> Child: ...

    @abstractmethod
    def children(self, handle: Any) -> list[Child]:
        """Subkeys of a key, in list order. Raises BackendError."""

    def find(self, parts: Sequence[str], guard: Callable[[Backend, Any], None] | None = None) -> Child | None:
        """The key at a path below the root (names compared case-insensitively).

        ``guard(backend, handle)`` runs before each listing and raises BackendError to stop
        the library from following a subkey list that is not sound (see HiveReader).
        """
        node = self.root()
        for part in parts:
            want = part.upper()
            if guard is not None:
                guard(self, node.handle)
            node = next((c for c in self.children(node.handle) if c.name.upper() == want), None)  # type: ignore[assignment]
            if node is None:
                return None
        return node

    def nk_offset(self, handle: Any) -> int | None:
        """The cell offset of the key record behind a handle, when the library tells it."""
        return None

    def subkey_list_offset(self, handle: Any) -> int | None:
        """For a library that hides key offsets: the subkey list it would follow (None: no subkeys)."""
        return None

    @abstractmethod
    def values(self, handle: Any) -> list[RawValue]:
        """The key's values as the library decodes them (fallback path). Raises BackendError."""

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


def reencode(name: str, reg_type: int | str, value: Any, reader: str) -> RawValue:
    """Turn a library's decoded value back into bytes, marked inexact.

    Used only when the byte-exact cell reader failed on a value; the record gets a
    diagnostic saying the bytes are a reconstruction.
    """
    if isinstance(reg_type, str):
        reg_type = REG_TYPE_NUMBERS.get(reg_type, 0)
    if isinstance(value, bytes | bytearray):
        data = bytes(value)
    elif isinstance(value, bool):
        data = struct.pack("<I", int(value))
    elif isinstance(value, int):
        if reg_type == REG_QWORD or value > 0xFFFFFFFF:
            data = struct.pack("<Q", value & 0xFFFFFFFFFFFFFFFF)
        elif reg_type == REG_DWORD_BIG_ENDIAN:
            data = struct.pack(">I", value & 0xFFFFFFFF)
        else:
            data = struct.pack("<I", value & 0xFFFFFFFF)
    elif isinstance(value, list | tuple):
        data = b"".join(str(v).encode("utf-16-le", "surrogatepass") + b"\0\0" for v in value) + b"\0\0"
    elif value is None:
        data = b""
    else:
        text = str(value)
        data = text.encode("utf-16-le", "surrogatepass")
        if reg_type in (REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ):
            data += b"\0\0"
    if reg_type == 0 and isinstance(value, int) and not isinstance(value, bool):
        reg_type = REG_DWORD
    return RawValue(
        name, int(reg_type), data, reader=reader, exact=False, notes=(f"re-encoded from {reader}'s decoded value",)
    )
