"""The notebooks in notebooks/ run clean on hives the project builds, and are committed without outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

nbformat = pytest.importorskip("nbformat", reason="notebook tests need the [notebooks] extra (nbformat)")
nbclient = pytest.importorskip("nbclient", reason="notebook tests need the [notebooks] extra (nbclient)")
pytest.importorskip("ipykernel", reason="notebook tests need the [notebooks] extra (ipykernel)")


def test_there_are_four_notebooks() -> None:
    assert len(NOTEBOOKS) == 4, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name}: strip outputs before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_clean(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The notebooks make their work folders with ``tempfile.mkdtemp`` (a reader keeps them to
    look at); run by the tests they piled up in /tmp, two per run. The kernel inherits a
    TMPDIR inside the test's own folder, which pytest cleans."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError with the failing cell and its traceback
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    uses_temp = any("tempfile" in c.source for c in notebook.cells if c.cell_type == "code")
    assert not uses_temp or any(scratch.iterdir()), "the notebook's temporary folder was made outside the test"
