"""The one place that touches ``pynq``: a small card API the host driver is written against.

``CardApi`` is the slice of PYNQ the host uses, in PYNQ's own terms:

- ``devices()``: the cards (objects with a ``name``), as ``pynq.Device.devices``;
- ``overlay(xclbin, device)``: ``pynq.Overlay(xclbin, device=device)``; the result exposes
  the compute unit and the memory banks as attributes (``ol.resnet50_1``, ``ol.bank0``,
  ``ol.PLRAM0``); a kernel has ``call(*args)`` and ``start(*args) -> handle.wait()``;
- ``allocate(shape, dtype, target)``: ``pynq.allocate(shape, dtype, target=bank)``; a buffer
  is an ndarray with ``sync_to_device()``, ``sync_from_device()`` (also on leading-axis
  slices) and ``freebuffer()``.

``PynqApi`` implements it with the real package (pynq 3.0.x, an optional extra imported only
here and only when used). ``emulated.EmulatedPynq`` implements it without hardware, so every
test runs the real host code. ``probe_cards(api)`` says whether a card is present and what
was looked for.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class CardApi(Protocol):
    def devices(self) -> list[Any]: ...

    def overlay(self, xclbin: Path, device: Any) -> Any: ...

    def allocate(self, shape: tuple[int, ...], dtype: Any, target: Any) -> Any: ...


class PynqApi:
    """``CardApi`` over the installed ``pynq`` package (imported on first use)."""

    def __init__(self) -> None:
        self._pynq: Any = None

    @property
    def pynq(self) -> Any:
        if self._pynq is None:
            self._pynq = importlib.import_module("pynq")
        return self._pynq

    def devices(self) -> list[Any]:
        return list(self.pynq.Device.devices)

    def overlay(self, xclbin: Path, device: Any) -> Any:
        return self.pynq.Overlay(str(xclbin), device=device)

    def allocate(self, shape: tuple[int, ...], dtype: Any, target: Any) -> Any:
        return self.pynq.allocate(shape, dtype, target=target)


@dataclass
class CardProbe:
    """The cards found (their names) and a line per thing that was looked for."""

    found: list[str] = field(default_factory=list)
    looked_for: list[str] = field(default_factory=list)


def probe_cards(api: Any = None) -> CardProbe:
    """Look for cards through ``api`` (default: the real ``pynq``), never raising."""
    probe = CardProbe()
    if api is None:
        if importlib.util.find_spec("pynq") is None:
            probe.looked_for.append(
                "the Python package 'pynq' (not installed; `pip install alveoflow[alveo]`, "
                "pynq 3.0.x, on a machine with XRT)"
            )
            return probe
        api = PynqApi()
    try:
        devices = api.devices()
    except Exception as err:  # noqa: BLE001 - any driver failure means "no usable card"
        probe.looked_for.append(f"XRT devices through pynq.Device.devices (failed: {err})")
        return probe
    probe.found = [str(getattr(d, "name", d)) for d in devices]
    if not probe.found:
        probe.looked_for.append(
            "XRT devices through pynq.Device.devices (none; check `xbutil examine` and that "
            "XRT's setup.sh was sourced)"
        )
    return probe


def pick_device(api: Any, index: int, platform: str | None) -> Any:
    """Card number ``index`` among those whose name contains ``platform`` (when given)."""
    from alveoflow.errors import DeviceError

    devices = api.devices()
    names = [str(getattr(d, "name", d)) for d in devices]
    if platform:
        devices = [d for d, n in zip(devices, names, strict=True) if platform in n]
    if not 0 <= index < len(devices):
        what = f"cards matching platform {platform!r}" if platform else "cards"
        raise DeviceError(
            f"card index {index} out of range: {len(devices)} {what} found (all: {names})"
        )
    return devices[index]
