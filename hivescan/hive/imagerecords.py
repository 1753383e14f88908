"""What a disk image holds, as plain records: volumes, Windows installations, their hives and logs.

These are the records the image reader fills and the renderers show; they hold no handle
on the image, so they can be reported, compared and serialised after the image is closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from hivescan.diagnostics import Diagnostic
from hivescan.timeutil import filetime_to_iso

LIVE = "live"
REGBACK = "regback"


@dataclass(frozen=True, slots=True)
class FoundFile:
    """A file or directory found in a filesystem of the image (path in its stored case)."""

    path: str
    size: int
    is_dir: bool
    modified: int | None  # $STANDARD_INFORMATION modification FILETIME


@dataclass(frozen=True, slots=True)
class ImageVolume:
    """A filesystem, shadow copy, encrypted or unrecognised volume found in the image."""

    label: str  # "p1", "p2/vss1", "volume" (no partition table)
    status: Literal["ok", "encrypted", "unrecognised", "unreadable"]
    partition: str | None = None
    scheme: str | None = None  # GPT or MBR
    offset: int | None = None  # bytes from the start of the disk
    size: int | None = None
    filesystem: str | None = None  # NTFS, FAT, ... (or the encryption: BitLocker, LUKS)
    volume_name: str | None = None
    volume_serial: str | None = None
    shadow_copy: str | None = None  # vss1, vss2, ... (oldest first)
    shadow_copy_id: str | None = None  # the Shadow Copy ID vssadmin shows
    shadow_copy_store_id: str | None = None  # the store GUID (names the store file in System Volume Information)
    shadow_copy_created: str | None = None  # ISO 8601 UTC
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "status": self.status,
            "partition": self.partition,
            "scheme": self.scheme,
            "offset": self.offset,
            "size": self.size,
            "filesystem": self.filesystem,
            "volume_name": self.volume_name,
            "volume_serial": self.volume_serial,
            "shadow_copy": self.shadow_copy,
            "shadow_copy_id": self.shadow_copy_id,
            "shadow_copy_store_id": self.shadow_copy_store_id,
            "shadow_copy_created": self.shadow_copy_created,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class ImageFile:
    """One hive or transaction log of one installation, in one snapshot."""

    installation: int
    role: str  # system, system.log1, system.log2, software, software.log1, software.log2
    snapshot: str  # live, regback, vss1, vss2, ...
    volume: str  # ImageVolume.label
    path: str  # in-image path from the volume root, stored case
    size: int
    modified: int | None = None  # FILETIME
    sha256: str | None = None  # filled by :meth:`DiskImage.inventory`

    def to_dict(self) -> dict[str, Any]:
        return {
            "installation": self.installation,
            "role": self.role,
            "snapshot": self.snapshot,
            "volume": self.volume,
            "path": self.path,
            "size": self.size,
            "modified": filetime_to_iso(self.modified),
            "sha256": self.sha256,
        }


@dataclass(frozen=True, slots=True)
class WindowsInstallation:
    """A Windows directory with a ``System32\\config\\SYSTEM`` hive on a live volume."""

    number: int  # 1-based, in volume order: what ``--install`` takes
    volume: str  # ImageVolume.label of the live volume
    windows_dir: str  # e.g. \\Windows (stored case)
    files: tuple[ImageFile, ...] = ()

    @property
    def snapshots(self) -> tuple[str, ...]:
        """Snapshot labels holding a SYSTEM hive: live, regback, vss1..."""
        return tuple(dict.fromkeys(f.snapshot for f in self.files if f.role == "system"))

    def file(self, role: str, snapshot: str = LIVE) -> ImageFile | None:
        for f in self.files:
            if f.role == role and f.snapshot == snapshot:
                return f
        return None

    def describe(self) -> str:
        return f"{self.number} = {self.volume} {self.windows_dir}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "volume": self.volume,
            "windows_dir": self.windows_dir,
            "snapshots": list(self.snapshots),
            "files": [f.to_dict() for f in self.files],
        }


@dataclass(frozen=True, slots=True)
class ImageInventory:
    """What ``hivescan images`` reports: everything found, before any analysis."""

    path: str
    format: str
    media_size: int | None
    volumes: tuple[ImageVolume, ...]
    installations: tuple[WindowsInstallation, ...]
    diagnostics: tuple[Diagnostic, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": self.path,
            "format": self.format,
            "media_size": self.media_size,
            "volumes": [v.to_dict() for v in self.volumes],
            "installations": [i.to_dict() for i in self.installations],
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }
