"""The main job (``make demo``) in its quick form: every stage runs and the card agrees."""

from __future__ import annotations

import json

import pytest

from alveoflow import demo


@pytest.mark.slow
def test_quick_demo_runs_end_to_end(tmp_path):
    pytest.importorskip("alveoflow.data").find_fashion_mnist("test")
    assert demo.main(["--quick", "--out", str(tmp_path), "--cppsim-images", "50"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    differing = {k: v for k, v in summary.items() if "!= PyTorch" in k}
    assert len(differing) == 2 and all(v == 0 for v in differing.values())
    assert (tmp_path / "index.html").is_file()
    assert (tmp_path / "resnet50_u250" / "report.html").is_file()
    report = json.loads((tmp_path / "resnet50_u250" / "report.json").read_text())
    assert report["estimate"]["fps"] > 0 and report["estimate"]["within_limits"]
