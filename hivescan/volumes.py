"""Inputs that hold a Windows volume's files, opened as a SYSTEM hive with its binaries.

A folder (mounted image, KAPE, Velociraptor), a zipped collection, or a disk image whose
binaries are read from the hive's own volume and snapshot. :func:`hivescan.open_hive` calls
these; each returns a :class:`~hivescan.system.SystemHive` whose records carry
``image_file`` / ``service_dll_file`` (see :mod:`hivescan.files`).
"""

from __future__ import annotations

import os
import zipfile
from typing import TYPE_CHECKING, Any

from hivescan.errors import HiveNotFound
from hivescan.events.found import LogLocation
from hivescan.hive.logs import parse_log
from hivescan.hive.source import HiveSource
from hivescan.system import SystemHive

if TYPE_CHECKING:
    from hivescan.diagnostics import Diagnostic
    from hivescan.events.logs import EventLog
    from hivescan.files.source import FileSource
    from hivescan.hive.images import DiskImage, ImageFile


def file_source(files: Any, default: FileSource | None) -> FileSource | None:
    """``files=``: "auto" (the input's own files, if any), None (off), a folder, or a FileSource."""
    if files == "auto":
        return default
    if files is None or files is False:
        return None
    if isinstance(files, str | os.PathLike):
        from hivescan.files.source import FolderSource

        if not os.path.isdir(files):
            raise HiveNotFound(f"{files}: not a folder (--root takes the folder holding a Windows volume)")
        return FolderSource(files)
    return files  # type: ignore[no-any-return]


def open_image_with_files(
    path: str | os.PathLike[str], install: int | None, snapshot: str, files: Any, options: dict[str, Any]
) -> SystemHive:
    """The SYSTEM hive of a disk image, with the files of the same volume and snapshot; the
    image stays open until the hive is closed."""
    from hivescan.files.image import ImageSource
    from hivescan.hive.images import open_image

    image = open_image(path)
    try:
        found = image.file(install, snapshot, "system")
        source = image.source(found)
        logs = image.log_sources(install, snapshot)
        if logs and options.get("logs", "auto") == "auto":
            options["logs"] = [parse_log(log.data, log.path) for log in logs]
        default = ImageSource(image.handle(found.volume), f"{image.path}:{found.volume}")
        hive = SystemHive(source, files=file_source(files, default), **options)
    except BaseException:
        image.close()
        raise
    hive._on_close.append(image.close)
    hive.event_locations = image_log_locations(image, found)
    hive._own_diagnostics += image.diagnostics  # encrypted/unreadable volumes, missing logs
    return hive


def open_zip(path: str | os.PathLike[str], files: Any, options: dict[str, Any]) -> SystemHive:
    """A zipped collection (Velociraptor offline collector, KAPE): its SYSTEM hive, logs,
    SOFTWARE and files, read from the archive without unpacking it."""
    from hivescan.files.archive import ZipSource
    from hivescan.hive.images import MAX_HIVE_BYTES

    try:
        archive = ZipSource(os.fspath(path))
    except (OSError, zipfile.BadZipFile) as exc:
        raise HiveNotFound(f"{path}: unreadable zip ({exc})") from exc
    try:
        config = "Windows\\System32\\config\\"
        found = archive.stat(config + "SYSTEM")
        if found is None:
            raise HiveNotFound(f"{path}: a zip without Windows\\System32\\config\\SYSTEM under C/ or C%3A/")
        try:
            source = HiveSource.from_bytes(archive.read(found.path, MAX_HIVE_BYTES), f"{path}:{found.path}")
            logs = [
                parse_log(archive.read(log.path, MAX_HIVE_BYTES), f"{path}:{log.path}")
                for name in ("SYSTEM.LOG1", "SYSTEM.LOG2", "SYSTEM.LOG")
                if (log := archive.stat(config + name)) is not None
            ]
            software = archive.stat(config + "SOFTWARE")
            if software is not None and options.get("software") is None:
                data = archive.read(software.path, MAX_HIVE_BYTES)
                options["software"] = HiveSource.from_bytes(data, f"{path}:{software.path}")
        except OSError as exc:
            raise HiveNotFound(f"{path}: {exc}") from exc
        if logs and options.get("logs", "auto") == "auto":
            options["logs"] = logs
        hive = SystemHive(source, files=file_source(files, archive), **options)
    except BaseException:
        archive.close()
        raise
    hive._on_close.append(archive.close)
    hive.event_locations = [LogLocation("live", archive)]  # even with --no-files: the logs are evidence too
    return hive


