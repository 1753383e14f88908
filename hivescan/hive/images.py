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

References: shared/docs/images-and-scale.md (library choice, measurements).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from hivescan.diagnostics import Diagnostic, error, info
from hivescan.errors import ImageError
from hivescan.hive.header import REGF_SIGNATURE
from hivescan.hive.source import HiveSource, input_errors, open_input
from hivescan.timeutil import filetime_to_iso

if TYPE_CHECKING:
    from hivescan.hive.dfvfs_reader import DfvfsImage, FileSystemHandle

INSTALL_HINT = "pip install 'hivescan[images]'"
MAX_HIVE_BYTES = 4 << 30  # a regf file cannot describe more than 4 GiB of hive bins
LIVE = "live"
REGBACK = "regback"

# role -> file name in ...\System32\config (live and shadow copies)
CONFIG_FILES = (
    ("system", "SYSTEM"),
    ("system.log1", "SYSTEM.LOG1"),
    ("system.log2", "SYSTEM.LOG2"),
    ("software", "SOFTWARE"),
    ("software.log1", "SOFTWARE.LOG1"),
    ("software.log2", "SOFTWARE.LOG2"),
)
REGBACK_FILES = (("system", "SYSTEM"), ("software", "SOFTWARE"))
_EXPECTED = {"system", "system.log1", "system.log2", "software"}  # absence worth a note

# Leading bytes of the containers dfvfs reads (offset, signature, name).
_SIGNATURES = (
    (0, b"EVF\x09\x0d\x0a\xff\x00", "EWF (E01)"),
    (0, b"EVF2\x0d\x0a\x81\x00", "EWF2 (Ex01)"),
    (0, b"KDMV", "VMDK"),
    (0, b"# Disk DescriptorFile", "VMDK descriptor"),
    (0, b"vhdxfile", "VHDX"),
    (0, b"conectix", "VHD"),
    (0, b"QFI\xfb", "QCOW"),
    (512, b"EFI PART", "GPT disk"),
    (3, b"NTFS    ", "NTFS volume"),
)
_RAW_SUFFIXES = {".dd", ".raw", ".img", ".bin", ".001", ".000", ".aa"}


def input_kind(path: str | os.PathLike[str]) -> Literal["hive", "image", "other"]:
    """``hive`` (regf signature), ``image`` (a disk-image container or disk), or ``other``.

    Reads at most the first 4 KiB and the last 512 bytes, so it is cheap on a 1 TB image.
    """
    name, _ = _sniff(Path(path))
    return "hive" if name == "hive" else "image" if name else "other"


def _sniff(path: Path) -> tuple[str | None, int]:
    what = "a hive file or disk image"
    with open_input(path, what) as (fh, size), input_errors(path, what):
        head = fh.read(4096)
        tail = b""
        if size >= 512:
            fh.seek(size - 512)
            tail = fh.read(512)
    if head.startswith(REGF_SIGNATURE):
        return "hive", size
    for offset, signature, name in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return name, size
    if tail.startswith(b"conectix"):
        return "VHD (fixed)", size
    if len(head) >= 512 and head[510:512] == b"\x55\xaa" and size % 512 == 0:
        return "disk with an MBR", size
    if path.suffix.lower() in _RAW_SUFFIXES and size % 512 == 0 and size >= 1 << 20:
        return "raw image", size
    return None, size


# ---------------------------------------------------------------- what an image holds


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


# ---------------------------------------------------------------- opening an image


