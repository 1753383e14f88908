"""Hives straight out of acquired disk images: find every Windows installation, read its hives.

Analysts start from a disk image (E01, raw/dd, VMDK, VHD, VHDX, QCOW2), not an exported
hive. This module tells the two apart by signature (:func:`input_kind`), opens images
through dfvfs (:mod:`hivescan.hive.dfvfs_reader`, installed by the optional extra
``pip install 'hivescan[images]'``), finds each Windows installation on every readable
volume, and reads its hives into memory as :class:`HiveSource` objects whose ``location``
says which image, partition, volume or shadow copy and which in-image path they came from.

Per installation (``<Windows>\\System32\\config``):

* ``live``: SYSTEM with SYSTEM.LOG1/.LOG2, SOFTWARE with its logs;
* ``regback``: RegBack\\SYSTEM and RegBack\\SOFTWARE (the periodic backup);
* ``vss1``, ``vss2``...: the same files inside each Volume Shadow Copy of the volume.

Each of these is a *snapshot* label, so RegBack and shadow copies can be shown as a
labelled history rather than mixed in with the live hive. The image is only ever read:
nothing is written to it or next to it, and no temporary copy is made.

The parts live in modules named for what they hold: :mod:`hivescan.hive.inputkind`
(telling a hive from an image), :mod:`hivescan.hive.imagerecords` (what an image holds, as
records), :mod:`hivescan.hive.installations` (finding the installations and their files);
this module opens the image and reads hives and logs out of it. Their public names stay
importable from here.

References: shared/docs/images-and-scale.md (library choice, measurements).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from hivescan.diagnostics import Diagnostic, error
from hivescan.errors import ImageError
from hivescan.hive.imagerecords import (
    LIVE,
    REGBACK,
    FoundFile,
    ImageFile,
    ImageInventory,
    ImageVolume,
    WindowsInstallation,
)
from hivescan.hive.inputkind import input_kind, sniff_input
from hivescan.hive.installations import (
    CONFIG_FILES,
    MAX_HIVE_BYTES,
    REGBACK_FILES,
    find_installations,
    volume_summary,
)
from hivescan.hive.source import HiveSource
from hivescan.timeutil import filetime_to_iso

if TYPE_CHECKING:
    from hivescan.hive.dfvfs_reader import DfvfsImage, FileSystemHandle

__all__ = [
    "CONFIG_FILES",
    "INSTALL_HINT",
    "LIVE",
    "MAX_HIVE_BYTES",
    "REGBACK",
    "REGBACK_FILES",
    "DiskImage",
    "FoundFile",
    "ImageFile",
    "ImageInventory",
    "ImageVolume",
    "WindowsInstallation",
    "image_inventory",
    "input_kind",
    "load_source",
    "open_image",
]

INSTALL_HINT = "pip install 'hivescan[images]'"


# ---------------------------------------------------------------- opening an image


def open_image(path: str | os.PathLike[str]) -> DiskImage:
    """Scan a disk image and find its Windows installations. Raises ImageError.

    Example::

        with open_image("disk.E01") as image:
            for source in image.snapshot_sources():   # live, regback, vss1, ...
                print(source.location["snapshot"], source.sha256)
    """
    kind, _ = sniff_input(Path(path))
    try:
        from hivescan.hive.dfvfs_reader import DfvfsImage
    except ImportError as exc:
        what = f"a disk image ({kind})" if kind and kind != "hive" else "a disk image"
        raise ImageError(
            f"{path}: {what}; reading disk images needs the optional extra: {INSTALL_HINT} (missing: {exc.name or exc})"
        ) from None
    return DiskImage(DfvfsImage(str(path)))


class DiskImage:
    """An opened disk image: volumes, Windows installations and their hives. Read-only."""

    def __init__(self, scanned: DfvfsImage) -> None:
        self._scanned = scanned
        self.path: str = scanned.path
        self.format: str = scanned.format
        self.media_size: int | None = scanned.media_size
        self.volumes: tuple[ImageVolume, ...] = tuple(scanned.volumes)
        self._diagnostics: list[Diagnostic] = list(scanned.diagnostics)
        self.installations: tuple[WindowsInstallation, ...] = tuple(
            find_installations(scanned.handles, self.volumes, self._diagnostics)
        )
        if not self.installations:
            self._diagnostics.append(
                error("image_no_windows", "", f"{self.path}: no Windows installation found ({self._volume_summary()})")
            )

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return list(self._diagnostics)

    def close(self) -> None:
        self._scanned.close()

    def __enter__(self) -> DiskImage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _volume_summary(self) -> str:
        return volume_summary(self.volumes, self._diagnostics)

    # -- choosing

    def installation(self, number: int | None = None) -> WindowsInstallation:
        """The chosen installation: ``number`` (1-based), or the only one. Raises ImageError."""
        if not self.installations:
            raise ImageError(f"{self.path}: no Windows installation found ({self._volume_summary()})")
        listing = "; ".join(i.describe() for i in self.installations)
        if number is None:
            if len(self.installations) == 1:
                return self.installations[0]
            raise ImageError(
                f"{self.path} holds {len(self.installations)} Windows installations; "
                f"choose one with --install N: {listing}"
            )
        for inst in self.installations:
            if inst.number == number:
                return inst
        raise ImageError(f"{self.path}: no installation {number}; choose one with --install N: {listing}")

    def file(self, install: int | None = None, snapshot: str = LIVE, role: str = "system") -> ImageFile:
        inst = self.installation(install)
        found = inst.file(role, snapshot)
        if found is None:
            have = sorted({f.snapshot for f in inst.files if f.role == role}, key=_snapshot_order)
            raise ImageError(
                f"{self.path}: installation {inst.number} ({inst.volume} {inst.windows_dir}) has no {role} hive "
                f"in snapshot {snapshot!r}; available: {', '.join(have) or 'none'}"
            )
        return found

    # -- reading

    def volume(self, label: str) -> ImageVolume:
        for v in self.volumes:
            if v.label == label:
                return v
        raise KeyError(label)

    def read(self, f: ImageFile) -> bytes:
        """The file's bytes, exactly as large as the filesystem says, or ImageError."""
        handle = self._scanned.handles[f.volume]
        try:
            data = handle.read(f.path, f.size)
        except ImageError as exc:
            raise ImageError(f"{self.path}:{f.volume}: cannot be read ({exc}); is the image truncated?") from exc
        if len(data) != f.size:
            raise ImageError(
                f"{self.path}:{f.volume}:{f.path}: read {len(data):,} of {f.size:,} bytes; is the image truncated?"
            )
        return data

    def handle(self, volume: str) -> FileSystemHandle:
        """The readable filesystem of a volume or shadow copy (by ImageVolume.label). KeyError if none."""
        return self._scanned.handles[volume]

    def location(self, f: ImageFile) -> dict[str, str]:
        """Provenance of one file: image, partition, volume or shadow copy, in-image path, snapshot."""
        v = self.volume(f.volume)
        out = {"image": self.path, "image_format": self.format, "volume": v.label}
        optional = {
            "partition": v.partition,
            "partition_scheme": v.scheme,
            "partition_offset": None if v.offset is None else str(v.offset),
            "filesystem": v.filesystem,
            "volume_name": v.volume_name,
            "volume_serial": v.volume_serial,
            "shadow_copy": v.shadow_copy,
            "shadow_copy_id": v.shadow_copy_id,
            "shadow_copy_store_id": v.shadow_copy_store_id,
            "shadow_copy_created": v.shadow_copy_created,
        }
        out.update({k: val for k, val in optional.items() if val is not None})
        out["path"] = f.path
        out["installation"] = str(f.installation)
        out["snapshot"] = f.snapshot
        out["role"] = f.role
        modified = filetime_to_iso(f.modified)
        if modified:
            out["file_modified"] = modified
        return out

    def source(self, f: ImageFile) -> HiveSource:
        """The file as an in-memory HiveSource carrying its provenance in ``location``."""
        return HiveSource.from_bytes(self.read(f), f"{self.path}:{f.volume}:{f.path}", self.location(f))

    def system_source(self, install: int | None = None, snapshot: str = LIVE) -> HiveSource:
        return self.source(self.file(install, snapshot, "system"))

    def snapshot_sources(self, install: int | None = None, role: str = "system") -> list[HiveSource]:
        """One HiveSource per snapshot holding this hive: live first, then regback, vss1, vss2...

        ``location["snapshot"]`` labels each, for a history view that keeps them apart.
        """
        inst = self.installation(install)
        files = sorted((f for f in inst.files if f.role == role), key=lambda f: _snapshot_order(f.snapshot))
        return [self.source(f) for f in files]

    def log_sources(self, install: int | None = None, snapshot: str = LIVE, hive: str = "system") -> list[HiveSource]:
        """The .LOG1/.LOG2 transaction logs next to a hive (those present), for log replay."""
        inst = self.installation(install)
        return [self.source(f) for f in inst.files if f.snapshot == snapshot and f.role.startswith(f"{hive}.log")]

    def sha256(self, f: ImageFile) -> str:
        """The file's sha256, read in chunks (never the whole file in memory), or ImageError."""
        digest = hashlib.sha256()
        done = 0
        try:
            for chunk in self._scanned.handles[f.volume].chunks(f.path, f.size):
                digest.update(chunk)
                done += len(chunk)
        except ImageError as exc:
            raise ImageError(f"{self.path}:{f.volume}: cannot be read ({exc}); is the image truncated?") from exc
        if done != f.size:
            raise ImageError(
                f"{self.path}:{f.volume}:{f.path}: read {done:,} of {f.size:,} bytes; is the image truncated?"
            )
        return digest.hexdigest()

    def inventory(self) -> ImageInventory:
        """Everything found, each hive read once and hashed (unreadable ones get a diagnostic)."""
        diagnostics = list(self._diagnostics)
        installations = []
        for inst in self.installations:
            files = []
            for f in inst.files:
                try:
                    files.append(replace(f, sha256=self.sha256(f)))
                except ImageError as exc:
                    diagnostics.append(error("image_file_unreadable", f.role, str(exc)))
                    files.append(f)
            installations.append(replace(inst, files=tuple(files)))
        return ImageInventory(
            self.path, self.format, self.media_size, self.volumes, tuple(installations), tuple(diagnostics)
        )


