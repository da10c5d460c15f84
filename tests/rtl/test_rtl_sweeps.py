"""The Yosys sweeps: the fit, the committed calibration.json (complete, and its fits reproduce
its own points within the recorded error), and one sweep point end to end."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from alveoflow.hw.rtl import sweeps


def test_fit_recovers_a_linear_model():
    rows = [{"simd*a": s * a, "simd": s, "fixed": 1.0} for s in (8, 16, 32) for a in (1, 2, 4)]
    lut = [3.0 * r["simd*a"] + 0.5 * r["simd"] + 7.0 for r in rows]
    got = sweeps.fit(rows, lut, ("simd*a", "simd", "fixed"))
    assert got["coef"] == {"simd*a": 3.0, "simd": 0.5, "fixed": 7.0}
    assert got["rms"] == 0.0 and got["max_abs_error"] == 0.0


def test_calibration_file_is_complete_and_consistent():
    data = json.loads(sweeps.OUT.read_text())
    assert data["tool"].startswith("Yosys") and data["flow"] == sweeps.SYNTH
    assert set(data["primitives"]) == {p.name for p in sweeps.PRIMITIVES}
    for prim in sweeps.PRIMITIVES:
        entry = data["primitives"][prim.name]
        assert len(entry["points"]) == len(prim.grid)
        assert set(entry["fit"]) == set(prim.features)
        assert bool(entry.get("per_config")) == bool(prim.per)
        rows = [prim.feature_values(p["params"]) for p in entry["points"]]
        for resource, result in entry["fit"].items():
            coef = result["coef"]
            predicted = np.array([sum(coef[n] * row[n] for n in coef) for row in rows])
            measured = np.array([p[resource] for p in entry["points"]])
            assert np.max(np.abs(predicted - measured)) <= result["max_abs_error"] + 0.05


@pytest.mark.rtl
@pytest.mark.slow
def test_one_sweep_point(tmp_path):
    prim = next(p for p in sweeps.PRIMITIVES if p.name == "xnor_lane")
    small = replace(prim, grid=({"simd": 16}, {"simd": 32}))
    entry = sweeps.summarise(small, sweeps.measure(small))
    luts = [p["lut"] for p in entry["points"]]
    assert 0 < luts[0] < luts[1]  # twice the lanes, more LUTs
    assert entry["fit"]["lut"]["max_abs_error"] < 1e-6  # two points, two coefficients
