"""The host's input stage in numpy: the one definition of ``hw.QuantizeInput``.

``quantize_host(x, stage)`` turns the model's float input (its own shape) into the integer
codes the card takes, following ``hw.QuantizeInput`` step by step: float64 steps (layout
and arithmetic), the quantizer's float32 ``x / scale + zero_point``, the rounding mode,
the clamp, the on-grid check, NCHW -> NHWC. The reference kernel (``hw_kernels``) and the
runtime (``runtime.packing``) both call it, so host and reference cannot drift apart.

``HostQuant`` holds the parameters (from the op, or from a build's ``InputStage``).
An input off a declared grid raises ``OffGridError`` (one line: where, how far, what to do)
unless ``round_input`` is set, which rounds it like the grid's own quantizer would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from alveoflow.compiler.ir import hw
from alveoflow.errors import AlveoflowError


class OffGridError(AlveoflowError, ValueError):
    """A float input that does not lie on the declared input grid."""


def _half_up(y: np.ndarray) -> np.ndarray:
    return np.sign(y) * np.floor(np.abs(y) + 0.5)


def _half_down(y: np.ndarray) -> np.ndarray:
    return np.sign(y) * np.ceil(np.abs(y) - 0.5)


def _up(y: np.ndarray) -> np.ndarray:
    return np.sign(y) * np.ceil(np.abs(y))


# The rounding modes of ``nn_kernels.ROUNDING``, on float64 arrays (exact for every mode).
ROUNDING: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "ROUND": np.rint,  # half to even
    "HALF_EVEN": np.rint,
    "CEIL": np.ceil,
    "FLOOR": np.floor,
    "UP": _up,
    "DOWN": np.trunc,
    "HALF_UP": _half_up,
    "HALF_DOWN": _half_down,
}
_BINARY: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "Add": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "Div": np.divide,
    "rSub": lambda x, c: c - x,
    "rDiv": lambda x, c: c / x,
}


@dataclass(frozen=True)
class HostQuant:
    """The parameters of ``hw.QuantizeInput`` (see its docstring)."""

    scale: tuple[float, ...]
    zero_point: float
    lo: int
    hi: int
    steps: tuple[hw.HostStep, ...] = ()
    rounding: str = "ROUND"
    on_grid: bool = False
    label: str = ""  # the grid as the user declared it, for messages

    @staticmethod
    def of(op: hw.QuantizeInput, label: str = "") -> HostQuant:
        lo, hi = op.codes()
        return HostQuant(op.scale, op.zero_point, lo, hi, op.steps, op.rounding, op.on_grid, label)


def _channel_view(values: Sequence[float], ndim: int) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    return arr.reshape((1, -1) + (1,) * (ndim - 2)) if arr.size > 1 else arr.reshape(())


def apply_steps(x: np.ndarray, steps: Sequence[hw.HostStep]) -> np.ndarray:
    """The float64 result of the host steps on ``x`` (batch first)."""
    y = np.asarray(x, dtype=np.float64)
    for kind, arg in steps:
        if kind == "reshape":
            y = y.reshape((y.shape[0],) + tuple(int(d) for d in arg))
        elif kind == "transpose":
            y = y.transpose(tuple(int(p) for p in arg))
        else:
            y = _BINARY[kind](y, _channel_view(arg, y.ndim))
    return y


def scaled_input(y: np.ndarray, scale: Sequence[float], zero_point: float) -> np.ndarray:
    """``float32(float32(y / scale) + zero_point)``, as ``nn_kernels.scaled_input``."""
    q = (y / _channel_view(scale, y.ndim)).astype(np.float32)
    return q + np.float32(zero_point)


_EXACT_IN_FLOAT32 = ("ROUND", "HALF_EVEN", "CEIL", "FLOOR", "DOWN", "SIGN")


def _float32_path(x: np.ndarray, stage: HostQuant) -> bool:
    """True when float32 arithmetic gives the same codes: no steps, float32 input and
    scales (one float32 division is the correctly rounded quotient, as in ``scaled_input``),
    a rounding mode exact in float32 and no grid check (it needs float64)."""
    scale = np.asarray(stage.scale, dtype=np.float64)
    return (
        not stage.steps
        and x.dtype == np.float32
        and bool(np.all(scale.astype(np.float32).astype(np.float64) == scale))
        and stage.rounding in _EXACT_IN_FLOAT32
        and not stage.on_grid
    )


def quantize_host(x: np.ndarray, stage: HostQuant, round_input: bool = False) -> np.ndarray:
    """Codes (int64) of the float input ``x``: NHWC for images, (N, F) otherwise."""
    if _float32_path(np.asarray(x), stage):
        y = np.asarray(x)
        scale32 = _channel_view(stage.scale, y.ndim).astype(np.float32)
        q = np.divide(y, scale32, dtype=np.float32) + np.float32(stage.zero_point)
    else:
        y = apply_steps(x, stage.steps)
        q = scaled_input(y, stage.scale, stage.zero_point)
    if stage.rounding == "SIGN":
        codes = (q >= 0).astype(np.int64)
    else:
        clamped = np.clip(q, stage.lo, stage.hi).astype(np.float64)
        codes = ROUNDING[stage.rounding](clamped).astype(np.int64)
    if stage.on_grid and not round_input:
        _check_grid(y, codes, stage)
    return codes.transpose(0, 2, 3, 1) if codes.ndim == 4 else codes


def _check_grid(y: np.ndarray, codes: np.ndarray, stage: HostQuant) -> None:
    exact = y / _channel_view(stage.scale, y.ndim) + stage.zero_point
    value = 2.0 * codes - 1.0 if stage.rounding == "SIGN" else codes.astype(np.float64)
    miss = np.abs(exact - value) > hw.grid_tolerance(exact)
    if not miss.any():
        return
    where = tuple(int(i) for i in np.argwhere(miss)[0])
    grid = stage.label or f"scale {stage.scale[0]:g}, zero point {stage.zero_point:g}"
    steps = float(exact[where])
    inside = stage.lo <= steps <= stage.hi if stage.rounding != "SIGN" else abs(steps) <= 1
    what = "is not a multiple of the scale" if inside else "is outside the grid's range"
    raise OffGridError(
        f"input is not on the declared grid {grid}: {int(miss.sum())} value(s), e.g. "
        f"{float(y[where]):.9g} at {list(where)} ({steps:.6g} steps of the grid), "
        f"{what}; quantize the input to the grid first, or round it (--round-input)"
    )
