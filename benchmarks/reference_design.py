"""The reference design (Xilinx ResNet50-PYNQ, w1a2 v1.0 on the U250) as data, for calibration.

Not part of the library: the published figures and the reference's folding are benchmark
data. ``bench_folding.py`` and ``tests/test_estimate.py`` import this module.

``reference_folding(graph)`` gives the published PE/SIMD/MMV per layer
(``/work/shared/reference/resnet50_u250.md`` section 2, "Folding per block") for a lowered
ResNet-50 (``alveoflow.testing.graphs.lowered_resnet``); ``apply_reference_folding`` sets it.
``reference_estimate`` prices that graph with the same cost model as our plans, plus the
reference's own infrastructure (its structure, not other constants):

- weights: res2a in LUT ROMs, res2b/res2c in single-PE BRAMs, res3a..res5c in dual-port
  BRAMs shared by two PEs (``ARRAY_MAP horizontal``);
- FIFOs of depth 32 inside every block, a deep bypass FIFO of
  ``IFMDIM * 4 * STRIDE * IFMC / SIMD`` words per block;
- line buffers of the sliding windows in BRAM (finn-hlslib ``RAM_2P``);
- between the 19 IPs an ``axis_data_fifo`` of depth 1024 in URAM, doubled around a width
  converter where widths differ; one extra converter and one padding module per block.

External (FC) weights sit in PLRAM built from URAM, priced by ``estimate_graph`` for both.

``calibration(graph)`` compares the estimate with the published figures.
"""

from __future__ import annotations

import re
from typing import Any

from alveoflow.compiler.estimate.model import GraphEstimate, InfraItem, estimate_graph
from alveoflow.compiler.estimate.ops import CTRL_FF, CTRL_LUT, dwc_cost, fifo_cost_uram
from alveoflow.compiler.estimate.resources import Cost
from alveoflow.compiler.folding.apply import refold
from alveoflow.compiler.ir import Graph, hw
from alveoflow.compiler.physical.policy import unit_of
from alveoflow.hw.platforms import load_platform

PUBLISHED = {
    "ii_cycles": 56448,
    "clock_mhz": 250.0,
    "lut": 1_027_000,
    "ff": 904_000,
    "bram36": 1935,
    "uram": 109,
    "dsp": 1611,
}
TOLERANCE = 0.15
_CONV = re.compile(r"^layer(\d+)\.(\d+)\.(conv1|conv2|conv3|downsample)$")


def _mvau_folding(name: str) -> dict[str, int] | None:
    m = _CONV.match(name)
    if m is None:
        return None
    stage, index, conv = int(m.group(1)), int(m.group(2)), m.group(3)
    if conv == "conv1":
        pe = 8 if (stage, index) == (1, 0) else 16 if index == 0 else 32
        return {"pe": pe, "simd": 32}
    if conv == "conv2":
        return {"pe": 32, "simd": 64}
    if conv == "conv3":
        return {"pe": 32, "simd": 32}
    return {"pe": 32, "simd": 32 if stage == 1 else 64}


def reference_folding(graph: Graph) -> dict[str, dict[str, int]]:
    """PE/SIMD/MMV of the reference for every node of a lowered ResNet-50."""
    fold: dict[str, dict[str, int]] = {}
    mvau = {n.name: n for n in graph.nodes if isinstance(n.op, hw.MVAU)}
    for node in graph.nodes:
        op = node.op
        if node.name == "conv1":
            fold[node.name] = {"pe": 64, "simd": 3, "mmv": 16}
        elif node.name == "fc":
            fold[node.name] = {"pe": 1, "simd": 64}
        elif isinstance(op, hw.MVAU):
            f = _mvau_folding(node.name)
            if f is None:
                raise ValueError(f"{node.name}: not a node of the reference ResNet-50")
            fold[node.name] = f
        elif isinstance(op, hw.SlidingWindow):
            consumer = mvau[node.name.removesuffix(".swg")]
            simd = _mvau_folding(consumer.name) or fold.get(consumer.name, {"simd": 3})
            fold[node.name] = {"simd": min(simd["simd"], op.channels)}
        elif isinstance(op, hw.StreamingMaxPool):
            fold[node.name] = {"pe": op.channels}
        elif isinstance(op, hw.Thresholding | hw.AddStreams | hw.DuplicateStreams | hw.SumPool):
            fold[node.name] = {"pe": 32}
    fold["conv1.swg"] = {"simd": 3}
    return fold


def apply_reference_folding(graph: Graph) -> Graph:
    """``graph`` (a lowered ResNet-50) folded exactly like the reference design."""
    return refold(graph, reference_folding(graph))


