"""The ``xrt`` backend: the card host driver (``host.CardHost``) on XRT's own Python bindings.

For XRT 2.17 and later, which PYNQ 3.0.x (the last PYNQ with Alveo support) does not
support. ``XrtBackend(build, xrt=None, device_index=0, buffers=3)``: ``xrt`` is the
``pyxrt`` module (imported by ``xrt_api``) or an object playing it (``emulated_xrt``).

Setup: the card is opened (``device(i)``, among those whose name contains the build's
platform), the xclbin registered and a hardware context made (older XRT: ``load_xclbin``),
and the compute unit opened as ``kernel(context, "kernel:{cu}")``. Every buffer is a ``bo``
in the memory bank (``kernel.group_id(arg)``) of the kernel argument it is passed as, so the
banks come from the xclbin itself, not from the manifest. Writes go through
``bo.write(bytes, 0)`` + ``bo.sync(TO_DEVICE, nbytes, 0)`` of only the frames in use; reads
through ``bo.sync(FROM_DEVICE, ...)`` + ``bo.read``. A call is ``run = kernel(*args)``;
``run.wait()`` must report ``ERT_CMD_STATE_COMPLETED``, else a ``DeviceError``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alveoflow.errors import DeviceError
from alveoflow.runtime.backends.alveo.host import CardHost, xclbin_path
from alveoflow.runtime.backends.alveo.xrt_api import import_pyxrt, open_device
from alveoflow.runtime.build import Build


class XrtBo:
    """A ``bo`` with the frame shape and dtype the host uses it for."""

    def __init__(self, bo: Any, frame: tuple[int, ...], dtype: np.dtype) -> None:
        self.bo, self.frame, self.dtype = bo, frame, dtype

    def frame_bytes(self) -> int:
        return int(np.prod(self.frame, dtype=np.int64)) * self.dtype.itemsize


class XrtBackend(CardHost):
    """The ``xrt`` backend (``emulated-xrt`` when ``xrt`` is an emulated module)."""

    def __init__(
        self, build: Build, xrt: Any = None, device_index: int = 0, buffers: int = 3
    ) -> None:
        super().__init__(build, buffers)
        self.xrt = xrt if xrt is not None else _require_pyxrt()
        self.api = self.xrt
        self.name = "emulated-xrt" if getattr(self.xrt, "emulated", False) else "xrt"
        self.device, self.device_name = open_device(self.xrt, device_index, self.card.platform)
        self.context: Any = None
        self.kernel = self._open_kernel(xclbin_path(self.card, self.xrt))
        self._arg_index = {a.role: i for i, a in enumerate(self.card.kernel_args)}
        self._setup(build, buffers)

    def _open_kernel(self, path: Any) -> Any:
        xrt = self.xrt
        xclbin = xrt.xclbin(str(path)) if path is not None else xrt.xclbin()
        name = f"{self.card.kernel}:{{{self.card.compute_unit}}}"
        try:
            if hasattr(xrt, "hw_context"):
                uuid = self.device.register_xclbin(xclbin)
                self.context = xrt.hw_context(self.device, uuid)
                return xrt.kernel(self.context, name)
            uuid = self.device.load_xclbin(xclbin)
            return xrt.kernel(self.device, uuid, name, xrt.kernel.cu_access_mode.shared)
        except DeviceError:
            raise
        except Exception as err:  # noqa: BLE001 - pyxrt raises RuntimeError with XRT's text
            raise DeviceError(
                f"XRT could not open compute unit {name} of {path or 'the build'} on "
                f"{self.device_name}: {err}"
            ) from None

    # -- card operations ----------------------------------------------------------------------
    def _allocate(self, role: str, shape: tuple[int, ...], dtype: np.dtype) -> XrtBo:
        nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        group = self.kernel.group_id(self._arg_index[role])
        bo = self.xrt.bo(self.device, nbytes, self.xrt.bo.normal, group)
        frame = tuple(shape[1:]) if role != "fc_weights" else tuple(shape)
        return XrtBo(bo, frame, np.dtype(dtype))

    def _write(self, buf: XrtBo, frames: np.ndarray) -> None:
        data = np.ascontiguousarray(frames, dtype=buf.dtype)
        buf.bo.write(data.reshape(-1).view(np.uint8), 0)
        direction = self.xrt.xclBOSyncDirection.XCL_BO_SYNC_BO_TO_DEVICE
        buf.bo.sync(direction, data.nbytes, 0)

    def _read(self, buf: XrtBo, role: str, n: int) -> np.ndarray:
        nbytes = n * buf.frame_bytes()
        buf.bo.sync(self.xrt.xclBOSyncDirection.XCL_BO_SYNC_BO_FROM_DEVICE, nbytes, 0)
        raw = np.asarray(buf.bo.read(nbytes, 0))
        return raw.view(np.uint8).view(buf.dtype).reshape((n, *buf.frame)).copy()

    def _native(self, args: list[Any]) -> list[Any]:
        return [a.bo if isinstance(a, XrtBo) else int(a) for a in args]

    def _call(self, args: list[Any]) -> None:
        self._wait(self._start(args))

    def _start(self, args: list[Any]) -> Any:
        return self.kernel(*self._native(args))

    def _wait(self, handle: Any) -> None:
        state = handle.wait()
        done = self.xrt.ert_cmd_state.ERT_CMD_STATE_COMPLETED
        if state is not None and state != done:
            raise DeviceError(f"the kernel run on {self.device_name} ended in state {state}")

    def _free(self, buf: XrtBo) -> None:
        buf.bo = None  # XRT frees a bo when its last reference goes

    def _release(self) -> None:
        self.kernel = None
        self.context = None


def _require_pyxrt() -> Any:
    xrt = import_pyxrt()
    if xrt is None:
        from alveoflow.runtime.backends.alveo.xrt_api import INSTALL_HINT

        raise DeviceError(f"backend 'xrt' needs {INSTALL_HINT}")
    return xrt
