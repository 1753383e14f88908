"""Where hive bytes come from: a file, bytes in memory, a file inside a disk image.

A :class:`HiveSource` holds the exact bytes that were analysed together with their sha256,
so every record can cite them. Evidence is only ever read: when a parser library needs a
file path and the bytes are not a file on disk (a replayed hive, a file inside an image),
it gets an anonymous in-memory file (see :func:`file_for_library`), never a file in /tmp
where it could be left behind.

Files are opened without blocking and checked before they are read (:func:`open_input`): a
FIFO, a socket or a character device is refused at once (reading one would wait for ever or
never end), and a file starting with ``regf`` is read only as far as its base block says the
hive goes (:func:`read_limit`), so a huge or sparse file that only looks like a hive costs
neither the time nor the memory of reading it whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from hivescan.errors import HiveDamaged, HiveNotFound, NotAHive
from hivescan.hive.header import BASE_BLOCK_SIZE, REGF_SIGNATURE, log_file_type, parse_base_block

try:  # a whole hive file read and hashed in one pass (_readhash.c says why)
    from hivescan.hive._readhash import read_hashing as _read_hashing
except ImportError:  # no C compiler at install time: read, then hashed on a thread
    _read_hashing = None

READ_CHUNK = 256 << 10  # hashed while still in the CPU's cache (64-256 KiB measured alike)

# Windows keeps a hive under 2 GiB (cell offsets are 31-bit in practice); a base block stating
# more, or none, is not believed.
MAX_HIVE_BINS = 1 << 31
# A base block that states no usable hive-bins size gives no bound: such a file is read whole
# only up to this size (far above any real SYSTEM or SOFTWARE hive), else refused.
MAX_UNBOUNDED_READ = 256 << 20
# Bytes past the hive bins are read too (a hive file may hold bins its base block does not
# count yet) unless there are far more of them than the hive itself: then they are not read.
TAIL_SLACK = 64 << 20


class HiveSource:
    """Hive bytes plus where they came from.

    ``path`` is what the user gave (or an in-image path); ``file_path`` is set only when the
    bytes are exactly the content of that file on the local disk. ``location`` carries extra
    provenance, e.g. image, partition, volume and shadow-copy labels.

    The sha256 of large inputs is computed on a background thread while parsing starts
    (hashlib releases the GIL); reading :attr:`sha256` waits for it.
    """

    __slots__ = ("_digest", "data", "file_path", "location", "path", "unread_tail")

    def __init__(
        self,
        path: str,
        data: bytes,
        sha256: str | Callable[[], str] | None = None,
        file_path: Path | None = None,
        location: dict[str, str] | None = None,
        unread_tail: int = 0,
    ) -> None:
        self.path = path
        self.data = data
        self._digest: str | Callable[[], str] = sha256 if sha256 is not None else _hash_in_background(data)
        self.file_path = file_path
        self.location: dict[str, str] = dict(location or {})
        # bytes of the file past ``data`` that were not read (see read_limit); sha256 covers them
        self.unread_tail = unread_tail

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
        return (HiveSource, (self.path, self.data, self.sha256, self.file_path, self.location, self.unread_tail))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> HiveSource:
        """Read a hive file: checked before it is read, read no further than its base block allows.

        Raises HiveNotFound (not a readable regular file), NotAHive (no ``regf`` signature, or a
        transaction log) or HiveDamaged (no usable hive size and too large to read whole).
        """
        p = Path(path)
        digest: str | None = None
        with open_input(p, "a hive file") as (fh, size), input_errors(p, "a hive file"):
            head = fh.read(BASE_BLOCK_SIZE)
            limit = read_limit(str(path), head, size)
            if limit <= len(head):
                data = head
            else:
                # read again from the start in one piece: ``head + rest`` copied the whole
                # hive a second time into a new 13 MB object (a third of reading it)
                fh.seek(0)
                if _read_hashing is not None and size <= limit:  # the whole file: read and hashed at once
                    hasher = hashlib.sha256()
                    data = _read_hashing(fh.fileno(), size, hasher, READ_CHUNK)
                    digest = hasher.hexdigest() if len(data) == size else None
                else:
                    data = fh.read(limit)
        if size <= len(data):
            return cls(str(path), data, digest, p)
        # the file goes on past what was read: the hash still covers all of it, read in chunks
        return cls(str(path), data, _hash_file_in_background(p), None, None, size - len(data))

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


def read_limit(name: str, head: bytes, size: int) -> int:
    """How many bytes of a would-be hive file to read, judged from its first 4 KiB alone.

    Raises NotAHive when there is no ``regf`` signature or the base block says the file is a
    transaction log, HiveDamaged when the base block gives no usable size and the file is too
    large to read whole. A file is read whole when it is no larger than its base block
    describes plus a slack (hive files often hold a little more), else only as far as the
    base block describes (the rest is counted in ``HiveSource.unread_tail`` and reported).
    """
    if len(head) < 4 or head[:4] != REGF_SIGNATURE:
        raise NotAHive(f"{name}: not a registry hive (no 'regf' signature)")
    log_type = log_file_type(head)
    if log_type is not None:
        raise NotAHive(
            f"{name}: not a registry hive (a transaction log: base block file type {log_type}); "
            "give the primary hive file, its logs are found next to it or with --log"
        )
    if len(head) < BASE_BLOCK_SIZE:
        return size  # a truncated base block: HiveReader says so
    base = parse_base_block(head)
    bins = base.hive_bins_data_size
    if bins == 0 or bins % 4096 or bins > MAX_HIVE_BINS:
        if size > MAX_UNBOUNDED_READ:
            raise HiveDamaged(
                f"{name}: base block states no usable hive size ({bins} bytes of hive bins) and the file "
                f"is {size} bytes; not read (at most {MAX_UNBOUNDED_READ >> 20} MiB are read without one)"
            )
        return size
    described = BASE_BLOCK_SIZE + bins
    return size if size <= max(2 * described, described + TAIL_SLACK) else described


@contextmanager
def open_input(path: Path, what: str) -> Iterator[tuple[BinaryIO, int]]:
    """Open an input file for reading without ever blocking: (file, size).

    Opened with ``O_NONBLOCK`` and checked on the open descriptor (no race between a check
    and the open): a directory, FIFO, socket or character device is refused with HiveNotFound
    (exit 3); opening a FIFO the ordinary way waits for a writer for ever. Block devices are
    allowed (a whole disk given as an image); their size is found by seeking.
    """
    with input_errors(path, what):
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        odd = _odd_file_kind(mode)
        if odd is not None:
            raise HiveNotFound(f"{path}: {odd}, not {what}")
        with input_errors(path, what):
            size = os.lseek(fd, 0, os.SEEK_END)
            os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as fh:
        yield fh, size


def _odd_file_kind(mode: int) -> str | None:
    if stat.S_ISREG(mode) or stat.S_ISBLK(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "is a socket"
    if stat.S_ISCHR(mode):
        return "is a character device"
    return "is not a regular file"


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


def _hash_file_in_background(path: Path) -> Callable[[], str]:
    """The sha256 of a whole file, read in 1 MiB chunks on a thread (memory stays bounded)."""
    box: list[str | BaseException] = []

    def work() -> None:
        try:
            digest = hashlib.sha256()
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
            box.append(digest.hexdigest())
        except OSError as exc:
            box.append(exc)

    worker = threading.Thread(target=work, name="hivescan-sha256", daemon=True)
    worker.start()

    def result() -> str:
        worker.join()
        if not box or isinstance(box[0], BaseException):
            raise HiveNotFound(f"{path}: cannot be read again to hash it whole ({box[0] if box else 'no result'})")
        return box[0]

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
    import tempfile  # only here, the rare fallback: tempfile costs about 3 ms of every start-up

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
