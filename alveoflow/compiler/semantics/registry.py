"""Kernel registry of the bit-exact reference executor.

A kernel is ``fn(op, inputs, weights) -> list[torch.Tensor]``: ``inputs`` are the node's input
tensors (batch first, any batch size), ``weights`` its weights as tensors on the same device.
Integer tensors hold exact integer *values* (bipolar as -1/+1) in a floating or integer torch
dtype chosen by the kernel so that every intermediate is exact (float32 only where the
magnitude bound is below 2**24, float64 below 2**53, else int64). Float tensors (before
streamlining, at the host boundary) are float32 unless noted.

Kernels register with ``@kernel(OpClass)``; op families register in their own modules
(``hw_kernels``, ``nn_kernels``), which ``alveoflow.compiler.semantics`` imports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from alveoflow.errors import UnsupportedOpError

Kernel = Callable[[Any, Sequence[torch.Tensor], Mapping[str, torch.Tensor]], list[torch.Tensor]]
KERNELS: dict[type, Kernel] = {}


def kernel(op_type: type) -> Callable[[Kernel], Kernel]:
    """Register ``fn`` as the definition of ``op_type``."""

    def register(fn: Kernel) -> Kernel:
        if op_type in KERNELS:
            raise RuntimeError(f"two kernels for {op_type.__name__}")
        KERNELS[op_type] = fn
        return fn

    return register


def kernel_for(op: Any) -> Kernel:
    try:
        return KERNELS[type(op)]
    except KeyError:
        raise UnsupportedOpError(
            f"the reference executor has no kernel for {type(op).__name__}"
        ) from None
