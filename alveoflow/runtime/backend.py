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
generated C++ compiled with g++), ``alveo`` (a card through PYNQ), ``emulated`` (the same
PYNQ host code given an emulated device, whose kernel is the reference or, with
``kernel="cppsim"``, the generated C++). ``auto`` picks the card only when one is present and
the build was linked into an xclbin, else ``sim``, and logs which it chose.
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
    extra: dict[str, Any] = field(default_factory=dict)


Factory = Callable[[Build, BackendOptions], Backend]
_FACTORIES: dict[str, Factory] = {}
CARD_BACKENDS = ("alveo",)  # backends that need a real card (``auto`` prefers them)


def register_backend(name: str, factory: Factory) -> None:
    """Make ``factory`` the backend called ``name``."""
    if name == "auto":
        raise ConfigError("'auto' is not a backend name")
    _FACTORIES[name] = factory


def backend_names() -> tuple[str, ...]:
    return ("auto", *_FACTORIES)


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


def _alveo(build: Build, opts: BackendOptions) -> Backend:
    from alveoflow.runtime.backends.alveo.host import AlveoBackend

    _require_card(opts.card_api)
    return AlveoBackend(build, opts.card_api, device_index=opts.device_index, buffers=opts.buffers)


def _emulated(build: Build, opts: BackendOptions) -> Backend:
    from alveoflow.runtime.backends.alveo.emulated import EmulatedPynq
    from alveoflow.runtime.backends.alveo.host import AlveoBackend

    api = opts.card_api
    if api is None:
        api = EmulatedPynq(build.dir, cards=opts.device_index + 1, kernel=opts.kernel)
    return AlveoBackend(build, api, device_index=opts.device_index, buffers=opts.buffers)


for _name, _factory in (
    ("sim", _sim),
    ("cppsim", _cppsim),
    ("alveo", _alveo),
    ("emulated", _emulated),
):
    register_backend(_name, _factory)


def available_backends(card_api: Any = None) -> dict[str, str]:
    """``{name: "available" | reason it is not}`` for every registered backend."""
    from alveoflow.runtime.backends.alveo.pynq_api import probe_cards

    status = {name: "available" for name in _FACTORIES}
    if importlib.util.find_spec("alveoflow.runtime.backends.cppsim.backend") is None:
        status["cppsim"] = "not installed"
    probe = probe_cards(card_api)
    status["alveo"] = "available" if probe.found else "no card: " + "; ".join(probe.looked_for)
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
    return _FACTORIES[name](build, opts)


def _auto_choice(build: Build, card_api: Any) -> str:
    from alveoflow.runtime.backends.alveo.pynq_api import probe_cards

    card = build.manifest.card
    linked = card is not None and card.xclbin is not None
    probe = probe_cards(card_api) if linked else None
    if probe is not None and probe.found:
        log.warning("alveoflow: backend 'auto' chose 'alveo' (card: %s)", probe.found[0])
        return "alveo"
    why = "the build has no linked xclbin" if not linked else "no card found"
    log.warning("alveoflow: backend 'auto' chose 'sim' (%s)", why)
    return "sim"


def _require_card(card_api: Any) -> None:
    from alveoflow.runtime.backends.alveo.pynq_api import probe_cards

    probe = probe_cards(card_api)
    if probe.found:
        return
    others = {k: v for k, v in available_backends(card_api).items() if k != "alveo"}
    ready = ", ".join(k for k, v in others.items() if v == "available")
    raise DeviceError(
        "backend 'alveo' needs an Alveo card, and none was found. Looked for:\n"
        + "\n".join(f"  - {item}" for item in probe.looked_for)
        + f"\nAvailable backends: {ready} (use backend='sim' for bit-exact results without "
        "a card, or 'emulated' to exercise the card host path)"
    )
