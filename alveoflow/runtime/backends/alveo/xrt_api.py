"""The one place that imports ``pyxrt``, XRT's own Python bindings, and probes for cards.

The ``xrt`` backend (``xrt_host``) is written against the ``pyxrt`` module's documented API
(XRT 2.14 and later; the bindings ship with XRT itself, ``/opt/xilinx/xrt/python`` after
``source /opt/xilinx/xrt/setup.sh``, or Debian's ``python3-xrt``; they are not on PyPI):

- ``enumerate_devices() -> int``; ``device(index)`` with ``get_info(xrt_info_device.name)``;
- ``xclbin(path)``; ``device.register_xclbin(xclbin) -> uuid`` and ``hw_context(device,
  uuid)`` (older XRT: ``device.load_xclbin(xclbin) -> uuid``);
- ``kernel(context, "kernel:{cu}")`` (older: ``kernel(device, uuid, name,
  kernel.cu_access_mode.shared)``); ``kernel.group_id(arg) -> memory bank index``;
  ``kernel(*args) -> run`` started, ``run.wait() -> ert_cmd_state``;
- ``bo(device, nbytes, bo.normal, group)`` with ``write(buffer, offset)``,
  ``sync(xclBOSyncDirection.XCL_BO_SYNC_BO_TO_DEVICE | ..._FROM_DEVICE, nbytes, offset)`` and
  ``read(nbytes, offset) -> int8 array``.

``import_pyxrt()`` returns the module or None; ``probe_xrt(module)`` says which cards it
sees (never raising), like ``pynq_api.probe_cards``. ``emulated_xrt.EmulatedPyxrt`` plays
the same module without hardware.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from alveoflow.errors import DeviceError
from alveoflow.runtime.backends.alveo.pynq_api import CardProbe

INSTALL_HINT = (
    "the Python module 'pyxrt' (not importable; it ships with XRT: "
    "`source /opt/xilinx/xrt/setup.sh`, or install Debian's python3-xrt)"
)


def import_pyxrt() -> Any:
    """The ``pyxrt`` module, or None when it cannot be imported."""
    if importlib.util.find_spec("pyxrt") is None:
        return None
    try:
        return importlib.import_module("pyxrt")
    except ImportError:  # a pyxrt built for another Python or missing libxrt
        return None


def is_xrt_api(api: Any) -> bool:
    """True when ``api`` looks like the ``pyxrt`` module (real or emulated)."""
    return all(hasattr(api, name) for name in ("device", "bo", "kernel", "xclbin"))


def device_count(xrt: Any) -> int:
    """How many devices XRT sees (``enumerate_devices``, else opening indices in turn)."""
    if hasattr(xrt, "enumerate_devices"):
        return int(xrt.enumerate_devices())
    count = 0
    while True:
        try:
            xrt.device(count)
        except Exception:  # noqa: BLE001 - pyxrt raises RuntimeError past the last device
            return count
        count += 1


def device_name(xrt: Any, device: Any) -> str:
    try:
        return str(device.get_info(xrt.xrt_info_device.name))
    except Exception:  # noqa: BLE001 - a name is only used for messages and matching
        return "unknown XRT device"


def probe_xrt(xrt: Any = None) -> CardProbe:
    """The cards ``xrt`` (default: the real ``pyxrt``) sees, never raising."""
    probe = CardProbe()
    if xrt is None:
        xrt = import_pyxrt()
        if xrt is None:
            probe.looked_for.append(INSTALL_HINT)
            return probe
    try:
        count = device_count(xrt)
        probe.found = [device_name(xrt, xrt.device(i)) for i in range(count)]
    except Exception as err:  # noqa: BLE001 - any driver failure means "no usable card"
        probe.looked_for.append(f"XRT devices through pyxrt (failed: {err})")
        return probe
    if not probe.found:
        probe.looked_for.append(
            "XRT devices through pyxrt.enumerate_devices() (none; check `xbutil examine`)"
        )
    return probe


def open_device(xrt: Any, index: int, platform: str | None) -> tuple[Any, str]:
    """Card number ``index`` among those whose name contains ``platform`` (when given)."""
    count = device_count(xrt)
    names = [device_name(xrt, xrt.device(i)) for i in range(count)]
    matching = [i for i, n in enumerate(names) if not platform or platform in n]
    if not 0 <= index < len(matching):
        what = f"cards matching platform {platform!r}" if platform else "cards"
        raise DeviceError(
            f"card index {index} out of range: {len(matching)} {what} found (all: {names})"
        )
    chosen = matching[index]
    return xrt.device(chosen), names[chosen]
