"""The estimator's per-primitive costs follow the Yosys sweeps (hw/rtl/calibration.json)."""

import copy
import dataclasses
import json
import math

import pytest

from alveoflow.compiler.estimate import calibration as C
from alveoflow.compiler.estimate import ops
from alveoflow.compiler.estimate.resources import bram18_blocks
from alveoflow.compiler.ir import QType
from alveoflow.compiler.physical.policy import fifo_memory
from alveoflow.errors import ConfigError
from alveoflow.testing.graphs import lowered_mlp

DATA = json.loads(C.CALIBRATION_FILE.read_text())
BIPOLAR, INT8, UINT8 = QType.bipolar_type(), QType.sint(8), QType.uint(8)


def _points(name):
    return DATA["primitives"][name]["points"]


def _lane_types(name, params):
    """Operand types that ``ops.lane_primitive`` maps onto lane primitive ``name``."""
    a, w = params.get("a", 1), params.get("w", 1)
    return {
        "xnor_lane": (BIPOLAR, BIPOLAR),
        "negate_lane": (BIPOLAR, QType.uint(a)),
        "int_lane": (QType.sint(w), QType.uint(a)),
        "dsp_lane": (INT8, UINT8),
    }[name]


@pytest.mark.parametrize("name", ["xnor_lane", "negate_lane", "int_lane", "dsp_lane"])
def test_lane_rows_equal_yosys_at_every_sweep_point(name):
    for p in _points(name):
        params = dict(p["params"])
        simd = params.pop("simd")
        wdt, idt = _lane_types(name, params)
        assert ops.lane_primitive(wdt, idt) == (name, params)
        cost = ops.dot_cost(wdt, idt, simd)
        assert cost.lut == pytest.approx(p["lut"]), p
        assert cost.dsp == pytest.approx(p["dsp"]), p


def test_masked_sum_rows_and_column_sums_equal_yosys():
    for p in _points("masked_sum_lane"):
        simd, a = p["params"]["simd"], p["params"]["a"]
        assert ops.masked_dot_cost(QType.uint(a), simd).lut == pytest.approx(p["lut"])
    for p in _points("column_sum"):
        simd, a = p["params"]["simd"], p["params"]["a"]
        assert ops.masked_shared_cost(QType.uint(a), 8, simd, 3).lut == pytest.approx(3 * p["lut"])


def test_between_and_beyond_the_points():
    cal = C.calibration()
    # between two points: linear; beyond the widest: the configuration's fitted slope
    mid = cal.dot("xnor_lane", 48)
    assert mid == pytest.approx((27 + 67) / 2)
    slope = next(
        c for c in DATA["primitives"]["negate_lane"]["per_config"] if c["params"] == {"a": 2}
    )
    last = next(p["lut"] for p in _points("negate_lane") if p["params"] == {"simd": 64, "a": 2})
    assert cal.dot("negate_lane", 96, a=2) == pytest.approx(last + 32 * slope["lut"]["per_lane"])
    # below the narrowest: in proportion; an unmeasured width: the general fit, never < 0
    assert cal.dot("dsp_lane", 2) == pytest.approx(_points("dsp_lane")[0]["lut"] / 2)
    assert cal.dot("negate_lane", 32, a=3) > cal.dot("negate_lane", 32, a=2)
    assert cal.dot("int_lane", 2, w=3, a=3) >= 0


def test_comparators_windows_and_fifos_use_the_fits():
    fit = DATA["primitives"]["threshold_comparator"]["fit"]["lut"]["coef"]
    nt, bits, units = 15, 18, 6
    want = units * (fit["nt*bits"] * nt * bits + fit["nt"] * nt + fit["fixed"])
    assert ops.threshold_cost(units, 1, 1, nt, bits).lut == pytest.approx(want)
    srl = DATA["primitives"]["fifo_srl"]["fit"]["lut"]["coef"]
    assert ops.fifo_cost(40, 24).lut == pytest.approx(srl["w*srl32"] * 24 * 2 + srl["fixed"])
    ring = DATA["primitives"]["fifo_bram"]["fit"]["lut"]["coef"]
    assert ops.fifo_cost(4096, 64).lut == pytest.approx(ring["log2_depth"] * 12 + ring["fixed"])


def test_block_counts_match_yosys_at_every_sweep_point():
    """BRAM comes from the primitive mapping, which Yosys agrees with at every point."""
    for p in _points("fifo_bram"):
        w, depth = p["params"]["w"], p["params"]["depth"]
        assert bram18_blocks(depth, w) / 2 == p["bram36"], p
        if fifo_memory(depth, w) == "bram":  # what the design builds a FIFO this size from
            assert ops.fifo_cost(depth, w).bram18 / 2 == p["bram36"], p
    for p in _points("swg_buffer_block"):
        words, width = 4 * p["params"]["iw"], 4 * p["params"]["ch"]  # SIMD = CH, 4 rows
        assert bram18_blocks(words, width) / 2 == p["bram36"], p


def test_a_new_calibration_moves_the_estimate():
    node = lowered_mlp((256, 128, 10)).node("fc0")
    folded = dataclasses.replace(node, op=dataclasses.replace(node.op, pe=8, simd=32))
    base = ops.mac_unit_cost(folded, "bram", 1)
    doubled = copy.deepcopy(DATA)
    for p in doubled["primitives"]["negate_lane"]["points"]:
        p["lut"] *= 2
    with C.use_calibration(doubled):
        assert C.calibration().data is doubled
        more = ops.mac_unit_cost(folded, "bram", 1)
    row = ops.dot_cost(node.op.wdt, node.op.idt, 32).lut
    assert more.lut - base.lut == pytest.approx(8 * row)
    assert ops.mac_unit_cost(folded, "bram", 1) == base  # back to the file
    with C.use_calibration({"primitives": {}}), pytest.raises(ConfigError, match="sweeps"):
        ops.mac_unit_cost(folded, "bram", 1)


def test_no_fitted_total_factor_is_left():
    assert not hasattr(ops, "SYNTH")
    assert math.isclose(ops.dwc_cost(64, 16).lut, 64 + 30)
