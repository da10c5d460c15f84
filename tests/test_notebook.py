"""The example notebook runs top to bottom (the card result must equal PyTorch inside it)."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).parent.parent / "examples" / "notebooks" / "resnet50_on_alveo.ipynb"


@pytest.mark.slow
def test_notebook_executes(tmp_path, monkeypatch):
    pytest.importorskip("alveoflow.data").find_fashion_mnist("test")
    monkeypatch.setenv("ALVEOFLOW_NOTEBOOK_OUT", str(tmp_path))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=900, kernel_name="python3").execute(cwd=str(tmp_path))
    outputs = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    assert "card != PyTorch: 0" in outputs
    assert (tmp_path / "build" / "report.html").is_file()
