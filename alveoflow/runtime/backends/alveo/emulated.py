"""An emulated Alveo card behind the same ``CardApi`` as real PYNQ (see ``pynq_api``).

``EmulatedPynq(build_dir, cards=1)`` plays ``pynq`` for the host driver:

- ``devices()``: ``cards`` emulated devices, each with its own transaction log
  (``device.log``), open-buffer table and memory banks;
- ``overlay(xclbin, device)``: an overlay whose attributes are the compute unit named in
  the manifest and one ``EmulatedMemory`` per bank (``bank0``..``bank3``, ``PLRAM0``..``2``);
- ``allocate(shape, dtype, target)``: an ``EmulatedBuffer``: an ndarray (the host copy)
  with a separate device copy, filled with 0xA5 garbage at allocation. ``sync_to_device``
  and ``sync_from_device`` copy between the two (a slice syncs only its bytes), so a missing
  sync gives wrong answers.

The compute unit is the generated kernel as the build describes it to Vitis, not as the host
believes it is: it reads the build's ``kernel.xml`` (the kernel's arguments: name, order,
buffer or scalar) and ``link/link.cfg`` (the memory each buffer port is connected to), and
refuses a manifest whose ``card.kernel_args`` disagree with them. Every call is checked
against that: the number and order of arguments, that each buffer argument is a whole card
buffer in the memory its port is linked to, with the right dtype and frame shape, that the
batch is a positive int that fits. It then runs the card part with a backend over the
*device* copy of the input buffer (``kernel="sim"``, the default: the bit-exact reference;
``kernel="cppsim"``: the generated C++ compiled with g++), with the FC weights taken from the
device copy of the FC buffer, and writes top-k (uint32) and logits codes into the device
copies of the output buffers.

Every step is appended to the device's log as a ``Transaction`` so tests can assert the
host's behaviour (allocations with targets, sync order, call arguments, batch sizes).
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alveoflow.compiler.ir import Graph, Node
from alveoflow.errors import DeviceError, GraphError
from alveoflow.runtime.backends.alveo.contract import KernelContract, read_contract
from alveoflow.runtime.build import Build, open_build

BANKS = ("bank0", "bank1", "bank2", "bank3", "PLRAM0", "PLRAM1", "PLRAM2")
GARBAGE = 0xA5
EMULATED_NAME = "xilinx_u250_gen3x16_xdma_shell_4_1 (emulated)"


@dataclass(frozen=True)
class Transaction:
    """One host/card interaction: ``op`` and its details (buffer ids, banks, sizes, args)."""

    op: str
    detail: dict[str, Any]


@dataclass
class EmulatedDevice:
    index: int
    name: str = EMULATED_NAME
    log: deque[Transaction] = field(default_factory=deque)
    open_buffers: dict[int, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, op: str, **detail: Any) -> None:
        with self.lock:
            self.log.append(Transaction(op, detail))

    def ops(self) -> list[str]:
        return [t.op for t in self.log]


_ids = itertools.count(1)


class EmulatedBuffer(np.ndarray):
    """Host ndarray + device copy. Views (leading-axis slices) sync only their bytes."""

    _root: EmulatedBuffer | None
    _offset: int
    memory: EmulatedMemory
    buffer_id: int
    device_bytes: np.ndarray
    freed: bool
    version: int

    @staticmethod
    def create(shape: tuple[int, ...], dtype: Any, memory: EmulatedMemory) -> EmulatedBuffer:
        buf = np.zeros(shape, dtype).view(EmulatedBuffer)
        buf._root, buf._offset = buf, 0
        buf.memory = memory
        buf.buffer_id = next(_ids)
        buf.device_bytes = np.full(buf.nbytes, GARBAGE, dtype=np.uint8)
        buf.freed = False
        buf.version = 0
        return buf

    def __array_finalize__(self, obj: Any) -> None:
        root = getattr(obj, "_root", None)
        self._root, self._offset = None, 0
        if root is None or self.size == 0:
            return
        start = self.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        if start >= 0 and start + self.nbytes <= root.nbytes and self.flags.c_contiguous:
            self._root, self._offset = root, start

    @property
    def root(self) -> EmulatedBuffer:
        if self._root is None:
            raise DeviceError("not a view of a card buffer (a copy cannot be synced)")
        if self._root.freed:
            raise DeviceError(f"buffer {self._root.buffer_id} was freed")
        return self._root

    @property
    def device_address(self) -> int:
        return int(self.root.memory.base + self.root.buffer_id * (1 << 32) + self._offset)

    def _span(self) -> slice:
        return slice(self._offset, self._offset + self.nbytes)

    def sync_to_device(self) -> None:
        root = self.root
        root.device_bytes[self._span()] = np.frombuffer(self.tobytes(), np.uint8)
        root.version += 1
        root.memory.device.record(
            "sync_to_device", buffer=root.buffer_id, offset=self._offset, nbytes=self.nbytes
        )

    def sync_from_device(self) -> None:
        root = self.root
        raw = root.device_bytes[self._span()]
        self.view(np.ndarray)[...] = raw.view(self.dtype).reshape(self.shape)
        root.memory.device.record(
            "sync_from_device", buffer=root.buffer_id, offset=self._offset, nbytes=self.nbytes
        )

    def device_array(self) -> np.ndarray:
        """The device copy of the whole buffer, as the card sees it (a read-only view)."""
        root = self.root
        arr = root.device_bytes.view(root.dtype).reshape(root.shape)
        arr.flags.writeable = False
        return arr

    def write_device(self, frames: np.ndarray) -> None:
        """Card side: write ``frames`` at the start of the device copy."""
        root = self.root
        dev = root.device_bytes.view(root.dtype).reshape(root.shape)
        dev[: frames.shape[0]] = frames

    def freebuffer(self) -> None:
        root = self._root
        if root is None or root.freed:
            return
        root.freed = True
        device = root.memory.device
        device.open_buffers.pop(root.buffer_id, None)
        device.record("free", buffer=root.buffer_id)
        root.device_bytes = np.zeros(0, np.uint8)


class EmulatedMemory:
    """A memory bank of an emulated card (``ol.bank0``, ``ol.PLRAM0``)."""

    def __init__(self, device: EmulatedDevice, name: str, base: int) -> None:
        self.device, self.name, self.base = device, name, base

    def allocate(self, shape: tuple[int, ...], dtype: Any) -> EmulatedBuffer:
        buf = EmulatedBuffer.create(tuple(shape), dtype, self)
        self.device.open_buffers[buf.buffer_id] = buf
        self.device.record(
            "allocate",
            buffer=buf.buffer_id,
            shape=tuple(shape),
            dtype=np.dtype(dtype).name,
            target=self.name,
        )
        return buf


class _Handle:
    def __init__(self, device: EmulatedDevice, call_id: int) -> None:
        self.device, self.call_id = device, call_id

    def wait(self) -> None:
        self.device.record("wait", call=self.call_id)


class EmulatedKernel:
    """The compute unit: checks each call against the build's kernel (see above), then
    computes."""

    def __init__(
        self,
        device: EmulatedDevice,
        build: Build,
        make_backend: Callable[[Graph], Any],
        contract: KernelContract,
    ):
        self.device, self.build = device, build
        card = build.manifest.card
        assert card is not None
        self.card = card
        self.contract = contract
        self.roles = {a.name: a.role for a in card.kernel_args}
        self._calls = itertools.count(1)
        self.model = CardModel(build, make_backend)

    def call(self, *args: Any) -> None:
        self._execute("call", args)

    def start(self, *args: Any) -> _Handle:
        return _Handle(self.device, self._execute("start", args))

    def _execute(self, how: str, args: tuple[Any, ...]) -> int:
        call_id = next(self._calls)
        table = self._bind(args)
        batch = table["batch"]
        self.device.record(
            how,
            call=call_id,
            batch=batch,
            args=[a if isinstance(a, int) else (a.buffer_id, a.memory.name) for a in args],
        )
        fc = table.get("fc_weights")
        state = None if fc is None else (fc.buffer_id, fc.version)
        weights = None if fc is None else fc.device_array()
        x = table["input"].device_array()[:batch]
        for role, codes in self.model.compute(x, weights, state).items():
            table[role].write_device(codes)
        return call_id

    def _bind(self, args: tuple[Any, ...]) -> dict[str, Any]:
        """Check ``args`` against kernel.xml and link.cfg; role -> argument."""
        xml = self.contract.args
        if len(args) != len(xml):
            names = [a.name for a in xml]
            raise DeviceError(
                f"kernel {self.contract.kernel} takes {len(xml)} arguments {names}, got {len(args)}"
            )
        table: dict[str, Any] = {}
        for arg, value in zip(xml, args, strict=True):
            role = self.roles[arg.name]
            if arg.scalar:
                if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
                    raise DeviceError(
                        f"argument {arg.name} ({role}) must be a positive int, got {value!r}"
                    )
                table[role] = int(value)
            else:
                table[role] = value
        for arg in xml:
            if not arg.scalar:
                role = self.roles[arg.name]
                self._check_buffer(role, table[role], table["batch"], self.contract.bank(arg))
        return table

    def _check_buffer(self, role: str, buf: Any, batch: int, bank: str) -> None:
        if not isinstance(buf, EmulatedBuffer) or buf._root is not buf:
            raise DeviceError(f"{role} argument is not a whole card buffer: {type(buf).__name__}")
        root = buf.root
        if root.memory.device is not self.device:
            raise DeviceError(f"{role} buffer lives on another card")
        if root.memory.name != bank:
            raise DeviceError(f"{role} buffer is in {root.memory.name}, the design reads {bank}")
        plan = self.build.plan
        if role == "fc_weights":
            node = self.build.graph.node(plan.fc_node or "")
            want = (node.weights["weights"].shape, np.dtype(np.int8))
            if (root.shape, root.dtype) != want:
                raise DeviceError(f"FC buffer is {root.dtype}{root.shape}, expected {want}")
            return
        info = plan.input.card if role == "input" else plan.output(role).card  # type: ignore[union-attr]
        from alveoflow.runtime.packing import storage_dtype

        if root.shape[1:] != info.shape[1:] or root.dtype != storage_dtype(info.qtype):
            raise DeviceError(f"{role} buffer is {root.dtype}{root.shape}, frames are {info.shape}")
        if batch > root.shape[0]:
            raise DeviceError(f"batch {batch} exceeds the {role} buffer ({root.shape[0]} frames)")


class CardModel:
    """What an emulated card computes for one call: the build's card part, with the FC
    weights the card holds (shared by the PYNQ and the XRT emulations)."""

    def __init__(self, build: Build, make_backend: Callable[[Graph], Any]) -> None:
        self.build, self.make_backend = build, make_backend
        self._backend: Any = None
        self._fc_state: Any = None

    def compute(
        self, frames: np.ndarray, fc_weights: np.ndarray | None, fc_state: Any
    ) -> dict[str, np.ndarray]:
        """Output role ("topk", "logits") -> codes (batch, ...) in the card's dtype.
        ``fc_state`` identifies the FC weights' content (the backend is rebuilt when it
        changes)."""
        if self._backend is None or fc_state != self._fc_state:
            graph = self.build.plan.card_graph
            if fc_weights is not None:
                graph = _with_fc_weights(graph, self.build.plan.fc_node or "", fc_weights)
            self._backend = self.make_backend(graph)
            self._fc_state = fc_state
        outputs = self._backend.run(np.array(frames))
        return {
            stage.kind: outputs[stage.card.name].astype(stage.card_dtype)
            for stage in self.build.plan.outputs
        }


def _with_fc_weights(graph: Graph, name: str, weights: np.ndarray) -> Graph:
    """``graph`` with node ``name``'s weights replaced by what the card holds."""
    node = graph.node(name)
    new = dict(node.weights)
    new["weights"] = np.array(weights).astype(node.weights["weights"].dtype)
    try:
        fresh = Node.create(
            name, node.op, graph.input_infos(node), [t.name for t in node.outputs], new
        )
    except GraphError as err:
        raise DeviceError(f"the FC weights in card memory are not valid: {err}") from None
    return graph.replace([name], [fresh])


