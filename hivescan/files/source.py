"""Files by Windows path: a folder holding a Windows volume, or a filesystem in a disk image.

Every source answers :meth:`FileSource.stat` (is it there, how large, its NTFS times where
the source has them, its alternate data streams) and :meth:`FileSource.chunks` (the bytes, in
bounded chunks: hashing never holds a whole file). Paths are volume-relative with ``\\``
(``Windows\\System32\\drivers\\x.sys``), matched case-insensitively as Windows would.

Folder layouts recognised under ``--root`` (the volume root is the first that holds a
``Windows`` directory): the folder itself (a mounted image), ``C`` (KAPE target output),
``uploads/auto/C%3A`` and ``uploads/ntfs/%5C%5C.%5CC%3A`` (Velociraptor collections, whose
file names are percent-encoded). An alternate data stream copied beside its file is read as
``<name>:<stream>`` (KAPE) or ``<name>%3A<stream>`` (Velociraptor).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote

CHUNK = 1 << 20
MAX_DIRECTORY_ENTRIES = 200_000  # a directory listing is bounded (hostile or damaged trees)
MAX_REMEMBERED = 50_000  # resolved paths kept per source (a hive names a few thousand)
REMEMBERED_DEPTH = 32  # deeper paths are resolved every time (no real volume path is this deep)
MAX_STREAM_BYTES = 64 << 10  # Zone.Identifier and other small streams: text kept whole up to this

_VOLUME_ROOTS = (
    (),
    ("C",),
    ("uploads", "auto", "C%3A"),
    ("uploads", "ntfs", "%5C%5C.%5CC%3A"),
)


@dataclass(frozen=True, slots=True)
class FileStat:
    """What a source knows of one file without reading it."""

    path: str  # as found, stored case, volume-relative
    size: int
    timestamps: dict[str, str | None] | None = None  # si_created..., fn_created... (ISO 8601 UTC)
    streams: dict[str, bytes] = field(default_factory=dict)  # alternate data streams (bounded)


class FileSource(Protocol):
    """Where files are read from: a folder or one filesystem of a disk image."""

    label: str  # shown in ``path``: the folder or IMAGE:VOLUME

    def stat(self, path: str) -> FileStat | None: ...

    def chunks(self, path: str) -> Iterator[bytes]: ...

    def listdir(self, path: str) -> list[str]: ...


def find_volume_root(root: Path) -> Path | None:
    """The folder under ``root`` that holds the volume (a ``Windows`` directory), or None."""
    for parts in _VOLUME_ROOTS:
        candidate = root.joinpath(*parts)
        if candidate.is_dir() and _match(candidate, "Windows") is not None:
            return candidate
    return None


@dataclass
class _Listing:
    """One directory read once: entries by upper-case (percent-decoded) name, and the
    ``name:stream`` copies by the upper-case name of their file."""

    names: dict[str, list[str]] = field(default_factory=dict)
    streams: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # FILE -> (stream, entry)
    complete: bool = True  # every entry listed (not cut at the bound, not unreadable)


def _listing(directory: Path) -> _Listing:
    """A directory's entries (bounded)."""
    out = _Listing()
    try:
        with os.scandir(directory) as entries:
            for index, entry in enumerate(entries):
                if index >= MAX_DIRECTORY_ENTRIES:
                    out.complete = False
                    break
                out.names.setdefault(entry.name.upper(), []).append(entry.name)
                decoded = unquote(entry.name) if "%" in entry.name else entry.name
                if decoded is not entry.name:
                    out.names.setdefault(decoded.upper(), []).append(entry.name)
                base, colon, stream = decoded.partition(":")
                if colon and base and stream:
                    out.streams.setdefault(base.upper(), []).append((stream, entry.name))
    except OSError:
        out.complete = False
    return out