def open_image(path: str | os.PathLike[str]) -> DiskImage:
    """Scan a disk image and find its Windows installations. Raises ImageError.

    Example::

        with open_image("disk.E01") as image:
            for source in image.snapshot_sources():   # live, regback, vss1, ...
                print(source.location["snapshot"], source.sha256)
    """
    kind, _ = _sniff(Path(path))
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
        self.installations: tuple[WindowsInstallation, ...] = tuple(self._find_installations())
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

    # -- finding installations

    def _find_installations(self) -> Iterator[WindowsInstallation]:
        number = 0
        for volume in self.volumes:
            if volume.status != "ok" or volume.shadow_copy is not None:
                continue
            try:
                windows_dirs = self._windows_dirs(volume.label)
            except ImageError as exc:
                self._diagnostics.append(
                    error("volume_unreadable", volume.label, f"{volume.label}: directories cannot be read: {exc}")
                )
                continue
            for windows_dir in windows_dirs:
                number += 1
                files: list[ImageFile] = []
                for label, snapshot in self._views(volume):
                    try:
                        files += self._config_files(number, label, windows_dir, snapshot)
                        if snapshot == LIVE:
                            files += self._regback_files(number, label, windows_dir)
                    except ImageError as exc:
                        self._diagnostics.append(
                            error("volume_unreadable", label, f"{label}: {windows_dir} cannot be read: {exc}")
                        )
                yield WindowsInstallation(number, volume.label, windows_dir, tuple(files))

    def _views(self, volume: ImageVolume) -> list[tuple[str, str]]:
        """(volume label, snapshot label): the live volume, then its readable shadow copies."""
        views = [(volume.label, LIVE)]
        for shadow in self.volumes:
            if shadow.status == "ok" and shadow.shadow_copy and shadow.partition == volume.partition:
                views.append((shadow.label, shadow.shadow_copy))
        return views

    def _windows_dirs(self, label: str) -> list[str]:
        """Top-level directories (and ``X\\Windows`` below them, e.g. Windows.old) holding a SYSTEM hive."""
        handle = self._scanned.handles[label]
        found: dict[str, str] = {}
        for name in handle.directories():
            if name.startswith("$"):
                continue
            for candidate in (name, f"{name}\\Windows"):
                hive = handle.find(f"{candidate}\\System32\\config\\SYSTEM")
                if hive is not None and not hive.is_dir:
                    windows_dir = hive.path.rsplit("\\", 3)[0]
                    found.setdefault(windows_dir.upper(), windows_dir)
        return list(found.values())

    def _config_files(self, number: int, label: str, windows_dir: str, snapshot: str) -> list[ImageFile]:
        handle = self._scanned.handles[label]
        where = f"{label}:{windows_dir}\\System32\\config"
        out = []
        for role, name in CONFIG_FILES:
            found = handle.find(f"{windows_dir}\\System32\\config\\{name}")
            if found is None or found.is_dir:
                if role in _EXPECTED and snapshot == LIVE:
                    self._diagnostics.append(info("image_hive_missing", role, f"{where}\\{name}: not present"))
                continue
            checked = self._checked(number, role, snapshot, label, found)
            if checked is not None:
                out.append(checked)
        return out

    def _regback_files(self, number: int, label: str, windows_dir: str) -> list[ImageFile]:
        handle = self._scanned.handles[label]
        out = []
        for role, name in REGBACK_FILES:
            found = handle.find(f"{windows_dir}\\System32\\config\\RegBack\\{name}")
            if found is None or found.is_dir:
                if role == "system":
                    self._diagnostics.append(
                        info(
                            "image_hive_missing",
                            role,
                            f"{label}:{windows_dir}\\System32\\config\\RegBack\\{name}: not present",
                        )
                    )
                continue
            checked = self._checked(number, role, REGBACK, label, found)
            if checked is not None:
                out.append(checked)
        return out

    def _checked(self, number: int, role: str, snapshot: str, label: str, found: FoundFile) -> ImageFile | None:
        """The file as an ImageFile, or None (with a diagnostic) when it cannot be a hive to read."""
        if found.size > MAX_HIVE_BYTES:
            self._diagnostics.append(
                error(
                    "image_hive_too_large",
                    role,
                    f"{label}:{found.path}: {found.size:,} bytes, more than a hive can hold; not read",
                )
            )
            return None
        if found.size == 0 and not role.endswith((".log1", ".log2")):
            why = " (Windows 10 1803 and later no longer fill RegBack by default)" if snapshot == REGBACK else ""
            self._diagnostics.append(info("image_hive_empty", role, f"{label}:{found.path}: 0 bytes{why}"))
            return None
        return ImageFile(number, role, snapshot, label, found.path, found.size, found.modified)

    def _volume_summary(self) -> str:
        if not self.volumes:
            return "no volumes found"
        parts = []
        unreadable = {d.field for d in self._diagnostics if d.code == "volume_unreadable"}
        cut = {d.field for d in self._diagnostics if d.code == "partition_past_image_end"}
        for v in self.volumes:
            if v.status == "ok" and v.label in unreadable:
                text = f"{v.label} {v.filesystem}: unreadable"
            elif v.status == "ok":
                text = f"{v.label} {v.filesystem}: no Windows\\System32\\config\\SYSTEM"
            else:
                text = f"{v.label}: {v.status}{' ' + v.filesystem if v.filesystem else ''}"
            if v.label in cut:
                text += " (the partition runs past the end of the image: truncated image)"
            parts.append(text)
        return "; ".join(parts)

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
