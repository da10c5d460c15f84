"""Fast path: a ``SlidingWindow`` feeding one MVAU/VVAU (or an MVAU on an NHWC image, a
1x1 conv) computed as one ``torch.nn.functional.conv2d``.

It gives the same integers as the two kernels one after the other (tests check this): the
conv runs in the dtype ``exact`` allows for the unit's accumulator bound (float32 or
float64; int64 graphs, which conv2d cannot do, fall back to the plain kernels). On the CPU,
where the float32 bound holds and ``int8conv.usable`` agrees (opted in with
``ALVEOFLOW_ONEDNN_INT8=1``, int8 weights, inputs that fit uint8), the conv is oneDNN's
integer one (u8 x s8 -> int32 -> float32 plus bias), faster than a float32 conv; it is off by
default because it was seen to race (see ``int8conv``). Zero padding is the conv's own;
other pad values are written explicitly per channel (no padding algebra). Tensors stay
NHWC-contiguous: seen as NCHW that is torch's channels_last format, which the convs read
and write without layout copies, with the epilogue's bias fused in (on the CPU this beats a
GEMM even for 1x1 units; on a GPU those run as a GEMM).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

from alveoflow.compiler.ir import hw
from alveoflow.compiler.semantics import int8conv
from alveoflow.compiler.semantics.epilogue import unit_epilogue
from alveoflow.compiler.semantics.exact import WeightTable, floor_of, weight_as
from alveoflow.compiler.semantics.hw_kernels import matmul_rows, pad_nhwc

Unit = hw.MVAU | hw.VVAU
Pair = tuple[int, int]


def can_fuse(window: hw.SlidingWindow | None, unit: object) -> bool:
    """True for (window or None) + a unit whose math conv2d can express."""
    if isinstance(unit, hw.VVAU):
        return window is not None and window.channels == unit.channels
    return isinstance(unit, hw.MVAU)


def conv_unit(
    window: hw.SlidingWindow | None,
    unit: Unit,
    x: torch.Tensor,
    weights: Mapping[str, torch.Tensor],
) -> torch.Tensor | None:
    """The unit's output for NHWC input ``x`` of the window (or of a 1x1 unit);
    None when this path cannot be exact (int64 needed)."""
    floor = floor_of(x)
    ep = unit_epilogue(unit, weights, floor, x.device)
    if ep.dtype == torch.int64:
        return None
    kh, kw = window.kernel if window else (1, 1)
    stride = window.stride if window else (1, 1)
    pads = window.pads if window else (0, 0, 0, 0)
    gemm = isinstance(unit, hw.MVAU) and (kh, kw) == (1, 1) and not any(pads)
    if gemm and x.device.type != "cpu":  # on GPUs a 1x1 conv is fastest as a GEMM
        xs = x[:, :: stride[0], :: stride[1], :] if stride != (1, 1) else x
        w = weight_as(weights, "weights", ep.dtype, x.device)
        return ep.finish(matmul_rows(xs.to(ep.dtype), w, ep.bias))
    # NHWC data seen as NCHW is channels_last: conv2d runs on it without a layout copy
    xc, padding = _padded(window, x)
    channels = x.shape[-1]
    groups = channels if isinstance(unit, hw.VVAU) else 1
    if x.device.type == "cpu" and ep.dtype == torch.float32 and int8conv.usable(unit.idt, unit.wdt):
        packed = _packed(unit, weights, (kh, kw, channels), stride, padding, groups)
        zero = int8conv.input_zero(unit.idt) or 0
        try:
            acc = int8conv.conv(xc.permute(0, 3, 1, 2), packed, ep.bias, zero)
        except RuntimeError:  # a geometry oneDNN declines: the float32 conv below is exact too
            acc = None
        if acc is not None:
            return ep.finish(acc.permute(0, 2, 3, 1))
    xc = xc.to(ep.dtype).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
    if isinstance(unit, hw.VVAU):
        shape: tuple[int, ...] = (channels, 1, kh, kw)
        w = weight_as(
            weights, "weights", ep.dtype, x.device, lambda t: _cl(t.reshape(shape)), ("dw", kh, kw)
        )
        acc = F.conv2d(xc, w, ep.bias, stride=stride, padding=padding, groups=channels)
    else:
        w = weight_as(
            weights,
            "weights",
            ep.dtype,
            x.device,
            lambda t: _cl(t.reshape(unit.mh, kh, kw, channels).permute(0, 3, 1, 2)),
            ("conv", kh, kw),
        )
        acc = F.conv2d(xc, w, ep.bias, stride=stride, padding=padding)
    return ep.finish(acc.permute(0, 2, 3, 1))


def _packed(
    unit: Unit,
    weights: Mapping[str, torch.Tensor],
    dims: tuple[int, int, int],
    stride: Pair,
    padding: Pair,
    groups: int,
) -> int8conv.Packed:
    """The unit's weights prepacked for ``int8conv`` (cached per geometry)."""
    kh, kw, channels = dims

    def make() -> int8conv.Packed:
        w = weights["weights"]
        if isinstance(unit, hw.VVAU):
            w4 = w.reshape(channels, 1, kh, kw)
        else:
            w4 = w.reshape(unit.mh, kh, kw, channels).permute(0, 3, 1, 2)
        return int8conv.prepack(w4, stride, padding, groups)

    key = ("int8conv", kh, kw, stride, padding, groups)
    if isinstance(weights, WeightTable):
        return weights.cached(key, make)  # type: ignore[arg-type,return-value]
    return make()


def _cl(w: torch.Tensor) -> torch.Tensor:
    return w.contiguous(memory_format=torch.channels_last)


def _padded(window: hw.SlidingWindow | None, x: torch.Tensor) -> tuple[torch.Tensor, Pair]:
    """The input, explicitly padded unless conv2d's own zero padding does the same."""
    if window is None or not any(window.pads):
        return x, (0, 0)
    top, left, bottom, right = window.pads
    if set(window.pad_values) == {0} and top == bottom and left == right:
        return x, (top, left)
    values = window.pad_values
    if len(values) == 1:
        values = values * window.channels
    return pad_nhwc(x, window.pads, values), (0, 0)
