"""``SimBackend`` and ``alveoflow run`` on build directories made from synthetic graphs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from alveoflow.cli import main
from alveoflow.compiler.semantics import run_graph
from alveoflow.errors import ConfigError
from alveoflow.runtime.backends.sim import SimBackend
from alveoflow.testing import lowered_cnn, lowered_resnet, write_build


@pytest.fixture(scope="module")
def pixel_build(tmp_path_factory):
    graph = lowered_resnet(18, input_size=32, width=0.125, num_classes=7)
    return graph, write_build(tmp_path_factory.mktemp("rn") / "b", graph)


@pytest.fixture(scope="module")
def float_build(tmp_path_factory):
    graph = lowered_cnn(16, channels=(8, 8), num_classes=6)
    return graph, write_build(tmp_path_factory.mktemp("cnn") / "b", graph)


def test_run_command_round_trip(pixel_build, tmp_path, capsys):
    graph, build = pixel_build
    x = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "y.npy"
    code = main(
        [
            "run",
            str(build),
            "--input",
            str(tmp_path / "x.npy"),
            "--output",
            str(out),
            "--batch-size",
            "2",
        ]
    )
    assert code == 0
    logits = np.load(out)
    assert logits.dtype == np.float32 and logits.shape == (5, 7)
    np.testing.assert_array_equal(logits, run_graph(graph, {"input": x})["logits"])
    text = capsys.readouterr().out
    assert "5 images on sim" in text and "top-1 classes" in text


def test_run_command_float_input_json(float_build, tmp_path, capsys):
    graph, build = float_build
    x = np.random.default_rng(1).normal(size=(3, 3, 16, 16)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code = main(
        [
            "run",
            str(build),
            "--input",
            str(tmp_path / "x.npy"),
            "--output",
            str(tmp_path / "y.npy"),
            "--json",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["images"] == 3 and sum(summary["top1_histogram"].values()) == 3
    np.testing.assert_array_equal(
        np.load(tmp_path / "y.npy"), run_graph(graph, {"input": x})["logits"]
    )


def test_run_command_wrong_input_names_expected(pixel_build, tmp_path, capsys):
    _, build = pixel_build
    np.save(tmp_path / "f.npy", np.zeros((2, 32, 32, 3), np.float32))
    np.save(tmp_path / "s.npy", np.zeros((2, 32, 3, 32), np.uint8))
    for name, expect in (("f.npy", "uint8"), ("s.npy", "(N, 32, 32, 3)")):
        code = main(
            [
                "run",
                str(build),
                "--input",
                str(tmp_path / name),
                "--output",
                str(tmp_path / "y.npy"),
            ]
        )
        assert code == 2
        err = capsys.readouterr().err
        assert expect in err


def test_sim_backend_from_dir_and_graph(pixel_build):
    graph, build = pixel_build
    x = np.random.default_rng(2).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    a = SimBackend(build, device="cpu").run(x)
    b = SimBackend(graph, device="auto").run(x)
    assert set(a) == {"logits", "topk"}
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    with pytest.raises(ConfigError, match=r"expected shape \(N, 32, 32, 3\) NHWC"):
        SimBackend(graph).run(x[:, :16])
    with pytest.raises(ConfigError, match="integer codes"):
        SimBackend(graph).run(x.astype(np.float32))
    with pytest.raises(ConfigError, match="sim device"):
        SimBackend(graph, device="tpu")


def test_sim_backend_rejects_bad_manifest(tmp_path):
    graph = lowered_cnn(16, channels=(8,))
    folder = write_build(tmp_path / "b", graph)
    data = json.loads((folder / "manifest.json").read_text())
    data["input"]["dtype"] = "float16"
    (folder / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="dtype"):
        SimBackend(folder)


def test_run_round_input_rounds_float_pixels(pixel_build, tmp_path, capsys):
    graph, build = pixel_build
    x = np.random.default_rng(3).integers(0, 256, (2, 3, 32, 32)).astype(np.float32)
    np.save(tmp_path / "off.npy", x + 0.25)  # NCHW pixels like the model takes, off the grid
    args = ["run", str(build), "--input", str(tmp_path / "off.npy"), "--output"]
    assert main(args + [str(tmp_path / "y.npy")]) == 2
    assert "whole numbers in 0..255" in capsys.readouterr().err
    assert main(args + [str(tmp_path / "y.npy"), "--round-input"]) == 0
    codes = x.astype(np.uint8).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(
        np.load(tmp_path / "y.npy"), run_graph(graph, {"input": codes})["logits"]
    )
