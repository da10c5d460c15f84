"""Kernels of every hardware op (``alveoflow.compiler.ir.hw``): the definition of their maths.

Each kernel follows its op's docstring exactly, on NHWC tensors of integer *values* (see
``registry``). Kernels never write into their inputs (``DuplicateStreams`` returns the same
tensor several times) and accept any memory layout (strides) of their inputs. Dtypes follow
``exact``: a computation runs in float32 only when ``accumulator_bound`` proves every partial
sum is below 2**24, else float64 (below 2**53) or int64; results are stored in the narrowest
exact dtype for the output type, never below the inputs' dtype (``exact.storage_dtype``:
unsigned codes of at most 8 bits as uint8 at the float32 floor, and kernels take byte paths
for them where the arithmetic provably stays in 0..255).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

from alveoflow.compiler.ir import QType, hw
from alveoflow.compiler.semantics.epilogue import apply_thresholds, unit_epilogue
from alveoflow.compiler.semantics.exact import (
    accumulator_bound,
    exact_dtype,
    floor_of,
    matmul_device,
    storage_dtype,
    weight_as,
)
from alveoflow.compiler.semantics.host import HostQuant, quantize_host
from alveoflow.compiler.semantics.registry import kernel

Tensors = Sequence[torch.Tensor]
Pair = tuple[int, int]
Weights = Mapping[str, torch.Tensor]


# -- shared pieces (also used by the fused conv path) ---------------------------------------
def matmul_rows(x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``x @ w.T (+ bias)`` over the last axis, as one 2-D GEMM (a strided 4-D one is slow)."""
    rows = x.reshape(-1, x.shape[-1])
    acc = torch.mm(rows, w.t()) if bias is None else torch.addmm(bias, rows, w.t())
    return acc.reshape(*x.shape[:-1], w.shape[0])


def pad_nhwc(x: torch.Tensor, pads: tuple[int, ...], values: Sequence[float]) -> torch.Tensor:
    """Pad H (top, bottom) and W (left, right) of an NHWC tensor with per-channel values."""
    top, left, bottom, right = pads
    if not any(pads):
        return x
    n, h, w, c = x.shape
    out = torch.empty((n, h + top + bottom, w + left + right, c), dtype=x.dtype, device=x.device)
    out[...] = torch.tensor(list(values), dtype=x.dtype, device=x.device)
    out[:, top : top + h, left : left + w, :] = x
    return out


def _windows(x: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int]) -> torch.Tensor:
    """(N, OH, OW, C, kh, kw) view of every window of an (already padded) NHWC tensor."""
    return x.unfold(1, kernel[0], stride[0]).unfold(2, kernel[1], stride[1])


# -- compute units ------------------------------------------------------------------------
@kernel(hw.MVAU)
def mvau(op: hw.MVAU, inputs: Tensors, weights: Weights) -> list[torch.Tensor]:
    (x,) = inputs
    floor = floor_of(x)
    dev = matmul_device(x, unit_epilogue(op, weights, floor, x.device).dtype)
    ep = unit_epilogue(op, weights, floor, dev)
    w = weight_as(weights, "weights", ep.dtype, dev)
    acc = matmul_rows(x.to(device=dev, dtype=ep.dtype), w, ep.bias)
    return [ep.finish(acc).to(x.device)]


@kernel(hw.VVAU)
def vvau(op: hw.VVAU, inputs: Tensors, weights: Weights) -> list[torch.Tensor]:
    (x,) = inputs
    ep = unit_epilogue(op, weights, floor_of(x), x.device)
    w = weight_as(weights, "weights", ep.dtype, x.device)  # (channels, k)
    xr = x.to(ep.dtype).reshape(*x.shape[:-1], op.kernel_elems, op.channels)
    acc = (xr * w.t()).sum(dim=-2)
    if ep.bias is not None:
        acc += ep.bias
    return [ep.finish(acc)]


