"""Exact integer convolutions on the CPU with oneDNN's u8 x s8 -> int32 kernels.

Contract: ``conv(x, w, bias, stride, padding, groups, zero)`` returns, as float32 NCHW
(channels_last memory), exactly ``conv2d(x, w) + bias`` for integer-valued ``x`` (NCHW, any
dtype, values in ``[-zero, 255 - zero]``), int8-valued weights ``w`` and a float32 bias, when
``|acc + bias| < 2**24`` (the caller checks this with ``exact``). The accumulation is integer
(int32), the one conversion to float32 is exact below 2**24, and the bias is added to an
exact float32 with an exact result (scales are 1.0, zero points integers).

``usable(idt, wdt)`` says whether the path applies: the op exists in this torch build, the
weights fit int8, the (shifted) inputs fit uint8, and the CPU cannot saturate. Without a
VNNI/AMX instruction set oneDNN sums pairs of u8 x s8 products in int16 with saturation,
which is exact only while inputs are at most 127; with VNNI/AMX products go to int32.
Prepacked weights are cached by the caller (``prepack``).

**Off by default.** With torch 2.13's oneDNN on a 2-core AVX2 machine under load, the
multi-threaded ``qconv2d_pointwise`` intermittently returned wrong accumulators for the first
image of the second thread's share of a batch (lowered ResNet-18, batch 6, image 3: 4 of 60
runs differed from the plain kernels, 0 of 60 with this path off). An executor that is the
project's reference must not depend on that, so ``usable`` is False unless the environment
sets ``ALVEOFLOW_ONEDNN_INT8=1`` (for speed studies); the float32/float64 convolutions,
exact by the accumulator bound, are used instead.
"""

from __future__ import annotations

import functools
import os
from typing import NamedTuple

import torch

from alveoflow.compiler.ir import QType

Pair = tuple[int, int]


@functools.cache
def _available() -> bool:
    ops = getattr(torch.ops, "onednn", None)
    try:
        return (
            ops is not None
            and hasattr(ops, "qconv2d_pointwise")
            and hasattr(ops, "qconv_prepack")
            and torch.backends.mkldnn.is_available()
        )
    except (AttributeError, RuntimeError):
        return False


@functools.cache
def _wide_products() -> bool:
    """True when the CPU multiplies u8 x s8 straight into int32 (no int16 saturation)."""
    checks = ("_is_vnni_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def input_zero(idt: QType) -> int | None:
    """The zero point that maps ``idt`` values into uint8 (0 or 128), or None."""
    if idt.is_float:
        return None
    zero = 0 if idt.min >= 0 else 128
    if idt.min + zero < 0 or idt.max + zero > 255:
        return None
    top = idt.max + zero
    return zero if top <= 127 or _wide_products() else None


def enabled() -> bool:
    """The opt-in of the module docstring (``ALVEOFLOW_ONEDNN_INT8=1``)."""
    return os.environ.get("ALVEOFLOW_ONEDNN_INT8", "") == "1"


def usable(idt: QType, wdt: QType) -> bool:
    """Whether ``conv`` computes this unit's accumulator exactly here (see module doc)."""
    if not enabled() or wdt.is_float or wdt.min < -128 or wdt.max > 127:
        return False
    return _available() and input_zero(idt) is not None


class Packed(NamedTuple):
    """Prepacked weights and the geometry they were packed for."""

    weights: torch.Tensor
    scales: torch.Tensor  # all 1.0 (float32), one per output channel
    zeros: torch.Tensor  # all 0 (int64)
    stride: list[int]
    padding: list[int]
    groups: int


def prepack(w: torch.Tensor, stride: Pair, padding: Pair, groups: int) -> Packed:
    """oneDNN's packed form of the int8-valued weights ``w`` (O, C/groups, kh, kw)."""
    w8 = w.to(device="cpu", dtype=torch.int8).contiguous()
    scales = torch.ones(w8.shape[0], dtype=torch.float32)
    zeros = torch.zeros(w8.shape[0], dtype=torch.int64)
    geometry = (list(stride), list(padding), [1, 1], groups)
    packed = torch.ops.onednn.qconv_prepack(w8, scales, 1.0, 0, *geometry, None)
    return Packed(packed, scales, zeros, list(stride), list(padding), groups)


def conv(x: torch.Tensor, packed: Packed, bias: torch.Tensor | None, zero: int) -> torch.Tensor:
    """``conv2d(x, w) + bias`` (float32) for NCHW ``x``; see the module docstring."""
    xq = x.add(zero) if zero else x
    if xq.dtype != torch.uint8:
        xq = xq.to(torch.uint8)
    xq = xq.contiguous(memory_format=torch.channels_last)
    b = None if bias is None else bias.to(torch.float32)
    p = packed
    return torch.ops.onednn.qconv2d_pointwise(
        xq,
        1.0,
        zero,
        p.weights,
        p.scales,
        p.zeros,
        b,
        p.stride,
        p.padding,
        [1, 1],
        p.groups,
        1.0,
        0,
        torch.float32,
        "none",
        [],
        "",
    )
