"""TriageStore.write: a batch's three parts written and flushed together, renamed into place
only when all three are on disk (the hives part last); a failure leaves none of them, and no
temporary file."""

from __future__ import annotations

from pathlib import Path

import pytest

from hivescan.triage.inputs import discover
from hivescan.triage.run import run_triage
from hivescan.triage.scan import ChunkOutput, ScanOptions
from hivescan.triage.store import OutputFolderError, TriageStore, part_name
from tests.triage.conftest import write_fleet


def _chunk(tmp_path: Path) -> ChunkOutput:
    """A real batch's output (built hosts scanned in this process)."""
    write_fleet(tmp_path / "fleet", hosts=2)
    chunks: list[ChunkOutput] = []
    run_triage(
        discover([tmp_path / "fleet"]).inputs,
        tmp_path / "first",
        options=ScanOptions(),
        batch_size=2,
        on_batch=chunks.append,
    )
    return chunks[0]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_parts_are_the_batch_bytes_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    chunk = _chunk(tmp_path)
    store = TriageStore(tmp_path / "out")
    store.create()
    store.write("run1", chunk)
    name = part_name("run1", chunk.index)
    assert _files(tmp_path / "out") == {
        f"services/{name}": chunk.services,
        f"findings/{name}": chunk.findings,
        f"hives/{name}": chunk.hives,
    }


@pytest.mark.parametrize("broken", ["services", "findings", "hives"])
def test_a_part_that_cannot_be_written_leaves_no_part_of_the_batch(tmp_path: Path, broken: str) -> None:
    chunk = _chunk(tmp_path)
    store = TriageStore(tmp_path / "out")
    store.create()
    folder = tmp_path / "out" / broken
    folder.rmdir()
    folder.write_text("not a folder")  # writing into it fails (as root too, unlike permissions)
    with pytest.raises(OutputFolderError, match="cannot write to"):
        store.write("run1", chunk)
    assert _files(tmp_path / "out") == {broken: b"not a folder"}  # no part renamed, no temporary file