@kernel(hw.Thresholding)
def thresholding(op: hw.Thresholding, inputs: Tensors, weights: Weights) -> list[torch.Tensor]:
    (x,) = inputs
    floor = floor_of(x)
    return [apply_thresholds(x, weights, accumulator_bound(op), op.out_offset, op.odt, floor)]


# -- data movement and pooling --------------------------------------------------------------
@kernel(hw.SlidingWindow)
def sliding_window(op: hw.SlidingWindow, inputs: Tensors, weights: Weights) -> list[torch.Tensor]:
    (x,) = inputs
    values = op.pad_values if len(op.pad_values) == op.channels else op.pad_values * op.channels
    win = _windows(pad_nhwc(x, op.pads, values), op.kernel, op.stride)
    n, oh, ow = win.shape[:3]
    return [win.permute(0, 1, 2, 4, 5, 3).reshape(n, oh, ow, -1)]  # (ky, kx, c) order


@kernel(hw.StreamingMaxPool)
def max_pool(op: hw.StreamingMaxPool, inputs: Tensors, weights: Weights) -> list[torch.Tensor]:
    (x,) = inputs
    low = float("-inf") if x.is_floating_point() else torch.iinfo(x.dtype).min
    xp = pad_nhwc(x, op.pads, [low] * op.channels)  # padding never wins
    if x.is_floating_point():
        out = F.max_pool2d(xp.permute(0, 3, 1, 2), op.kernel, op.stride)
        return [out.permute(0, 2, 3, 1)]
    return [_window_max(xp, op.kernel, op.stride)]


def _window_max(x: torch.Tensor, kernel: Pair, stride: Pair) -> torch.Tensor:
    """Max over every window of an (already padded) NHWC tensor, separably: over the
    window's columns, then its rows, each an elementwise maximum of strided views (fast
    for integer dtypes, which ``max_pool2d`` lacks)."""
    cols = _axis_max(x, 2, kernel[1], stride[1])
    return _axis_max(cols, 1, kernel[0], stride[0])


def _axis_max(x: torch.Tensor, dim: int, size: int, step: int) -> torch.Tensor:
    count = (x.shape[dim] - size) // step + 1
    views = [x.narrow(dim, k, step * (count - 1) + 1)[_every(dim, step)] for k in range(size)]
    if size == 1:
        return views[0]
    out = torch.maximum(views[0], views[1])
    for view in views[2:]:
        torch.maximum(out, view, out=out)
    return out


def _every(dim: int, step: int) -> tuple[slice, ...]:
    return (slice(None),) * dim + (slice(None, None, step),)


@kernel(hw.SumPool)
def sum_pool(op: hw.SumPool, inputs: Tensors, weights: Weights) -> list[torch.Tensor]:
    (x,) = inputs
    floor = floor_of(x)
    xs = x.to(exact_dtype(accumulator_bound(op), floor))
    if tuple(op.kernel) == tuple(x.shape[1:3]):
        out = xs.sum(dim=(1, 2), keepdim=True)
    else:
        out = _windows(xs, op.kernel, op.stride).sum(dim=(-2, -1))
    return [out.to(storage_dtype(op.odt, floor))]


@kernel(hw.AddStreams)
def add_streams(op: hw.AddStreams, inputs: Tensors, weights: Weights) -> list[torch.Tensor]:
    a, b = inputs
    floor = floor_of(a, b)
    if a.dtype == b.dtype == storage_dtype(op.odt, floor) == torch.uint8:
        fast = _add_bytes(a, b, op)
        if fast is not None:
            return [fast]
    dtype = exact_dtype(accumulator_bound(op), floor)
    out = a.to(dtype) + b.to(dtype)
    if op.offset:
        out += op.offset
    return [out.clamp_(op.odt.min, op.odt.max).to(storage_dtype(op.odt, floor))]


