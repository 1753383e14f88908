"""Disk images through dfvfs: the only module of hivescan that imports dfvfs.

Why dfvfs: it is the one library that reads every container analysts bring (E01 also in
segments, raw also split, VMDK, VHD, VHDX, QCOW2), MBR and GPT, NTFS, *and* Volume Shadow
Copies, under Apache-2.0/LGPL licences (measured: shared/docs/images-and-scale.md).

dfvfs's source scanner walks the image into a tree of path specifications -- container,
partition table, partitions, shadow-copy stores, filesystems, encrypted volumes. This module
turns that tree into hivescan's plain :class:`~hivescan.hive.images.ImageVolume` records
(one per filesystem, encrypted or unrecognised volume, shadow copy) plus a small handle per
readable filesystem that finds files case-insensitively and reads them into memory.
Everything is opened read-only; nothing is written anywhere.

dfvfs quirks handled here: NTFS locations use backslashes, MBR tables list metadata and
unallocated slots as partitions without a location, and the scanner does not look for a
filesystem inside shadow-copy stores (we ask for each store explicitly).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from dfvfs.helpers import source_scanner
from dfvfs.lib import definitions
from dfvfs.lib import errors as dfvfs_errors
from dfvfs.path import factory as path_spec_factory
from dfvfs.resolver import context as resolver_context
from dfvfs.resolver import resolver
from dfvfs.volume import factory as volume_system_factory

from hivescan.diagnostics import Diagnostic, error, warning
from hivescan.errors import ImageError
from hivescan.hive.images import FoundFile, ImageVolume
from hivescan.timeutil import filetime_to_iso

# Errors the libyal/TSK bindings raise on damaged or truncated input, besides dfvfs's own.
READ_ERRORS: tuple[type[BaseException], ...] = (dfvfs_errors.Error, OSError, ValueError, RuntimeError)

MAX_DIRECTORY_ENTRIES = 100_000  # a directory listing longer than this is damage, not Windows
_SYSTEMS = {
    definitions.TYPE_INDICATOR_GPT: "GPT partition table",
    definitions.TYPE_INDICATOR_TSK_PARTITION: "MBR partition table",
    definitions.TYPE_INDICATOR_VSHADOW: "Volume Shadow Copy catalogue",
}
_SCHEMES = {definitions.TYPE_INDICATOR_GPT: "GPT", definitions.TYPE_INDICATOR_TSK_PARTITION: "MBR"}
_NAMES = {
    definitions.TYPE_INDICATOR_BDE: "BitLocker",
    definitions.TYPE_INDICATOR_LUKSDE: "LUKS",
    definitions.TYPE_INDICATOR_APFS_CONTAINER: "APFS (encrypted)",
    definitions.TYPE_INDICATOR_CS: "Core Storage",
    definitions.TYPE_INDICATOR_VHDI: "VHD/VHDX",
    definitions.TYPE_INDICATOR_QCOW: "QCOW",
    definitions.TYPE_INDICATOR_RAW: "raw",
}


def format_name(type_indicator: str) -> str:
    return _NAMES.get(type_indicator, type_indicator)


def short_error(exc: BaseException, limit: int = 300) -> str:
    """A libyal error chain ("a: x. b: y. c: z.") cut to its first and last links."""
    text = " ".join(str(exc).split())
    links = [link for link in text.split(". ") if link]
    if len(links) > 2:
        text = f"{links[0]}. ... {links[-1]}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _guarded(what: str, func: Any, *args: Any) -> Any:
    try:
        return func(*args)
    except READ_ERRORS as exc:
        raise ImageError(f"{what}: {short_error(exc)}") from exc


def _number(label: str | None) -> int:
    digits = "".join(ch for ch in label or "" if ch.isdigit())
    return int(digits) if digits else 0


class FileSystemHandle:
    """One readable filesystem inside the image: case-insensitive lookups, whole-file reads."""

    def __init__(self, file_system: Any, root_spec: Any, context: Any) -> None:
        self._fs = file_system
        self._root_spec = root_spec
        self._context = context
        self._sep: str = getattr(file_system, "PATH_SEPARATOR", "\\") or "\\"

    def _spec(self, parts: list[str]) -> Any:
        location = self._sep + self._sep.join(parts)
        return path_spec_factory.Factory.NewPathSpec(
            self._root_spec.type_indicator, location=location, parent=self._root_spec.parent
        )

    def _entry(self, parts: list[str]) -> Any:
        if not parts:
            return self._fs.GetRootFileEntry()
        return self._fs.GetFileEntryByPathSpec(self._spec(parts))

    def find(self, path: str) -> FoundFile | None:
        """See :meth:`_find`; read errors become ImageError."""
        return _guarded(path, self._find, path)  # type: ignore[no-any-return]

    def directories(self, path: str = "") -> list[str]:
        """See :meth:`_directories`; read errors become ImageError."""
        return _guarded(path or "\\", self._directories, path)  # type: ignore[no-any-return]

    def file_entry(self, path: str) -> Any:
        """The dfvfs file entry at ``path`` (any case), or None; read errors become ImageError.

        For the binaries services name (:mod:`hivescan.files.image`): NTFS times, data streams.
        """
        found = self.find(path)
        if found is None:
            return None
        return _guarded(path, self._entry, [p for p in found.path.split("\\") if p])

    def names(self, path: str) -> list[str]:
        """Names of every entry of a directory (at most MAX_DIRECTORY_ENTRIES); read errors become ImageError."""
        return _guarded(path or "\\", self._names, path)  # type: ignore[no-any-return]

    def _names(self, path: str) -> list[str]:
        found = self._find(path) if path.strip("\\") else None
        parts = [p for p in (found.path if found else path).split("\\") if p]
        directory = self._entry(parts)
        if directory is None or not directory.IsDirectory():
            return []
        out = []
        for index, sub in enumerate(directory.sub_file_entries):
            if index >= MAX_DIRECTORY_ENTRIES:
                break
            if sub.name:
                out.append(sub.name)
        return out

    def read(self, path: str, size: int) -> bytes:
        """See :meth:`chunks`; read errors become ImageError."""
        return b"".join(self.chunks(path, size))

    def chunks(self, path: str, size: int, chunk_size: int = 16 << 20) -> Iterator[bytes]:
        """The first ``size`` bytes of the file, in chunks (hashing never holds a whole file)."""
        file_object = _guarded(path, self._open, path)
        remaining = size
        while remaining > 0:
            chunk = _guarded(path, file_object.read, min(remaining, chunk_size))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk

    def _find(self, path: str) -> FoundFile | None:
        """The entry at ``path`` (any case, ``\\``-separated, from the volume root), or None.

        Each component is looked up in turn so the returned path has the case stored on
        disk; when the filesystem's own lookup is case-sensitive, the parent directory is
        listed (bounded) and compared upper-case.
        """
        parts = [p for p in path.replace("/", "\\").split("\\") if p]
        found: list[str] = []
        entry = None
        for part in parts:
            entry = self._entry([*found, part])
            if entry is None:
                entry = self._match_in_directory(found, part)
            if entry is None:
                return None
            found.append(entry.name or part)
        if entry is None:
            return None
        modified = getattr(entry, "modification_time", None)
        ticks = getattr(modified, "timestamp", None) if modified is not None else None
        return FoundFile(
            path="\\" + "\\".join(found),
            size=int(entry.size or 0),
            is_dir=bool(entry.IsDirectory()),
            modified=ticks if isinstance(ticks, int) else None,
        )

    def _match_in_directory(self, parent: list[str], name: str) -> Any:
        directory = self._entry(parent)
        if directory is None or not directory.IsDirectory():
            return None
        want = name.upper()
        for index, sub in enumerate(directory.sub_file_entries):
            if index >= MAX_DIRECTORY_ENTRIES:
                break
            if (sub.name or "").upper() == want:
                return sub
        return None

    def _directories(self, path: str = "") -> list[str]:
        """Names of the subdirectories of ``path`` (at most MAX_DIRECTORY_ENTRIES entries read)."""
        parts = [p for p in path.replace("/", "\\").split("\\") if p]
        directory = self._entry(parts)
        if directory is None or not directory.IsDirectory():
            return []
        out = []
        for index, sub in enumerate(directory.sub_file_entries):
            if index >= MAX_DIRECTORY_ENTRIES:
                break
            if sub.IsDirectory() and sub.name:
                out.append(sub.name)
        return out

    def _open(self, path: str) -> Any:
        entry = self._entry([p for p in path.split("\\") if p])
        if entry is None:
            raise OSError(f"{path}: no longer found")
        file_object = entry.GetFileObject()
        if file_object is None:
            raise OSError(f"{path}: no data stream")
        return file_object


@dataclass
class _Where:
    """Where the walk is: labels inherited by everything found below a node."""

    label: str = "volume"
    partition: str | None = None
    scheme: str | None = None
    offset: int | None = None
    size: int | None = None
    shadow_copy: str | None = None
    shadow_copy_id: str | None = None
    shadow_copy_store_id: str | None = None
    shadow_copy_created: str | None = None


class DfvfsImage:
    """A disk image scanned by dfvfs: format, size, volumes, a handle per readable filesystem."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.format = "unknown"
        self.media_size: int | None = None
        self.volumes: list[ImageVolume] = []
        self.handles: dict[str, FileSystemHandle] = {}
        self.diagnostics: list[Diagnostic] = []
        self._context = resolver_context.Context()
        self._scanner = source_scanner.SourceScanner(resolver_context=self._context)
        self._scan_context = source_scanner.SourceScannerContext()
        try:
            self._scan_context.OpenSourcePath(path)
            self._scanner.Scan(self._scan_context)
        except READ_ERRORS as exc:
            self.close()
            raise ImageError(
                f"{path}: cannot read the disk image ({short_error(exc)}); is it truncated or damaged?"
            ) from exc
        root = self._scan_context.GetRootScanNode()
        if root is None or not root.sub_nodes:
            self.close()
            raise ImageError(
                f"{path}: neither a registry hive nor a disk image hivescan can read "
                "(no known container, partition table or filesystem found)"
            )
        image_node = root.sub_nodes[0]
        self.format = format_name(image_node.type_indicator)
        with contextlib.suppress(*READ_ERRORS):
            file_object = resolver.Resolver.OpenFileObject(image_node.path_spec, resolver_context=self._context)
            self.media_size = int(file_object.get_size())
        try:
            self._walk(image_node, _Where(), top=True)
        except READ_ERRORS as exc:
            self.close()
            raise ImageError(
                f"{path}: cannot read the disk image ({short_error(exc)}); is it truncated or damaged?"
            ) from exc
        # each partition's live volume first, then its shadow copies, oldest first
        order = {
            label: index for index, label in enumerate(dict.fromkeys(v.partition or v.label for v in self.volumes))
        }
        self.volumes.sort(
            key=lambda v: (order[v.partition or v.label], v.shadow_copy is not None, _number(v.shadow_copy))
        )

    def close(self) -> None:
        self.handles.clear()
        with contextlib.suppress(*READ_ERRORS):
            self._context.Empty()

    # -- the walk

    def _walk(self, node: Any, where: _Where, top: bool = False) -> None:
        spec = node.path_spec
        if node.IsVolumeSystemRoot():
            if spec.type_indicator == definitions.TYPE_INDICATOR_VSHADOW:
                self._shadow_copies(node, where)
            else:
                self._partitions(node, where)
            return
        if node.IsFileSystem():
            self._add_filesystem(spec, where)
            return
        if self._scan_context.IsLockedScanNode(spec):
            kind = format_name(spec.type_indicator)
            self._add(
                where,
                status="encrypted",
                filesystem=kind,
                note=f"{kind} encrypted volume: hivescan cannot read it (decrypt the image first)",
            )
            self.diagnostics.append(
                warning(
                    "volume_encrypted",
                    where.label,
                    f"{where.label}: {kind} encrypted volume; its files cannot be read without decrypting it first",
                )
            )
            return
        if not node.sub_nodes:
            if top or where.partition is not None:
                self._add(where, status="unrecognised", note="no filesystem or volume format recognised")
                self.diagnostics.append(
                    warning(
                        "volume_unrecognised",
                        where.label,
                        f"{where.label}: no filesystem, encrypted volume or partition table recognised "
                        "(unformatted, wiped, or a format dfvfs does not read)",
                    )
                )
            return
        for sub in node.sub_nodes:
            self._walk(sub, where)

    def _extents(self, node: Any) -> dict[str, tuple[int | None, int | None, dict[str, Any]]]:
        """identifier ('p1', 'vss2') -> (offset, size, attributes) from dfvfs's volume system."""
        out: dict[str, tuple[int | None, int | None, dict[str, Any]]] = {}
        try:
            system = volume_system_factory.Factory.NewVolumeSystem(node.type_indicator)
            system.Open(node.path_spec)
            for volume in system.volumes:
                extents = list(volume.extents)
                attributes = {a.identifier: a.value for a in volume.attributes}
                offset = extents[0].offset if extents else None
                size = sum(e.size for e in extents) if extents else None
                out[volume.identifier] = (offset, size, attributes)
        except READ_ERRORS as exc:
            self.diagnostics.append(
                warning(
                    "volume_system_unreadable",
                    "",
                    f"{_SYSTEMS.get(node.type_indicator, node.type_indicator)} cannot be read: {short_error(exc)}",
                )
            )
        return out

    def _partitions(self, node: Any, where: _Where) -> None:
        scheme = _SCHEMES.get(node.type_indicator, node.type_indicator)
        extents = self._extents(node)
        for sub in node.sub_nodes:
            location = getattr(sub.path_spec, "location", None)
            if not location or location == "/":
                continue  # MBR metadata and unallocated slots
            ident = location.strip("/")
            offset, size, _ = extents.get(ident, (None, None, {}))
            if offset is None:
                offset = getattr(sub.path_spec, "start_offset", None)
            label = ident if where.partition is None else f"{where.label}/{ident}"
            inner = replace(where, label=label, partition=label, scheme=scheme, offset=offset, size=size)
            self._check_extent(inner)
            self._walk(sub, inner)

    def _check_extent(self, where: _Where) -> None:
        if self.media_size is None or where.offset is None or where.size is None:
            return
        end = where.offset + where.size
        if end > self.media_size:
            self.diagnostics.append(
                error(
                    "partition_past_image_end",
                    where.label,
                    f"{where.label} ends at byte {end:,} but the image holds {self.media_size:,} bytes: "
                    "the image is truncated (files past its end cannot be read)",
                )
            )

    def _shadow_copies(self, node: Any, where: _Where) -> None:
        """Every Volume Shadow Copy store of a volume, each scanned for its own filesystem."""
        extents = self._extents(node)
        for sub in node.sub_nodes:
            location = getattr(sub.path_spec, "location", None)
            if not location:
                continue
            ident = location.strip("/")
            _, _, attributes = extents.get(ident, (None, None, {}))
            created = attributes.get("creation_time")
            inner = replace(
                where,
                label=f"{where.label}/{ident}" if where.partition or where.label != "volume" else ident,
                shadow_copy=ident,
                shadow_copy_id=str(attributes["copy_identifier"]) if attributes.get("copy_identifier") else None,
                shadow_copy_store_id=str(attributes["identifier"]) if attributes.get("identifier") else None,
                shadow_copy_created=filetime_to_iso(created) if isinstance(created, int) else None,
            )
            try:
                fs_spec = self._scanner.ScanForFileSystem(sub.path_spec)
            except READ_ERRORS as exc:
                fs_spec = None
                reason = short_error(exc)
            else:
                reason = "no filesystem found in the store"
            if fs_spec is None:
                self._add(inner, status="unreadable", note=reason)
                self.diagnostics.append(
                    warning("shadow_copy_unreadable", inner.label, f"{inner.label}: shadow copy not readable: {reason}")
                )
                continue
            self._add_filesystem(fs_spec, inner)

    def _add_filesystem(self, spec: Any, where: _Where) -> None:
        kind = spec.type_indicator
        try:
            file_system = resolver.Resolver.OpenFileSystem(spec, resolver_context=self._context)
        except READ_ERRORS as exc:
            self._add(where, status="unreadable", filesystem=kind, note=short_error(exc))
            self.diagnostics.append(
                error(
                    "volume_unreadable",
                    where.label,
                    f"{where.label}: {kind} filesystem cannot be opened: {short_error(exc)}",
                )
            )
            return
        name = serial = None
        ntfs = getattr(file_system, "_fsntfs_volume", None)  # dfvfs keeps libfsntfs' volume here
        if ntfs is not None:
            with contextlib.suppress(*READ_ERRORS, AttributeError):
                name = ntfs.name or None
            with contextlib.suppress(*READ_ERRORS, AttributeError):
                serial = f"{int(ntfs.serial_number):016X}"
        self._add(where, status="ok", filesystem=kind, volume_name=name, volume_serial=serial)
        self.handles[where.label] = FileSystemHandle(file_system, spec, self._context)

    def _add(self, where: _Where, **fields: Any) -> None:
        self.volumes.append(
            ImageVolume(
                label=where.label,
                partition=where.partition,
                scheme=where.scheme,
                offset=where.offset,
                size=where.size,
                shadow_copy=where.shadow_copy,
                shadow_copy_id=where.shadow_copy_id,
                shadow_copy_store_id=where.shadow_copy_store_id,
                shadow_copy_created=where.shadow_copy_created,
                **fields,
            )
        )
