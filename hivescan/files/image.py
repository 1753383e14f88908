"""Files read out of a disk image: one filesystem (volume or shadow copy) through dfvfs.

The same installation and snapshot as the hive: a service's binary is read *as it was* in
that snapshot. NTFS gives what a folder cannot: ``$STANDARD_INFORMATION`` and ``$FILE_NAME``
times (timestomping shows as the former set earlier than the latter) and alternate data
streams (``Zone.Identifier``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hivescan.files.source import MAX_STREAM_BYTES, FileStat
from hivescan.timeutil import filetime_to_iso, shown_filetime

FILE_NAME_ATTRIBUTE = 0x30
_TIMES = (
    ("created", "creation"),
    ("modified", "modification"),
    ("changed", "entry_modification"),
    ("accessed", "access"),
)
MAX_STREAMS = 16


def _filetime(obj: Any, name: str) -> str | None:
    """One NTFS time as ISO 8601 UTC; a FILETIME that is no date (past year 9999) keeps its raw
    number, worded as :func:`~hivescan.timeutil.shown_filetime` words it (``not a date
    (FILETIME n)``), never None: None says the attribute gave no time at all. The file's facts
    add a diagnostic for it (files/facts.py)."""
    getter = getattr(obj, f"get_{name}_time_as_integer", None)
    if getter is None:
        return None
    try:
        ticks = int(getter())
    except (OSError, ValueError, TypeError):
        return None
    return filetime_to_iso(ticks) or shown_filetime(ticks)


def ntfs_timestamps(entry: Any) -> dict[str, str | None] | None:
    """$SI and (first) $FILE_NAME times of a dfvfs NTFS file entry, or None off NTFS."""
    getter = getattr(entry, "GetNTFSFileEntry", None)
    if getter is None:
        return None
    try:
        ntfs = getter()
    except (OSError, ValueError):
        return None
    if ntfs is None:
        return None
    out: dict[str, str | None] = {f"si_{k}": _filetime(ntfs, v) for k, v in _TIMES}
    out.update({f"fn_{k}": None for k, _ in _TIMES})
    try:
        for index in range(int(ntfs.number_of_attributes)):
            attribute = ntfs.get_attribute(index)
            if getattr(attribute, "attribute_type", None) == FILE_NAME_ATTRIBUTE:
                out.update({f"fn_{k}": _filetime(attribute, v) for k, v in _TIMES})
                break
    except (OSError, ValueError, AttributeError):
        pass
    return out


class ImageSource:
    """One filesystem of a disk image as a :class:`~hivescan.files.source.FileSource`."""

    complete_volume = True  # the whole filesystem: a file not found in it is not on the volume

    def __init__(self, handle: Any, label: str) -> None:
        self.handle = handle  # hivescan.hive.dfvfs_reader.FileSystemHandle
        self.label = label

    def stat(self, path: str) -> FileStat | None:
        from hivescan.errors import ImageError

        try:
            found = self.handle.find(path)
            if found is None or found.is_dir:
                return None
            entry = self.handle.file_entry(found.path)
        except ImageError as exc:
            raise OSError(str(exc)) from exc
        return FileStat(path=found.path, size=found.size, timestamps=ntfs_timestamps(entry), streams=_streams(entry))

    def chunks(self, path: str) -> Iterator[bytes]:
        from hivescan.errors import ImageError

        try:
            found = self.handle.find(path)
            if found is None:
                raise OSError(f"{path}: not found")
            yield from self.handle.chunks(found.path, found.size, chunk_size=1 << 20)
        except ImageError as exc:
            raise OSError(str(exc)) from exc

    def listdir(self, path: str) -> list[str]:
        from hivescan.errors import ImageError

        try:
            return list(self.handle.names(path))
        except ImageError:
            return []


def _streams(entry: Any) -> dict[str, bytes]:
    """Named data streams (alternate data streams), each read up to MAX_STREAM_BYTES + 1."""
    out: dict[str, bytes] = {}
    if entry is None:
        return out
    try:
        streams = list(entry.data_streams)[: MAX_STREAMS + 1]
        for stream in streams:
            name = getattr(stream, "name", "")
            if not name:
                continue
            handle = entry.GetFileObject(data_stream_name=name)
            if handle is not None:
                out[name] = handle.read(MAX_STREAM_BYTES + 1)
    except (OSError, ValueError, AttributeError):
        pass
    return out