def _add_bytes(a: torch.Tensor, b: torch.Tensor, op: hw.AddStreams) -> torch.Tensor | None:
    """``clamp(a + b + offset, lo, hi)`` in uint8 as ``clamp(a + b, lo - offset, hi - offset)
    + offset`` (equal for integers), or None when a + b or those bounds leave 0..255."""
    lo, hi = op.odt.min - op.offset, op.odt.max - op.offset
    if op.idt_a.max + op.idt_b.max > 255 or not 0 <= lo <= hi <= 255:
        return None
    out = torch.add(a, b)
    out.clamp_(lo, hi)
    if op.offset > 0:
        out.add_(op.offset)
    elif op.offset < 0:
        out.sub_(-op.offset)  # no wrap-around: out >= lo = odt.min - offset >= -offset
    return out


@kernel(hw.DuplicateStreams)
def duplicate(op: hw.DuplicateStreams, inputs: Tensors, weights: Weights) -> list[torch.Tensor]:
    return [inputs[0]] * op.copies


@kernel(hw.ConcatStreams)
def concat_streams(op: hw.ConcatStreams, inputs: Tensors, weights: Weights) -> list[torch.Tensor]:
    dtype = storage_dtype(op.odt, floor_of(*inputs))
    return [torch.cat([x.to(dtype) for x in inputs], dim=-1)]


@kernel(hw.Upsample)
def upsample(op: hw.Upsample, inputs: Tensors, weights: Weights) -> list[torch.Tensor]:
    (x,) = inputs
    rows = x.repeat_interleave(op.factor[0], dim=1)
    return [rows.repeat_interleave(op.factor[1], dim=2)]


@kernel(hw.ChannelMul)
def channel_mul(op: hw.ChannelMul, inputs: Tensors, weights: Weights) -> list[torch.Tensor]:
    x, g = inputs
    floor = floor_of(x, g)
    dtype = exact_dtype(accumulator_bound(op), floor)
    out = x.to(dtype) * g.to(dtype)[:, None, None, :]
    return [out.to(storage_dtype(op.odt, floor))]


@kernel(hw.ScaleStream)
def scale_stream(op: hw.ScaleStream, inputs: Tensors, weights: Weights) -> list[torch.Tensor]:
    (x,) = inputs
    floor = floor_of(x)
    dtype = exact_dtype(accumulator_bound(op), floor)
    factors = weight_as(weights, "factors", dtype, x.device)
    return [(x.to(dtype) * factors).to(storage_dtype(op.odt, floor))]


@kernel(hw.LabelSelect)
def label_select(op: hw.LabelSelect, inputs: Tensors, weights: Weights) -> list[torch.Tensor]:
    (x,) = inputs
    order = torch.sort(x, dim=-1, descending=True, stable=True).indices  # ties: lower index
    return [order[:, : op.k].to(storage_dtype(QType.uint(32), floor_of(x)))]


@kernel(hw.Flatten)
def flatten(op: hw.Flatten, inputs: Tensors, weights: Weights) -> list[torch.Tensor]:
    (x,) = inputs
    return [x.reshape(x.shape[0], -1)]


# -- host boundary ------------------------------------------------------------------------
@kernel(hw.QuantizeInput)
def quantize_input(op: hw.QuantizeInput, inputs: Tensors, weights: Weights) -> list[torch.Tensor]:
    """Runs the host's own numpy definition (``semantics.host``) of the stage."""
    (x,) = inputs
    codes = quantize_host(x.detach().to("cpu", torch.float32).numpy(), HostQuant.of(op))
    out = torch.from_numpy(codes).to(device=x.device)
    return [out.to(storage_dtype(op.odt)).contiguous()]


@kernel(hw.PixelInput)
def pixel_input(op: hw.PixelInput, inputs: Tensors, weights: Weights) -> list[torch.Tensor]:
    return [inputs[0]]


@kernel(hw.DequantizeOutput)
def dequantize(op: hw.DequantizeOutput, inputs: Tensors, weights: Weights) -> list[torch.Tensor]:
    (x,) = inputs
    kw = {"dtype": torch.float64, "device": x.device}
    scale, shift = torch.tensor(op.scale, **kw), torch.tensor(op.shift, **kw)  # type: ignore[arg-type]
    return [(x.to(torch.float64) * scale + shift).to(torch.float32)]
