"""The model input: declared grids, the model's own input quantizer after float ops, the
host stage (``QuantizeInput``: reference kernel == runtime packing), and their errors."""

from __future__ import annotations

import numpy as np
import pytest
from test_passes_lower import Net, check_exact, lower, x_float

from alveoflow.compiler.boundary import host_plan
from alveoflow.compiler.config import InputQuant
from alveoflow.compiler.ir import Graph, QType, TensorInfo, hw, nn
from alveoflow.compiler.ir.qtype import FLOAT32
from alveoflow.compiler.semantics.executor import run_graph
from alveoflow.compiler.semantics.host import OffGridError
from alveoflow.errors import LegalizationError
from alveoflow.runtime.packing import quantize_input


def declared(g: Graph, grid: str, **meta) -> Graph:
    return g.with_meta(input_quant=InputQuant.parse(grid).to_text(), **meta)


def on_grid(shape, grid: str, n: int = 6, seed: int = 3) -> np.ndarray:
    q = InputQuant.parse(grid)
    rng = np.random.default_rng(seed)
    codes = rng.integers(q.dtype.min, q.dtype.max + 1, (n,) + tuple(shape[1:]))
    return (np.float32(q.scale) * (codes - q.zero_point).astype(np.float32)).astype(np.float32)


def host_node(lowered: Graph) -> hw.QuantizeInput:
    ops = [n.op for n in lowered.nodes if isinstance(n.op, hw.QuantizeInput)]
    assert len(ops) == 1
    return ops[0]


def host_codes_agree(lowered: Graph, x: np.ndarray) -> np.ndarray:
    """The reference kernel's codes equal the runtime's packing of the same input."""
    node = next(n for n in lowered.nodes if isinstance(n.op, hw.QuantizeInput))
    ref = run_graph(lowered, {lowered.inputs[0].name: x}, keep_intermediates=True)
    got = quantize_input(x, host_plan(lowered).input)
    np.testing.assert_array_equal(got, ref[node.output.name])
    return got


def test_declared_grid_absorbs_float_ops_into_a_padded_first_conv():
    """x in [0, 1] on uint8:1/255, then (x - mean[c]) * 2 with integer codes of the means:
    the conv pads with each channel's mean code; the card gets the grid's codes."""
    net = Net((1, 3, 6, 6))
    mean = (np.array([128.0, 51.0, 204.0]) / 255).reshape(1, 3, 1, 1)
    x = net.add("sub", nn.BinaryConst("Sub"), ["x"], {"const": mean})
    x = net.add("mul", nn.BinaryConst("Mul"), [x], {"const": np.float64(2.0)})
    x = net.quant(
        "act", net.add("relu", nn.Relu(), [net.conv("conv", x, 4, wbits=8)]), 3, False, 0.3
    )
    grid = "uint8:0.00392156862745098"
    g = declared(net.graph(net.head(x)), grid)
    lowered = lower(g)
    op = host_node(lowered)
    assert op.on_grid and op.steps == () and op.odt == QType.uint(8)
    assert lowered.inputs[0] == TensorInfo("x", (1, 3, 6, 6), FLOAT32, "NCHW")
    assert lowered.node("conv.swg").op.pad_values == (128, 51, 204)
    xs = on_grid(g.inputs[0].shape, grid, 8)
    check_exact(g, lowered, xs)
    host_codes_agree(lowered, xs)


def test_padding_where_zero_is_not_a_code_names_a_grid_that_works():
    net = Net((1, 2, 5, 5))
    x = net.add("sub", nn.BinaryConst("Sub"), ["x"], {"const": np.float64(0.5)})
    x = net.quant("act", net.conv("conv", x, 4, wbits=8), 3, False, 0.3)
    g = net.graph(net.head(x))
    with pytest.raises(LegalizationError) as info:
        lower(declared(g, "uint8:0.00392156862745098"))
    text = str(info.value)
    assert "code 127.5 of the declared grid uint8:0.00392156862745098" in text
    suggested = text.split("--input-quant ")[1].split(",")[0]
    assert suggested == "uint8:0.003937007874"  # 0.5 = 127 / 254
    lowered = lower(declared(g, suggested))
    check_exact(g, lowered, on_grid(g.inputs[0].shape, suggested))


