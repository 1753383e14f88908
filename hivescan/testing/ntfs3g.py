"""Create directories inside an NTFS filesystem image file, without mounting it.

Why it exists: test disk images need ``Windows\\System32\\config`` on an NTFS volume, and
none of Debian's ntfs-3g command-line tools (``mkntfs``, ``ntfscp``, ...) can create a
directory; a FUSE mount needs privileges CI may not have. libntfs-3g itself can: open the
volume file read-write (``ntfs_mount``), create a directory inode under its parent
(``ntfs_create`` with ``S_IFDIR``), close and unmount. ``ntfscp`` then copies files into
the directories.

Names are created in the POSIX namespace (Windows would write Win32/DOS names); NTFS
readers look them up case-insensitively all the same.

Only for building test images: it writes to the file it is given.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import stat
from pathlib import Path

_LIBRARY_NAMES = ("ntfs-3g", "libntfs-3g.so.89", "libntfs-3g.so")


class NtfsToolError(RuntimeError):
    """libntfs-3g is missing or refused an operation."""


def _load() -> ctypes.CDLL:
    for name in _LIBRARY_NAMES:
        found = ctypes.util.find_library(name) if "." not in name else name
        if not found:
            continue
        try:
            lib = ctypes.CDLL(found, use_errno=True)
        except OSError:
            continue
        lib.ntfs_mount.argtypes = [ctypes.c_char_p, ctypes.c_ulong]
        lib.ntfs_mount.restype = ctypes.c_void_p
        lib.ntfs_umount.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.ntfs_umount.restype = ctypes.c_int
        lib.ntfs_pathname_to_inode.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p]
        lib.ntfs_pathname_to_inode.restype = ctypes.c_void_p
        lib.ntfs_create.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_char_p, ctypes.c_uint8, ctypes.c_uint32]
        lib.ntfs_create.restype = ctypes.c_void_p
        lib.ntfs_inode_close.argtypes = [ctypes.c_void_p]
        lib.ntfs_inode_close.restype = ctypes.c_int
        return lib
    raise NtfsToolError("libntfs-3g not found (Debian package ntfs-3g)")


def libntfs3g_available() -> bool:
    try:
        _load()
    except NtfsToolError:
        return False
    return True


def make_directories(volume_file: str | Path, paths: list[str]) -> None:
    """Create every directory of ``paths`` (``/`` or ``\\`` separated, parents first) in the volume."""
    lib = _load()
    volume = lib.ntfs_mount(str(volume_file).encode(), 0)
    if not volume:
        raise NtfsToolError(f"{volume_file}: ntfs_mount failed (errno {ctypes.get_errno()})")
    try:
        for path in paths:
            parts = [p for p in path.replace("\\", "/").split("/") if p]
            for depth in range(len(parts)):
                _make_one(lib, volume, parts[:depth], parts[depth])
    finally:
        if lib.ntfs_umount(volume, 0) != 0:
            raise NtfsToolError(f"{volume_file}: ntfs_umount failed (errno {ctypes.get_errno()})")


def _make_one(lib: ctypes.CDLL, volume: int, parents: list[str], name: str) -> None:
    existing = lib.ntfs_pathname_to_inode(volume, None, ("/" + "/".join([*parents, name])).encode())
    if existing:
        lib.ntfs_inode_close(existing)
        return
    parent = lib.ntfs_pathname_to_inode(volume, None, ("/" + "/".join(parents)).encode())
    if not parent:
        raise NtfsToolError(f"/{'/'.join(parents)}: parent directory not found")
    try:
        units = name.encode("utf-16-le")
        if not 0 < len(units) // 2 <= 255:
            raise NtfsToolError(f"{name!r}: NTFS names have 1-255 UTF-16 units")
        created = lib.ntfs_create(parent, 0, units, len(units) // 2, stat.S_IFDIR)
        if not created:
            raise NtfsToolError(f"{name!r}: ntfs_create failed (errno {ctypes.get_errno()})")
        lib.ntfs_inode_close(created)
    finally:
        lib.ntfs_inode_close(parent)
