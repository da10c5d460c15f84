"""Golden checks per network: the lowered integer graph against the QONNX model evaluated in
float64 (every surviving quantized intermediate equal, code for code) and against Brevitas'
own float32 forward (differing codes only at rounding boundaries, top-1 equal)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from alveoflow.compiler.ir import hw
from alveoflow.compiler.pipeline import compile_qonnx
from alveoflow.testing import golden as gn

BOUNDARY = 1e-4  # |x / scale + zero - (k + 1/2)| below this counts as "on a boundary"


def _resnet(name: str, **options):
    from alveoflow.qnn import build_model, calibrate_bn

    model = calibrate_bn(build_model(name, **options), batches=3, batch_size=4)
    return model, model.config.input_shape, model.config.pixel_input


NETWORKS = {
    "vgg_w1a1": lambda: (gn.VGG(1, 1, size=20), False),
    "vgg_w1a2": lambda: (gn.VGG(1, 2), False),
    "vgg_w2a2": lambda: (gn.VGG(2, 2), False),
    "vgg_w4a4_per_channel": lambda: (gn.VGG(4, 4, per_channel=True), False),
    "vgg_w8a8": lambda: (gn.VGG(8, 8), False),
    "binary_mlp": lambda: (gn.BinaryMLP(), False),
    "depthwise_w4a4": lambda: (gn.DepthwiseNet(), False),
    "trunc_avgpool": lambda: (gn.TruncPoolNet(), False),
}
RESNETS = {
    "resnet_small_28_w1a2r4": ("resnet_small_28", {"pixel_mean": (128.0,)}),
    "resnet_small_32_w2a2": (
        "resnet_small_32",
        {"bits": "w2a2", "pixel_mean": (124.0, 116.0, 104.0)},
    ),
    "resnet_small_32_float_in": ("resnet_small_32", {"pixel_input": False}),
    "resnet18_v15_narrow": (
        "resnet18",
        {"width": 0.25, "input_size": 64, "version": "v1.5", "pixel_mean": (124.0, 116.0, 104.0)},
    ),
}


def _inputs(shape, pixels: bool, n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if pixels:
        return rng.integers(0, 256, (n,) + tuple(shape[1:])).astype(np.float32)
    return rng.normal(size=(n,) + tuple(shape[1:])).astype(np.float32)


def _check_against_brevitas(
    model, source, ref_cmp, x: np.ndarray, top1: float, chaotic: bool = False
) -> None:
    """Brevitas float32 codes vs the float64 reference: few differences, all at boundaries
    where they first appear; top-1 agreement of the lowered graph with Brevitas. ``chaotic``
    (a random binary ResNet-50): only the first divergence is checked, because one boundary
    code flips thousands downstream (measured: 22,760 of 43.5M codes, 0.05%, with torch 2.13
    on CPU), so neither their count nor the logits can be held to a tolerance."""
    from alveoflow.compiler.semantics.executor import run_graph

    theirs = gn.brevitas_codes(model, x)
    quantized = [t for t in ref_cmp.mismatches]  # every quantizer output with a hw tensor
    assert set(quantized) <= set(theirs), sorted(set(quantized) - set(theirs))
    values = run_graph(source, {source.inputs[0].name: x}, keep_intermediates=True)
    total = differing = 0
    first_checked = False
    for tensor in [n.output.name for n in source.nodes if n.output.name in quantized]:
        ours = gn.reference_codes(source, values, tensor)
        diff = ours != theirs[tensor].reshape(ours.shape)
        total += diff.size
        differing += int(diff.sum())
        if diff.any() and not first_checked:  # first divergence: must sit on a boundary
            node = source.producer(tensor)
            pre = values[node.inputs[0]].astype(np.float64)
            w = {k: torch.as_tensor(np.asarray(v)) for k, v in node.weights.items()}
            zero, scale = (t.numpy() for t in gn.nn_kernels.quantizer_head(node.op, w))
            frac = np.abs(np.mod(pre / scale + zero, 1.0) - 0.5)
            assert np.all(frac[diff] < BOUNDARY), f"{tensor}: codes differ away from a boundary"
            first_checked = True
    if chaotic:
        return
    assert differing <= max(2, 1e-4 * total), f"{differing} of {total} codes differ from Brevitas"
    with torch.no_grad():
        brev = model(torch.from_numpy(x))
    brev = getattr(brev, "value", brev).numpy()
    agree = float(np.mean(brev.argmax(1) == ref_cmp.logits_hw.argmax(1)))
    assert agree >= top1
    np.testing.assert_allclose(ref_cmp.logits_hw, brev, rtol=1e-3, atol=1e-3 * np.abs(brev).max())


def _golden(model, shape, pixels, tmp_path, n=8, top1=1.0, chaotic=False):
    from alveoflow.export import to_qonnx

    path = tmp_path / "model.onnx"
    if hasattr(model, "config"):
        to_qonnx(model, path)
    else:
        gn.export(model, path, shape)
    result = compile_qonnx(path)
    x = _inputs(shape, pixels, n)
    cmp = gn.compare(result.source, result.graph, x)
    assert cmp.compared >= 2 and cmp.exact, {k: v for k, v in cmp.mismatches.items() if v}
    scale = np.abs(cmp.logits_ref).max()
    np.testing.assert_allclose(cmp.logits_hw, cmp.logits_ref, rtol=1e-6, atol=1e-6 * scale)
    _check_against_brevitas(model, result.source, cmp, x, top1=top1, chaotic=chaotic)
    return result, x, cmp


@pytest.mark.parametrize("case", sorted(NETWORKS))
def test_small_network_is_bit_exact(case, tmp_path):
    torch.manual_seed(0)
    model, pixels = NETWORKS[case]()
    gn.calibrate(model, model.input_shape)
    _golden(model, model.input_shape, pixels, tmp_path)


@pytest.mark.parametrize("case", sorted(RESNETS))
def test_resnet_is_bit_exact(case, tmp_path):
    torch.manual_seed(0)
    name, options = RESNETS[case]
    model, shape, pixels = _resnet(name, **options)
    result, _, _ = _golden(model, shape, pixels, tmp_path)
    kinds = [n.op.kind for n in result.graph.nodes]
    assert "AddStreams" in kinds and "LabelSelect" in kinds


def test_a_corrupted_weight_is_detected(tmp_path):
    torch.manual_seed(0)
    model, shape, pixels = _resnet("resnet_small_28", pixel_mean=(128.0,))
    result, x, _ = _golden(model, shape, pixels, tmp_path, n=4)
    g = result.graph
    victim = next(n for n in g.nodes if isinstance(n.op, hw.MVAU) and n.op.wdt.bipolar)
    weights = dict(victim.weights)
    w = np.array(weights["weights"])
    w[0, 0] = -w[0, 0]  # one weight of one output channel
    weights["weights"] = w
    bad = g.replace([victim.name], [dataclasses.replace(victim, weights=weights)])
    cmp = gn.compare(result.source, bad, x)
    assert not cmp.exact and sum(cmp.mismatches.values()) > 0


def test_qonnx_cleaned_file_compiles_exactly(tmp_path):
    """A file rewritten by qonnx's cleanup (generic names like Conv_0) is read the same way."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    torch.manual_seed(0)
    model = gn.calibrate(gn.VGG(2, 2), (1, 3, 16, 16))
    path = gn.export(model, tmp_path / "vgg.onnx", (1, 3, 16, 16))
    cleanup_model(ModelWrapper(str(path))).save(str(tmp_path / "clean.onnx"))
    result = compile_qonnx(tmp_path / "clean.onnx")
    assert "Conv_0" in {n.name for n in result.graph.nodes}
    cmp = gn.compare(result.source, result.graph, _inputs((1, 3, 16, 16), False, 4))
    assert cmp.exact and cmp.compared >= 4


