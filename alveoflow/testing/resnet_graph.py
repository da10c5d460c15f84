"""``lowered_resnet``: the lowered ResNet of the ResNet50-PYNQ reference (w1a2, v1.0).

Structure (``/work/shared/reference/resnet50_u250.md`` sections 1-2):

- ``input``: UINT8 pixels (N, S, S, 3) NHWC -> ``pixels`` (PixelInput).
- ``conv1``: SlidingWindow 7x7/2 pad 3 (``conv1.swg``, pad values = mean pixel per channel)
  + MVAU (INT8 weights, UINT8 input, thresholds -> UINT``abits``); ``maxpool`` 3x3/2 pad 1.
- Per block ``layer{s}.{i}`` (s = 1..4) the residual stream is UINT``rbits`` offset-binary
  (value = code - 2**(rbits-1)); the stream entering ``layer1.0`` is the 2-bit maxpool output.
  - projection block (stride 2 or channel change): ``input_quant`` (Thresholding
    rbits -> abits, ReLU folded: every threshold > the zero code; absent when the input is
    already ``abits`` wide) -> ``fork`` (DuplicateStreams) -> main branch and
    ``downsample`` (1x1 MVAU -> rbits; stride via ``downsample.swg``, a 1x1/2 window).
  - identity block: ``fork`` of the rbits stream -> ``input_quant`` on the main copy only;
    the shortcut is the rbits copy itself. (Basic-block nets whose first block is an
    identity on the 2-bit stem output lift it with ``shortcut_quant``: code -> code + zero.)
  - main branch, bottleneck: ``conv1`` 1x1 (v1.0: stride here via ``conv1.swg``) -> abits,
    ``conv2`` 3x3 pad 1 (v1.5: stride here) -> abits, ``conv3`` 1x1 -> rbits; basic block:
    ``conv1`` 3x3/stride -> abits, ``conv2`` 3x3 -> rbits. Weights: ``wbits`` (1: bipolar).
  - ``add``: AddStreams(main, shortcut, offset = -zero code), saturating to UINT``rbits``.
- ``final_relu``: Thresholding rbits -> rbits-1 computing ``max(code - zero, 0)``.
- ``avgpool``: global SumPool (no division) -> ``flatten`` -> ``fc`` (INT8 weights, INT32
  bias, raw INT32 accumulator, ``external_weights=True``) -> ``logits`` via ``dequant``
  and top-5 ``topk`` (LabelSelect).

The default ResNet-50 has 54 MVAUs: conv1, 52 in the body (16 blocks x 3 + 4 shortcuts), fc.
"""

from __future__ import annotations

import numpy as np

from alveoflow.compiler.ir import Graph, QType, TensorInfo, hw
from alveoflow.errors import ConfigError
from alveoflow.testing._build import (
    ACT_LEVELS,
    RES_LEVELS,
    GraphBuilder,
    code_stats,
    meta,
    uniform_stat,
    weight_type,
)

IMAGENET_PAD = (123, 117, 104)  # mean pixel, which is zero after normalisation
LAYOUTS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}


def lowered_resnet(
    depth: int = 50,
    version: str = "v1.0",
    input_size: int = 224,
    num_classes: int = 1000,
    wbits: int = 1,
    abits: int = 2,
    rbits: int = 4,
    width: float = 1.0,
    seed: int = 0,
) -> Graph:
    """The lowered ResNet-``depth`` (18, 34, 50, 101, 152) described in the module docstring.
    ``width`` scales every stage's channels (at least 8); ``input_size`` must leave at least
    one pixel after the five stride-2 stages (>= 32 is safe)."""
    if depth not in LAYOUTS:
        raise ConfigError(f"depth {depth} not supported; choose one of {sorted(LAYOUTS)}")
    if version not in ("v1.0", "v1.5"):
        raise ConfigError(f"version must be 'v1.0' or 'v1.5', got {version!r}")
    if not 1 <= abits < rbits:
        raise ConfigError(f"need 1 <= abits < rbits, got abits={abits}, rbits={rbits}")
    kind, stages = LAYOUTS[depth]
    rng = np.random.default_rng(seed)
    b = GraphBuilder(
        rng, [TensorInfo("input", (1, input_size, input_size, 3), QType.uint(8), "NHWC")]
    )
    b.add("pixels", hw.PixelInput(), ["input"], stat=uniform_stat(QType.uint(8)))
    widths = [max(8, int(round(c * width))) for c in (64, 128, 256, 512)]
    types = _Types(weight_type(wbits), QType.uint(abits), QType.uint(rbits))
    x = b.conv(
        "conv1", "pixels", widths[0], 7, 2, QType.sint(8), types.act, ACT_LEVELS, IMAGENET_PAD
    )
    x = b.maxpool("maxpool", x, 3, 2, 1)
    in_ch, residual = widths[0], False
    for s, (planes, count) in enumerate(zip(widths, stages, strict=True)):
        for i in range(count):
            stride = 2 if s > 0 and i == 0 else 1
            name = f"layer{s + 1}.{i}"
            x, in_ch = _block(b, kind, name, x, in_ch, planes, stride, version, residual, types)
            residual = True
    x = _final_relu(b, x, types.res)
    x = b.global_sum_pool("avgpool", x)
    b.head(x, num_classes, QType.sint(8), k=5, odt=QType.sint(32))
    model = f"resnet{depth}" + ("" if version == "v1.0" else "v1.5")
    return b.graph(("logits", "topk"), meta(model, "pixels", num_classes))


class _Types:
    def __init__(self, weight: QType, act: QType, res: QType) -> None:
        self.weight, self.act, self.res = weight, act, res
        self.zero = 1 << (res.bits - 1)  # residual code of value 0


