"""``alveoflow verify`` and ``runtime.verify``: a build against its model code for code, rounding
ties, and the calibration warning of ``to_alveo``."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from alveoflow import api, cli, paths
from alveoflow.compiler.ir import Graph, Node, QType, TensorInfo, nn
from alveoflow.qnn import build_model, calibrate_bn
from alveoflow.runtime.verify import (
    CalibrationWarning,
    diff_tensor,
    first_differences,
    looks_uncalibrated,
    quantizer_ties,
)

SMALL = {"width": 0.25, "num_classes": 10, "input_size": 8}
FAST = {"backend": "sim", "plan": False, "csim_variant": False}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A calibrated pixel model, its checkpoint, its build, and inputs."""
    folder = tmp_path_factory.mktemp("verify")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.CACHE_ENV_VAR, str(folder / "cache"))
        torch.manual_seed(0)
        model = build_model("resnet_small_28", **SMALL)
        calibrate_bn(model)
        model.eval()
        accel = model.to_alveo(**FAST)
    model.save(folder / "model.pt")
    x = torch.randint(0, 256, (12, 1, 8, 8), generator=torch.Generator().manual_seed(1))
    np.save(folder / "x.npy", x.float().numpy())
    return folder, accel.build_dir


def verify(capsys, *args):
    code = cli.main(["verify", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_build_agrees_code_for_code(setup, capsys):
    folder, build = setup
    report = folder / "report.json"
    code, out, err = verify(
        capsys, build, "--model", folder / "model.pt", "--data", folder / "x.npy", "--json", report
    )
    assert code == 0, err
    assert "verdict: exact" in out and "all 16 quantized tensors agree" in out
    data = json.loads(report.read_text())
    assert data["frames"] == 12 and data["frames_exact"] == 12
    assert data["vs_float64"]["top1"] == 1.0 and data["vs_float64"]["top5"] == 1.0
    assert data["vs_float64"]["max_abs_logit_diff"] == 0.0
    assert data["vs_brevitas_float32"]["top1"] == 1.0
    assert data["backend_vs_build_reference"]["frames_differ"] == []
    assert all(t["differ"] == 0 for t in data["tensors"]) and len(data["tensors"]) == 16


def test_another_models_weights_are_a_real_mismatch(setup, capsys, tmp_path):
    folder, build = setup
    torch.manual_seed(7)
    other = build_model("resnet_small_28", **SMALL)
    calibrate_bn(other)
    other.eval().save(tmp_path / "other.pt")
    code, out, _ = verify(
        capsys, build, "--model", tmp_path / "other.pt", "--data", folder / "x.npy"
    )
    assert code == 1
    assert "verdict: mismatch" in out and "first tensor that differs: relu" in out
    assert "differ for real" in out


def test_onnx_model_skips_the_float32_forward(setup, capsys, tmp_path):
    from alveoflow.export import to_qonnx
    from alveoflow.qnn import load_checkpoint

    folder, build = setup
    onnx = to_qonnx(
        load_checkpoint(folder / "model.pt"), tmp_path / "m.onnx", (1, 1, 8, 8), "UINT8"
    )
    code, out, _ = verify(
        capsys, build, "--model", onnx, "--data", folder / "x.npy", "--limit", "4"
    )
    assert code == 0 and "verdict: exact" in out
    assert "Brevitas float32: skipped (ONNX)" in out and "4 inputs" in out


def test_uint8_nhwc_pixels_and_an_image_folder(setup, capsys, tmp_path):
    from PIL import Image

    folder, build = setup
    x = np.load(folder / "x.npy").astype(np.uint8)
    np.save(tmp_path / "nhwc.npy", x.transpose(0, 2, 3, 1))
    code, out, _ = verify(
        capsys, build, "--model", folder / "model.pt", "--data", tmp_path / "nhwc.npy"
    )
    assert code == 0 and "verdict: exact" in out
    for label in ("a", "b"):
        (tmp_path / "images" / label).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(x[i + (3 if label == "b" else 0), 0]).save(
                tmp_path / "images" / label / f"{i}.png"
            )
    report = tmp_path / "r.json"
    code, out, _ = verify(
        capsys, build, "--model", folder / "model.pt", "--data", tmp_path / "images",
        "--json", report,
    )  # fmt: skip
    assert code == 0 and "6 inputs" in out
    assert 0.0 <= json.loads(report.read_text())["accuracy"]["build"] <= 1.0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "{folder}/nope.npy"], "no such file"),
        (["--data", "/dev/null"], "is empty"),
        (["--limit", "0"], "--limit must be >= 1"),
        (["--backend", "tpu"], "unknown backend 'tpu'"),
        (["--json", "/proc/version/r.json"], "--json /proc/version/r.json"),
    ],
)
def test_bad_input_is_one_line(setup, capsys, args, message):
    folder, build = setup
    base = {"--model": str(folder / "model.pt"), "--data": str(folder / "x.npy")}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value.format(folder=folder)
    code, _, err = verify(capsys, build, *[v for kv in base.items() for v in kv])
    assert code == 2 and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_model_that_is_not_the_builds_is_refused(setup, capsys, tmp_path):
    from alveoflow.testing.golden import BinaryMLP, calibrate, export

    folder, build = setup
    onnx = export(calibrate(BinaryMLP(), (1, 1, 8, 8)), tmp_path / "mlp.onnx", (1, 1, 8, 8))
    code, _, err = verify(capsys, build, "--model", onnx, "--data", folder / "x.npy")
    assert code == 2 and "is not the one this build was compiled from" in err
    assert len(err.strip().splitlines()) == 1


