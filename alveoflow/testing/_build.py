"""Building blocks of the synthetic lowered graphs (see ``alveoflow.testing.graphs``).

``GraphBuilder`` appends hw nodes one by one and tracks, for every tensor, a rough
Gaussian model (mean, variance) of its *values* under random inputs. Thresholds are placed
from that model (around the accumulator's expected mean, spread over a few standard
deviations, with per-channel jitter) so that no layer's output is constant for random
inputs. The model is only a heuristic for realism; nothing depends on its accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from alveoflow.compiler.ir import Graph, Node, QType, TensorInfo, hw, smallest_qtype
from alveoflow.compiler.ir.core import Op

Stat = tuple[float, float]  # mean, variance of a tensor's values
ACT_LEVELS = (-0.6, 1.6)  # thresholds of a ReLU-like activation, in accumulator std devs
RES_LEVELS = (-2.0, 2.0)  # residual outputs: centred, code 2**(rbits-1) means zero

_erf = np.frompyfunc(math.erf, 1, 1)


def normal_sf(z: np.ndarray) -> np.ndarray:
    """P(Z >= z) for a standard normal Z (vectorised, float64)."""
    erf = np.asarray(_erf(np.asarray(z, dtype=np.float64) / math.sqrt(2.0)), dtype=np.float64)
    return 0.5 * (1.0 - erf)


def weight_type(bits: int) -> QType:
    """bits == 1: bipolar (-1/+1); otherwise signed ``bits``-bit integers."""
    return QType.bipolar_type() if bits == 1 else QType.sint(bits)


def random_weights(rng: np.random.Generator, wdt: QType, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform random values of ``wdt`` (bipolar: -1/+1), as int8/int16/int32 arrays."""
    if wdt.bipolar:
        return (rng.integers(0, 2, size=shape, dtype=np.int8) * 2 - 1).astype(np.int8)
    dtype = np.int8 if wdt.bits <= 8 else np.int16 if wdt.bits <= 16 else np.int32
    return rng.integers(wdt.min, wdt.max + 1, size=shape).astype(dtype)


