"""``HiveSource.from_file`` reads the file's exact bytes in one piece (issue 13, lever "rebuild").

The base block is read first (to bound the read), then the file is read again from its start
in one allocation instead of joining the base block and the rest (a second 13 MB copy). These
tests hold the result to the plain ``read_bytes`` of the same file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hivescan.hive import source as source_module
from hivescan.hive.source import HiveSource
from hivescan.testing.regf import HiveWriter
from tests.conftest import shared_hive, system_root


@pytest.mark.parametrize("name", ["nt4-SYSTEM", "xp-corrupted-SYSTEM", "win7-SYSTEM", "win10-dirty-SYSTEM"])
def test_real_hive_is_read_byte_for_byte(name: str) -> None:
    path = shared_hive(name)
    source = HiveSource.from_file(path)
    whole = path.read_bytes()
    assert source.data == whole and source.unread_tail == 0 and source.file_path == path
    assert source.sha256 == hashlib.sha256(whole).hexdigest()


@pytest.mark.parametrize("tail", [0, 1, 4095, 4096, 12345])
def test_built_hive_with_a_tail_is_read_whole(tmp_path: Path, tail: int) -> None:
    root = system_root()
    root.key("ControlSet001\\Services\\Svc").set_dword("Type", 16).set_dword("Start", 3)
    data = HiveWriter(root).build().data + bytes(range(256)) * (tail // 256) + b"\x5a" * (tail % 256)
    path = tmp_path / "SYSTEM"
    path.write_bytes(data)
    source = HiveSource.from_file(path)
    assert source.data == data and source.sha256 == hashlib.sha256(data).hexdigest()


def test_a_file_no_longer_than_its_base_block(tmp_path: Path) -> None:
    data = HiveWriter(system_root()).build().data[:4096]
    path = tmp_path / "SYSTEM"
    path.write_bytes(data)
    assert HiveSource.from_file(path).data == data


def test_without_memfd_the_library_copy_is_a_private_temporary_file_removed_after(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Where ``memfd_create`` is missing (not Linux) the bytes go to a temporary file (tempfile
    is imported only then): same bytes, and gone once the block ends."""
    from hivescan.hive.source import file_for_library

    monkeypatch.delattr("os.memfd_create")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    data = HiveWriter(system_root()).build().data
    with file_for_library(HiveSource.from_bytes(data)) as path:
        assert path.parent == tmp_path and path.read_bytes() == data
    assert not path.exists() and list(tmp_path.iterdir()) == []


# -- read and hashed in one pass (hive/_readhash.c)

needs_c = pytest.mark.skipif(source_module._read_hashing is None, reason="the _readhash extension is not built")


@needs_c
@pytest.mark.parametrize("name", ["win7-SYSTEM", "win10-dirty-SYSTEM"])
def test_one_pass_gives_the_bytes_and_hash_of_read_then_hash(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = shared_hive(name)
    fast = HiveSource.from_file(path)
    assert isinstance(fast.digest, str)  # known once read: no hashing thread to wait for
    monkeypatch.setattr(source_module, "_read_hashing", None)
    slow = HiveSource.from_file(path)
    assert fast.data == slow.data == path.read_bytes() and type(fast.data) is bytes
    assert fast.sha256 == slow.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (fast.file_path, fast.unread_tail) == (slow.file_path, slow.unread_tail)


@needs_c
@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=5000), st.integers(1, 700), st.integers(0, 6000))
def test_read_hashing_equals_read_and_hashlib(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, chunk: int, size: int
) -> None:
    """Any content, chunk and size: the bytes a read of ``size`` gives (fewer at the end of the
    file), and the hasher fed exactly those bytes."""
    path = tmp_path_factory.mktemp("readhash") / "f"
    path.write_bytes(data)
    hasher = hashlib.sha256()
    with path.open("rb", buffering=0) as fh:
        got = source_module._read_hashing(fh.fileno(), size, hasher, chunk)
    assert got == data[:size] and type(got) is bytes
    assert hasher.hexdigest() == hashlib.sha256(data[:size]).hexdigest()


@needs_c
def test_read_hashing_refuses_a_bad_descriptor_and_bad_sizes() -> None:
    with pytest.raises(OSError):
        source_module._read_hashing(-1, 10, hashlib.sha256(), 4)
    with pytest.raises(ValueError):
        source_module._read_hashing(0, -1, hashlib.sha256(), 4)
    with pytest.raises(ValueError):
        source_module._read_hashing(0, 1, hashlib.sha256(), 0)
