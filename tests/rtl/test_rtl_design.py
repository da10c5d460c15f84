"""A generated top level built from library instances (``instantiate`` + ``sources``): a
3x3 convolution as sliding window -> FIFO -> MVAU, equal to the reference graph, and the FIFO's
peak occupancy within its depth. This is the path RTL code generation takes."""

from __future__ import annotations

import numpy as np
import pytest
from rtl_cases import PRESSURES, codes, sorted_thresholds

from alveoflow.compiler.ir import Graph, Node, QType, TensorInfo, hw
from alveoflow.compiler.semantics import run_graph
from alveoflow.hw.rtl import ops
from alveoflow.hw.rtl.instance import Instance, Stream, instantiate
from alveoflow.hw.rtl.verilator import build

pytestmark = pytest.mark.rtl
U2, BIP = QType.uint(2), QType.bipolar_type()


def _wires(name: str, width: int) -> str:
    return f"    logic [{width - 1}:0] {name}_tdata;\n    logic {name}_tvalid, {name}_tready;\n"


def test_conv_from_generated_top():
    rng = np.random.default_rng(12)
    shape, ch, simd, mh, pe = (2, 5, 4, 4), 4, 2, 6, 3
    swg_op = hw.SlidingWindow(channels=ch, kernel=(3, 3), pads=(1, 1, 1, 1), dt=U2, simd=simd)
    mvau_op = hw.MVAU(mw=9 * ch, mh=mh, wdt=BIP, idt=U2, odt=U2, pe=pe, simd=simd)
    weights = {
        "weights": codes(rng, BIP, (mh, 9 * ch)),
        "thresholds": sorted_thresholds(rng, mh, 3, 20),
    }
    x = TensorInfo("x", shape, U2, "NHWC")
    swg = Node.create("swg", swg_op, [x], "w")
    conv = Node.create("conv", mvau_op, [swg.output], "y", weights)
    image = codes(rng, U2, shape)
    want = run_graph(Graph.build([x], [swg, conv], ["y"]), {"x": image})["y"]

    swg_unit = ops.sliding_window(swg_op, shape)
    mvau_unit = ops.mvau(mvau_op, weights, mac="masked_sum", wmem="distributed")
    mvau_inst = mvau_unit.inst.with_file_prefix("conv_")
    fifo = ops.fifo(simd * 2, 8, "srl")
    width_in, width_out = simd * 2, pe * 2
    text = (
        "module af_conv (\n    input logic ap_clk, input logic ap_rst_n,\n"
        f"    input logic [{width_in - 1}:0] in0_tdata, input logic in0_tvalid,\n"
        "    output logic in0_tready,\n"
        f"    output logic [{width_out - 1}:0] out0_tdata, output logic out0_tvalid,\n"
        "    input logic out0_tready, output logic [3:0] count\n);\n"
        "    logic [3:0] probe_count;  // the FIFO's occupancy, as instantiate() names it\n"
        "    assign count = probe_count;\n"
        + _wires("win", width_in)
        + _wires("fifo", width_in)
        + instantiate(swg_unit.inst, "u_swg", {"in0": "in0", "out0": "win"})
        + instantiate(fifo, "u_fifo", {"in0": "win", "out0": "fifo"})
        + instantiate(mvau_inst, "u_conv", {"in0": "fifo", "out0": "out0"})
        + "endmodule\n"
    )
    top = Instance.create(
        "af_conv",
        {},
        [Stream("in0", width_in, "in0")],
        [Stream("out0", width_out, "out0")],
        files=dict(mvau_inst.files),
        probes=[("count", 4)],
        sources={"af_conv.sv": text},
        label="conv",
    )
    model = build(top)
    words = swg_unit.to_words([image])
    out_shapes = [want.shape]
    for seed, p_in, p_out in PRESSURES:
        run = model.run(words, mvau_unit.counts(out_shapes), seed=seed, p_in=p_in, p_out=p_out)
        (got,) = mvau_unit.from_words(run.outputs, out_shapes)
        np.testing.assert_array_equal(got, want)
        assert 0 < run.stats["probes"]["count"] <= 8