@pytest.mark.slow
def test_quant_resnet50_is_bit_exact(tmp_path):
    """Exact against float64 on every intermediate. Against Brevitas' float32 forward, a
    random binary ResNet-50 is chaotic: one code on a rounding boundary (first divergence,
    checked) flips thousands downstream. Every top-1 disagreement must therefore disappear
    when Brevitas itself runs in float64."""
    from alveoflow.compiler.semantics.executor import run_graph

    torch.manual_seed(0)
    model, shape, pixels = _resnet("resnet50", pixel_mean=(124.0, 116.0, 104.0))
    result, _, cmp = _golden(model, shape, pixels, tmp_path, n=2, top1=0.0, chaotic=True)
    assert cmp.compared >= 80
    more = _inputs(shape, pixels, 16, seed=7)
    with torch.no_grad():
        brev = model(torch.from_numpy(more)).numpy()
    feed = more.astype(np.uint8).transpose(0, 2, 3, 1)
    ours = run_graph(result.graph, {"input": feed})["logits"]
    differ = np.nonzero(ours.argmax(1) != brev.argmax(1))[0]
    assert len(differ) <= 2, f"top-1 differs from Brevitas float32 on {len(differ)} of 16"
    if len(differ):
        with torch.no_grad():
            exact = model.double()(torch.from_numpy(more[differ].astype(np.float64))).numpy()
        np.testing.assert_array_equal(exact.argmax(1), ours[differ].argmax(1))


def test_quantizer_rounds_a_float32_tie_like_brevitas():
    """0.5 / float32(1/3) is 1.49999996 in float64 but exactly 1.5 in float32, the number
    Brevitas rounds (half to even: 2). The reference must give Brevitas' code."""
    from alveoflow.compiler.ir import nn
    from alveoflow.compiler.semantics import nn_kernels

    op = nn.Quant(2, signed=False)
    w = {
        "scale": torch.tensor([float(np.float32(1 / 3))], dtype=torch.float64),
        "zero_point": torch.zeros(1, dtype=torch.float64),
    }
    codes = nn_kernels.quantizer_codes(op, torch.tensor([0.5, 0.5 - 1e-6]), w)
    assert codes.tolist() == [2.0, 1.0]


def test_fresh_resnet_rounds_ties_like_brevitas(tmp_path):
    """An uncalibrated ResNet has scale ratios that put codes exactly on rounding ties
    (residual 0.125 into a 2-bit ReLU of scale 1/3). Lowered graph, float64 reference and
    Brevitas' own forward must agree on every code and every logit."""
    from alveoflow.export import to_qonnx
    from alveoflow.qnn import build_model

    torch.manual_seed(0)
    model = build_model("resnet_small_28").eval()
    path = to_qonnx(model, tmp_path / "fresh.onnx")
    result = compile_qonnx(path)
    x = _inputs(model.config.input_shape, True, 16, seed=0)
    cmp = gn.compare(result.source, result.graph, x)
    assert cmp.compared >= 10 and cmp.exact, {k: v for k, v in cmp.mismatches.items() if v}
    from alveoflow.compiler.semantics.executor import run_graph

    values = run_graph(result.source, {result.source.inputs[0].name: x}, keep_intermediates=True)
    theirs = gn.brevitas_codes(model, x)
    differing = {
        t: int(np.count_nonzero(gn.reference_codes(result.source, values, t) != theirs[t]))
        for t in cmp.mismatches
    }
    assert not any(differing.values()), differing
    with torch.no_grad():
        brev = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(cmp.logits_hw, brev, rtol=1e-5, atol=1e-5 * np.abs(brev).max())
