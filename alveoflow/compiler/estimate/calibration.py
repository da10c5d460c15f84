"""Per-primitive costs measured by Yosys: ``alveoflow/hw/rtl/calibration.json``, read here only.

``python -m alveoflow.hw.rtl.sweeps`` synthesises each primitive of the RTL library out of
context (``synth_xilinx -family xcup``) over a grid and stores the raw points and
least-squares fits. The resource models (``estimate.ops``) take from here, and from nowhere
else, what a lane, a comparator, a line buffer or a FIFO costs:

- ``dot(primitive, simd, **params)``: one dot product of ``simd`` lanes (one PE row, one
  pixel) of a lane primitive (``xnor_lane``, ``negate_lane``, ``int_lane``,
  ``masked_sum_lane``, ``column_sum``, ``dsp_lane``). Piecewise linear through the measured
  points of that operand configuration; beyond the widest point it grows by the
  configuration's fitted slope per lane (``per_config``), below the narrowest it shrinks in
  proportion. A configuration that was not measured (other bit widths) uses the primitive's
  general fit (``fit``) at that SIMD, floored at its per-lane terms alone.
- ``fitted(primitive, resource, features)``: a primitive's general fit (comparators, line
  buffers, FIFOs), the features named as in the file.

BRAM and URAM counts are not taken from the fits: the primitive mapping of
``resources.memory_cost`` reproduces Yosys' block counts at every sweep point
(``tests/test_estimate.py`` holds that), and a linear fit of a step function would not.

``use_calibration(data)`` swaps the active calibration (what-if studies, tests);
``calibration()`` is the active one (the file, loaded once).
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alveoflow.errors import ConfigError

CALIBRATION_FILE = Path(__file__).resolve().parents[2] / "hw" / "rtl" / "calibration.json"
LANE_PRIMITIVES = (
    "xnor_lane",
    "negate_lane",
    "int_lane",
    "masked_sum_lane",
    "column_sum",
    "dsp_lane",
)


@dataclass(frozen=True)
class Calibration:
    """One calibration file's contents (``tool``, ``flow`` and ``primitives``)."""

    data: Mapping[str, Any]

    @property
    def tool(self) -> str:
        return str(self.data.get("tool", "?"))

    def primitive(self, name: str) -> Mapping[str, Any]:
        prims = self.data.get("primitives", {})
        if name not in prims:
            raise ConfigError(f"calibration has no primitive {name!r}; rerun the Yosys sweeps")
        return prims[name]

    def points(self, name: str, **params: int) -> list[Mapping[str, Any]]:
        """The measured points of ``name`` whose parameters match ``params`` (SIMD aside)."""
        return [
            p
            for p in self.primitive(name)["points"]
            if all(p["params"].get(k) == v for k, v in params.items())
        ]

    def dot(self, name: str, simd: int, resource: str = "lut", **params: int) -> float:
        """``resource`` of one ``simd``-lane dot product of lane primitive ``name``."""
        if simd <= 0:
            return 0.0
        points = sorted(self.points(name, **params), key=lambda p: p["params"]["simd"])
        if not points:
            return self._dot_from_fit(name, simd, resource, params)
        xs = np.array([p["params"]["simd"] for p in points], dtype=float)
        ys = np.array([p[resource] for p in points], dtype=float)
        if simd < xs[0]:
            return float(ys[0] * simd / xs[0])
        if simd <= xs[-1]:
            return float(np.interp(simd, xs, ys))
        return float(ys[-1] + self._slope(name, resource, params, xs, ys) * (simd - xs[-1]))

    def _slope(
        self,
        name: str,
        resource: str,
        params: Mapping[str, int],
        xs: np.ndarray,
        ys: np.ndarray,
    ) -> float:
        """Per-lane growth of a configuration: its ``per_config`` fit, else its points'."""
        for cfg in self.primitive(name).get("per_config", []):
            if dict(cfg["params"]) == dict(params) and resource in cfg:
                return float(cfg[resource]["per_lane"])
        if len(xs) < 2:
            return float(ys[0] / xs[0])
        return float(np.polyfit(xs, ys, 1)[0])

    def _dot_from_fit(
        self, name: str, simd: int, resource: str, params: Mapping[str, int]
    ) -> float:
        fit = self.primitive(name)["fit"].get(resource)
        if fit is None:
            return 0.0
        a, w = params.get("a", 1), params.get("w", 1)
        values = {
            "simd": simd,
            "simd*a": simd * a,
            "simd*w*a": simd * w * a,
            "simd*(w+a)": simd * (w + a),
        }
        lanes = sum(c * values[f] for f, c in fit["coef"].items() if f != "fixed")
        return max(lanes + fit["coef"].get("fixed", 0.0), 0.5 * lanes, 0.0)

    def fitted(self, name: str, resource: str, features: Mapping[str, float]) -> float:
        """The general fit of ``resource`` of primitive ``name`` at ``features``."""
        fit = self.primitive(name)["fit"].get(resource)
        if fit is None:
            raise ConfigError(f"calibration has no {resource} fit for {name!r}")
        value = 0.0
        for feature, coef in fit["coef"].items():
            value += coef * (1.0 if feature == "fixed" else float(features[feature]))
        return max(value, 0.0)


@functools.cache
def _from_file(path: str) -> Calibration:
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{file} not found: run `python -m alveoflow.hw.rtl.sweeps`")
    return Calibration(json.loads(file.read_text()))


_ACTIVE: list[Calibration] = []


def calibration() -> Calibration:
    """The active calibration: ``use_calibration``'s, else ``CALIBRATION_FILE``."""
    return _ACTIVE[-1] if _ACTIVE else _from_file(str(CALIBRATION_FILE))


@contextlib.contextmanager
def use_calibration(data: Mapping[str, Any] | Calibration) -> Iterator[Calibration]:
    """Price with ``data`` (a calibration file's contents) inside the ``with`` block."""
    cal = data if isinstance(data, Calibration) else Calibration(data)
    _ACTIVE.append(cal)
    try:
        yield cal
    finally:
        _ACTIVE.pop()
