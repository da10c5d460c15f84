"""An emulated ``pyxrt`` module: XRT's Python API over emulated cards running one build.

``EmulatedPyxrt(build_dir, cards=1, kernel="sim", hw_context=True)`` has the names the
``xrt`` backend uses from ``pyxrt`` (``xrt_api`` lists them): ``enumerate_devices``,
``device(i)`` (``get_info``, ``register_xclbin``/``load_xclbin``), ``xclbin(path)``,
``hw_context``, ``kernel`` (``group_id``, call -> ``run`` with ``wait``), ``bo`` (``write``,
``sync``, ``read``, ``map``, ``size``), the enums ``xclBOSyncDirection``,
``ert_cmd_state``, ``xrt_info_device`` and ``bo.normal``. ``hw_context=False`` plays an
older XRT without hardware contexts (``load_xclbin`` + ``kernel(device, uuid, name, mode)``).

A ``bo`` holds host bytes and separate device bytes (0xA5 garbage at allocation); ``sync``
copies the given byte range between them, so a missing or short sync gives wrong answers.
The kernel is the one the build describes to Vitis (``contract.read_contract``: kernel.xml
and link.cfg): the name must be ``kernel:{compute unit}`` of the manifest, ``group_id(i)``
is the index (in ``BANKS``) of the memory argument i's port is linked to, and every call is
checked: the number of arguments, a positive int batch where kernel.xml has a scalar, for
each buffer a ``bo`` of this card in that argument's bank, holding at least ``batch``
frames (the FC weights: exactly the weight matrix). It then computes with the card model
shared with the PYNQ emulation (``emulated.CardModel``) over the *device* bytes and writes
the outputs' device bytes. Every step is logged per card (``emulated.Transaction``).
"""

from __future__ import annotations

import enum
import itertools
import weakref
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from alveoflow.compiler.ir import Graph
from alveoflow.errors import DeviceError
from alveoflow.runtime.backends.alveo.contract import KernelContract, read_contract
from alveoflow.runtime.backends.alveo.emulated import (
    BANKS,
    EMULATED_NAME,
    GARBAGE,
    CardModel,
    EmulatedDevice,
    _kernel_backend,
)
from alveoflow.runtime.build import Build, open_build


class SyncDirection(enum.IntEnum):
    XCL_BO_SYNC_BO_TO_DEVICE = 0
    XCL_BO_SYNC_BO_FROM_DEVICE = 1


class CmdState(enum.IntEnum):
    ERT_CMD_STATE_NEW = 1
    ERT_CMD_STATE_QUEUED = 2
    ERT_CMD_STATE_COMPLETED = 4
    ERT_CMD_STATE_ERROR = 5


class InfoKey:
    """``pyxrt.xrt_info_device`` (the keys the host reads)."""

    bdf = 0
    name = 5


class BoFlags(enum.IntEnum):
    normal = 0
    cacheable = 1


class CuAccess(enum.IntEnum):
    exclusive = 0
    shared = 1


_ids = itertools.count(1)


class XrtDevice:
    """``pyxrt.device(i)``: a handle on emulated card i."""

    def __init__(self, emulator: EmulatedPyxrt, card: EmulatedDevice) -> None:
        self.emulator, self.card = emulator, card
        self.loaded: str | None = None

    def get_info(self, key: int) -> str:
        return self.card.name if key == InfoKey.name else f"0000:{self.card.index + 1:02x}:00.1"

    def register_xclbin(self, xclbin: Xclbin) -> str:
        self.card.record("register_xclbin", xclbin=str(xclbin.path))
        return xclbin.uuid

    def load_xclbin(self, xclbin: Xclbin) -> str:
        self.card.record("load_xclbin", xclbin=str(xclbin.path))
        self.loaded = xclbin.uuid
        return xclbin.uuid


class Xclbin:
    """``pyxrt.xclbin(path)``; no path: the build's own kernel description."""

    def __init__(self, emulator: EmulatedPyxrt, path: str | None) -> None:
        card = emulator.build.manifest.card
        assert card is not None
        if path is not None and (card.xclbin is None or Path(path) != card.xclbin):
            raise DeviceError(f"emulator holds {card.xclbin}, asked to load {path}")
        self.path, self.uuid = path, f"uuid-{emulator.build.dir.name}"


class HwContext:
    def __init__(self, device: XrtDevice, uuid: str) -> None:
        self.device, self.uuid = device, uuid
        device.card.record("hw_context", uuid=uuid)


