"""The card host driver, in the style of the ResNet50-PYNQ host code, over PYNQ or XRT.

``CardHost`` is the host logic both card backends share; a subclass supplies the few card
operations (open the kernel, allocate, write and sync, start, wait, read, free):
``AlveoBackend`` (this module) over PYNQ's API (``pynq_api.CardApi``) and
``xrt_host.XrtBackend`` over XRT's own Python bindings (``pyxrt``).

Setup (once): the bitstream is loaded on the chosen card and the compute unit opened; the FC
weights file (int8, (classes, features)) is copied into a buffer in its bank and synced to
the card; then ``buffers`` sets (default 3: triple buffering) of input / top-k / logits
buffers, each sized for ``max_batch`` frames, are allocated in their banks.

``run(x)`` for N frames: N <= max_batch is one blocking call; more frames are cut into
chunks of ``max_batch`` and pipelined over the buffer sets (start / wait): chunk i+1 is
copied and synced while chunk i runs, so the card never waits on the host. Every transfer
syncs only the frames in use. The kernel is called with its arguments in the order of the
manifest's ``card.kernel_args`` (written from the design, named as in ``kernel.xml``): each
buffer argument gets the buffer of its role, the ``batch`` scalar the frame count.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from alveoflow.compiler.buildfmt import CardSpec, load_fc_weights
from alveoflow.errors import ConfigError, DeviceError
from alveoflow.runtime.backends.alveo.pynq_api import CardApi, PynqApi, pick_device
from alveoflow.runtime.build import Build

log = logging.getLogger(__name__)
Roles = dict[str, tuple[tuple[int, ...], np.dtype, str]]


@dataclass
class BufferSet:
    """One set of card buffers (input and outputs by role)."""

    buffers: dict[str, Any]


class CardHost:
    """The host logic of a card backend (see the module docstring); subclasses implement
    the card operations below."""

    name = "card"

    def __init__(self, build: Build, buffers: int = 3) -> None:
        card = build.manifest.card
        if card is None:
            raise ConfigError(
                f"{build.manifest.path} has no 'card' section: this build was not linked into "
                "a bitstream; run `alveoflow build` on a machine with Vitis, or use "
                "backend='sim'"
            )
        if buffers < 1:
            raise ConfigError(f"buffers must be >= 1, got {buffers}")
        self.card: CardSpec = card
        self.max_batch: int | None = card.max_batch
        self._roles = _roles(build)
        self._args = _arg_order(card, self._roles)
        self._sets: list[BufferSet] = []
        self._fc: Any = None

    def _setup(self, build: Build, buffers: int) -> None:
        """Upload the FC weights and allocate the buffer sets (the card is open)."""
        try:
            self._fc = self._upload_fc(build)
            self._sets = [self._allocate_set() for _ in range(buffers)]
        except BaseException:
            self.close()
            raise
        log.info("%s backend: %d buffer sets of %d frames", self.name, buffers, self.card.max_batch)

    # -- card operations (subclasses) -------------------------------------------------------
    def _allocate(self, role: str, shape: tuple[int, ...], dtype: np.dtype) -> Any:
        raise NotImplementedError

    def _write(self, buf: Any, frames: np.ndarray) -> None:
        """Copy ``frames`` to the start of ``buf`` and sync those bytes to the card."""
        raise NotImplementedError

    def _read(self, buf: Any, role: str, n: int) -> np.ndarray:
        """Sync the first ``n`` frames of ``buf`` from the card; a copy of them."""
        raise NotImplementedError

    def _call(self, args: list[Any]) -> None:
        """One blocking kernel call."""
        raise NotImplementedError

    def _start(self, args: list[Any]) -> Any:
        """Start the kernel; returns what ``_wait`` takes."""
        raise NotImplementedError

    def _wait(self, handle: Any) -> None:
        raise NotImplementedError

    def _free(self, buf: Any) -> None:
        raise NotImplementedError

    def _release(self) -> None:
        """Release the kernel/overlay (after every buffer is freed)."""

    # -- setup --------------------------------------------------------------------------------
    def _upload_fc(self, build: Build) -> Any:
        if "fc_weights" not in self._roles:
            return None
        node = build.graph.node(build.plan.fc_node or "")
        expected = tuple(node.weights["weights"].shape)
        weights = load_fc_weights(build.manifest, expected)
        buf = self._allocate("fc_weights", expected, np.dtype(np.int8))
        self._write(buf, weights)
        return buf

    def _allocate_set(self) -> BufferSet:
        n = self.card.max_batch
        bufs = {}
        for role, (shape, dtype, _) in self._roles.items():
            if role != "fc_weights":
                bufs[role] = self._allocate(role, (n, *shape), dtype)
        return BufferSet(bufs)

    # -- running ------------------------------------------------------------------------------
    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        if not self._sets:
            raise DeviceError(f"this {self.name} backend was closed")
        n = x.shape[0]
        step = self.card.max_batch
        chunks = [x[i : i + step] for i in range(0, n, step)]
        if len(chunks) == 1:
            return self._run_blocking(chunks[0])
        return self._run_pipelined(chunks)

    def _call_args(self, bufs: BufferSet, n: int) -> list[Any]:
        table = {**bufs.buffers, "fc_weights": self._fc, "batch": n}
        return [table[a] for a in self._args]

    def _collect(self, bufs: BufferSet, n: int) -> dict[str, np.ndarray]:
        return {tensor: self._read(bufs.buffers[role], role, n) for role, tensor in self._outputs()}

    def _outputs(self) -> list[tuple[str, str]]:
        return [(r, self._roles[r][2]) for r in ("topk", "logits") if r in self._roles]

    def _run_blocking(self, chunk: np.ndarray) -> dict[str, np.ndarray]:
        bufs, n = self._sets[0], chunk.shape[0]
        self._write(bufs.buffers["input"], chunk)
        self._call(self._call_args(bufs, n))
        return self._collect(bufs, n)

    def _run_pipelined(self, chunks: list[np.ndarray]) -> dict[str, np.ndarray]:
        inflight: deque[tuple[Any, BufferSet, int]] = deque()
        parts: list[dict[str, np.ndarray]] = []
        for i, chunk in enumerate(chunks):
            if len(inflight) == len(self._sets):
                parts.append(self._finish(inflight.popleft()))
            bufs = self._sets[i % len(self._sets)]
            self._write(bufs.buffers["input"], chunk)
            handle = self._start(self._call_args(bufs, chunk.shape[0]))
            inflight.append((handle, bufs, chunk.shape[0]))
        while inflight:
            parts.append(self._finish(inflight.popleft()))
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def _finish(self, item: tuple[Any, BufferSet, int]) -> dict[str, np.ndarray]:
        handle, bufs, n = item
        self._wait(handle)
        return self._collect(bufs, n)

    def close(self) -> None:
        """Free every buffer, then the kernel/overlay. Idempotent."""
        sets, self._sets = self._sets, []
        for bufs in sets:
            for buf in bufs.buffers.values():
                self._free(buf)
        fc, self._fc = self._fc, None
        if fc is not None:
            self._free(fc)
        self._release()


class AlveoBackend(CardHost):
    """The ``alveo`` backend over PYNQ (``emulated`` when ``api`` is an emulated card)."""

    def __init__(
        self, build: Build, api: CardApi | None = None, device_index: int = 0, buffers: int = 3
    ) -> None:
        super().__init__(build, buffers)
        self.api: CardApi = api if api is not None else PynqApi()
        self.name = "emulated" if getattr(self.api, "emulated", False) else "alveo"
        self.overlay: Any = None
        xclbin = xclbin_path(self.card, self.api)
        device = pick_device(self.api, device_index, self.card.platform)
        self.device_name = str(getattr(device, "name", device))
        self.overlay = self.api.overlay(xclbin, device)
        self.kernel = _attr(self.overlay, self.card.compute_unit, "compute unit")
        self._setup(build, buffers)

    def _allocate(self, role: str, shape: tuple[int, ...], dtype: np.dtype) -> Any:
        bank = _attr(self.overlay, self.card.bank(role), "memory bank")
        return self.api.allocate(shape, dtype, target=bank)

    def _write(self, buf: Any, frames: np.ndarray) -> None:
        view = buf[: frames.shape[0]]
        view[...] = frames
        view.sync_to_device()

    def _read(self, buf: Any, role: str, n: int) -> np.ndarray:
        view = buf[:n]
        view.sync_from_device()
        return np.array(view, copy=True)

    def _call(self, args: list[Any]) -> None:
        self.kernel.call(*args)

    def _start(self, args: list[Any]) -> Any:
        return self.kernel.start(*args)

    def _wait(self, handle: Any) -> None:
        handle.wait()

    def _free(self, buf: Any) -> None:
        buf.freebuffer()

    def _release(self) -> None:
        free = getattr(self.overlay, "free", None)
        if free is not None:
            free()


def _roles(build: Build) -> Roles:
    """Buffer role -> (per-frame shape, dtype, card tensor name) for this build."""
    plan, card = build.plan, build.manifest.card
    assert card is not None
    roles = {"input": (plan.input.card.shape[1:], plan.input.card_dtype, plan.input.card.name)}
    for stage in sorted(plan.outputs, key=lambda o: o.kind != "topk"):  # top-k, then logits
        if stage.kind == "codes":
            raise ConfigError(
                f"graph output {stage.name} is neither logits nor top-k; the card host path "
                "only moves those (recompile with a DequantizeOutput/LabelSelect head)"
            )
        roles[stage.kind] = (stage.card.shape[1:], stage.card_dtype, stage.card.name)
    if plan.fc_node is not None and card.fc_weights_file is not None:
        roles["fc_weights"] = ((), np.dtype(np.int8), "")
    return roles


def _arg_order(card: CardSpec, roles: dict[str, Any]) -> list[str]:
    """The roles of the kernel's arguments in call order (``card.kernel_args``)."""
    order = [a.role for a in card.kernel_args]
    missing = [r for r in roles if r not in order]
    if missing:
        names = [a.name for a in card.kernel_args]
        raise ConfigError(f"the kernel's arguments {names} lack buffers for {missing}")
    return order


def xclbin_path(card: CardSpec, api: Any) -> Any:
    """The linked bitstream; a build that was never linked has none (an emulated card
    needs none: it runs the design's kernel description)."""
    if card.xclbin is not None:
        return card.xclbin
    if getattr(api, "emulated", False):
        return None
    raise ConfigError(
        "this build has no linked bitstream yet: run `alveoflow build BUILD_DIR` on a machine "
        "with Vitis, or use backend='sim' or 'emulated'"
    )


def _attr(overlay: Any, name: str, what: str) -> Any:
    try:
        return getattr(overlay, name)
    except AttributeError:
        names = sorted(
            list(getattr(overlay, "ip_dict", {})) + list(getattr(overlay, "mem_dict", {}))
        )
        raise DeviceError(
            f"the overlay has no {what} {name!r} (it has: {names}); the xclbin does not match "
            "the manifest, rebuild it"
        ) from None
