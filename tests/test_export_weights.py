"""``alveoflow export-weights`` and examples/export_weights.py on a build directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from alveoflow.cli import main
from alveoflow.testing import lowered_resnet, write_build

REPO = Path(__file__).resolve().parents[1]


def _build(tmp_path: Path):
    graph = lowered_resnet(depth=18, input_size=32, width=0.125, num_classes=10)
    return graph, write_build(tmp_path / "build", graph)


def test_cli_writes_headers_and_fc_weights(tmp_path, capsys):
    graph, build = _build(tmp_path)
    out = tmp_path / "weights"
    assert main(["export-weights", str(build), "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert "layer1_0_params.h" in names and "stem_params.h" in names
    assert "fc_weights.npy" in names and "fc_weights.csv" in names
    fc = np.load(out / "fc_weights.npy")
    assert np.array_equal(fc, np.asarray(graph.node("fc").weights["weights"]).astype(np.int8))
    header = (out / "layer2_0_params.h").read_text()
    assert "AF_ROM_HEX(af_layer2_0_layer2_0_conv1_w" in header
    table = capsys.readouterr().out
    assert "layer2.0.conv1" in table and "fc_weights.csv" in table
    total = sum(p.stat().st_size for p in out.iterdir())
    assert f"{len(names)} files, {total:,} bytes" in table
    assert main(["export-weights", str(build), "--out", str(out)]) == 2  # never overwrites
    assert "--force" in capsys.readouterr().err
    assert main(["export-weights", str(build), "--out", str(out), "--force"]) == 0


def test_example_script(tmp_path):
    _, build = _build(tmp_path)
    out = tmp_path / "w"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "examples" / "export_weights.py"),
            "--build-dir",
            str(build),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "tail_params.h").is_file() and "bytes" in proc.stdout