def test_a_float_input_into_a_conv_without_a_grid_names_the_flag():
    net = Net((1, 3, 6, 6))
    x = net.add("mul", nn.BinaryConst("Mul"), ["x"], {"const": np.float64(2.0)})
    x = net.quant("act", net.conv("conv", x, 4, wbits=8), 3, False, 0.3)
    with pytest.raises(LegalizationError) as info:
        lower(net.graph(net.head(x)))
    text = str(info.value)
    assert "conv: Conv: the float model input reaches a conv after float ops (Mul)" in text
    assert "--input-quant" in text and "uint8:0.0039215686" in text and "int8:0.0078740157" in text


def test_own_quantizer_after_float_ops_runs_on_the_host():
    """``flatten(2x - 1)`` then a narrow 4-bit quantizer: the host does all of it, with the
    quantizer's range; the card gets its codes."""
    net = Net((1, 2, 3, 3))
    x = net.add("mul", nn.BinaryConst("Mul"), ["x"], {"const": np.float64(2.0)})
    x = net.add("sub", nn.BinaryConst("Sub"), [x], {"const": np.float64(1.0)})
    x = net.add("flat", nn.Reshape((18,)), [x])
    x = net.quant("inp", x, 4, True, 0.25, narrow=True)
    w = {
        "weight": np.arange(-27, 27).reshape(3, 18).astype(np.int8) // 4,
        "weight_scale": np.ones(3),
    }
    y = net.add("fc", nn.Linear(QType.sint(8)), [x], w)
    g = net.graph(y)
    lowered = lower(g)
    op = host_node(lowered)
    assert op.steps == (("Mul", (2.0,)), ("Sub", (1.0,)), ("reshape", (18,)))
    assert op.code_range == (-7, 7) and not op.on_grid
    xs = x_float(g.inputs[0].shape, 16)
    check_exact(g, lowered, xs)
    codes = host_codes_agree(lowered, xs)
    assert codes.min() == -7 and codes.max() == 7  # clamped to the narrow range


def test_channels_last_input_is_a_host_transpose():
    net = Net((1, 5, 5, 3))  # the model takes NHWC and transposes to NCHW itself
    x = net.add("to_nchw", nn.Transpose((0, 3, 1, 2)), ["x"])
    x = net.quant("inp", x, 8, True, 0.02)
    x = net.quant("act", net.conv("conv", x, 4, wbits=4), 2, False, 0.3)
    g = net.graph(net.head(x))
    lowered = lower(g)
    assert host_node(lowered).steps == (("transpose", (0, 3, 1, 2)),)
    xs = x_float(g.inputs[0].shape, 4)
    check_exact(g, lowered, xs)
    host_codes_agree(lowered, xs)


def test_channels_last_flatten_feeds_the_fc_without_reordering():
    """``x.permute(0, 2, 3, 1).flatten(1)`` is the stream's own order."""
    net = Net((1, 3, 4, 4))
    x = net.quant("inp", "x", 8, True, 0.02)
    x = net.quant("act", net.conv("conv", x, 5, wbits=4), 2, False, 0.3)
    x = net.add("nhwc", nn.Transpose((0, 2, 3, 1)), [x])
    x = net.add("flat", nn.Reshape((80,)), [x])
    w = {"weight": np.random.default_rng(0).integers(-8, 8, (6, 80)).astype(np.int8)}
    y = net.add("fc", nn.Linear(QType.sint(4)), [x], w | {"weight_scale": np.ones(6)})
    g = net.graph(y)
    lowered = lower(g)
    np.testing.assert_array_equal(lowered.node("fc").weights["weights"], w["weight"])
    check_exact(g, lowered, x_float(g.inputs[0].shape))