class XrtBo:
    """``pyxrt.bo(device, size, flags, group)``: host bytes and device bytes."""

    normal = BoFlags.normal
    cacheable = BoFlags.cacheable
    flags = BoFlags

    def __init__(self, device: XrtDevice, size: int, flags: int, group: int) -> None:
        if not isinstance(device, XrtDevice):
            raise DeviceError(f"bo needs a device of this emulator, got {device!r}")
        if int(size) < 1 or not 0 <= int(group) < len(BANKS):
            raise DeviceError(f"bad bo size {size} or memory group {group}")
        self.card, self.group = device.card, int(group)
        self.buffer_id = next(_ids)
        self.host = np.zeros(int(size), np.uint8)
        self.device_bytes = np.full(int(size), GARBAGE, np.uint8)
        self.version = 0
        self.card.open_buffers[self.buffer_id] = True
        self.card.record("allocate", buffer=self.buffer_id, nbytes=int(size), target=self.bank)
        weakref.finalize(self, _free, self.card, self.buffer_id)

    @property
    def bank(self) -> str:
        return BANKS[self.group]

    def size(self) -> int:
        return int(self.host.size)

    def address(self) -> int:
        return (self.group + 1) << 40 | self.buffer_id << 32

    def map(self) -> memoryview:
        return self.host.data

    def write(self, data: Any, seek: int) -> None:
        raw = np.frombuffer(memoryview(data).cast("B"), np.uint8)
        self._span(raw.size, seek)
        self.host[seek : seek + raw.size] = raw

    def read(self, size: int, skip: int) -> np.ndarray:
        self._span(size, skip)
        return self.host[skip : skip + size].view(np.int8).copy()

    def sync(self, direction: SyncDirection, size: int | None = None, offset: int = 0) -> None:
        size = self.size() if size is None else int(size)
        span = self._span(size, offset)
        if direction == SyncDirection.XCL_BO_SYNC_BO_TO_DEVICE:
            self.device_bytes[span] = self.host[span]
            self.version += 1
            op = "sync_to_device"
        else:
            self.host[span] = self.device_bytes[span]
            op = "sync_from_device"
        self.card.record(op, buffer=self.buffer_id, offset=offset, nbytes=size)

    def _span(self, size: int, offset: int) -> slice:
        if offset < 0 or size < 0 or offset + size > self.size():
            raise DeviceError(f"bo {self.buffer_id}: bytes {offset}..{offset + size} out of range")
        return slice(offset, offset + size)


def _free(card: EmulatedDevice, buffer_id: int) -> None:
    if card.open_buffers.pop(buffer_id, None) is not None:
        card.record("free", buffer=buffer_id)


class XrtRun:
    """A started kernel run (the emulated card computes at start)."""

    def __init__(self, card: EmulatedDevice, call_id: int) -> None:
        self.card, self.call_id = card, call_id

    def wait(self, timeout_ms: int = 0) -> CmdState:
        self.card.record("wait", call=self.call_id)
        return CmdState.ERT_CMD_STATE_COMPLETED

    def state(self) -> CmdState:
        return CmdState.ERT_CMD_STATE_COMPLETED


class EmulatedPyxrt:
    """The ``pyxrt`` module over ``cards`` emulated cards (see the module docstring)."""

    emulated = True
    xclBOSyncDirection = SyncDirection
    ert_cmd_state = CmdState
    xrt_info_device = InfoKey
    bo = XrtBo

    def __init__(
        self,
        build_dir: str | Path,
        cards: int = 1,
        make_backend: Callable[[Graph], Any] | None = None,
        log_limit: int | None = None,
        kernel: str = "sim",
        hw_context: bool = True,
    ) -> None:
        self.build = open_build(build_dir)
        if self.build.manifest.card is None:
            raise DeviceError(f"{build_dir}: the manifest has no card section to emulate")
        self.contract = read_contract(self.build)
        self.cards = [EmulatedDevice(i, log=deque(maxlen=log_limit)) for i in range(cards)]
        self.make_backend = make_backend or _kernel_backend(self.build, kernel)
        self.kernel = _KernelFactory(self)
        if hw_context:
            self.hw_context = HwContext

    def enumerate_devices(self) -> int:
        return len(self.cards)

    def device(self, index: int) -> XrtDevice:
        if not 0 <= int(index) < len(self.cards):
            raise RuntimeError(f"No such device index {index}")  # as pyxrt raises
        return XrtDevice(self, self.cards[int(index)])

    def xclbin(self, path: str | None = None) -> Xclbin:
        return Xclbin(self, path)


