"""Fallback backend and independent second opinion: python-registry (Willi Ballenthin)."""

from __future__ import annotations

import io
from typing import Any

from hivescan.hive.backends.base import Backend, BackendError, Child
from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import REG_DWORD_BIG_ENDIAN


class PythonRegistryBackend(Backend):
    name = "python-registry"

    def __init__(self, data: bytes) -> None:
        from Registry import Registry

        try:
            self._reg = Registry.Registry(io.BytesIO(data))
            self._root = self._reg.root()
        except Exception as exc:  # RegistryParse.ParseException and struct errors
            raise BackendError(f"{type(exc).__name__}: {exc}"[:300]) from exc

    @staticmethod
    def _child(key: Any) -> Child:
        nk = key._nkrecord
        # nk.offset() is the absolute offset of the record, after the 4-byte cell size
        return Child(key.name(), nk.offset() - 4096 - 4, nk.unpack_qword(0x4), key)

    def nk_offset(self, handle: Any) -> int | None:
        return int(handle._nkrecord.offset()) - 4096 - 4

    def root(self) -> Child:
        try:
            return self._child(self._root)
        except Exception as exc:  # a damaged root name raises UnicodeDecodeError inside the library
            raise BackendError(f"{type(exc).__name__}: {exc}"[:300]) from exc

    def children(self, handle: Any) -> list[Child]:
        try:
            return [self._child(k) for k in handle.subkeys()]
        except Exception as exc:
            raise BackendError(f"{type(exc).__name__}: {exc}"[:300]) from exc

    def values(self, handle: Any) -> list[RawValue]:
        out: list[RawValue] = []
        try:
            for value in handle.values():
                vtype = value.value_type()
                if vtype == REG_DWORD_BIG_ENDIAN:
                    # python-registry 1.3.1 returns the wrong bytes here; skip rather than lie
                    continue
                out.append(RawValue(value.name(), vtype, bytes(value.raw_data()), reader=self.name))
        except Exception as exc:
            if not out:
                raise BackendError(f"{type(exc).__name__}: {exc}"[:300]) from exc
        return out