def _snapshot_order(label: str) -> tuple[int, int, str]:
    if label == LIVE:
        return (0, 0, label)
    if label == REGBACK:
        return (1, 0, label)
    digits = "".join(ch for ch in label if ch.isdigit())
    return (2, int(digits) if digits else 0, label)


# ---------------------------------------------------------------- one call for the CLI


def load_source(
    path: str | os.PathLike[str],
    *,
    install: int | None = None,
    snapshot: str = LIVE,
    diagnostics: list[Diagnostic] | None = None,
    logs: list[HiveSource] | None = None,
) -> HiveSource:
    """A SYSTEM hive from a hive file, or from a disk image's chosen installation and snapshot.

    ``diagnostics``, when given, receives the image's diagnostics (encrypted or unreadable
    volumes, missing logs...) so callers can show them next to the hive's own. ``logs``, when
    given, receives the hive's .LOG1/.LOG2 from the image (a hive read out of an image has no
    file next to it, so the log replay cannot find them by itself).
    """
    if input_kind(path) != "image":
        if install is not None or snapshot != LIVE:
            raise ImageError(f"{path}: --install and --snapshot apply to disk images; this is not one")
        return HiveSource.from_file(path)
    with open_image(path) as image:
        source = image.system_source(install, snapshot)
        if diagnostics is not None:
            diagnostics += image.diagnostics
        if logs is not None:
            logs += image.log_sources(install, snapshot)
        return source


def image_inventory(path: str | os.PathLike[str]) -> ImageInventory:
    """Scan an image and hash every hive found (``hivescan images``)."""
    if input_kind(path) == "hive":
        raise ImageError(f"{path}: a registry hive file, not a disk image (use hivescan info)")
    with open_image(path) as image:
        return image.inventory()
