"""Per-channel monotone functions from integer codes to real values.

A ``Chain`` describes how the real value of every element of channel ``c`` follows from an
integer ``a`` (an accumulator or a code): a ``Head`` ``(a - zero[c]) * scale[c]`` followed by
per-element nn ops (BatchNorm, Add/Sub/Mul/Div by constants, and the non-decreasing
functions Relu, Clip, Sigmoid, Tanh, LeakyRelu, HardSigmoid) in graph order. It is
evaluated with the reference kernels themselves (``nn_kernels.apply_elementwise``) on
tensors shaped like the original (rank 4: ``(K, C, 1, 1)``; rank 2: ``(K, C)``), so a value
computed here is bit-for-bit the float64 evaluation of those ops.

``linear()`` is the affine summary ``value = m[c] * a + c0[c]`` when no op is non-linear;
``direction()`` is +1/-1 per channel for non-decreasing/non-increasing chains (``None`` when
some op is not monotone, e.g. ``const / x``): the non-decreasing functions never change the
direction of the affine ops around them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from alveoflow.compiler.ir import nn
from alveoflow.compiler.ir.core import Op
from alveoflow.compiler.semantics import nn_kernels
from alveoflow.errors import UnsupportedOpError


class FoldError(UnsupportedOpError):
    """Float arithmetic that cannot be folded into integer hardware; names the reason."""


def per_channel(param: np.ndarray, shape: tuple[int, ...], what: str) -> np.ndarray:
    """``param`` (broadcastable to ``shape``) as one float64 per channel (axis 1).
    Raises ``FoldError`` when it varies over the batch or spatial axes."""
    full = np.broadcast_to(np.asarray(param, dtype=np.float64), (1,) + tuple(shape[1:]))
    chans = shape[1] if len(shape) > 1 else 1
    flat = np.moveaxis(full, 1, 0).reshape(chans, -1) if len(shape) > 1 else full.reshape(1, -1)
    if not np.all(flat == flat[:, :1]):
        raise FoldError(f"{what} varies over the image (only per-channel constants fold)")
    return flat[:, 0].copy()


def channel_view(values: np.ndarray, rank: int) -> np.ndarray:
    """(C,) -> (1, C, 1, 1) for rank 4 or (1, C) for rank 2."""
    return values.reshape((1, -1) + (1,) * (rank - 2))


@dataclass(frozen=True)
class Head:
    """``value = (a - zero) * scale`` per channel."""

    zero: np.ndarray
    scale: np.ndarray


@dataclass(frozen=True)
class Chain:
    head: Head
    ops: tuple[tuple[Op, Mapping[str, torch.Tensor], str], ...]  # (op, weights, node name)
    rank: int

    @staticmethod
    def start(zero: np.ndarray, scale: np.ndarray, rank: int) -> Chain:
        return Chain(Head(np.asarray(zero, np.float64), np.asarray(scale, np.float64)), (), rank)

    @property
    def channels(self) -> int:
        return int(self.head.scale.shape[0])

    def then(
        self, op: Op, weights: Mapping[str, np.ndarray], shape: tuple[int, ...], name: str
    ) -> Chain:
        """Append a per-element op (node ``name``); constants are reduced to one per channel
        of ``shape`` (the tensor the op applies to)."""
        reduced: dict[str, torch.Tensor] = {}
        for key, value in weights.items():
            if isinstance(op, nn.BatchNorm):
                reduced[key] = torch.from_numpy(np.array(value, np.float64))
            else:
                pc = per_channel(value, shape, f"the {key} of {op.kind}")
                reduced[key] = torch.from_numpy(channel_view(pc, self.rank))
        return Chain(self.head, self.ops + ((op, reduced, name),), self.rank)

    def with_rank(self, rank: int) -> Chain:
        """The same function viewed on tensors of another rank (e.g. after a Flatten)."""
        ops = tuple(
            (
                op,
                {
                    k: v if isinstance(op, nn.BatchNorm) else v.reshape((1, -1) + (1,) * (rank - 2))
                    for k, v in w.items()
                },
                name,
            )
            for op, w, name in self.ops
        )
        return Chain(self.head, ops, rank)

    def last_nonlinear(self) -> str:
        """Name of the last op that is not affine (where a clamp gets its name)."""
        names = [name for op, _, name in self.ops if isinstance(op, MONOTONE)]
        return names[-1] if names else (self.ops[-1][2] if self.ops else "")

    def nonlinear(self) -> list[tuple[str, str]]:
        """(kind, node name) of every non-affine op, in order."""
        return [(op.kind, name) for op, _, name in self.ops if isinstance(op, MONOTONE)]

    # -- evaluation ---------------------------------------------------------------------------
    def values(self, a: torch.Tensor) -> torch.Tensor:
        """Real values of integers ``a`` shaped (K, C) -> (K, C), in float64."""
        x = a.to(torch.float64).reshape(a.shape + (1,) * (self.rank - 2))
        zero = torch.from_numpy(channel_view(self.head.zero, self.rank))
        scale = torch.from_numpy(channel_view(self.head.scale, self.rank))
        return self.apply(((x - zero) * scale).reshape(a.shape))

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """The ops (not the head) applied to real values ``x`` shaped (K, C)."""
        y = x.to(torch.float64).reshape(x.shape + (1,) * (self.rank - 2))
        for op, w, _ in self.ops:
            y = nn_kernels.apply_elementwise(op, y, w)
        return y.reshape(x.shape)

    # -- summaries ----------------------------------------------------------------------------
    def _compose(self, skip_relu: bool) -> tuple[np.ndarray, np.ndarray] | None:
        """The affine ops composed (``skip_relu``: stepping over the monotone functions)."""
        m = self.head.scale.copy()
        c = -self.head.zero * self.head.scale
        for op, w, _ in self.ops:
            k = {key: v.numpy().reshape(-1) for key, v in w.items()}
            if isinstance(op, MONOTONE):
                if not skip_relu:
                    return None
            elif isinstance(op, nn.BatchNorm):
                f = k["scale"] / np.sqrt(k["var"] + op.eps)
                m, c = m * f, (c - k["mean"]) * f + k["bias"]
            elif isinstance(op, nn.BinaryConst):
                step = _affine_step(op, k["const"], m, c)
                if step is None:
                    return None
                m, c = step
            else:
                return None
        return m, c

    def linear(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(m, c0) with value = m * a + c0 when the chain is affine, else None."""
        return self._compose(skip_relu=False)

    def direction(self) -> np.ndarray | None:
        """+1 where the chain is non-decreasing in ``a``, -1 where non-increasing."""
        comp = self._compose(skip_relu=True)
        if comp is None:
            return None
        return np.where(comp[0] < 0, -1, 1).astype(np.int64)

    def describe(self) -> str:
        return " -> ".join(["codes"] + [f"{op.kind}({name})" for op, _, name in self.ops])


MONOTONE = (nn.Relu, nn.Clip, nn.Activation)  # non-decreasing per-element functions


def _affine_step(
    op: nn.BinaryConst, k: np.ndarray, m: np.ndarray, c: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    if op.fn == "Add":
        return m, c + k
    if op.fn == "Sub":
        return (-m, k - c) if op.const_first else (m, c - k)
    if op.fn == "Mul":
        return m * k, c * k
    if op.fn == "Div" and not op.const_first:
        return m / k, c / k
    return None
