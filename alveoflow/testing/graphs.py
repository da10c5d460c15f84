"""Seeded builders of random but valid LOWERED hardware graphs (stable API for tests).

Every builder returns a verified ``Graph`` of hw ops only (``alveoflow.compiler.ir.hw``):
NHWC integer streams, random weights (bipolar when ``wbits == 1``, else signed ``wbits``-bit),
sorted integer thresholds placed around each accumulator's expected range (so outputs vary
with the input), all drawn from ``numpy.random.default_rng(seed)``: the same arguments give
the same graph.

Common conventions
- Tensors are named after the node producing them; ``DuplicateStreams`` outputs are
  ``<node>.0`` and ``<node>.1``. A conv is a ``SlidingWindow`` named ``<conv>.swg`` (absent
  for 1x1 stride-1 convs) followed by the MVAU/VVAU ``<conv>``.
- Graph input ``"input"``; graph outputs ``("logits", "topk")``: ``logits`` is float32
  (N, classes) from ``DequantizeOutput`` (node ``dequant``) of the raw FC accumulator (node
  ``fc``: MVAU with bias, no thresholds, ``external_weights=True``); ``topk`` is (N, k)
  UINT32 class indices from ``LabelSelect`` (node ``topk``).
- ``meta``: ``{"model": str, "input_kind": "float" | "pixels", "num_classes": int}``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from alveoflow.compiler.ir import FLOAT32, Graph, QType, TensorInfo, hw
from alveoflow.testing._build import ACT_LEVELS, GraphBuilder, meta, uniform_stat, weight_type
from alveoflow.testing.resnet_graph import lowered_resnet


def float_input(rng: np.random.Generator, shape: tuple[int, ...], odt: QType) -> GraphBuilder:
    """Graph input ``input`` (float32) quantised by ``quant_input`` to ``odt`` codes."""
    layout = "NCHW" if len(shape) == 4 else "NC"
    b = GraphBuilder(rng, [TensorInfo("input", shape, FLOAT32, layout)])
    scale = (1.0 / (odt.max - min(odt.min, 0)),) if shape[1] != 3 else (0.017, 0.0175, 0.0174)
    op = hw.QuantizeInput(scale=scale, zero_point=0.0, odt=odt)
    b.add("quant_input", op, ["input"], stat=uniform_stat(odt))
    return b


def lowered_mlp(
    layers: Sequence[int] = (784, 64, 64, 10), wbits: int = 1, abits: int = 2, seed: int = 0
) -> Graph:
    """A fully connected net (FINN TFC-style): float input (N, layers[0]) in [0, 1] ->
    ``quant_input`` (UINT``abits``) -> MVAUs ``fc0``..``fc{L-2}`` (``wbits`` weights,
    thresholds -> UINT``abits``) -> raw ``fc`` (8-bit weights, bias) -> logits, top-1."""
    rng = np.random.default_rng(seed)
    adt, wdt = QType.uint(abits), weight_type(wbits)
    b = float_input(rng, (1, layers[0]), adt)
    x = "quant_input"
    for i, width in enumerate(layers[1:-1]):
        x = b.dense(f"fc{i}", x, width, wdt, adt, ACT_LEVELS)
    b.head(x, layers[-1], QType.sint(8), k=1)
    return b.graph(("logits", "topk"), meta("mlp", "float", layers[-1]))


def lowered_cnn(
    input_size: int = 32,
    in_channels: int = 3,
    channels: Sequence[int] = (16, 32),
    num_classes: int = 10,
    wbits: int = 1,
    abits: int = 2,
    seed: int = 0,
) -> Graph:
    """A small VGG-style CNN: float NCHW input -> ``quant_input`` (INT8) -> per stage i:
    ``conv{i}`` (3x3 pad 1; 8-bit weights in stage 0, else ``wbits``; -> UINT``abits``) and
    ``pool{i}`` (StreamingMaxPool 2x2/2) -> ``avgpool`` (global SumPool) -> ``flatten`` ->
    ``fc`` (INT8 weights, bias) -> logits, top-k (k = min(5, classes)).
    ``input_size`` must be divisible by 2**len(channels)."""
    rng = np.random.default_rng(seed)
    adt = QType.uint(abits)
    b = float_input(rng, (1, in_channels, input_size, input_size), QType.sint(8))
    x = "quant_input"
    for i, out_ch in enumerate(channels):
        wdt = QType.sint(8) if i == 0 else weight_type(wbits)
        x = b.conv(f"conv{i}", x, out_ch, 3, 1, wdt, adt, ACT_LEVELS)
        x = b.maxpool(f"pool{i}", x, 2, 2, 0)
    x = b.global_sum_pool("avgpool", x)
    b.head(x, num_classes, QType.sint(8), k=5)
    return b.graph(("logits", "topk"), meta("cnn", "float", num_classes))


def lowered_depthwise(
    input_size: int = 32,
    in_channels: int = 3,
    stem_channels: int = 16,
    blocks: Sequence[tuple[int, int]] = ((32, 1), (64, 2), (64, 1)),
    num_classes: int = 10,
    wbits: int = 4,
    abits: int = 4,
    seed: int = 0,
) -> Graph:
    """MobileNet-v1 style: float NCHW input -> ``quant_input`` (INT8) -> ``conv0`` (3x3/2,
    8-bit weights) -> per block i with (out_channels, stride): ``block{i}.dw`` (SlidingWindow
    3x3/stride pad 1 + VVAU) and ``block{i}.pw`` (1x1 MVAU), activations UINT``abits`` ->
    ``avgpool`` -> ``flatten`` -> ``fc`` -> logits, top-k (k = min(5, classes))."""
    rng = np.random.default_rng(seed)
    adt, wdt = QType.uint(abits), weight_type(wbits)
    b = float_input(rng, (1, in_channels, input_size, input_size), QType.sint(8))
    x = b.conv("conv0", "quant_input", stem_channels, 3, 2, QType.sint(8), adt, ACT_LEVELS)
    for i, (out_ch, stride) in enumerate(blocks):
        x = b.depthwise(f"block{i}.dw", x, stride, wdt, adt, ACT_LEVELS)
        x = b.dense(f"block{i}.pw", x, out_ch, wdt, adt, ACT_LEVELS)
    x = b.global_sum_pool("avgpool", x)
    b.head(x, num_classes, QType.sint(8), k=5)
    return b.graph(("logits", "topk"), meta("depthwise", "float", num_classes))


__all__ = ["lowered_cnn", "lowered_depthwise", "lowered_mlp", "lowered_resnet"]
