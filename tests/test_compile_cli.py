"""``alveoflow compile``: build directory contents, manifest, table, atomic failure."""

from __future__ import annotations

import hashlib
import json

import golden_nets as gn
import numpy as np
import pytest
import torch
from onnx import TensorProto, helper

from alveoflow.cli import main
from alveoflow.compiler.ir import load_graph
from alveoflow.compiler.semantics.executor import run_graph


@pytest.fixture(scope="module")
def resnet_path(tmp_path_factory):
    from alveoflow.export import to_qonnx
    from alveoflow.qnn import build_model, calibrate_bn

    torch.manual_seed(0)
    model = calibrate_bn(build_model("resnet_small_28", pixel_mean=(128.0,)), batches=2)
    return to_qonnx(model, tmp_path_factory.mktemp("m") / "small.onnx")


def test_compile_writes_graph_and_manifest(resnet_path, tmp_path, capsys):
    out = tmp_path / "build"
    assert main(["compile", str(resnet_path), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "layer1.0.conv1" in text and "MVAU" in text and "1b/u2" in text
    assert "compiled " in text and "GMACs" in text
    assert sorted(p.name for p in out.iterdir()) == [
        "fc_weights.npy", "folding_plan.json", "graph.json", "graph.npz", "manifest.json",
        "report.json",
    ]
    report = json.loads((out / "report.json").read_text())
    assert report["estimate"]["fps"] > 0 and report["estimate"]["within_limits"]
    assert text.strip().splitlines()[-1].startswith("estimate @ 250 MHz")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == 1 and manifest["model"]["name"] == "resnet_small"
    assert manifest["input"] == {
        "name": "input",
        "shape": [1, 28, 28, 1],
        "dtype": "uint8",
        "layout": "NHWC",
    }
    kinds = {o["kind"]: o for o in manifest["outputs"]}
    assert kinds["logits"]["shape"] == [1, 10] and kinds["topk"]["shape"] == [1, 5]
    conv = next(n for n in manifest["nodes"] if n["name"] == "layer1.0.conv1")
    assert (
        conv["wdt"] == "BIPOLAR" and conv["idt"] == "UINT2" and conv["macs"] == 28 * 28 * 16 * 144
    )
    digest = hashlib.sha256((out / "graph.json").read_bytes() + (out / "graph.npz").read_bytes())
    assert manifest["hashes"]["graph"] == digest.hexdigest()
    assert manifest["hashes"]["source"] == hashlib.sha256(resnet_path.read_bytes()).hexdigest()
    graph = load_graph(out)
    pixels = np.random.default_rng(0).integers(0, 256, (2, 28, 28, 1)).astype(np.uint8)
    assert run_graph(graph, {"input": pixels})["topk"].shape == (2, 5)


def test_runtime_accepts_the_manifest(resnet_path, tmp_path):
    from alveoflow.runtime.manifest import load_manifest

    out = tmp_path / "b"
    assert main(["compile", str(resnet_path), "--out", str(out), "--quiet"]) == 0
    m = load_manifest(out)
    assert m.input.dtype == "uint8" and m.output("logits") is not None


def test_recompiling_replaces_files_and_dumps_passes(resnet_path, tmp_path):
    out = tmp_path / "b"
    out.mkdir()
    (out / "graph.json").write_text("stale")
    assert main(["compile", str(resnet_path), "--out", str(out), "--quiet", "--dump-passes"]) == 0
    assert json.loads((out / "graph.json").read_text())["format"] == 1
    assert (out / "passes" / "02_lower_to_hw.json").is_file()


def test_failed_compile_writes_nothing(tmp_path, capsys):
    nodes = [helper.make_node("Softmax", ["x"], ["y"], name="/head/Softmax")]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    path = tmp_path / "bad.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    out = tmp_path / "build"
    assert main(["compile", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "head (Softmax)" in err
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["bad.onnx"]


def test_unmappable_model_reports_each_node(tmp_path, capsys):
    torch.manual_seed(0)
    model = gn.calibrate(gn.VGG(1, 1, size=20), (1, 3, 20, 20))
    # bipolar activations with padding cannot be lowered: rebuild the first binary conv padded
    model[4].padding = (1, 1)
    path = gn.export(model, tmp_path / "pad.onnx", (1, 3, 20, 20))
    assert main(["compile", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "could not be mapped" in err and "- 4: Conv: zero padding needs" in err
    assert "node(s) after 4: not lowered because 4 was not" in err and "Duplicate" not in err


def test_compile_build_checks_settings(resnet_path, tmp_path):
    from alveoflow.compiler.pipeline import compile_build
    from alveoflow.errors import ConfigError

    result = compile_build(resnet_path, tmp_path / "a", platform="u250", target_fps="max")
    assert (tmp_path / "a" / "manifest.json").is_file() and result.graph.outputs[0] == "logits"
    with pytest.raises(ConfigError, match="'platfrom' \\(did you mean: platform"):
        compile_build(resnet_path, tmp_path / "b", platfrom="u250")


def test_help_describes_the_command(capsys):
    with pytest.raises(SystemExit):
        main(["compile", "--help"])
    assert "--dump-passes" in capsys.readouterr().out