def open_folder(path: str | os.PathLike[str], files: Any, options: dict[str, Any]) -> SystemHive:
    """A folder holding a Windows volume (mounted image, KAPE or Velociraptor output): its SYSTEM
    hive (logs beside it are found as for any hive file), its SOFTWARE hive and its files."""
    from hivescan.files.source import FolderSource

    folder = FolderSource(path)
    found = folder.stat("Windows\\System32\\config\\SYSTEM")
    if found is None:
        raise HiveNotFound(
            f"{path}: a directory without Windows\\System32\\config\\SYSTEM (nor C\\..., uploads\\auto\\C%3A\\...)"
        )
    hive_path = folder.local_path(found.path)
    if options.get("software") is None:
        software = folder.stat("Windows\\System32\\config\\SOFTWARE")
        if software is not None:
            options["software"] = folder.local_path(software.path)
    hive = SystemHive(HiveSource.from_file(hive_path), files=file_source(files, folder), **options)
    hive.event_locations = [LogLocation("live", folder)]  # even with --no-files: the logs are evidence too
    return hive


def image_log_locations(image: DiskImage, found: ImageFile) -> list[LogLocation]:
    """Where a disk image's event logs are read: the hive's installation on its live volume,
    then every readable shadow copy of that volume (oldest first)."""
    from hivescan.files.image import ImageSource

    windows_dir = found.path.rsplit("\\", 3)[0] or "Windows"
    live = image.installation(found.installation).volume
    partition = image.volume(live).partition
    out = [LogLocation("live", ImageSource(image.handle(live), f"{image.path}:{live}"), windows_dir)]
    for volume in image.volumes:
        if volume.status == "ok" and volume.shadow_copy and volume.partition == partition:
            try:
                handle = image.handle(volume.label)
            except KeyError:
                continue
            shadow = ImageSource(handle, f"{image.path}:{volume.label}")
            out.append(LogLocation(volume.shadow_copy, shadow, windows_dir))
    return out


def container_event_logs(path: str | os.PathLike[str]) -> tuple[list[EventLog], list[Diagnostic]] | None:
    """``hivescan events IMAGE|ZIP``: the service logs a disk image (every installation, its
    live volume then each shadow copy) or a zipped collection holds; None when ``path`` is
    neither (then it is read as an EVTX file)."""
    from hivescan.events.found import read_found_logs
    from hivescan.hive.images import input_kind

    if os.path.isdir(path) or not os.path.exists(path):
        return None
    kind = input_kind(path)
    if kind == "image":
        from hivescan.hive.images import open_image

        with open_image(path) as image:
            logs: list[EventLog] = []
            notes: list[Diagnostic] = list(image.diagnostics)
            for number in range(1, len(image.installations) + 1):
                found, found_notes = read_found_logs(image_log_locations(image, image.file(number, "live", "system")))
                logs += found
                notes += found_notes
            return logs, notes
    if kind == "other" and zipfile.is_zipfile(path):
        from hivescan.files.archive import ZipSource

        try:
            archive = ZipSource(os.fspath(path))
        except (OSError, zipfile.BadZipFile) as exc:
            raise HiveNotFound(f"{path}: unreadable zip ({exc})") from exc
        with archive:
            return read_found_logs([LogLocation("live", archive)])
    return None


def input_event_logs(path: str | os.PathLike[str]) -> tuple[list[EventLog], list[Diagnostic]]:
    """The service logs an input holds, whatever it is: a volume folder (KAPE, mounted,
    Velociraptor), a disk image, a zipped collection; none for a bare hive file."""
    if os.path.isdir(path):
        from hivescan.events.found import read_found_logs
        from hivescan.files.source import FolderSource

        return read_found_logs([LogLocation("live", FolderSource(path))])
    return container_event_logs(path) or ([], [])