def _match(directory: Path, name: str, listing: _Listing | None = None) -> str | None:
    """The entry of ``directory`` named ``name`` in any case (also percent-encoded), or None.

    The exact name wins when it exists (a case-sensitive filesystem may hold ``Foo`` and
    ``FOO``); else the first listed entry equal to it in upper case. A complete listing with
    no entry of that upper-case name answers without asking the filesystem: no entry can then
    be named exactly ``name`` either (most looked-up service binaries are absent)."""
    if name in (".", ".."):
        return None
    listing = listing if listing is not None else _listing(directory)
    found = listing.names.get(name.upper())
    if found is None and listing.complete:
        return None
    if (directory / name).exists():
        return name
    return found[0] if found else None


class FolderSource:
    """A folder holding a Windows volume's files (see the module docstring for layouts)."""

    parallel_safe = True  # plain files: read from several threads at once

    def __init__(self, root: str | os.PathLike[str]) -> None:
        given = Path(root)
        self.volume_root = find_volume_root(given) or given
        self.label = str(given)
        self._encoded = "%3A" in str(self.volume_root) or "uploads" in self.volume_root.parts
        self._listings: dict[Path, _Listing] = {}  # one scan per directory (System32 is large)
        # entries by their exact path parts (None: not there): the ~700 binaries of a hive lie
        # in a few folders, each resolved once (a missing folder answers for all its files)
        self._entries: dict[tuple[str, ...], Path | None] = {}

    def _dir(self, directory: Path) -> _Listing:
        if directory not in self._listings:
            self._listings[directory] = _listing(directory)
        return self._listings[directory]

    def _resolve(self, path: str) -> Path | None:
        """The entry at ``path``, each part matched as :func:`_match` does. Entries up to
        :data:`REMEMBERED_DEPTH` parts deep are remembered (a hostile path of thousands of
        parts is walked, not remembered); files in a folder known to be missing are not."""
        parts = tuple(filter(None, path.replace("/", "\\").split("\\")))
        if "." in parts or ".." in parts:
            return None  # a path never climbs out of the volume
        entries = self._entries
        if parts in entries:
            return entries[parts]
        if parts and parts[:-1] in entries and entries[parts[:-1]] is None:
            return None  # the usual case in a collection of hives: the folder is not there
        current: Path | None = self.volume_root
        for depth in range(1, len(parts) + 1):
            key = parts[:depth] if depth <= REMEMBERED_DEPTH else None
            if key is not None and key in entries:
                current = entries[key]
            else:
                assert current is not None
                found = _match(current, parts[depth - 1], self._dir(current))
                current = None if found is None else current / found
                if key is not None and len(entries) < MAX_REMEMBERED:
                    entries[key] = current
            if current is None:
                return None
        return current

    def local_path(self, path: str) -> Path:
        """The local file holding ``path`` (for hives opened as files). Raises OSError."""
        found = self._resolve(path)
        if found is None:
            raise OSError(f"{path}: not found under {self.label}")
        return found

    def stat(self, path: str) -> FileStat | None:
        found = self._resolve(path)
        if found is None or not found.is_file():
            return None
        shown = "\\" + "\\".join(unquote(p) for p in found.relative_to(self.volume_root).parts)
        return FileStat(path=shown, size=found.stat().st_size, timestamps=None, streams=self._streams(found))

    def _streams(self, found: Path) -> dict[str, bytes]:
        """Streams copied beside the file: ``name:stream`` or ``name%3Astream``."""
        out: dict[str, bytes] = {}
        for stream, name in self._dir(found.parent).streams.get(unquote(found.name).upper(), ()):
            try:
                with open(found.parent / name, "rb") as handle:
                    out[stream] = handle.read(MAX_STREAM_BYTES + 1)
            except OSError:
                continue
        return out

    def chunks(self, path: str) -> Iterator[bytes]:
        found = self._resolve(path)
        if found is None:
            raise OSError(f"{path}: not found")
        with open(found, "rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    def listdir(self, path: str) -> list[str]:
        found = self._resolve(path)
        if found is None or not found.is_dir():
            return []
        out = []
        with os.scandir(found) as entries:
            for index, entry in enumerate(entries):
                if index >= MAX_DIRECTORY_ENTRIES:
                    break
                out.append(unquote(entry.name) if self._encoded else entry.name)
        return out
