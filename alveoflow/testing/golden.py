"""Small Brevitas networks and golden comparisons shared by the compiler tests.

Builders return eval-mode models with BatchNorm statistics calibrated on random data (so
activations are not degenerate). ``compare`` runs the frontend graph (float64 reference)
and the lowered graph on the same inputs and reports, for every quantizer output that
survives as a hw tensor, how many integer codes differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from brevitas import nn as qnn
from brevitas.quant import (
    Int8ActPerTensorFloat,
    Int8WeightPerChannelFloat,
    Int8WeightPerTensorFloat,
    SignedBinaryActPerTensorConst,
    SignedBinaryWeightPerTensorConst,
    Uint8ActPerTensorFloat,
)
from torch import nn

from alveoflow.compiler.ir import Graph
from alveoflow.compiler.semantics import nn_kernels
from alveoflow.compiler.semantics.executor import run_graph


def weight_quant(bits: int, per_channel: bool = False) -> dict:
    if bits == 1:
        return {"weight_quant": SignedBinaryWeightPerTensorConst}
    base = Int8WeightPerChannelFloat if per_channel else Int8WeightPerTensorFloat
    return {"weight_quant": base, "weight_bit_width": bits}


def relu(bits: int) -> qnn.QuantReLU:
    return qnn.QuantReLU(act_quant=Uint8ActPerTensorFloat, bit_width=bits, return_quant_tensor=True)


def sign() -> qnn.QuantIdentity:
    return qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=True)


def conv_block(
    cin: int,
    cout: int,
    w: int,
    a: int,
    stride: int = 1,
    groups: int = 1,
    per_channel: bool = False,
    kernel: int = 3,
    pad: bool = True,
) -> list[nn.Module]:
    """Conv (no bias) -> BN -> unsigned ``a``-bit ReLU (``a == 1``: sign, +1/-1)."""
    return [
        qnn.QuantConv2d(
            cin,
            cout,
            kernel,
            stride=stride,
            padding=kernel // 2 if pad else 0,
            groups=groups,
            bias=False,
            **weight_quant(w, per_channel),
        ),
        nn.BatchNorm2d(cout),
        sign() if a == 1 else relu(a),
    ]


class VGG(nn.Sequential):
    """8-bit input quant -> conv blocks with max pools -> flatten -> FC -> BN -> act -> FC.
    ``a == 1`` uses sign activations (+1/-1), whose convs cannot pad (FINN CNV-style)."""

    def __init__(
        self,
        w: int = 2,
        a: int = 2,
        channels: int = 3,
        size: int = 16,
        per_channel: bool = False,
        classes: int = 10,
    ) -> None:
        c1, c2 = 16, 24
        pad = a != 1
        layers: list[nn.Module] = [
            qnn.QuantIdentity(act_quant=Int8ActPerTensorFloat, return_quant_tensor=True)
        ]
        opts = {"per_channel": per_channel, "pad": pad}
        layers += conv_block(channels, c1, w, a, **opts)
        layers += conv_block(c1, c1, w, a, **opts)
        layers += [nn.MaxPool2d(2)]
        layers += conv_block(c1, c2, w, a, **opts)
        layers += [nn.MaxPool2d(2), nn.Flatten()]
        side = size // 4 if pad else ((size - 4) // 2 - 2) // 2
        feat = c2 * side**2
        layers += [
            qnn.QuantLinear(feat, 32, bias=True, **weight_quant(w, per_channel)),
            nn.BatchNorm1d(32),
            sign() if a == 1 else relu(a),
            qnn.QuantLinear(32, classes, bias=True, **weight_quant(8)),
        ]
        super().__init__(*layers)
        self.input_shape = (1, channels, size, size)


class BinaryMLP(nn.Sequential):
    """Flatten -> 8-bit input -> [binary FC -> BN -> sign] x2 -> 8-bit FC (TFC-style)."""

    def __init__(self, features: int = 64, hidden: int = 48, classes: int = 10) -> None:
        layers: list[nn.Module] = [
            nn.Flatten(),
            qnn.QuantIdentity(act_quant=Int8ActPerTensorFloat, return_quant_tensor=True),
        ]
        width = features
        for _ in range(2):
            layers += [
                qnn.QuantLinear(width, hidden, bias=False, **weight_quant(1)),
                nn.BatchNorm1d(hidden),
                sign(),
            ]
            width = hidden
        layers += [qnn.QuantLinear(width, classes, bias=True, **weight_quant(8))]
        super().__init__(*layers)
        self.input_shape = (1, 1, 8, 8)


class DepthwiseNet(nn.Sequential):
    """MobileNet-style: stem conv -> (depthwise 3x3 -> pointwise 1x1) x2 -> avg pool -> FC."""

    def __init__(self, w: int = 4, a: int = 4, size: int = 16, classes: int = 10) -> None:
        layers: list[nn.Module] = [
            qnn.QuantIdentity(act_quant=Int8ActPerTensorFloat, return_quant_tensor=True)
        ]
        layers += conv_block(3, 16, 8, a, stride=2)
        for cin, cout, stride in ((16, 24, 1), (24, 32, 2)):
            layers += conv_block(cin, cin, w, a, stride=stride, groups=cin)
            layers += conv_block(cin, cout, w, a, kernel=1)
        layers += [
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            qnn.QuantLinear(32, classes, bias=True, **weight_quant(8)),
        ]
        super().__init__(*layers)
        self.input_shape = (1, 3, size, size)


class TruncPoolNet(nn.Sequential):
    """Stem conv -> Brevitas ``TruncAvgPool2d`` (exports AveragePool + Trunc) -> FC."""

    def __init__(self, size: int = 16, classes: int = 10) -> None:
        layers: list[nn.Module] = [
            qnn.QuantIdentity(act_quant=Int8ActPerTensorFloat, return_quant_tensor=True)
        ]
        layers += conv_block(3, 16, 4, 4, stride=2)
        layers += [
            qnn.TruncAvgPool2d(kernel_size=size // 2, bit_width=6, return_quant_tensor=True),
            nn.Flatten(),
            qnn.QuantLinear(16, classes, bias=True, **weight_quant(8)),
        ]
        super().__init__(*layers)
        self.input_shape = (1, 3, size, size)


def calibrate(model: nn.Module, shape: tuple[int, ...], seed: int = 0) -> nn.Module:
    """Fill BN and activation statistics from random inputs; returns the model in eval."""
    gen = torch.Generator().manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn((8,) + tuple(shape[1:]), generator=gen))
    return model.eval()


def export(model: nn.Module, path: Path, shape: tuple[int, ...]) -> Path:
    from brevitas.export import export_qonnx

    export_qonnx(model, args=torch.randn(shape), export_path=str(path), dynamo=False)
    return path


@dataclass(frozen=True)
class Comparison:
    mismatches: dict[str, int]  # quantizer output -> number of differing codes
    compared: int  # number of quantizer outputs compared
    logits_ref: np.ndarray
    logits_hw: np.ndarray
    top1_agree: float

    @property
    def exact(self) -> bool:
        return self.compared > 0 and not any(self.mismatches.values())


def reference_codes(source: Graph, values: dict[str, np.ndarray], tensor: str) -> np.ndarray:
    """Integer codes of quantizer output ``tensor`` in the float64 evaluation, recovered from
    its output values ``(codes - zero) * scale`` (returned rounded to float32, far finer
    than one step)."""
    node = source.producer(tensor)
    assert node is not None
    weights = {k: torch.as_tensor(np.asarray(v)) for k, v in node.weights.items()}
    zero, scale = (t.numpy() for t in nn_kernels.quantizer_head(node.op, weights))
    return np.round(values[tensor].astype(np.float64) / scale + zero)


def as_stream(codes: np.ndarray, entry: dict, hw_shape: tuple[int, ...]) -> np.ndarray:
    """nn codes (NCHW, NCHW transposed by ``entry["perm"]``, or (N, CHW) of a flattened
    image) laid out like the hw stream."""
    if entry["codes"] == "bipolar":
        codes = (codes + 1) / 2
    if "perm" in entry:  # the nn tensor is the stream's NCHW view transposed
        codes = codes.transpose(tuple(int(i) for i in np.argsort(entry["perm"])))
    if codes.ndim == 4:
        return codes.transpose(0, 2, 3, 1)
    if codes.ndim == 2 and len(hw_shape) == 4:  # flattened NCHW of an NHWC stream
        n, h, w, c = (codes.shape[0],) + tuple(hw_shape[1:])
        return codes.reshape(n, c, h, w).transpose(0, 2, 3, 1)
    return codes


def compare(source: Graph, lowered: Graph, x: np.ndarray) -> Comparison:
    """Run both graphs on ``x`` (what the QONNX model takes) and compare codes and logits."""
    ref = run_graph(source, {source.inputs[0].name: x}, keep_intermediates=True)
    feed = x
    if lowered.meta.get("input_kind") == "pixels":
        feed = x.astype(np.uint8).transpose(0, 2, 3, 1)
    elif len(lowered.inputs[0].shape) != x.ndim:
        feed = x.reshape((x.shape[0],) + tuple(lowered.inputs[0].shape[1:]))
    got = run_graph(lowered, {lowered.inputs[0].name: feed}, keep_intermediates=True)
    mismatches = {}
    for tensor, entry in lowered.meta["quant_map"].items():
        hw_codes = np.asarray(got[entry["tensor"]])
        want = as_stream(reference_codes(source, ref, tensor), entry, hw_codes.shape)
        mismatches[tensor] = int(np.count_nonzero(want != hw_codes))
    out = source.outputs[0]
    lr, lh = np.asarray(ref[out]), np.asarray(got[out])
    agree = float(np.mean(lr.argmax(1) == lh.argmax(1)))
    return Comparison(mismatches, len(mismatches), lr, lh, agree)


def brevitas_codes(model: nn.Module, x: np.ndarray) -> dict[str, np.ndarray]:
    """Integer codes of every quantized activation in Brevitas' own float32 forward, keyed
    like the frontend names the Quant nodes: module path, plus ``_<n>`` for the n-th extra
    call of a module shared between call sites (as the QONNX exporter numbers them)."""
    from brevitas.quant_tensor import QuantTensor

    paths = {id(m): name for name, m in model.named_modules()}
    stack: list[nn.Module] = []
    calls: dict[str, int] = {}
    codes: dict[str, np.ndarray] = {}

    def local_name(parent: nn.Module, child: nn.Module) -> str:
        attr = next(k for k, v in parent._modules.items() if v is child)
        base = paths[id(parent)]
        return f"{base}.{attr}" if base else attr

    def pre(module, args):  # type: ignore[no-untyped-def]
        stack.append(module)

    def post(module, args, out):  # type: ignore[no-untyped-def]
        stack.pop()
        if not isinstance(module, qnn.QuantReLU | qnn.QuantIdentity | qnn.TruncAvgPool2d):
            return
        if not stack:
            return
        if not isinstance(out, QuantTensor):
            return
        path = local_name(stack[-1], module)
        k = calls.get(path, 0)
        calls[path] = k + 1
        codes[path + (f"_{k}" if k else "")] = out.int().detach().numpy().astype(np.float64)

    handles = [m.register_forward_pre_hook(pre) for m in model.modules()]
    handles += [m.register_forward_hook(post) for m in model.modules()]
    try:
        with torch.no_grad():
            model(torch.from_numpy(x))
    finally:
        for h in handles:
            h.remove()
    return codes
