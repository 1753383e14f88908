"""A collection as a .zip (Velociraptor's offline collector, KAPE's zipped output), read in place.

Members are indexed once by their volume path: the prefix up to the volume root is dropped
(``C/``, ``uploads/auto/C%3A/``, ``uploads/ntfs/%5C%5C.%5CC%3A/``, under any leading folders),
names are percent-decoded and matched case-insensitively. Files are decompressed as streams,
in chunks: nothing is unpacked to disk, and a member that inflates past what its header
claims stops being read (``read_file_bytes`` bounds every file).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import PurePosixPath
from urllib.parse import unquote

from hivescan.files.source import CHUNK, MAX_STREAM_BYTES, FileStat

MAX_MEMBERS = 2_000_000
_VOLUME_MARKERS = frozenset({"C", "C%3A", "%5C%5C.%5CC%3A", "C:"})


def _volume_parts(name: str) -> list[str] | None:
    """The member's path below the volume root (decoded), or None when it is not under one."""
    parts = [p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("", "/")]
    for index, part in enumerate(parts[:-1]):
        if part.upper() in _VOLUME_MARKERS:
            return [unquote(p) for p in parts[index + 1 :]]
    return None


class ZipSource:
    """A .zip collection as a :class:`~hivescan.files.source.FileSource`. Use as a context manager."""

    parallel_safe = True  # zipfile serialises reads of its shared handle

    def __init__(self, path: str) -> None:
        self.label = str(path)
        self._zip = zipfile.ZipFile(path)
        self._files: dict[str, zipfile.ZipInfo] = {}  # upper-case volume path -> member
        self._dirs: dict[str, set[str]] = {}  # upper-case directory -> names in it
        self._streams: dict[str, list[tuple[str, zipfile.ZipInfo]]] = {}  # file -> (stream name, member)
        for index, info in enumerate(self._zip.infolist()):
            if index >= MAX_MEMBERS:
                break
            if info.is_dir():
                continue
            parts = _volume_parts(info.filename)
            if not parts:
                continue
            key = "\\".join(parts).upper()
            base, colon, stream = parts[-1].partition(":")
            if colon and base and stream:
                self._streams.setdefault(key.rsplit(":", 1)[0], []).append((stream, info))
                continue
            self._files.setdefault(key, info)
            for depth in range(len(parts)):
                self._dirs.setdefault("\\".join(parts[:depth]).upper(), set()).add(parts[depth])

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> ZipSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _key(self, path: str) -> str:
        return "\\".join(p for p in path.replace("/", "\\").split("\\") if p).upper()

    def stat(self, path: str) -> FileStat | None:
        key = self._key(path)
        info = self._files.get(key)
        if info is None:
            return None
        shown = "\\" + "\\".join(_volume_parts(info.filename) or [])
        streams: dict[str, bytes] = {}
        for stream, member in self._streams.get(key, ()):
            try:
                with self._zip.open(member) as handle:
                    streams[stream] = handle.read(MAX_STREAM_BYTES + 1)
            except (zipfile.BadZipFile, EOFError, ValueError, OSError):
                continue
        return FileStat(path=shown, size=info.file_size, timestamps=None, streams=streams)

    def chunks(self, path: str) -> Iterator[bytes]:
        info = self._files.get(self._key(path))
        if info is None:
            raise OSError(f"{path}: not in {self.label}")
        try:
            with self._zip.open(info) as handle:
                while chunk := handle.read(CHUNK):
                    yield chunk
        except (zipfile.BadZipFile, EOFError, ValueError) as exc:  # damaged member, bad CRC
            raise OSError(f"{path}: {exc}") from exc

    def listdir(self, path: str) -> list[str]:
        return sorted(self._dirs.get(self._key(path), ()))

    def read(self, path: str, limit: int) -> bytes:
        """A whole member (a hive or log), at most ``limit`` bytes. Raises OSError."""
        out = bytearray()
        for chunk in self.chunks(path):
            out += chunk
            if len(out) > limit:
                raise OSError(f"{path}: larger than {limit:,} bytes")
        return bytes(out)
