"""``alveoflow compile``: build directory contents, manifest, table, atomic failure."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper

from alveoflow.cli import main
from alveoflow.compiler.ir import load_graph
from alveoflow.compiler.semantics.executor import run_graph
from alveoflow.testing import golden as gn


@pytest.fixture(scope="module")
def resnet_path(tmp_path_factory):
    from alveoflow.export import to_qonnx
    from alveoflow.qnn import build_model, calibrate_bn

    torch.manual_seed(0)
    model = calibrate_bn(build_model("resnet_small_28", pixel_mean=(128.0,)), batches=2)
    return to_qonnx(model, tmp_path_factory.mktemp("m") / "small.onnx")


def test_compile_writes_graph_design_and_manifest(resnet_path, tmp_path, capsys):
    out = tmp_path / "build"
    assert main(["compile", str(resnet_path), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "layer1.0.conv1" in text and "MVAU" in text and "1b/u2" in text
    assert "compiled " in text and "GMACs" in text
    top = sorted(p.name for p in out.iterdir())
    for name in ("design.json", "folding_plan.json", "graph.json", "graph.npz", "hls",
                 "link", "manifest.json", "report.json", "vivado", "weights"):
        assert name in top
    report = json.loads((out / "report.json").read_text())
    assert report["estimate"]["fps"] > 0 and report["estimate"]["within_limits"]
    assert text.strip().splitlines()[-1].startswith("estimate @ 250 MHz")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == 2 and manifest["model"]["name"] == "resnet_small"
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
    assert conv["block"] == "layer1.0"
    for rel in ("graph.json", "graph.npz", "weights/fc_weights.npy", "vivado/kernel.xml"):
        digest = hashlib.sha256((out / rel).read_bytes()).hexdigest()
        assert manifest["files"][rel] == digest
    assert set(manifest["files"]) == {
        p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()
    } - {"manifest.json"}
    assert manifest["hashes"]["source"] == hashlib.sha256(resnet_path.read_bytes()).hexdigest()
    card = manifest["card"]
    assert card["xclbin"] is None and card["compute_unit"] == card["kernel"] + "_1"
    assert [a["role"] for a in card["kernel_args"]] == [
        "input", "topk", "fc_weights", "batch", "logits"
    ]
    graph = load_graph(out)
    pixels = np.random.default_rng(0).integers(0, 256, (2, 28, 28, 1)).astype(np.uint8)
    assert run_graph(graph, {"input": pixels})["topk"].shape == (2, 5)


def test_runtime_accepts_the_manifest(resnet_path, tmp_path):
    from alveoflow.compiler.buildfmt import read_manifest

    out = tmp_path / "b"
    assert main(["compile", str(resnet_path), "--out", str(out), "--quiet"]) == 0
    m = read_manifest(out)
    assert m.input.dtype == "uint8" and m.output("logits") is not None


def test_recompiling_replaces_build_files_and_keeps_user_files(resnet_path, tmp_path, capsys):
    out = tmp_path / "b"
    assert main(["compile", str(resnet_path), "--out", str(out), "--quiet"]) == 0
    (out / "notes.txt").write_text("mine")  # a user's file inside the build folder
    (out / "report.json").write_text("stale")
    assert main(["compile", str(resnet_path), "--out", str(out), "--quiet", "--dump-passes"]) == 0
    assert json.loads((out / "report.json").read_text())["version"] >= 2
    assert (out / "notes.txt").read_text() == "mine"
    assert (tmp_path / "b.passes" / "02_lower.json").is_file()
    assert not list(tmp_path.glob(".b.stage-*"))


def test_a_folder_of_user_files_is_refused(resnet_path, tmp_path, capsys):
    out = tmp_path / "mine"
    (out / "src").mkdir(parents=True)
    (out / "notes.txt").write_text("keep me")
    assert main(["compile", str(resnet_path), "--out", str(out), "--quiet"]) == 2
    assert "refusing to write a build into" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "src"]


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
    assert "float model" in err and "export_qonnx" in err
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


def test_build_config_checks_settings(resnet_path, tmp_path):
    from alveoflow.compiler.config import BuildConfig
    from alveoflow.compiler.pipeline import build
    from alveoflow.errors import ConfigError

    result = build(resnet_path, BuildConfig.from_mapping({"target_fps": "max"}), tmp_path / "a")
    assert (tmp_path / "a" / "manifest.json").is_file() and result.graph.outputs[0] == "logits"
    with pytest.raises(ConfigError, match="'platfrom' \\(did you mean: platform"):
        BuildConfig.from_mapping({"platfrom": "u250"})


@pytest.mark.parametrize("clock", ["nan", "inf", "10000", "-1", "fast"])
def test_bad_clock_is_one_line(resnet_path, tmp_path, capsys, clock):
    code = main(["compile", str(resnet_path), "--out", str(tmp_path / "o"), "--clock-mhz", clock])
    err = capsys.readouterr().err
    assert code == 2 and "clock" in err and len(err.strip().splitlines()) == 1


def test_help_describes_the_command(capsys):
    with pytest.raises(SystemExit):
        main(["compile", "--help"])
    assert "--dump-passes" in capsys.readouterr().out