# -- ties ------------------------------------------------------------------------------------


def _quant_graph(scale: float) -> Graph:
    x = TensorInfo("x", (1, 5), QType.float32(), "NC")
    weights = {"scale": np.float32(scale), "zero_point": np.float32(0)}
    node = Node.create("q", nn.Quant(bits=4, signed=True), [x], ["q"], weights)
    return Graph.build([x], [node], ("q",), {})


def test_ties_are_values_on_a_rounding_boundary():
    graph = _quant_graph(0.1)
    s = float(np.float32(0.1))
    # 2.5 and -3.5 steps: ties; 2.25: not; 40.5: a tie outside the 4-bit range (clamped)
    values = {"x": np.array([[2.5 * s, 2.25 * s, -3.5 * s, 40.5 * s, 0.0]]), "q": np.zeros((1, 5))}
    mask = quantizer_ties(graph, values)["q"]
    assert mask.tolist() == [[True, False, True, False, False]]
    assert looks_uncalibrated(10, 1000) and not looks_uncalibrated(1, 10000)


def test_frames_are_classed_by_their_first_difference():
    want = np.array([[0, 1, 2], [0, 1, 2], [0, 1, 2]])
    tie = np.array([[False, True, False], [False, False, False], [True, False, False]])
    hw = np.array([[0, 2, 2], [0, 1, 3], [0, 1, 2]])  # frame 0: on a tie, frame 1: not
    record, diff = diff_tensor("a", "hw_a", want, hw, tie)
    assert (record.differ, record.on_tie, record.ties, record.first_index) == (2, 1, 2, [0, 1])
    later = np.ones_like(diff)  # everything differs later on (a consequence), no ties there
    first = first_differences([("a", diff, tie), ("b", later, np.zeros_like(tie))], 3)
    assert first == {0: ("a", True), 1: ("a", False), 2: ("b", False)}


# -- the calibration warning of to_alveo ------------------------------------------------------


def test_to_alveo_warns_when_many_outputs_sit_on_ties(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.CACHE_ENV_VAR, str(tmp_path))
    monkeypatch.setattr(api, "count_ties", lambda source, x: (50, 1000))
    model = build_model("resnet_small_28", **SMALL).eval()
    with pytest.warns(CalibrationWarning, match=r"50 of 1000 quantizer outputs \(5.00%\)"):
        accel = model.to_alveo(**FAST)
    data = json.loads((accel.build_dir / "manifest.json").read_text())
    assert data["calibration"] == {"ties": 50, "elements": 1000, "frames": 1, "input": "random"}
    with pytest.warns(CalibrationWarning):  # the cached build warns again
        model.to_alveo(**FAST)
    monkeypatch.setattr(api, "count_ties", lambda source, x: (0, 1000))
    calibrate_bn(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CalibrationWarning)
        model.eval().to_alveo(**FAST)  # new weights, new build: no ties, no warning


@pytest.mark.slow
def test_fresh_quant_resnet50_warns(monkeypatch, tmp_path):
    """A fresh ``QuantResNet50`` (reduced input and width to keep the test short) has
    ~0.5% of its quantizer outputs on ties; ``to_alveo`` says so."""
    from alveoflow.qnn import QuantResNet50

    monkeypatch.setenv(paths.CACHE_ENV_VAR, str(tmp_path))
    torch.manual_seed(0)
    with pytest.warns(CalibrationWarning, match="scales look uncalibrated"):
        QuantResNet50(input_size=32, width=0.125).to_alveo(**FAST)


def test_verify_warns_about_many_ties(setup, capsys, monkeypatch):
    from alveoflow.runtime import verify as verify_module

    folder, build = setup
    monkeypatch.setattr(verify_module, "UNCALIBRATED", -1.0)  # any share of ties is "many"
    code, out, err = verify(
        capsys, build, "--model", folder / "model.pt", "--data", folder / "x.npy"
    )
    assert code == 0 and "verdict: exact" in out  # a warning, not a failure
    assert "scales look uncalibrated" in err
