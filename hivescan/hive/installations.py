"""Finding the Windows installations on an image's volumes, and the hives and logs of each.

A Windows directory is one holding ``System32\\config\\SYSTEM`` on a live (not shadow copy)
volume; its files are then looked up in the live volume, in RegBack and in each shadow copy
of the same partition. Files that cannot be hives to read (missing, empty, too large) get a
diagnostic here instead of an entry, so the reader never sees them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from hivescan.diagnostics import Diagnostic, error, info
from hivescan.errors import ImageError
from hivescan.hive.imagerecords import LIVE, REGBACK, FoundFile, ImageFile, ImageVolume, WindowsInstallation

if TYPE_CHECKING:
    from hivescan.hive.dfvfs_reader import FileSystemHandle

MAX_HIVE_BYTES = 4 << 30  # a regf file cannot describe more than 4 GiB of hive bins

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


def find_installations(
    handles: Mapping[str, FileSystemHandle], volumes: Sequence[ImageVolume], diagnostics: list[Diagnostic]
) -> Iterator[WindowsInstallation]:
    """Each Windows installation on the live volumes, numbered from 1 in volume order.

    Unreadable volumes and missing, empty or oversized files are reported in ``diagnostics``.
    """
    number = 0
    for volume in volumes:
        if volume.status != "ok" or volume.shadow_copy is not None:
            continue
        try:
            windows_dirs = _windows_dirs(handles, volume.label)
        except ImageError as exc:
            diagnostics.append(
                error("volume_unreadable", volume.label, f"{volume.label}: directories cannot be read: {exc}")
            )
            continue
        for windows_dir in windows_dirs:
            number += 1
            files: list[ImageFile] = []
            for label, snapshot in _views(volumes, volume):
                try:
                    files += _config_files(handles, diagnostics, number, label, windows_dir, snapshot)
                    if snapshot == LIVE:
                        files += _regback_files(handles, diagnostics, number, label, windows_dir)
                except ImageError as exc:
                    diagnostics.append(
                        error("volume_unreadable", label, f"{label}: {windows_dir} cannot be read: {exc}")
                    )
            yield WindowsInstallation(number, volume.label, windows_dir, tuple(files))


def _views(volumes: Sequence[ImageVolume], volume: ImageVolume) -> list[tuple[str, str]]:
    """(volume label, snapshot label): the live volume, then its readable shadow copies."""
    views = [(volume.label, LIVE)]
    for shadow in volumes:
        if shadow.status == "ok" and shadow.shadow_copy and shadow.partition == volume.partition:
            views.append((shadow.label, shadow.shadow_copy))
    return views


def _windows_dirs(handles: Mapping[str, FileSystemHandle], label: str) -> list[str]:
    """Top-level directories (and ``X\\Windows`` below them, e.g. Windows.old) holding a SYSTEM hive."""
    handle = handles[label]
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


def _config_files(
    handles: Mapping[str, FileSystemHandle],
    diagnostics: list[Diagnostic],
    number: int,
    label: str,
    windows_dir: str,
    snapshot: str,
) -> list[ImageFile]:
    handle = handles[label]
    where = f"{label}:{windows_dir}\\System32\\config"
    out = []
    for role, name in CONFIG_FILES:
        found = handle.find(f"{windows_dir}\\System32\\config\\{name}")
        if found is None or found.is_dir:
            if role in _EXPECTED and snapshot == LIVE:
                diagnostics.append(info("image_hive_missing", role, f"{where}\\{name}: not present"))
            continue
        checked = _checked(diagnostics, number, role, snapshot, label, found)
        if checked is not None:
            out.append(checked)
    return out


def _regback_files(
    handles: Mapping[str, FileSystemHandle], diagnostics: list[Diagnostic], number: int, label: str, windows_dir: str
) -> list[ImageFile]:
    handle = handles[label]
    out = []
    for role, name in REGBACK_FILES:
        found = handle.find(f"{windows_dir}\\System32\\config\\RegBack\\{name}")
        if found is None or found.is_dir:
            if role == "system":
                diagnostics.append(
                    info(
                        "image_hive_missing",
                        role,
                        f"{label}:{windows_dir}\\System32\\config\\RegBack\\{name}: not present",
                    )
                )
            continue
        checked = _checked(diagnostics, number, role, REGBACK, label, found)
        if checked is not None:
            out.append(checked)
    return out


def _checked(
    diagnostics: list[Diagnostic], number: int, role: str, snapshot: str, label: str, found: FoundFile
) -> ImageFile | None:
    """The file as an ImageFile, or None (with a diagnostic) when it cannot be a hive to read."""
    if found.size > MAX_HIVE_BYTES:
        diagnostics.append(
            error(
                "image_hive_too_large",
                role,
                f"{label}:{found.path}: {found.size:,} bytes, more than a hive can hold; not read",
            )
        )
        return None
    if found.size == 0 and not role.endswith((".log1", ".log2")):
        why = " (Windows 10 1803 and later no longer fill RegBack by default)" if snapshot == REGBACK else ""
        diagnostics.append(info("image_hive_empty", role, f"{label}:{found.path}: 0 bytes{why}"))
        return None
    return ImageFile(number, role, snapshot, label, found.path, found.size, found.modified)


def volume_summary(volumes: Sequence[ImageVolume], diagnostics: Sequence[Diagnostic]) -> str:
    """Every volume and why it holds no installation, on one line (for the ``image_no_windows`` error)."""
    if not volumes:
        return "no volumes found"
    parts = []
    unreadable = {d.field for d in diagnostics if d.code == "volume_unreadable"}
    cut = {d.field for d in diagnostics if d.code == "partition_past_image_end"}
    for v in volumes:
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
