"""What a triage run reads: hive files found by their signature, with their transaction logs.

Folders are walked recursively (symbolic links to folders are not followed, so a link
cycle cannot loop); a file is a hive when its first 4 KiB are a regf base block that is
not a transaction log's (type 0, or a damaged type: the scan reports it). Transaction
logs (``.LOG``, ``.LOG1``, ``.LOG2``: a regf base block of type 1, 2 or 6) are attached
to the hive of the same name in the same folder; they are noted, not replayed here.
Files given by name are always inputs, hive or not, so each gets a row saying what
happened to it; files met in folders that are not hives are listed as ignored.

Disk images are opened by a :class:`ContainerReader` that the disk-image feature provides
(``hivescan/hive/images.py``); a reader claims a file and lists the hives inside it as
:class:`HiveInput` items (``member`` = the path inside the image) that workers open with
the same reader. Without a reader, image files become inputs whose row says
``image_unsupported``.

References: msuhanov/regf "Base block" (signature, file type); scm-spec.md §9.1.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from hivescan.hive.header import BASE_BLOCK_SIZE, REGF_SIGNATURE
from hivescan.hive.source import HiveSource

LOG_SUFFIXES = (".LOG", ".LOG1", ".LOG2")
LOG_FILE_TYPES = frozenset({1, 2, 6})  # transaction logs: old format (1, 2), new format (6)
# container formats recognised by name when no reader is installed (an explicit row beats silence)
IMAGE_SUFFIXES = (".e01", ".ex01", ".vmdk", ".vhd", ".vhdx", ".qcow2", ".dd", ".raw", ".img", ".001", ".aff4")


@dataclass(frozen=True, slots=True)
class HiveInput:
    """One hive to scan: picklable, so it travels to worker processes and Dask workers.

    ``kind``: ``hive`` (a regf primary file), ``log`` (a transaction log given by name),
    ``other`` (a file given by name that is not a hive), ``image`` (a disk image no reader
    claimed), ``special`` (a device, pipe or socket given by name: never read), or the
    name of the :class:`ContainerReader` that opens ``member``.
    """

    path: str
    member: str = ""  # the hive's path inside a container; empty for a plain file
    kind: str = "hive"
    logs: tuple[str, ...] = ()  # transaction logs next to the hive (noted, not replayed)

    @property
    def label(self) -> str:
        return f"{self.path}!{self.member}" if self.member else self.path


@dataclass(frozen=True, slots=True)
class Ignored:
    """A file met in a folder that is not scanned, and why."""

    path: str
    reason: str


@dataclass(slots=True)
class Discovery:
    inputs: list[HiveInput] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)


@runtime_checkable
class ContainerReader(Protocol):
    """The hook through which the disk-image feature plugs into triage.

    Must be picklable (a module-level class), since workers call :meth:`open`. It may also
    offer ``open_logs(item) -> list[HiveSource]`` (the member's transaction logs), used for log
    replay when a member has no file next to it.
    """

    @property
    def name(self) -> str:
        """Written in ``HiveInput.kind`` of the members it lists."""
        ...

    def claims(self, path: Path, head: bytes) -> bool:
        """True when this reader opens ``path`` (``head``: its first 4 KiB)."""
        ...

    def list_hives(self, path: Path) -> list[HiveInput]:
        """The SYSTEM hive candidates inside the container, with ``kind=self.name``."""
        ...

    def open(self, item: HiveInput) -> HiveSource:
        """The bytes of one listed hive, with provenance in ``HiveSource.location``."""
        ...


def read_head(path: Path) -> bytes | None:
    """The first 4 KiB of a file (fewer when it is shorter); None when it cannot be read."""
    try:
        with path.open("rb") as fh:
            return fh.read(BASE_BLOCK_SIZE)
    except OSError:
        return None


def regf_file_type(head: bytes | None) -> int | None:
    """The base block's file type (0 primary, 1/2/6 logs), or None when not a regf file."""
    if head is None or len(head) < 32 or head[:4] != REGF_SIGNATURE:
        return None
    return int(struct.unpack_from("<I", head, 28)[0])


def _logs_for(hive: Path, siblings: Sequence[str]) -> tuple[str, ...]:
    wanted = {(hive.name + suffix).upper() for suffix in LOG_SUFFIXES}
    return tuple(str(hive.parent / name) for name in siblings if name.upper() in wanted)


def _classify(
    path: Path, readers: Sequence[ContainerReader], explicit: bool, siblings: Sequence[str]
) -> list[HiveInput]:
    head = read_head(path)
    if head is None:  # unreadable (permissions, I/O error): an input, so its row says why
        return [HiveInput(str(path), kind="hive")]
    file_type = regf_file_type(head)
    if file_type in LOG_FILE_TYPES:
        return [HiveInput(str(path), kind="log")] if explicit else []
    if file_type is not None:  # a primary file (0), or a damaged base block: the scan will say
        return [HiveInput(str(path), kind="hive", logs=_logs_for(path, siblings))]
    for reader in readers:
        if reader.claims(path, head):
            return sorted(reader.list_hives(path), key=lambda i: i.member)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return [HiveInput(str(path), kind="image")]
    return [HiveInput(str(path), kind="other")] if explicit else []


def discover(paths: Iterable[str | os.PathLike[str]], readers: Sequence[ContainerReader] = ()) -> Discovery:
    """Every hive under ``paths`` (files or folders), sorted by path, each file once.

    A file given by name is always an input (missing, unreadable or not a hive: its row
    says so). Inside folders, transaction logs go with their hive and anything else that
    is not a hive is listed in ``ignored`` with the reason.
    """
    found = Discovery()
    seen: dict[str, str] = {}  # real path -> the name it was first met under
    given = [Path(p) for p in paths]
    for root in [p for p in given if not p.is_dir()]:  # named files first: they always get a row
        key = os.path.realpath(root)
        if key in seen:  # the same file named twice (e.g. through a link): one row, the other name listed
            found.ignored.append(Ignored(str(root), f"the same file as {seen[key]}, already an input"))
            continue
        seen[key] = str(root)
        if root.is_file():
            found.inputs += _classify(root, readers, True, _listdir(root.parent))
        else:  # missing (its row says so), or a device, pipe or socket (never read: it could block)
            found.inputs.append(HiveInput(str(root), kind="special" if root.exists() else "hive"))
    for root in [p for p in given if p.is_dir()]:
        _walk(root, readers, found, seen)
    found.inputs.sort(key=lambda i: (i.path, i.member))
    found.ignored.sort(key=lambda i: i.path)
    return found


def _listdir(folder: Path) -> list[str]:
    try:
        return sorted(os.listdir(folder))
    except OSError:
        return []


def _walk(root: Path, readers: Sequence[ContainerReader], found: Discovery, seen: dict[str, str]) -> None:
    errors: list[OSError] = []
    for folder, dirnames, filenames in os.walk(root, onerror=errors.append, followlinks=False):
        dirnames.sort()
        for name in dirnames:  # os.walk does not follow them; say so, they may hold hives
            if os.path.islink(os.path.join(folder, name)):
                found.ignored.append(
                    Ignored(os.path.join(folder, name), "a symbolic link to a folder: not followed (it could loop)")
                )
        names = sorted(filenames)
        attached: set[str] = set()
        leftovers: list[tuple[str, bool]] = []  # (path, is a regf log)
        for name in names:
            path = Path(folder) / name
            key = os.path.realpath(path)
            if key in seen:
                if seen[key] != str(path):  # met again under another name (a link, or named and in a folder)
                    found.ignored.append(Ignored(str(path), f"the same file as {seen[key]}, already met"))
                continue
            seen[key] = str(path)
            if not path.is_file():
                why = _not_regular(path)
                found.ignored.append(Ignored(str(path), why))
                continue
            items = _classify(path, readers, False, names)
            for item in items:
                attached.update(item.logs)
            found.inputs += items
            if items:
                continue
            leftovers.append((str(path), regf_file_type(read_head(path)) in LOG_FILE_TYPES))
        for path_text, is_log in leftovers:
            if path_text in attached:
                continue
            if is_log:
                found.ignored.append(Ignored(path_text, "a transaction log without its primary hive in this folder"))
            elif _is_empty(path_text):
                found.ignored.append(Ignored(path_text, "an empty file"))
            else:
                found.ignored.append(Ignored(path_text, "not a registry hive (no regf signature)"))
    for error in errors:
        found.ignored.append(Ignored(str(error.filename), f"folder not readable: {error.strerror or error}"))


def _is_empty(path: str) -> bool:
    try:
        return os.stat(path).st_size == 0
    except OSError:
        return False


def _not_regular(path: Path) -> str:
    """Why a name met in a folder is not read: what it is, as far as lstat/stat tell."""
    import stat

    try:
        mode = path.lstat().st_mode
    except OSError as exc:
        return f"cannot be examined ({exc.strerror or exc})"
    if stat.S_ISLNK(mode):
        try:
            path.stat()
        except OSError as exc:  # ELOOP for a link cycle, ENOENT for a dangling link
            return f"a symbolic link that cannot be followed ({exc.strerror or exc})"
        return "a symbolic link to something that is not a regular file"
    kinds = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"))  # fmt: skip
    for test, name in kinds:
        if test(mode):
            return f"not a regular file: {name}; never read (it could block)"
    return "not a regular file"
