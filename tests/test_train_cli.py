"""``alveoflow train`` end to end on a tiny fake Fashion-MNIST, and the example script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alveoflow.cli import main
from alveoflow.data import write_idx
from alveoflow.train import load_checkpoint
from alveoflow.train.metrics import read_csv

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def fake_fmnist(tmp_path):
    """A folder holding 48 train and 16 test images in the Fashion-MNIST file layout."""
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 48), ("t10k", 16)):
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        images = rng.integers(0, 60, (n, 28, 28), dtype=np.uint8)
        images[:, 2:26, 2:26] += (labels * 19)[:, None, None].astype(np.uint8)
        write_idx(tmp_path / "data" / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(tmp_path / "data" / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return tmp_path / "data"


def _args(data, out, *extra):
    return [
        "train",
        "--model",
        "resnet_small_28",
        "--width",
        "0.5",
        "--data",
        str(data),
        "--batch-size",
        "16",
        "--lr",
        "0.05",
        "--threads",
        "1",
        "--no-progress",
        "--stats-batch-size",
        "0",
        "--out",
        str(out),
        *extra,
    ]


def test_cli_trains_resumes_and_writes_loadable_checkpoints(fake_fmnist, tmp_path, capsys):
    from alveoflow import qnn

    out = tmp_path / "run"
    assert main(_args(fake_fmnist, out, "--epochs", "1", "--limit-train", "32")) == 0
    assert "trained 1 epoch(s)" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} >= {"metrics.csv", "curves.png", "last.pt", "best.pt"}
    model = qnn.QuantResNet.from_checkpoint(out / "last.pt")
    assert model.config.width == 0.5

    resumed = _args(
        fake_fmnist, out, "--epochs", "2", "--limit-train", "32", "--resume", str(out / "last.pt")
    )
    assert main(resumed) == 0
    assert [row["epoch"] for row in read_csv(out / "metrics.csv")] == [1, 2]
    assert load_checkpoint(out / "last.pt")["epoch"] == 2


def test_trained_checkpoint_exports_to_qonnx(fake_fmnist, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(_args(fake_fmnist, out, "--epochs", "1", "--limit-train", "16")) == 0
    onnx_path = tmp_path / "model.onnx"
    code = main(
        [
            "export",
            "--model",
            "resnet_small_28",
            "--checkpoint",
            str(out / "best.pt"),
            "--out",
            str(onnx_path),
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert onnx_path.stat().st_size > 0


def test_cli_distils_from_a_teacher_checkpoint(fake_fmnist, tmp_path):
    from alveoflow import qnn

    teacher = tmp_path / "teacher.pt"
    qnn.build_model("resnet_small_28", width=0.5, bits="w8a8").save(teacher)
    out = tmp_path / "kd"
    code = main(
        _args(
            fake_fmnist,
            out,
            "--epochs",
            "1",
            "--limit-train",
            "16",
            "--limit-val",
            "8",
            "--teacher",
            str(teacher),
            "--alpha",
            "0.9",
        )
    )
    assert code == 0
    assert len(read_csv(out / "metrics.csv")) == 1


def test_cli_reports_missing_data(tmp_path, capsys):
    code = main(_args(tmp_path / "empty", tmp_path / "run", "--epochs", "1"))
    assert code == 2
    assert "no such folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(_args(tmp_path / "empty", tmp_path / "run", "--epochs", "1")) == 2
    assert "apt-get install dataset-fashion-mnist" in capsys.readouterr().err


def test_cli_rejects_bad_options(tmp_path, capsys):
    assert main(_args(tmp_path, tmp_path / "run", "--epochs", "0")) == 2
    assert "epochs" in capsys.readouterr().err


def test_example_script_help():
    proc = subprocess.run(
        [sys.executable, str(REPO / "examples" / "train.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "--epochs" in proc.stdout and "Fashion-MNIST" in proc.stdout
