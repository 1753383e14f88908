"""Where outputs go: never onto evidence, never half-written.

An analyst's ``-o`` typo must not destroy the hive being examined (``services SYSTEM -f csv
-o SYSTEM``), its transaction logs, or another piece of evidence in the case folder. So,
before any analysis runs, :func:`check_output` refuses an output that is

* one of the command's inputs, or a transaction log of one (``HIVE.LOG``, ``.LOG1``,
  ``.LOG2``), also through a symlink or a hard link;
* an existing file that looks like evidence by its first bytes (a hive or log: ``regf``,
  ``hbin``; event logs; disk images: EWF/E01, VHD, VHDX, VMDK, QCOW, VDI, AFF, NTFS, an MBR);
  ``--force`` does not override these;
* an existing file, unless ``--force``; a folder; a block device (a disk); a path whose
  folder does not exist. Streams (``/dev/null``, a terminal, a named pipe) are written in place.

Then every output is written through a temporary file in the same folder, renamed into
place (``os.replace``): a crash or a full disk never leaves a half-written file under the
output's name, and the temporary file is removed on every error.

Refusals and write failures raise :class:`~hivescan.errors.OutputRefused` (exit code 9,
one line), never an "internal error".
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

from hivescan.errors import OutputRefused
from hivescan.textsafe import shown_path

LOG_SUFFIXES = (".LOG", ".LOG1", ".LOG2")

# (offset, magic, what it is): files hivescan never overwrites, even with --force.
_HEAD_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"regf", "a registry hive or transaction log"),
    (0, b"hbin", "a registry hive bin"),
    (0, b"ElfFile\x00", "a Windows event log (EVTX)"),
    (0, b"ElfChnk\x00", "a Windows event log chunk"),
    (0, b"EVF\x09\x0d\x0a\xff\x00", "an EWF (E01) image"),
    (0, b"EVF2\x0d\x0a\x81\x00", "an EWF2 (Ex01) image"),
    (0, b"LVF\x09\x0d\x0a\xff\x00", "an EWF logical (L01) image"),
    (0, b"LEF2\x0d\x0a\x81\x00", "an EWF2 logical (Lx01) image"),
    (0, b"vhdxfile", "a VHDX disk image"),
    (0, b"conectix", "a VHD disk image"),
    (0, b"KDMV", "a VMDK disk image"),
    (0, b"COWD", "a VMDK (ESX) disk image"),
    (0, b"# Disk DescriptorFile", "a VMDK descriptor"),
    (0, b"QFI\xfb", "a QCOW disk image"),
    (64, b"\x7f\x10\xda\xbe", "a VirtualBox (VDI) disk image"),
    (0, b"AFF10\r\n", "an AFF disk image"),
    (3, b"NTFS    ", "an NTFS volume image"),
    (0, b"MSCF", "a cabinet archive"),
)
_HEAD_BYTES = 4096


def _looks_like_evidence(path: Path) -> str | None:
    """What evidence ``path`` looks like by its first (and, for VHD, last) bytes, or None."""
    try:
        with path.open("rb") as fh:
            head = fh.read(_HEAD_BYTES)
            size = os.fstat(fh.fileno()).st_size
            tail = b""
            if size >= 512:
                fh.seek(size - 512)
                tail = fh.read(512)
    except OSError:
        return None
    for offset, magic, what in _HEAD_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return what
    if tail.startswith(b"conectix"):
        return "a fixed VHD disk image"
    if size >= 1 << 20 and size % 512 == 0 and head[510:512] == b"\x55\xaa":
        return "a disk image (MBR boot sector)"
    return None


def input_family(inputs: Iterable[Path]) -> list[Path]:
    """The inputs and, for each, the transaction logs that may sit next to it (any case)."""
    family: list[Path] = []
    for path in inputs:
        family.append(path)
        if path.is_dir():
            continue
        try:
            siblings = {p.name.lower(): p for p in path.parent.iterdir()}
        except OSError:
            siblings = {}
        for suffix in LOG_SUFFIXES:
            name = (path.name + suffix).lower()
            family.append(siblings.get(name, path.with_name(path.name + suffix)))
    return family


def _names_a_log_of(output: Path, inputs: list[Path]) -> bool:
    """Whether ``output`` is where an input's ``.LOG``/``.LOG1``/``.LOG2`` would be (any case)."""
    try:
        folder = output.parent.resolve()
    except OSError:
        return False
    name = output.name.lower()
    for path in inputs:
        try:
            same_folder = path.parent.resolve() == folder
        except OSError:
            continue
        if same_folder and name in {(path.name + suffix).lower() for suffix in LOG_SUFFIXES}:
            return True
    return False


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_output(output: Path, *, inputs: Iterable[Path] = (), force: bool = False) -> None:
    """Refuse an output that would overwrite evidence or an existing file (see module doc)."""
    shown = shown_path(output)
    kind = _kind(output)
    if kind == "folder":
        raise OutputRefused(f"{shown}: is a folder; -o takes a file name")
    if kind == "block":
        raise OutputRefused(f"{shown}: is a block device (a disk or partition); evidence is never overwritten")
    if kind == "stream":  # /dev/null, a terminal, a named pipe: written in place, nothing replaced
        return
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise OutputRefused(f"{shown}: the folder {shown_path(folder)} does not exist")
    inputs = list(inputs)
    if not (output.exists() or output.is_symlink()):
        if _names_a_log_of(output, inputs):  # absent, but the next run would replay it
            raise OutputRefused(f"{shown}: is where a transaction log of an input would be; it would be read as one")
        _probe(output)
        return
    for candidate in input_family(inputs):
        if _same_file(output, candidate):
            what = "a transaction log of an input" if candidate.suffix.upper() in LOG_SUFFIXES else "an input"
            raise OutputRefused(f"{shown}: is {what} of this command; evidence is never overwritten")
    evidence = _looks_like_evidence(output)
    if evidence is not None:
        raise OutputRefused(f"{shown}: exists and looks like {evidence}; evidence is never overwritten")
    if not force:
        raise OutputRefused(f"{shown}: exists; give --force to replace it")
    _probe(output)


