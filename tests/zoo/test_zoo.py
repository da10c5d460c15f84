"""Networks written the way Brevitas users write them, compiled as a user would.

Each zoo net (``zoo_nets``) is built from plain ``brevitas.nn`` layers, calibrated on random
inputs, exported with Brevitas' own ``export_qonnx`` (no edits) and compiled through the
public CLI (``alveoflow compile``, with ``--input-quant`` when the model does not quantize
its own input). The lowered graph must agree code for code with the float64 evaluation of
the QONNX graph on every quantized intermediate, its logits must equal that evaluation's,
its top-1 must equal Brevitas' float32 forward, and ``alveoflow run`` (sim) on the float
input must return the same logits (host quantization + card == the whole reference).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import zoo_nets

from alveoflow import cli
from alveoflow.compiler.config import InputQuant
from alveoflow.compiler.frontend import from_qonnx
from alveoflow.compiler.ir import hw, load_graph
from alveoflow.testing import golden as gn

IMAGES = 8


def _compile(case: zoo_nets.Case, onnx_path: Path, out: Path) -> None:
    args = ["compile", str(onnx_path), "--out", str(out), "--no-plan", "--quiet"]
    if case.input_quant:
        args += ["--input-quant", case.input_quant]
    assert cli.main(args) == 0


def _run_sim(build: Path, x: np.ndarray, tmp: Path) -> np.ndarray:
    np.save(tmp / "x.npy", x)
    args = ["run", str(build), "--input", str(tmp / "x.npy"), "--output", str(tmp / "y.npy")]
    assert cli.main(args + ["--backend", "sim", "--device", "cpu"]) == 0
    return np.load(tmp / "y.npy")


def _cases() -> list:
    return sorted(zoo_nets.CASES)


def _model_and_inputs(case: zoo_nets.Case) -> tuple[torch.nn.Module, np.ndarray, np.ndarray]:
    """The calibrated model, inputs and its float32 outputs (which must vary)."""
    model = zoo_nets.make(case)
    x = case.inputs(IMAGES, seed=7)
    with torch.no_grad():
        brevitas = model(torch.from_numpy(x)).numpy()
    assert len(set(brevitas.argmax(1).tolist())) >= 3, "random weights gave degenerate outputs"
    assert float(brevitas.std(axis=0).mean()) > 0.05 * float(np.abs(brevitas).mean())
    return model, x, brevitas


def _check(case, source, lowered, x: np.ndarray, brevitas: np.ndarray) -> np.ndarray:
    """Every quantized intermediate and the logits equal the float64 evaluation; top-1
    equals Brevitas'. Returns the logits."""
    assert lowered.inputs[0].shape == source.inputs[0].shape  # the model's own float input
    host = [n for n in lowered.nodes if isinstance(n.op, hw.QuantizeInput)]
    assert len(host) == 1 and host[0].op.on_grid == (case.input_quant is not None)
    cmp = gn.compare(source, lowered, x)
    assert cmp.compared >= 2 and cmp.exact, {k: v for k, v in cmp.mismatches.items() if v}
    np.testing.assert_array_equal(cmp.logits_hw, cmp.logits_ref)
    np.testing.assert_array_equal(cmp.logits_hw.argmax(1), brevitas.argmax(1))
    scale = np.abs(brevitas).max()
    np.testing.assert_allclose(cmp.logits_hw, brevitas, rtol=1e-4, atol=1e-4 * scale)
    return cmp.logits_hw


def _source(case: zoo_nets.Case, onnx_path: Path):
    grid = InputQuant.parse(case.input_quant) if case.input_quant else None
    return from_qonnx(onnx_path, input_quant=grid)


@pytest.mark.parametrize("name", _cases())
def test_zoo_net_is_bit_exact_through_the_cli(name, tmp_path):
    case = zoo_nets.CASES[name]
    model, x, brevitas = _model_and_inputs(case)
    onnx_path = Path(zoo_nets.export(model, case, str(tmp_path / f"{name}.onnx")))
    build = tmp_path / "build"
    _compile(case, onnx_path, build)
    logits = _check(case, _source(case, onnx_path), load_graph(build), x, brevitas)
    np.testing.assert_array_equal(_run_sim(build, x, tmp_path), logits)