@pytest.mark.parametrize("rounding", ["ROUND", "FLOOR", "CEIL", "HALF_UP", "HALF_DOWN", "UP"])
def test_host_kernel_and_packing_agree(rounding):
    net = Net((1, 3, 4, 4))
    scale = np.array([0.1, 0.037, 0.25]).reshape(1, 3, 1, 1)
    x = net.add("div", nn.BinaryConst("Div", const_first=False), ["x"], {"const": np.float64(3.0)})
    op = nn.Quant(5, True, False, rounding)
    x = net.add("inp", op, [x], {"scale": scale, "zero_point": np.float64(2.0)})
    x = net.conv("dw", x, 3, wbits=4, group=3)  # per-channel input scales: depthwise
    g = net.graph(net.head(net.quant("act", x, 2, False, 0.3)))
    lowered = lower(g)
    rng = np.random.default_rng(5)
    xs = (rng.normal(size=(32, 3, 4, 4)) * 2).astype(np.float32)
    xs[:, :, 0, 0] = (np.round(xs[:, :, 0, 0] * 3 / 0.1 * 2) / 2) * 0.1 / 3  # near half steps
    host_codes_agree(lowered, xs)
    check_exact(g, lowered, xs)


def test_off_grid_input_is_an_error_unless_rounded():
    net = Net((1, 2, 3, 3))
    x = net.quant("act", net.conv("conv", "x", 4, wbits=8, pad=0), 3, False, 0.3)
    g = declared(net.graph(net.head(x)), "int8:0.0078125")
    lowered = lower(g)
    xs = on_grid(g.inputs[0].shape, "int8:0.0078125", 2)
    xs[1, 1, 2, 0] += 0.003  # 0.38 of a step off
    stage = host_plan(lowered).input
    with pytest.raises(OffGridError) as info:
        quantize_input(xs, stage)
    text = str(info.value)
    assert "\n" not in text and "int8:0.0078125" in text and "[1, 1, 2, 0]" in text
    assert "--round-input" in text
    with pytest.raises(OffGridError):
        run_graph(lowered, {"x": xs})
    rounded = quantize_input(xs, stage, round_input=True)
    clean = xs.copy()
    clean[1, 1, 2, 0] -= 0.003
    np.testing.assert_array_equal(rounded, quantize_input(clean, stage))
    too_big = on_grid(g.inputs[0].shape, "int8:0.0078125", 1)
    too_big[0, 0, 0, 0] = 1.5  # code 192: outside int8
    with pytest.raises(OffGridError, match="outside the grid's range"):
        quantize_input(too_big, stage)


def test_round_input_at_compile_time_makes_a_rounding_host_stage():
    net = Net((1, 2, 3, 3))
    x = net.quant("act", net.conv("conv", "x", 4, wbits=8, pad=0), 3, False, 0.3)
    g = declared(net.graph(net.head(x)), "int4:0.125", round_input=True)
    lowered = lower(g)
    assert not host_node(lowered).on_grid
    xs = x_float(g.inputs[0].shape)  # off the grid
    codes = host_codes_agree(lowered, xs)
    np.testing.assert_array_equal(
        codes, np.clip(np.rint(xs / 0.125), -8, 7).transpose(0, 2, 3, 1).astype(np.int64)
    )


def test_bipolar_declared_grid():
    net = Net((1, 4))
    w = np.random.default_rng(1).choice([-1, 1], (3, 4)).astype(np.int8)
    y = net.add(
        "fc", nn.Linear(QType.bipolar_type()), ["x"], {"weight": w, "weight_scale": np.ones(3)}
    )
    g = declared(net.graph(y), "bipolar:0.5")
    lowered = lower(g)
    op = host_node(lowered)
    assert op.rounding == "SIGN" and op.odt == QType.uint(1)
    xs = np.random.default_rng(2).choice([-0.5, 0.5], (8, 4)).astype(np.float32)
    codes = host_codes_agree(lowered, xs)
    np.testing.assert_array_equal(codes, (xs > 0).astype(np.int64))
    ref = run_graph(g, {"x": xs})["fc"]
    np.testing.assert_array_equal(run_graph(lowered, {"x": xs})["fc"], ref)