def reference_styles(graph: Graph) -> dict[str, tuple[str, int]]:
    styles: dict[str, tuple[str, int]] = {}
    for node in graph.nodes:
        if isinstance(node.op, hw.SlidingWindow):
            styles[node.name] = ("bram", 1)  # finn-hlslib line buffers: RAM_2P in BRAM
        if not isinstance(node.op, hw.MVAU):
            continue
        if node.name == "conv1" or node.name.startswith("layer1.0."):
            styles[node.name] = ("lut", 1)
        elif node.name.startswith("layer1."):
            styles[node.name] = ("bram", 1)
        else:
            styles[node.name] = ("bram", 2)
    return styles


def _edges(graph: Graph) -> list[tuple[str, str, str, str]]:
    """(tensor, consumer, producer unit, consumer unit) for on-card edges."""
    out = []
    for node in graph.nodes:
        for t in node.inputs:
            prod = graph.producer(t)
            if prod is None or prod.op.on_host or node.op.on_host:
                continue
            out.append((t, node.name, unit_of(prod), unit_of(node)))
    return out


def reference_fifo_depths(graph: Graph) -> dict[tuple[str, str], int]:
    """Depth 32 on every edge inside a block; the bypass FIFO on each block's shortcut."""
    depths: dict[tuple[str, str], int] = {}
    for t, consumer, pu, cu in _edges(graph):
        if pu == cu and pu.startswith("layer"):
            depths[(t, consumer)] = 32
        if t.endswith(".fork.1"):
            depths[(t, consumer)] = _bypass_depth(graph, t)
    return depths


def _bypass_depth(graph: Graph, fork_tensor: str) -> int:
    info = graph.tensor(fork_tensor)
    block = fork_tensor.removesuffix(".fork.1")
    stride = 2 if any(n.name == f"{block}.downsample.swg" for n in graph.nodes) else 1
    return info.shape[2] * 4 * stride * info.shape[3] // 32


def reference_extras(graph: Graph) -> list[InfraItem]:
    """Inter-IP URAM FIFOs (+ converters), per-block padding module and bypass converter,
    and the FC weights' PLRAM."""
    items: list[InfraItem] = []
    blocks = [u for u in dict.fromkeys(unit_of(n) for n in graph.nodes) if u.startswith("layer")]
    links = [512, 128] + [128] * (len(blocks) - 1) + [128, 32]  # widths entering each IP
    outs = [512, 64] + [128] * (len(blocks) - 1) + [128, 512]  # widths the next IP reads
    for i, (w_out, w_in) in enumerate(zip(links, outs, strict=True)):
        unit = blocks[min(max(i - 1, 0), len(blocks) - 1)] if blocks else "io"
        items.append(InfraItem("ip_link", unit, f"link{i}", fifo_cost_uram(1024, w_out)))
        if w_in != w_out:
            cost = dwc_cost(w_out, w_in) + fifo_cost_uram(1024, w_in)
            items.append(InfraItem("ip_link", unit, f"link{i}.dwc", cost))
    for block in blocks:
        pad = Cost(lut=CTRL_LUT + 2 * 128, ff=CTRL_FF + 2 * 128)
        items.append(InfraItem("block_extra", block, f"{block}.same_resize", pad))
        items.append(InfraItem("block_extra", block, f"{block}.bypass_dwc", dwc_cost(128, 64)))
    return items


def reference_estimate(graph: Graph) -> GraphEstimate:
    """The reference design priced by our cost model (``graph`` unfolded or folded)."""
    folded = apply_reference_folding(graph)
    return estimate_graph(
        folded,
        styles=reference_styles(folded),
        fifo_depths=reference_fifo_depths(folded),
        extras=reference_extras(folded),
    )


def calibration(graph: Graph) -> dict[str, Any]:
    """Our model on the reference folding vs the published figures: values and relative error."""
    est = reference_estimate(graph)
    # The published utilisation is of the linked design, which includes the DDR controller
    # instantiated for the bank the kernel uses (our platform budget subtracts the same one).
    mc = load_platform("u250").memory_controller.as_dict()
    tot = {k: v + mc[k] for k, v in est.total().to_vector().as_dict().items()}
    rows: dict[str, Any] = {
        "ii_cycles": {
            "model": est.ii,
            "published": PUBLISHED["ii_cycles"],
            "off": est.ii / PUBLISHED["ii_cycles"] - 1.0,
        },
        "fps_at_250mhz": {"model": est.fps(250.0), "published_theory": 4429},
    }
    for key in ("lut", "ff", "bram36", "uram", "dsp"):
        rows[key] = {
            "model": round(tot[key], 1),
            "published": PUBLISHED[key],
            "off": tot[key] / PUBLISHED[key] - 1.0,
        }
    return rows


__all__ = [
    "PUBLISHED",
    "TOLERANCE",
    "apply_reference_folding",
    "calibration",
    "reference_estimate",
    "reference_folding",
]
