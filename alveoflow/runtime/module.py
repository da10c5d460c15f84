"""``AlveoModule``: a compiled build behind a ``torch.nn.Module``, a drop-in for the model.

``forward(x)`` takes what the original model took and returns what it returned: float32
logits (N, classes) on ``x``'s device. What it accepts (``runtime.inputs``):

- the model's own input: float tensors of the model's shape and layout (NCHW images, (N, F),
  or e.g. (N, 1, 8, 8) for an MLP that flattens in ``forward``), any float dtype, CPU or
  CUDA, quantised on the host as the build's input stage says; for pixel models
  (``alveoflow.qnn`` with ``pixel_input``) float NCHW pixel values 0..255, which must be
  whole numbers (``round_input=True`` rounds them, and input off a declared
  ``--input-quant`` grid, instead of refusing it);
- the fast path: integer card codes in the card's layout and storage dtype (uint8 NHWC
  pixels, int8/uint8 NHWC or (N, F) input codes), passed straight to the card.

NaN and inf are refused. ``topk(x, k)`` returns int64 class indices (best first, ties to the
lower index); it uses the card's top-k when it has enough entries.

Each call runs the pure stages: check and quantise (``inputs``) -> backend -> unpack
(dequantise, ``packing``). With ``devices=[0, 1, ...]`` the batch is cut into contiguous
shards, one per card (each its own overlay and buffers), run concurrently and gathered in
order. Every backend sits behind its own lock, so a module may be shared between threads.
Batches larger than ``max_batch`` (default: the card buffers' capacity summed over cards)
are refused with a clear error; pass a larger ``max_batch`` to let the card backend
pipeline them through its buffer sets.

Options are checked when the module is built, whatever the backend (``sim_device``:
auto, cpu, cuda, cuda:N). Pickling or deep-copying a module reopens its build folder with
the same options (a fresh backend: card buffers are never shared between copies); the
build must be unchanged since the module was opened. A module opened with an injected
``card_api`` cannot be copied (reopen it with ``AlveoModule.load``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from alveoflow.compiler.buildfmt import MANIFEST
from alveoflow.errors import ConfigError, DeviceError
from alveoflow.runtime.backend import Backend, BackendOptions, select_backend
from alveoflow.runtime.backends.sim import resolve_device
from alveoflow.runtime.build import Build, open_build
from alveoflow.runtime.inputs import InputSpec, to_card
from alveoflow.runtime.packing import topk_indices, unpack_outputs

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
        round_input: bool = False,
    ) -> None:
        super().__init__()
        _check_options(sim_device, buffers, max_batch)
        self.build: Build = open_build(build_dir)
        self._fingerprint = _manifest_digest(self.build.dir)
        indices = list(devices) if devices is not None else [0]
        if not indices or len(set(indices)) != len(indices):
            raise ConfigError(f"devices must be distinct card indices, got {devices}")
        self._injected_api = card_api is not None
        self._shards: list[_Shard] = []
        try:
            for index in indices:
                options = BackendOptions(
                    index, card_api, sim_device, buffers, kernel, cards=max(indices) + 1
                )
                chosen = select_backend(backend, self.build, options)
                self._shards.append(_Shard(chosen))
                backend = chosen.name  # 'auto' is decided once, for every card
                card_api = getattr(chosen, "api", card_api)  # every card on one card API
        except BaseException:
            self.close()
            raise
        self.backend_name = self._shards[0].backend.name
        self.round_input = bool(round_input)
        self.input_spec = InputSpec.of(self.build)
        self.max_batch = max_batch if max_batch is not None else self._capacity()
        self._reopen = {
            "backend": self.backend_name,
            "devices": indices,
            "sim_device": sim_device,
            "buffers": buffers,
            "max_batch": max_batch,
            "kernel": kernel,
            "round_input": self.round_input,
        }
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
        """Float32 logits (N, classes) on ``x.device`` (see the module docstring for what
        ``x`` may be)."""
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
        scores = self.run_numpy(self._as_numpy(x))[logits.name]
        return torch.from_numpy(topk_indices(scores, k)).to(x.device)

    def run_outputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every graph output (logits float32, top-k int64) as tensors on ``x.device``."""
        arrays = self.run_numpy(self._as_numpy(x))
        return {k: torch.from_numpy(v).to(x.device) for k, v in arrays.items()}

    def run_numpy(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The pipeline on a numpy batch (what ``forward`` takes, as numpy): check and
        quantise -> card -> unpack."""
        n = int(np.shape(x)[0]) if np.ndim(x) else 0
        if self.max_batch is not None and n > self.max_batch:
            raise ConfigError(
                f"batch of {n} frames exceeds the card buffers ({self.max_batch} frames over "
                f"{len(self._shards)} card(s)); split the batch, or open the module with "
                f"max_batch={n} to pipeline it through the buffers"
            )
        packed = to_card(x, self.input_spec, self.round_input)
        return unpack_outputs(self._run_card(packed), self.build.plan)

    def _run_card(self, packed: np.ndarray) -> dict[str, np.ndarray]:
        if not self._shards:
            raise DeviceError("this AlveoModule was closed")
        if self._pool is None or packed.shape[0] < 2:
            return self._shards[0].run(packed)
        pieces = [p for p in np.array_split(packed, len(self._shards)) if p.shape[0]]
        futures = [self._pool.submit(s.run, p) for s, p in zip(self._shards, pieces, strict=False)]
        parts = [f.result() for f in futures]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def _as_numpy(self, x: Any) -> np.ndarray:
        """A CPU numpy copy of a dense tensor (floats as float32, like the model computes)."""
        if not isinstance(x, torch.Tensor):
            raise ConfigError(
                f"expected a torch.Tensor, got {type(x).__name__}; this build takes "
                f"{self.input_spec.describe()}"
            )
        if x.device.type == "meta" or x.layout != torch.strided:
            raise DeviceError(
                f"cannot read a {x.device.type}/{x.layout} tensor; pass a dense CPU or CUDA tensor"
            )
        if x.is_complex():
            raise ConfigError(f"complex input ({x.dtype}) has no codes on the card")
        x = x.detach()
        if x.dtype.is_floating_point:
            x = x.to(torch.float32)
        return np.ascontiguousarray(x.cpu().numpy())

    # -- copies ---------------------------------------------------------------------------------
    def __reduce_ex__(self, protocol: Any) -> Any:
        """Pickle/deepcopy: reopen the build folder with the same options (module docstring)."""
        if not self.__dict__.get("_shards"):
            raise ConfigError(
                "cannot copy a closed AlveoModule; reopen it with "
                f"AlveoModule.load({str(self.build.dir)!r})"
            )
        if self._injected_api:
            raise ConfigError(
                "cannot copy an AlveoModule opened with a card_api object; reopen it from its "
                f"build folder with AlveoModule.load({str(self.build.dir)!r}, card_api=...)"
            )
        return (_reopen, (str(self.build.dir.resolve()), self._fingerprint, dict(self._reopen)))

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


def _check_options(sim_device: str, buffers: int, max_batch: int | None) -> None:
    """Options every backend shares, checked before anything is opened."""
    if not isinstance(sim_device, str):
        raise ConfigError(f"sim_device must be a string (auto, cpu, cuda), got {sim_device!r}")
    resolve_device(sim_device)
    if not isinstance(buffers, int) or isinstance(buffers, bool) or buffers < 1:
        raise ConfigError(f"buffers must be an integer >= 1, got {buffers!r}")
    if max_batch is not None and (
        not isinstance(max_batch, int) or isinstance(max_batch, bool) or max_batch < 1
    ):
        raise ConfigError(f"max_batch must be an integer >= 1 or None, got {max_batch!r}")


def _manifest_digest(folder: Path) -> str:
    try:
        return hashlib.sha256((folder / MANIFEST).read_bytes()).hexdigest()
    except OSError as err:
        raise ConfigError(f"cannot read {folder / MANIFEST}: {err.strerror}") from None


def _reopen(build_dir: str, fingerprint: str, options: dict[str, Any]) -> AlveoModule:
    """Unpickling: the same build folder, unchanged, opened with the same options."""
    folder = Path(build_dir)
    if _manifest_digest(folder) != fingerprint:
        raise ConfigError(
            f"the build at {build_dir} changed since this AlveoModule was copied or pickled; "
            "open the new build with AlveoModule.load(build_dir)"
        )
    backend = options.pop("backend")
    return AlveoModule(folder, backend, **options)
