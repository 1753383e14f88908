"""Where a record was read: the hive (:class:`HiveRef`) and the key in it (:class:`Origin`).

Every service record, and every finding built on one, carries an :class:`Origin`; the
records of one hive share its :class:`HiveRef`. Kept apart from the record itself
(hivescan/scm/service_record.py) because they say where evidence came from, not what it says.

References: style.md R3 (provenance).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hivescan.timeutil import filetime_to_datetime, filetime_to_iso


class HiveRef:
    """The evidence a record was read from: path, sha256, location in an image.

    Shared by every record of a hive. The sha256 may still be computing on a background
    thread when records are built; reading it waits.
    """

    __slots__ = ("_digest", "location", "path")

    def __init__(self, path: str, sha256: str | Callable[[], str], location: Mapping[str, str] | None = None) -> None:
        self.path = path
        self._digest = sha256
        self.location: Mapping[str, str] = dict(location or {})

    @property
    def sha256(self) -> str:
        if not isinstance(self._digest, str):
            self._digest = self._digest()
        return self._digest

    def _key(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        return (self.path, self.sha256, tuple(sorted(self.location.items())))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HiveRef) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __reduce__(self) -> tuple[Any, ...]:
        return (HiveRef, (self.path, self.sha256, dict(self.location)))

    def __repr__(self) -> str:
        return f"HiveRef({self.path!r})"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a fact was read. Every record (and every finding built on it) carries one."""

    hive: HiveRef
    control_set: int | None  # 2 for ControlSet002; None for keys outside a control set
    key_path: str  # from the hive root, original case
    last_write_filetime: int  # the key's raw FILETIME
    parser: str  # which backend listed the key: regipy-rs, regipy, python-registry
    from_log: bool = False  # a .LOG1/.LOG2 entry changed this key (set by the log replay)

    @property
    def hive_path(self) -> str:
        return self.hive.path

    @property
    def hive_sha256(self) -> str:
        return self.hive.sha256

    @property
    def location(self) -> Mapping[str, str]:
        return self.hive.location

    @property
    def last_write(self) -> str | None:
        """ISO 8601 UTC (``...Z``); None when the stored FILETIME is not a possible date."""
        return filetime_to_iso(self.last_write_filetime)

    @property
    def last_write_datetime(self) -> datetime | None:
        return filetime_to_datetime(self.last_write_filetime)


__all__ = ["HiveRef", "Origin"]