def _block(
    b: GraphBuilder,
    kind: str,
    name: str,
    x: str,
    in_ch: int,
    planes: int,
    stride: int,
    version: str,
    residual: bool,
    t: _Types,
) -> tuple[str, int]:
    """One ``kind`` block (bottleneck or basic): enter, main branch, leave (in that order)."""
    out_ch = planes * 4 if kind == "bottleneck" else planes
    main, short = _enter(b, name, x, in_ch, out_ch, stride, residual, t)
    if kind == "bottleneck":
        main = _bottleneck_branch(b, name, main, planes, out_ch, stride, version, t)
    else:
        main = _basic_branch(b, name, main, planes, stride, t)
    return _leave(b, name, main, short, out_ch, stride, t), out_ch


def _bottleneck_branch(
    b: GraphBuilder,
    name: str,
    main: str,
    planes: int,
    out_ch: int,
    stride: int,
    version: str,
    t: _Types,
) -> str:
    s1, s2 = (stride, 1) if version == "v1.0" else (1, stride)
    main = b.conv(f"{name}.conv1", main, planes, 1, s1, t.weight, t.act, ACT_LEVELS)
    main = b.conv(f"{name}.conv2", main, planes, 3, s2, t.weight, t.act, ACT_LEVELS)
    return b.conv(f"{name}.conv3", main, out_ch, 1, 1, t.weight, t.res, RES_LEVELS)


def _basic_branch(
    b: GraphBuilder, name: str, main: str, planes: int, stride: int, t: _Types
) -> str:
    main = b.conv(f"{name}.conv1", main, planes, 3, stride, t.weight, t.act, ACT_LEVELS)
    return b.conv(f"{name}.conv2", main, planes, 3, 1, t.weight, t.res, RES_LEVELS)


def _enter(
    b: GraphBuilder,
    name: str,
    x: str,
    in_ch: int,
    out_ch: int,
    stride: int,
    residual: bool,
    t: _Types,
) -> tuple[str, str]:
    """Input requantisation and fork; returns (main input, shortcut input)."""
    if stride != 1 or in_ch != out_ch:  # projection: both branches read abits codes
        if residual:
            x = _requant(b, f"{name}.input_quant", x, t)
        main, short = _fork(b, name, x)
        return main, short
    main, short = _fork(b, name, x)
    if residual:
        return _requant(b, f"{name}.input_quant", main, t), short
    return main, _lift(b, f"{name}.shortcut_quant", short, t)


def _leave(
    b: GraphBuilder, name: str, main: str, short: str, out_ch: int, stride: int, t: _Types
) -> str:
    if b.info(short).qtype != t.res:  # projection shortcut
        short = b.conv(f"{name}.downsample", short, out_ch, 1, stride, t.weight, t.res, RES_LEVELS)
    op = hw.AddStreams(channels=out_ch, idt_a=t.res, idt_b=t.res, odt=t.res, offset=-t.zero)
    (ma, va), (mb, vb) = b.stats[main], b.stats[short]
    mean = float(np.clip(ma + mb - t.zero, t.res.min, t.res.max))
    var = min(va + vb, uniform_stat(t.res)[1])
    return b.add(f"{name}.add", op, [main, short], stat=(mean, var))


def _fork(b: GraphBuilder, name: str, x: str) -> tuple[str, str]:
    info = b.info(x)
    op = hw.DuplicateStreams(channels=info.shape[-1], dt=info.qtype)
    outs = [f"{name}.fork.0", f"{name}.fork.1"]
    b.add(f"{name}.fork", op, [x], outputs=outs, stat=b.stats[x])
    return outs[0], outs[1]


def _requant(b: GraphBuilder, name: str, x: str, t: _Types) -> str:
    """rbits -> abits with ReLU folded in: random sorted thresholds above the zero code."""
    ch = b.info(x).shape[-1]
    n = t.act.max
    thr = t.zero + np.sort(b.rng.integers(1, t.zero, size=(ch, n)), axis=1)
    mean, var = b.stats[x]
    stat = code_stats(thr, np.full(ch, mean), np.full(ch, max(var, 0.25) ** 0.5), 0)
    op = hw.Thresholding(channels=ch, idt=t.res, odt=t.act)
    return b.add(name, op, [x], {"thresholds": thr}, stat=stat)


def _lift(b: GraphBuilder, name: str, x: str, t: _Types) -> str:
    """abits activation codes -> residual codes of the same value (code + zero code)."""
    ch = b.info(x).shape[-1]
    thr = np.tile(np.arange(1, t.act.max + 1, dtype=np.int64), (ch, 1))
    mean, var = b.stats[x]
    op = hw.Thresholding(channels=ch, idt=t.act, odt=t.res, out_offset=t.zero)
    return b.add(name, op, [x], {"thresholds": thr}, stat=(mean + t.zero, var))


def _final_relu(b: GraphBuilder, x: str, res: QType) -> str:
    """``max(code - zero, 0)`` as thresholds zero+1 .. max, output UINT(rbits - 1)."""
    ch = b.info(x).shape[-1]
    zero = 1 << (res.bits - 1)
    thr = np.tile(np.arange(zero + 1, res.max + 1, dtype=np.int64), (ch, 1))
    mean, var = b.stats[x]
    stat = code_stats(thr, np.full(ch, mean), np.full(ch, max(var, 0.25) ** 0.5), 0)
    op = hw.Thresholding(channels=ch, idt=res, odt=QType.uint(res.bits - 1))
    return b.add("final_relu", op, [x], {"thresholds": thr}, stat=stat)