class _KernelFactory:
    """``pyxrt.kernel``: ``kernel(context, name)`` or ``kernel(device, uuid, name[, mode])``."""

    cu_access_mode = CuAccess

    def __init__(self, emulator: EmulatedPyxrt) -> None:
        self.emulator = emulator

    def __call__(self, *args: Any) -> XrtKernel:
        if len(args) == 2 and isinstance(args[0], HwContext):
            device, name = args[0].device, args[1]
        elif len(args) in (3, 4) and isinstance(args[0], XrtDevice):
            device, name = args[0], args[2]
            if device.loaded != args[1]:
                raise DeviceError(f"xclbin {args[1]} is not loaded on {device.card.name}")
        else:
            raise DeviceError(f"kernel(...) got unexpected arguments {args!r}")
        emu = self.emulator
        model = CardModel(emu.build, emu.make_backend)
        return XrtKernel(device.card, emu.build, emu.contract, model, str(name))


class XrtKernel:
    """The compute unit, checked against kernel.xml/link.cfg (see the module docstring)."""

    cu_access_mode = CuAccess

    def __init__(
        self,
        card: EmulatedDevice,
        build: Build,
        contract: KernelContract,
        model: CardModel,
        name: str,
    ) -> None:
        spec = build.manifest.card
        assert spec is not None
        want = f"{contract.kernel}:{{{spec.compute_unit}}}"
        if name not in (want, contract.kernel):
            raise DeviceError(f"the xclbin has no kernel {name!r} (it has {want})")
        self.card, self.build, self.contract, self.model = card, build, contract, model
        self.roles = {a.name: a.role for a in spec.kernel_args}
        self._calls = itertools.count(1)

    def group_id(self, index: int) -> int:
        arg = self.contract.args[int(index)]
        if arg.scalar:
            raise DeviceError(f"argument {arg.name} is a scalar and has no memory group")
        return BANKS.index(self.contract.bank(arg))

    def __call__(self, *args: Any) -> XrtRun:
        call_id = next(self._calls)
        table = self._bind(args)
        batch = table["batch"]
        self.card.record(
            "start",
            call=call_id,
            batch=batch,
            args=[a if isinstance(a, int) else (a.buffer_id, a.bank) for a in args],
        )
        fc = table.get("fc_weights")
        weights = None if fc is None else fc.device_bytes.view(np.int8).reshape(self._fc_shape())
        state = None if fc is None else (fc.buffer_id, fc.version)
        x = self._frames(table["input"], "input", batch)
        for role, codes in self.model.compute(x, weights, state).items():
            flat = np.ascontiguousarray(codes).reshape(-1).view(np.uint8)
            table[role].device_bytes[: flat.size] = flat
        return XrtRun(self.card, call_id)

    # -- checks -------------------------------------------------------------------------------
    def _bind(self, args: tuple[Any, ...]) -> dict[str, Any]:
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
        for index, arg in enumerate(xml):
            if not arg.scalar:
                role = self.roles[arg.name]
                self._check_bo(role, table[role], table["batch"], self.group_id(index))
        return table

    def _check_bo(self, role: str, bo: Any, batch: int, group: int) -> None:
        if not isinstance(bo, XrtBo):
            raise DeviceError(f"{role} argument is not a bo: {type(bo).__name__}")
        if bo.card is not self.card:
            raise DeviceError(f"{role} bo lives on another card")
        if bo.group != group:
            raise DeviceError(f"{role} bo is in {bo.bank}, the design reads {BANKS[group]}")
        if role == "fc_weights":
            need = int(np.prod(self._fc_shape()))
            if bo.size() != need:
                raise DeviceError(f"FC bo holds {bo.size()} bytes, the weights take {need}")
            return
        frame, dtype = self._frame(role)
        need = batch * int(np.prod(frame)) * dtype.itemsize
        if bo.size() < need:
            raise DeviceError(f"batch {batch} exceeds the {role} bo ({bo.size()} bytes)")

    def _frame(self, role: str) -> tuple[tuple[int, ...], np.dtype]:
        plan = self.build.plan
        stage = plan.input if role == "input" else plan.output(role)
        assert stage is not None
        return tuple(stage.card.shape[1:]), stage.card_dtype

    def _fc_shape(self) -> tuple[int, ...]:
        node = self.build.graph.node(self.build.plan.fc_node or "")
        return tuple(node.weights["weights"].shape)

    def _frames(self, bo: XrtBo, role: str, batch: int) -> np.ndarray:
        frame, dtype = self._frame(role)
        nbytes = batch * int(np.prod(frame)) * dtype.itemsize
        return bo.device_bytes[:nbytes].view(dtype).reshape((batch, *frame))


__all__ = ["EMULATED_NAME", "EmulatedPyxrt"]