def _kind(path: Path) -> str:
    """absent, regular, folder, block (a disk), or stream (character device, pipe, socket),
    following symlinks; never opens the file (opening a named pipe would block)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "absent"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISBLK(mode):
        return "block"
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        return "stream"
    return "regular"


def _probe(output: Path) -> None:
    """Create and remove the temporary file the output will be written through: a folder
    that refuses it (read-only file system, permissions; root passes ``os.access``) is
    reported before a long analysis, not after."""
    with atomic_path(output, keep=False):
        pass


def check_output_folder(
    outdir: Path, *, inputs: Iterable[Path] = (), force: bool = False, markers: Iterable[str] = ()
) -> None:
    """Refuse an output folder that is an input, a file, or an existing non-empty folder
    that is not an earlier output of the same command (none of ``markers`` in it) unless
    ``--force``: a folder of evidence is not a place to write datasets into."""
    shown = shown_path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise OutputRefused(f"{shown}: exists and is not a folder")
    if not outdir.exists():
        return
    for candidate in inputs:
        if _same_file(outdir, candidate):
            raise OutputRefused(f"{shown}: is an input of this command; evidence is never written into")
    try:
        entries = [p.name for p in outdir.iterdir()]
    except OSError as exc:
        raise _failure(outdir, exc) from None
    if entries and not any(name in entries for name in markers) and not force:
        raise OutputRefused(f"{shown}: is a folder holding other files; give --force to write into it anyway")


def _temp_name(output: Path) -> Path:
    return output.with_name(f".{output.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


def _failure(output: Path, exc: OSError) -> OutputRefused:
    reason = {
        errno.EROFS: "read-only file system",
        errno.ENOSPC: "no space left on the device",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOENT: "no such folder",
        errno.EISDIR: "is a folder",
        errno.EDQUOT: "disk quota exceeded",
    }.get(exc.errno or 0, exc.strerror or type(exc).__name__)
    if exc.errno == errno.ENOENT and output.parent.is_dir():  # /proc: the folder is there, refuses files
        reason = "the folder does not accept new files"
    return OutputRefused(f"{shown_path(output)}: cannot write: {reason}")


@contextmanager
def atomic_path(output: Path, *, keep: bool = True) -> Iterator[Path]:
    """A temporary path in ``output``'s folder to write to; renamed onto ``output`` when the
    block ends without error (``keep``; else removed: a probe), removed otherwise.

    A symlink is written through (its target is replaced, the link stays); a stream
    (``/dev/null``, a terminal, a named pipe) is written in place: there is nothing to
    replace, and renaming onto ``/dev/null`` would replace the device itself."""
    if _kind(output) == "stream":
        try:
            yield output
        except OSError as exc:  # /dev/full, a pipe whose reader went away: the user's output, not a bug
            raise _failure(output, exc) from None
        return
    if output.is_symlink():
        output = Path(os.path.realpath(output))
    tmp = _temp_name(output)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.close(fd)
    except OSError as exc:
        raise _failure(output, exc) from None
    try:
        yield tmp
        if keep:
            os.replace(tmp, output)
        else:
            tmp.unlink()
    except OSError as exc:
        _remove(tmp)
        raise _failure(output, exc) from None
    except BaseException:
        _remove(tmp)
        raise


@contextmanager
def atomic_text(output: Path) -> Iterator[IO[str]]:
    """A UTF-8 text file written through :func:`atomic_path`."""
    with atomic_path(output) as tmp:
        try:
            fh = tmp.open("w", encoding="utf-8", newline="")
        except OSError as exc:
            raise _failure(output, exc) from None
        with fh:
            yield fh


@contextmanager
def atomic_binary(output: Path) -> Iterator[IO[bytes]]:
    """A binary file written through :func:`atomic_path`: an open file to hand to a library
    (pyarrow deletes a *path* it was given when a write fails, which for a stream written in
    place, ``-o /dev/full``, is the device itself)."""
    with atomic_path(output) as tmp:
        try:
            fh = tmp.open("wb")
        except OSError as exc:
            raise _failure(output, exc) from None
        with fh:
            yield fh


def _remove(path: Path) -> None:
    with suppress(OSError):
        path.unlink()


__all__ = [
    "LOG_SUFFIXES",
    "atomic_binary",
    "atomic_path",
    "atomic_text",
    "check_output",
    "check_output_folder",
    "input_family",
]