@pytest.mark.parametrize(
    "name", ["mobilenet", pytest.param("resnet", marks=pytest.mark.slow), "se"]
)
def test_zoo_net_in_qonnx_channels_last_form_lowers_bit_exact(name, tmp_path):
    """qonnx's channels-last form (NHWC activations, Transposes at the ends, channels-last
    Conv/BatchNorm/MaxPool) compiles to the same exact hardware graph."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.channels_last import ConvertToChannelsLastAndClean
    from qonnx.util.cleanup import cleanup_model

    from alveoflow.compiler.config import BuildConfig
    from alveoflow.compiler.pipeline import compile_qonnx

    case = zoo_nets.CASES[name]
    model, x, brevitas = _model_and_inputs(case)
    onnx_path = zoo_nets.export(model, case, str(tmp_path / f"{name}.onnx"))
    wrapper = cleanup_model(ModelWrapper(onnx_path)).transform(ConvertToChannelsLastAndClean())
    kinds = {n.domain for n in wrapper.graph.node}
    assert "qonnx.custom_op.channels_last" in kinds
    path = tmp_path / "channels_last.onnx"
    wrapper.save(str(path))
    grid = InputQuant.parse(case.input_quant) if case.input_quant else None
    result = compile_qonnx(path, BuildConfig(input_quant=grid))
    _check(case, _source(case, path), result.graph, x, brevitas)


class _Unsupported(torch.nn.Module):
    """A Brevitas model with three things the hardware cannot do, far apart."""

    def __init__(self) -> None:
        from brevitas import nn as qnn

        super().__init__()
        self.inp = qnn.QuantIdentity(bit_width=8)
        self.conv = qnn.QuantConv2d(3, 8, 3, padding=1, bias=False, weight_bit_width=4)
        self.act = qnn.QuantIdentity(bit_width=4)
        self.silu = torch.nn.SiLU()  # x * sigmoid(x): a product of two images
        self.conv2 = qnn.QuantConv2d(8, 8, 3, padding=1, bias=False, weight_bit_width=4)
        self.fc = qnn.QuantLinear(8 * 16 * 8, 10, bias=True, weight_bit_width=8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.conv(self.inp(x)))
        y = self.conv2(self.act(self.silu(y)))
        y = torch.cat([y, y], dim=2)  # along the height
        return torch.softmax(self.fc(torch.flatten(y, 1)), dim=1)


def test_one_error_lists_every_problem_through_the_cli(tmp_path, capsys):
    from brevitas.export import export_qonnx

    model = _Unsupported().eval()
    path = tmp_path / "bad.onnx"
    export_qonnx(model, torch.zeros(1, 3, 8, 8), export_path=str(path), dynamo=False)
    assert cli.main(["compile", str(path), "--out", str(tmp_path / "b"), "--no-plan"]) == 2
    err = capsys.readouterr().err
    assert "Softmax: unsupported op type Softmax" in err  # a reader-stage op
    assert "only an image times a per-channel gate" in err  # the SiLU product
    assert "Concat along axis 2" in err  # after the SiLU, still checked on its own
    assert "Traceback" not in err and not (tmp_path / "b").exists()


def test_a_float_onnx_is_one_line_and_exit_code_2(tmp_path, capsys):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten())
    path = tmp_path / "float.onnx"
    torch.onnx.export(model, (torch.zeros(1, 3, 6, 6),), str(path), dynamo=False)
    assert cli.main(["compile", str(path), "--out", str(tmp_path / "b"), "--no-plan"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is a float model" in err and "export_qonnx" in err


def _cppsim_cases() -> list:
    return sorted(n for n, c in zoo_nets.CASES.items() if c.cppsim)


@pytest.mark.slow
@pytest.mark.parametrize("name", _cppsim_cases())
def test_zoo_net_cppsim_equals_sim(name, tmp_path):
    """The generated C++ (``alveoflow run --backend cppsim``) gives the sim's logits."""
    case = zoo_nets.CASES[name]
    model = zoo_nets.make(case)
    onnx_path = Path(zoo_nets.export(model, case, str(tmp_path / f"{name}.onnx")))
    build = tmp_path / "build"
    _compile(case, onnx_path, build)
    x = case.inputs(4, seed=11)
    sim = _run_sim(build, x, tmp_path)
    np.save(tmp_path / "x.npy", x)
    args = ["run", str(build), "--input", str(tmp_path / "x.npy"), "--output"]
    assert cli.main(args + [str(tmp_path / "cpp.npy"), "--backend", "cppsim"]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "cpp.npy"), sim)
