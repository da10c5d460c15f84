"""The backend protocol, the registry of backend factories, and ``select_backend``.

A backend runs the *card part* of a build (``HostPlan.card_graph``):

- ``run(x)``: ``x`` is the packed card input, shape (N, *card input frame), in the card's
  storage dtype (``boundary.storage_dtype``), N >= 1. Returns ``{card tensor name: array}``
  for every name in ``card_graph.outputs``, each (N, ...) in its storage dtype (top-k:
  uint32). Host stages (quantise, dequantise) are never a backend's business.
- ``name``; ``max_batch``: the most frames one ``run`` accepts, or None when unbounded;
- ``close()``: release buffers, overlays, processes; idempotent.

Backends are not required to be thread-safe; ``AlveoModule`` holds a lock around each one.

Every backend registers a factory ``(build, options) -> Backend`` under its name
(``register_backend``): ``sim`` (the bit-exact reference, CPU or CUDA), ``cppsim`` (the
generated C++ compiled with g++), ``xrt`` (a card through XRT's own Python bindings,
``pyxrt``), ``alveo`` (a card through PYNQ), ``emulated`` and ``emulated-xrt`` (the PYNQ and
the XRT host code given an emulated card, whose kernel is the reference or, with
``kernel="cppsim"``, the generated C++), ``rtlsim`` (the generated RTL under Verilator,
``backends/rtlsim``). A name in ``KNOWN_LATER`` whose backend is not registered is refused
with a clear error.

``auto`` picks a card only when the build was linked into an xclbin and a card is present:
``xrt`` when ``pyxrt`` imports and sees one, else ``alveo`` when PYNQ sees one, else ``sim``;
it logs which it chose and why. A ``card_api`` given in the options decides the family:
an object playing the ``pyxrt`` module means ``xrt``, anything else PYNQ.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from alveoflow.errors import ConfigError, DeviceError, close_matches
from alveoflow.runtime.build import Build

log = logging.getLogger(__name__)


@runtime_checkable
class Backend(Protocol):
    name: str
    max_batch: int | None

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class BackendOptions:
    """What a factory may use besides the build."""

    device_index: int = 0
    card_api: Any = None
    sim_device: str = "auto"
    buffers: int = 3
    kernel: str = "sim"  # the emulated card's kernel: "sim" or "cppsim"
    cards: int = 1  # how many cards the module opens (an emulator made here has as many)
    extra: dict[str, Any] = field(default_factory=dict)


Factory = Callable[[Build, BackendOptions], Backend]
_FACTORIES: dict[str, Factory] = {}
CARD_BACKENDS = ("xrt", "alveo")  # backends that need a real card (``auto`` prefers them)
KNOWN_LATER = {"rtlsim": "the RTL simulation backend (Verilator) is not installed yet"}


def register_backend(name: str, factory: Factory) -> None:
    """Make ``factory`` the backend called ``name``."""
    if name == "auto":
        raise ConfigError("'auto' is not a backend name")
    _FACTORIES[name] = factory


def backend_names() -> tuple[str, ...]:
    return ("auto", *_FACTORIES, *(n for n in KNOWN_LATER if n not in _FACTORIES))


def _sim(build: Build, opts: BackendOptions) -> Backend:
    from alveoflow.runtime.backends.sim import SimBackend

    return SimBackend(build.plan.card_graph, device=opts.sim_device)


def _cppsim(build: Build, opts: BackendOptions) -> Backend:
    try:
        module = importlib.import_module("alveoflow.runtime.backends.cppsim.backend")
    except ImportError as err:
        raise ConfigError(
            f"the cppsim backend is not available in this installation ({err}); "
            "use backend='sim' (bit-exact, same results)"
        ) from None
    return module.CppSimBackend(build.dir, build.plan.card_graph, **opts.extra)  # type: ignore[no-any-return]


def _rtlsim(build: Build, opts: BackendOptions) -> Backend:
    from alveoflow.runtime.backends.rtlsim.backend import RtlSimBackend

    return RtlSimBackend(build.dir, build.plan.card_graph, **opts.extra)


def _alveo(build: Build, opts: BackendOptions) -> Backend:
    from alveoflow.runtime.backends.alveo.host import AlveoBackend

    _require_card(opts.card_api)
    return AlveoBackend(build, opts.card_api, device_index=opts.device_index, buffers=opts.buffers)


def _emulated(build: Build, opts: BackendOptions) -> Backend:
    from alveoflow.runtime.backends.alveo.emulated import EmulatedPynq
    from alveoflow.runtime.backends.alveo.host import AlveoBackend

    api = opts.card_api
    if api is None:
        cards = max(opts.cards, opts.device_index + 1)
        api = EmulatedPynq(build.dir, cards=cards, kernel=opts.kernel)
    return AlveoBackend(build, api, device_index=opts.device_index, buffers=opts.buffers)


def _xrt(build: Build, opts: BackendOptions) -> Backend:
    from alveoflow.runtime.backends.alveo.xrt_api import probe_xrt
    from alveoflow.runtime.backends.alveo.xrt_host import XrtBackend

    probe = probe_xrt(opts.card_api)
    if not probe.found:
        raise DeviceError(_no_card_message("xrt", probe.looked_for, opts.card_api))
    return XrtBackend(build, opts.card_api, device_index=opts.device_index, buffers=opts.buffers)


def _emulated_xrt(build: Build, opts: BackendOptions) -> Backend:
    from alveoflow.runtime.backends.alveo.emulated_xrt import EmulatedPyxrt
    from alveoflow.runtime.backends.alveo.xrt_host import XrtBackend

    api = opts.card_api
    if api is None:
        cards = max(opts.cards, opts.device_index + 1)
        api = EmulatedPyxrt(build.dir, cards=cards, kernel=opts.kernel)
    return XrtBackend(build, api, device_index=opts.device_index, buffers=opts.buffers)


for _name, _factory in (
    ("sim", _sim),
    ("cppsim", _cppsim),
    ("rtlsim", _rtlsim),
    ("xrt", _xrt),
    ("alveo", _alveo),
    ("emulated", _emulated),
    ("emulated-xrt", _emulated_xrt),
):
    register_backend(_name, _factory)


def available_backends(card_api: Any = None) -> dict[str, str]:
    """``{name: "available" | reason it is not}`` for every registered backend."""
    from alveoflow.runtime.backends.alveo.pynq_api import probe_cards
    from alveoflow.runtime.backends.alveo.xrt_api import is_xrt_api, probe_xrt

    status = {name: "available" for name in _FACTORIES}
    status.update({n: why for n, why in KNOWN_LATER.items() if n not in _FACTORIES})
    if importlib.util.find_spec("alveoflow.runtime.backends.cppsim.backend") is None:
        status["cppsim"] = "not installed"
    xrt_api = card_api if is_xrt_api(card_api) else None
    pynq_api = None if is_xrt_api(card_api) else card_api
    for name, probe in (("xrt", probe_xrt(xrt_api)), ("alveo", probe_cards(pynq_api))):
        status[name] = "available" if probe.found else "no card: " + "; ".join(probe.looked_for)
    return status


def select_backend(name: str, build: Build, options: BackendOptions | None = None) -> Backend:
    """A backend for ``build`` by name (see the module docstring)."""
    opts = options or BackendOptions()
    names = backend_names()
    if name not in names:
        raise ConfigError(
            f"unknown backend {name!r}{close_matches(name, names)}; "
            f"choose one of {', '.join(names)}"
        )
    if name == "auto":
        name = _auto_choice(build, opts.card_api)
    if name not in _FACTORIES:
        raise ConfigError(
            f"backend {name!r} is not available: {KNOWN_LATER[name]}; use 'sim' (bit-exact) "
            "or 'cppsim'"
        )
    return _FACTORIES[name](build, opts)


def _auto_choice(build: Build, card_api: Any) -> str:
    from alveoflow.runtime.backends.alveo.pynq_api import probe_cards
    from alveoflow.runtime.backends.alveo.xrt_api import is_xrt_api, probe_xrt

    card = build.manifest.card
    if card is None or card.xclbin is None:
        log.warning("alveoflow: backend 'auto' chose 'sim' (the build has no linked xclbin)")
        return "sim"
    families = [("xrt", probe_xrt), ("alveo", probe_cards)]
    if card_api is not None:
        families = [families[0] if is_xrt_api(card_api) else families[1]]
    looked: list[str] = []
    for name, probe_fn in families:
        probe = probe_fn(card_api)
        if probe.found:
            via = "pyxrt" if name == "xrt" else "PYNQ"
            log.warning(
                "alveoflow: backend 'auto' chose '%s' (%s, card: %s)", name, via, probe.found[0]
            )
            return name
        looked += probe.looked_for
    log.warning("alveoflow: backend 'auto' chose 'sim' (no card found: %s)", "; ".join(looked))
    return "sim"


def _require_card(card_api: Any) -> None:
    from alveoflow.runtime.backends.alveo.pynq_api import probe_cards

    probe = probe_cards(card_api)
    if not probe.found:
        raise DeviceError(_no_card_message("alveo", probe.looked_for, card_api))


def _no_card_message(name: str, looked_for: list[str], card_api: Any) -> str:
    others = {k: v for k, v in available_backends(card_api).items() if k not in CARD_BACKENDS}
    ready = ", ".join(k for k, v in others.items() if v == "available")
    return (
        f"backend {name!r} needs an Alveo card, and none was found. Looked for:\n"
        + "\n".join(f"  - {item}" for item in looked_for)
        + f"\nAvailable backends: {ready} (use backend='sim' for bit-exact results without "
        "a card, or 'emulated' / 'emulated-xrt' to exercise the card host path)"
    )
