"""Where hive bytes come from: a file, bytes in memory, a file inside a disk image.

A :class:`HiveSource` holds the exact bytes that were analysed together with their sha256,
so every record can cite them. Evidence is only ever read: when a parser library needs a
file path and the bytes are not a file on disk (a replayed hive, a file inside an image),
it gets an anonymous in-memory file (see :func:`file_for_library`), never a file in /tmp
where it could be left behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hivescan.errors import HiveNotFound


class HiveSource:
    """Hive bytes plus where they came from.

    ``path`` is what the user gave (or an in-image path); ``file_path`` is set only when the
    bytes are exactly the content of that file on the local disk. ``location`` carries extra
    provenance, e.g. image, partition, volume and shadow-copy labels.

    The sha256 of large inputs is computed on a background thread while parsing starts
    (hashlib releases the GIL); reading :attr:`sha256` waits for it.
    """

    __slots__ = ("_digest", "data", "file_path", "location", "path")

    def __init__(
        self,
        path: str,
        data: bytes,
        sha256: str | Callable[[], str] | None = None,
        file_path: Path | None = None,
        location: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        self.data = data
        self._digest: str | Callable[[], str] = sha256 if sha256 is not None else _hash_in_background(data)
        self.file_path = file_path
        self.location: dict[str, str] = dict(location or {})

    @property
    def sha256(self) -> str:
        if not isinstance(self._digest, str):
            self._digest = self._digest()
        return self._digest

    @property
    def digest(self) -> str | Callable[[], str]:
        """The sha256, or a callable that waits for it (lets records share the pending hash)."""
        return self._digest

    def __repr__(self) -> str:
        return f"HiveSource({self.path!r}, {len(self.data)} bytes)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (HiveSource, (self.path, self.data, self.sha256, self.file_path, self.location))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> HiveSource:
        p = Path(path)
        with input_errors(p, "a hive file"):
            data = p.read_bytes()
        return cls(str(path), data, None, p)

    @classmethod
    def from_bytes(cls, data: bytes, path: str = "<memory>", location: dict[str, str] | None = None) -> HiveSource:
        return cls(path, bytes(data), None, None, location)

    def derived(self, data: bytes, note: str) -> HiveSource:
        """The same evidence after an in-memory transformation (e.g. log replay).

        The sha256 stays that of the evidence file; the transformation is recorded in
        ``location`` so nobody mistakes the in-memory state for the file on disk.
        """
        loc = dict(self.location)
        loc["derived"] = note
        return HiveSource(self.path, data, self.sha256, None, loc)


@contextmanager
def input_errors(path: Path, what: str) -> Iterator[None]:
    """OS errors on opening an input file -> HiveNotFound with one clear line (exit code 3)."""
    try:
        yield
    except FileNotFoundError as exc:
        raise HiveNotFound(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise HiveNotFound(f"{path}: is a directory, not {what}") from exc
    except PermissionError as exc:
        raise HiveNotFound(f"{path}: permission denied") from exc
    except OSError as exc:
        raise HiveNotFound(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def _hash_in_background(data: bytes) -> str | Callable[[], str]:
    if len(data) < (1 << 20):
        return sha256_hex(data)
    box: list[str] = []
    worker = threading.Thread(target=lambda: box.append(sha256_hex(data)), name="hivescan-sha256", daemon=True)
    worker.start()

    def result() -> str:
        worker.join()
        return box[0] if box else sha256_hex(data)

    return result


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextmanager
def file_for_library(source: HiveSource) -> Iterator[Path]:
    """A path holding exactly ``source.data``, for parser libraries that only open paths.

    regipy-rs and regipy open a path, never bytes. For bytes that are not a file on disk (a
    replayed hive, a file inside an image) the path is an anonymous in-memory file
    (``memfd_create``, opened through ``/proc/self/fd``): nothing is written to any
    filesystem and the kernel frees it on every exit, SIGTERM, SIGKILL and aborts included.
    Where that is unavailable (not Linux, or no /proc), a private temporary file in
    ``tempfile``'s folder (``$TMPDIR``, else /tmp) is removed on return and on exceptions; a
    signal that kills the process can leave it there (README "Dirty hives").
    """
    if source.file_path is not None and source.file_path.is_file():
        yield source.file_path
        return
    memory = _memory_file(source.data)
    if memory is not None:
        fd, path = memory
        try:
            yield path
        finally:
            os.close(fd)
        return
    fd, name = tempfile.mkstemp(prefix="hivescan-", suffix=".hive")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(source.data)
        yield Path(name)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def _memory_file(data: bytes) -> tuple[int, Path] | None:
    """An anonymous in-memory file holding ``data`` and a path that opens it, or None."""
    create = getattr(os, "memfd_create", None)
    if create is None:
        return None
    try:
        fd = create("hivescan-hive", getattr(os, "MFD_CLOEXEC", 1))
    except OSError:
        return None
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        path = Path(f"/proc/self/fd/{fd}")
        if path.stat().st_size != len(data):  # no procfs: the path would not open this file
            raise OSError("/proc/self/fd unavailable")
    except OSError:
        os.close(fd)
        return None
    return fd, path