def acc_stats(stat: Stat, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row mean and standard deviation of ``w @ x`` for iid inputs x with ``stat``."""
    wf = w.astype(np.float64)
    mean = stat[0] * wf.sum(axis=1)
    sd = np.sqrt(stat[1] * (wf * wf).sum(axis=1) + 0.25)
    return mean, sd


def place_thresholds(
    rng: np.random.Generator, mean: np.ndarray, sd: np.ndarray, n: int, lo: float, hi: float
) -> np.ndarray:
    """Sorted integer thresholds (rows, n) at ``mean + sd * level``, levels spread over
    [lo, hi] standard deviations, with a random per-row shift and stretch."""
    levels = np.linspace(lo, hi, n) if n > 1 else np.array([(lo + hi) / 2])
    rows = mean.shape[0]
    stretch = rng.uniform(0.8, 1.25, size=(rows, 1))
    shift = rng.normal(0.0, 0.15, size=(rows, 1))
    t = mean[:, None] + sd[:, None] * (levels[None, :] * stretch + shift)
    return np.sort(np.ceil(t), axis=1).astype(np.int64)


def code_stats(thresholds: np.ndarray, mean: np.ndarray, sd: np.ndarray, offset: int) -> Stat:
    """Mean and variance of ``#{t <= acc} + offset`` for acc ~ N(mean, sd) per row."""
    z = (thresholds - 0.5 - mean[:, None]) / sd[:, None]
    p_ge = normal_sf(z)  # P(code >= k + 1) for k = 0..n-1
    k = np.arange(1, thresholds.shape[1] + 1)
    m1 = p_ge.sum(axis=1)
    m2 = (p_ge * (2 * k - 1)).sum(axis=1)
    mean_code = float(m1.mean())
    var = float((m2 - m1 * m1).mean() + (m1.var() if m1.size > 1 else 0.0))
    return mean_code + offset, max(var, 1e-3)


def meta(model: str, input_kind: str, num_classes: int) -> dict[str, object]:
    """The ``meta`` every synthetic graph carries."""
    return {"model": model, "input_kind": input_kind, "num_classes": num_classes}


def uniform_stat(qtype: QType) -> Stat:
    """Values spread uniformly over the whole range of ``qtype``."""
    span = qtype.max - qtype.min + 1
    return (qtype.min + qtype.max) / 2.0, (span * span - 1) / 12.0


def raw_acc_type(w: np.ndarray, idt: QType, bias: np.ndarray | None) -> QType:
    """Narrowest type holding every possible ``w @ x + bias`` for x in ``idt``."""
    wf = w.astype(np.int64)
    hi = np.maximum(wf * idt.max, wf * idt.min).sum(axis=1)
    lo = np.minimum(wf * idt.max, wf * idt.min).sum(axis=1)
    if bias is not None:
        hi, lo = hi + bias, lo + bias
    return smallest_qtype(int(lo.min()), int(hi.max()))


class GraphBuilder:
    """Appends nodes in order; tensors are named after the node that produces them."""

    def __init__(self, rng: np.random.Generator, inputs: Sequence[TensorInfo]) -> None:
        self.rng = rng
        self.inputs = tuple(inputs)
        self.nodes: list[Node] = []
        self.infos: dict[str, TensorInfo] = {t.name: t for t in inputs}
        self.stats: dict[str, Stat] = {}

    def add(
        self,
        name: str,
        op: Op,
        inputs: Sequence[str],
        weights: Mapping[str, np.ndarray] | None = None,
        outputs: Sequence[str] | None = None,
        stat: Stat | None = None,
    ) -> str:
        """Add a node; returns the name of its (first) output tensor."""
        names = list(outputs) if outputs is not None else [name]
        node = Node.create(name, op, [self.infos[t] for t in inputs], names, weights)
        self.nodes.append(node)
        for info in node.outputs:
            self.infos[info.name] = info
            if stat is not None:
                self.stats[info.name] = stat
        return names[0]

    def info(self, tensor: str) -> TensorInfo:
        return self.infos[tensor]

    # -- composite layers ------------------------------------------------------------------
    def window(
        self,
        name: str,
        x: str,
        kernel: int,
        stride: int,
        pad: int,
        pad_values: tuple[int, ...] = (0,),
    ) -> str:
        """A SlidingWindow named ``name`` (same value statistics as its input)."""
        info = self.info(x)
        op = hw.SlidingWindow(
            channels=info.shape[-1],
            kernel=(kernel, kernel),
            stride=(stride, stride),
            pads=(pad, pad, pad, pad),
            pad_values=pad_values,
            dt=info.qtype,
        )
        return self.add(name, op, [x], stat=self.stats[x])

    def conv(
        self,
        name: str,
        x: str,
        out_ch: int,
        kernel: int,
        stride: int,
        wdt: QType,
        odt: QType,
        levels: tuple[float, float],
        pad_values: tuple[int, ...] = (0,),
    ) -> str:
        """A convolution as an optional SlidingWindow (``name + '.swg'``, omitted for a 1x1
        stride-1 conv) plus a thresholded MVAU ``name`` with output codes of ``odt``."""
        if kernel > 1 or stride > 1:
            x = self.window(f"{name}.swg", x, kernel, stride, kernel // 2, pad_values)
        return self.dense(name, x, out_ch, wdt, odt, levels)

    def dense(
        self, name: str, x: str, out_ch: int, wdt: QType, odt: QType, levels: tuple[float, float]
    ) -> str:
        """A thresholded MVAU over the last axis of ``x``; ``odt`` sets how many thresholds.
        Signed ``odt`` outputs are centred: the code at the expected accumulator is 0."""
        info = self.info(x)
        w = random_weights(self.rng, wdt, (out_ch, info.shape[-1]))
        mean, sd = acc_stats(self.stats[x], w)
        n = odt.max - odt.min
        t = place_thresholds(self.rng, mean, sd, n, *levels)
        op = hw.MVAU(
            mw=info.shape[-1], mh=out_ch, wdt=wdt, idt=info.qtype, odt=odt, out_offset=odt.min
        )
        stat = code_stats(t, mean, sd, odt.min)
        return self.add(name, op, [x], {"weights": w, "thresholds": t}, stat=stat)

    def raw_dense(
        self, name: str, x: str, out_ch: int, wdt: QType, odt: QType | None = None, **flags: bool
    ) -> str:
        """An MVAU without thresholds: accumulator plus a random bias; ``odt`` defaults to the
        narrowest type that holds every possible result."""
        info = self.info(x)
        w = random_weights(self.rng, wdt, (out_ch, info.shape[-1]))
        mean, sd = acc_stats(self.stats[x], w)
        noise = self.rng.normal(0.0, 0.1, out_ch) * sd
        bias = np.round(noise - mean).astype(np.int64)  # centred: every class can win
        odt = odt or raw_acc_type(w, info.qtype, bias)
        op = hw.MVAU(mw=info.shape[-1], mh=out_ch, wdt=wdt, idt=info.qtype, odt=odt, **flags)
        stat = (float((mean + bias).mean()), float((sd * sd).mean()))
        return self.add(name, op, [x], {"weights": w, "bias": bias}, stat=stat)

    def depthwise(
        self, name: str, x: str, stride: int, wdt: QType, odt: QType, levels: tuple[float, float]
    ) -> str:
        """A depthwise 3x3 conv: SlidingWindow ``name + '.swg'`` + thresholded VVAU ``name``."""
        ch = self.info(x).shape[-1]
        x = self.window(f"{name}.swg", x, 3, stride, 1)
        w = random_weights(self.rng, wdt, (ch, 9))
        mean, sd = acc_stats(self.stats[x], w)
        t = place_thresholds(self.rng, mean, sd, odt.max - odt.min, *levels)
        op = hw.VVAU(
            channels=ch,
            kernel_elems=9,
            wdt=wdt,
            idt=self.info(x).qtype,
            odt=odt,
            out_offset=odt.min,
        )
        stat = code_stats(t, mean, sd, odt.min)
        return self.add(name, op, [x], {"weights": w, "thresholds": t}, stat=stat)

    def maxpool(self, name: str, x: str, kernel: int, stride: int, pad: int) -> str:
        """StreamingMaxPool; the statistics skew upward (the max of a window)."""
        info = self.info(x)
        mean, var = self.stats[x]
        lift = min(float(info.qtype.max), mean + 1.2 * var**0.5)
        op = hw.StreamingMaxPool(
            channels=info.shape[-1],
            kernel=(kernel, kernel),
            stride=(stride, stride),
            pads=(pad,) * 4,
            dt=info.qtype,
        )
        return self.add(name, op, [x], stat=(lift, var * 0.5))

    def head(self, x: str, num_classes: int, wdt: QType, k: int, odt: QType | None = None) -> None:
        """Flatten -> raw FC ``fc`` (external weights) -> logits (``dequant``) and top-k."""
        if len(self.info(x).shape) == 4:
            x = self.add("flatten", hw.Flatten(), [x], stat=self.stats[x])
        fc = self.raw_dense("fc", x, num_classes, wdt, odt, external_weights=True)
        qt = self.info(fc).qtype
        self.add(
            "dequant", hw.DequantizeOutput(scale=(0.01,), shift=(0.0,)), [fc], outputs=["logits"]
        )
        self.add("topk", hw.LabelSelect(labels=num_classes, k=min(k, num_classes), idt=qt), [fc])

    def global_sum_pool(self, name: str, x: str) -> str:
        """SumPool over the whole image, output type just wide enough."""
        info = self.info(x)
        _, h, w, c = info.shape
        idt = info.qtype
        odt = smallest_qtype(idt.min * h * w, idt.max * h * w)
        mean, var = self.stats[x]
        op = hw.SumPool(channels=c, kernel=(h, w), stride=(h, w), idt=idt, odt=odt)
        return self.add(name, op, [x], stat=(mean * h * w, var * h * w))

    def graph(self, outputs: Sequence[str], meta: Mapping[str, object]) -> Graph:
        """The graph, with residual blocks assigned by the frontend's rule (module paths) and
        one reader per stream (``insert_duplicate_streams``)."""
        from alveoflow.compiler.frontend.reader import assign_blocks
        from alveoflow.compiler.passes.lower.duplicate import insert_duplicate_streams

        graph = Graph.build(self.inputs, assign_blocks(self.nodes), outputs, dict(meta))
        return insert_duplicate_streams(graph)
