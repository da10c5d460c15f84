"""``alveoflow export`` and ``alveoflow info`` through ``alveoflow.cli.main``."""

from __future__ import annotations

import torch

from alveoflow.cli import main
from alveoflow.export import read_metadata
from alveoflow.qnn import build_model


def test_export_then_info(tmp_path, capsys):
    out = tmp_path / "small.onnx"
    assert main(["export", "--model", "resnet_small_32", "--bits", "w2a2", "--out", str(out)]) == 0
    assert out.is_file() and f"wrote {out}" in capsys.readouterr().out
    assert '"bits": "w2a2"' in read_metadata(out)["alveoflow.config"]
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "layer2.0.downsample.0" in text and "Conv 1x1/2" in text
    assert "total: 10 layers" in text


def test_export_from_checkpoint(tmp_path, capsys):
    torch.manual_seed(0)
    checkpoint = build_model("resnet_small_28", num_classes=3).save(tmp_path / "ck.pt")
    out = tmp_path / "ck.onnx"
    args = ["export", "--model", "resnet_small_28", "--checkpoint", str(checkpoint)]
    assert main([*args, "--out", str(out)]) == 0
    assert '"num_classes": 3' in read_metadata(out)["alveoflow.config"]
    capsys.readouterr()
    assert main([*args, "--num-classes", "7", "--out", str(tmp_path / "bad.onnx")]) == 2
    assert "fc.weight" in capsys.readouterr().err


def test_unknown_model_and_missing_file(tmp_path, capsys):
    assert main(["export", "--model", "resnet05", "--out", str(tmp_path / "x.onnx")]) == 2
    assert "did you mean: resnet50" in capsys.readouterr().err
    assert main(["info", str(tmp_path / "missing.onnx")]) == 2
    assert "does not exist" in capsys.readouterr().err
