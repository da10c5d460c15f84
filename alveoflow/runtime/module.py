"""``AlveoModule``: a compiled build behind a ``torch.nn.Module``.

``forward(x)`` takes what the original model took (float NCHW/NC tensors, or uint8 NHWC
pixels for pixel-input builds: the manifest's input dtype and layout say which) and returns
float32 logits on ``x``'s device. ``topk(x, k)`` returns int64 class indices (best first,
ties to the lower index); it uses the card's top-k when it has enough entries.

Each call runs the pure stages of ``runtime.packing``: check -> pack (quantise) -> backend
-> unpack (dequantise). With ``devices=[0, 1, ...]`` the batch is cut into contiguous
shards, one per card (each its own overlay and buffers), run concurrently and gathered in
order. Every backend sits behind its own lock, so a module may be shared between threads.
Batches larger than ``max_batch`` (default: the card buffers' capacity summed over cards)
are refused with a clear error; pass a larger ``max_batch`` to let the card backend
pipeline them through its buffer sets.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from alveoflow.errors import ConfigError, DeviceError
from alveoflow.runtime.backend import Backend, BackendOptions, select_backend
from alveoflow.runtime.build import Build, open_build
from alveoflow.runtime.packing import pack_input, topk_indices, unpack_outputs

log = logging.getLogger(__name__)


class _Shard:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.lock = threading.Lock()

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        with self.lock:
            return self.backend.run(x)


class AlveoModule(nn.Module):
    """A build directory run on a backend (see the module docstring)."""

    def __init__(
        self,
        build_dir: str | os.PathLike[str],
        backend: str = "auto",
        *,
        devices: list[int] | None = None,
        card_api: Any = None,
        sim_device: str = "auto",
        buffers: int = 3,
        max_batch: int | None = None,
        kernel: str = "sim",
    ) -> None:
        super().__init__()
        self.build: Build = open_build(build_dir)
        indices = list(devices) if devices is not None else [0]
        if not indices or len(set(indices)) != len(indices):
            raise ConfigError(f"devices must be distinct card indices, got {devices}")
        if backend == "emulated" and card_api is None:
            from alveoflow.runtime.backends.alveo.emulated import EmulatedPynq

            card_api = EmulatedPynq(self.build.dir, cards=max(indices) + 1, kernel=kernel)
        self._shards: list[_Shard] = []
        try:
            for index in indices:
                options = BackendOptions(index, card_api, sim_device, buffers, kernel)
                chosen = select_backend(backend, self.build, options)
                self._shards.append(_Shard(chosen))
                backend = chosen.name  # 'auto' is decided once, for every card
        except BaseException:
            self.close()
            raise
        self.backend_name = self._shards[0].backend.name
        self.max_batch = max_batch if max_batch is not None else self._capacity()
        self._pool = ThreadPoolExecutor(len(self._shards)) if len(self._shards) > 1 else None

    @classmethod
    def load(
        cls, build_dir: str | os.PathLike[str], backend: str = "auto", **kw: Any
    ) -> AlveoModule:
        """Reopen a build directory (written by ``alveoflow compile``/``to_alveo``)."""
        return cls(build_dir, backend, **kw)

    def _capacity(self) -> int | None:
        limits = [s.backend.max_batch for s in self._shards]
        return sum(m for m in limits if m is not None) if None not in limits else None

    @property
    def build_dir(self) -> Path:
        return self.build.dir

    @property
    def backends(self) -> list[Backend]:
        return [s.backend for s in self._shards]

    def extra_repr(self) -> str:
        return (
            f"build={str(self.build.dir)!r}, backend={self.backend_name!r}, "
            f"devices={len(self._shards)}, max_batch={self.max_batch}"
        )

    # -- inference ------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Float32 logits (N, classes) on ``x.device``."""
        outputs = self.run_outputs(x)
        stage = self.build.plan.output("logits")
        if stage is None:
            raise ConfigError("this build has no logits output; use topk(x)")
        return outputs[stage.name]

    def topk(self, x: torch.Tensor, k: int = 5) -> torch.Tensor:
        """Indices (N, k) int64 of the k best classes, best first, on ``x.device``."""
        card = self.build.plan.output("topk")
        if card is not None and card.card.shape[1] >= k >= 1:
            return self.run_outputs(x)[card.name][:, :k]
        logits = self.build.plan.output("logits")
        if logits is None:
            raise ConfigError(
                f"k={k} exceeds the card's top-{card.card.shape[1]} and the "  # type: ignore[union-attr]
                "build has no logits to rank"
            )
        scores = self.run_numpy(self._check_input(x))[logits.name]
        return torch.from_numpy(topk_indices(scores, k)).to(x.device)

    def run_outputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every graph output (logits float32, top-k int64) as tensors on ``x.device``."""
        arrays = self.run_numpy(self._check_input(x))
        return {k: torch.from_numpy(v).to(x.device) for k, v in arrays.items()}

    def run_numpy(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The pipeline on an already-checked numpy batch: pack -> card -> unpack."""
        plan = self.build.plan
        n = x.shape[0]
        if self.max_batch is not None and n > self.max_batch:
            raise ConfigError(
                f"batch of {n} frames exceeds the card buffers ({self.max_batch} frames over "
                f"{len(self._shards)} card(s)); split the batch, or open the module with "
                f"max_batch={n} to pipeline it through the buffers"
            )
        packed = pack_input(x, plan.input)
        return unpack_outputs(self._run_card(packed), plan)

    def _run_card(self, packed: np.ndarray) -> dict[str, np.ndarray]:
        if not self._shards:
            raise DeviceError("this AlveoModule was closed")
        if self._pool is None or packed.shape[0] < 2:
            return self._shards[0].run(packed)
        pieces = [p for p in np.array_split(packed, len(self._shards)) if p.shape[0]]
        futures = [self._pool.submit(s.run, p) for s, p in zip(self._shards, pieces, strict=False)]
        parts = [f.result() for f in futures]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def _check_input(self, x: Any) -> np.ndarray:
        """A C-contiguous numpy batch of the build's input dtype, or a clear error."""
        stage = self.build.plan.input
        want, frame = stage.user_dtype, tuple(stage.user.shape[1:])
        layout = self.build.manifest.input.layout
        if not isinstance(x, torch.Tensor):
            raise ConfigError(f"expected a torch.Tensor, got {type(x).__name__}")
        if x.device.type == "meta" or x.layout != torch.strided:
            raise DeviceError(
                f"cannot read a {x.device.type}/{x.layout} tensor; pass a dense CPU or CUDA tensor"
            )
        if want == np.uint8 and x.dtype != torch.uint8:
            raise ConfigError(
                f"this build takes uint8 {layout} pixels (N, {', '.join(map(str, frame))}), "
                f"got {x.dtype}; convert images with .to(torch.uint8) (values 0..255)"
            )
        if want != np.uint8 and not x.dtype.is_floating_point:
            raise ConfigError(f"this build takes float {layout} tensors, got {x.dtype}")
        if tuple(x.shape[1:]) != frame or x.dim() != len(frame) + 1:
            raise ConfigError(self._shape_hint(tuple(x.shape), frame, layout))
        if x.shape[0] == 0:
            raise ConfigError("empty batch (0 frames)")
        arr = x.detach().to("cpu", torch.float32 if want != np.uint8 else torch.uint8)
        return np.ascontiguousarray(arr.numpy())

    @staticmethod
    def _shape_hint(got: tuple[int, ...], frame: tuple[int, ...], layout: str) -> str:
        msg = f"input shape {list(got)} does not match (N, {', '.join(map(str, frame))}) {layout}"
        if got == frame:
            return msg + "; add the batch dimension with x.unsqueeze(0)"
        if len(got) == 4 and sorted(got[1:]) == sorted(frame) and len(frame) == 3:
            return msg + "; permute the tensor to " + layout
        return msg

    # -- lifetime -------------------------------------------------------------------------------
    def close(self) -> None:
        """Release every backend (buffers, overlays). Idempotent."""
        shards, self._shards = getattr(self, "_shards", []), []
        for shard in shards:
            with shard.lock:
                shard.backend.close()
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> AlveoModule:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