class EmulatedOverlay:
    def __init__(self, device: EmulatedDevice, kernel_name: str, kernel: EmulatedKernel) -> None:
        self.device = device
        self.mem_dict = {b: EmulatedMemory(device, b, (i + 1) << 40) for i, b in enumerate(BANKS)}
        self.ip_dict = {kernel_name: kernel}

    def __getattr__(self, name: str) -> Any:
        for table in (self.__dict__.get("mem_dict", {}), self.__dict__.get("ip_dict", {})):
            if name in table:
                return table[name]
        raise AttributeError(name)

    def free(self) -> None:
        self.device.record("free_overlay")


class EmulatedPynq:
    """``CardApi`` over ``cards`` emulated cards running the build at ``build_dir``.

    ``make_backend(card_graph)`` builds the backend that computes a call (default: ``sim``
    on the CPU). ``log_limit`` keeps only the last transactions (for long runs)."""

    emulated = True

    def __init__(
        self,
        build_dir: str | Path,
        cards: int = 1,
        make_backend: Callable[[Graph], Any] | None = None,
        log_limit: int | None = None,
        kernel: str = "sim",
    ) -> None:
        self.build = open_build(build_dir)
        if self.build.manifest.card is None:
            raise DeviceError(f"{build_dir}: the manifest has no card section to emulate")
        self.contract = read_contract(self.build)
        self.cards = [EmulatedDevice(i, log=deque(maxlen=log_limit)) for i in range(cards)]
        self.make_backend = make_backend or _kernel_backend(self.build, kernel)

    def devices(self) -> list[EmulatedDevice]:
        return list(self.cards)

    def overlay(self, xclbin: Path, device: Any) -> EmulatedOverlay:
        card = self.build.manifest.card
        assert card is not None
        if not isinstance(device, EmulatedDevice) or device not in self.cards:
            raise DeviceError(f"not a device of this emulator: {device!r}")
        if xclbin is not None and card.xclbin is not None and Path(xclbin) != card.xclbin:
            raise DeviceError(f"emulator holds {card.xclbin}, asked to load {xclbin}")
        device.record("load_overlay", xclbin=str(xclbin))
        kernel = EmulatedKernel(device, self.build, self.make_backend, self.contract)
        return EmulatedOverlay(device, card.compute_unit, kernel)

    def allocate(self, shape: tuple[int, ...], dtype: Any, target: Any) -> EmulatedBuffer:
        if not isinstance(target, EmulatedMemory):
            raise DeviceError(f"allocate needs a memory bank of the overlay, got {target!r}")
        return target.allocate(shape, dtype)


KERNELS = ("sim", "cppsim")


def _kernel_backend(build: Build, kernel: str) -> Callable[[Graph], Any]:
    """What computes a call: the reference (``sim``) or the generated C++ (``cppsim``)."""
    if kernel == "sim":
        from alveoflow.runtime.backends.sim import SimBackend

        return lambda graph: SimBackend(graph, device="cpu")
    if kernel == "cppsim":
        from alveoflow.runtime.backends.cppsim.backend import CppSimBackend

        return lambda graph: _CppSimKernel(CppSimBackend(build.dir, graph), graph)
    raise DeviceError(f"emulated kernel must be one of {KERNELS}, got {kernel!r}")


class _CppSimKernel:
    """The generated C++ as the emulated card's kernel, with the FC weights the card holds."""

    def __init__(self, backend: Any, graph: Graph) -> None:
        self.backend, self.graph = backend, graph

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        fc = next((n for n in self.graph.nodes if getattr(n.op, "external_weights", False)), None)
        if fc is not None:
            self.backend.set_fc_weights(np.asarray(fc.weights["weights"]).astype(np.int8))
        return self.backend.run(x)

    def close(self) -> None:
        self.backend.close()
