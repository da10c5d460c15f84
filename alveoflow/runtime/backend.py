"""The backend protocol and ``select_backend``.

A backend runs the *card part* of a build (``HostPlan.card_graph``):

- ``run(x)``: ``x`` is the packed card input, shape (N, *card input frame), in the card's
  storage dtype (``packing.storage_dtype``), N >= 1. Returns ``{card tensor name: array}``
  for every name in ``card_graph.outputs``, each (N, ...) in its storage dtype (top-k:
  uint32). Host stages (quantise, dequantise) are never a backend's business.
- ``name``: "sim", "cppsim", "alveo" or "emulated".
- ``max_batch``: the most frames one ``run`` accepts, or None when unbounded.
- ``close()``: release buffers, overlays, processes; idempotent.

Backends are not required to be thread-safe; ``AlveoModule`` holds a lock around each one.

Names: ``sim`` (bit-exact reference, CPU or CUDA), ``cppsim`` (the generated C++ compiled
with g++; imported lazily), ``alveo`` (a card through PYNQ/XRT), ``emulated`` (the same
host code on an emulated card that computes with ``sim``), ``auto`` (the card when one is
present, else ``sim``; logged).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any, Protocol, runtime_checkable

import numpy as np

from alveoflow.errors import ConfigError, DeviceError, close_matches
from alveoflow.runtime.backends.sim import SimBackend
from alveoflow.runtime.build import Build

log = logging.getLogger(__name__)

BACKEND_NAMES = ("auto", "sim", "cppsim", "alveo", "emulated")


@runtime_checkable
class Backend(Protocol):
    name: str
    max_batch: int | None

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]: ...

    def close(self) -> None: ...


def cppsim_factory() -> Any:
    """The cppsim backend class, imported lazily; a clear error when it is not available."""
    try:
        module = importlib.import_module("alveoflow.runtime.backends.cppsim.backend")
        return module.CppSimBackend
    except (ImportError, AttributeError) as err:
        raise ConfigError(
            f"the cppsim backend is not available in this installation ({err}); "
            f"use backend='sim' (bit-exact, same results) or see `alveoflow build --help`"
        ) from None


def available_backends(card_api: Any = None) -> dict[str, str]:
    """``{name: "available" | reason it is not}`` for every concrete backend."""
    from alveoflow.runtime.backends.alveo.pynq_api import probe_cards

    status = {"sim": "available", "emulated": "available"}
    try:
        cppsim_factory()
        status["cppsim"] = "available"
    except ConfigError as err:
        status["cppsim"] = str(err).split(";")[0]
    probe = probe_cards(card_api)
    status["alveo"] = "available" if probe.found else "no card: " + "; ".join(probe.looked_for)
    return status


def select_backend(
    name: str,
    build: Build,
    *,
    device_index: int = 0,
    card_api: Any = None,
    sim_device: str = "auto",
    buffers: int = 3,
) -> Backend:
    """A backend for ``build`` by name (see the module docstring)."""
    if name not in BACKEND_NAMES:
        raise ConfigError(
            f"unknown backend {name!r}{close_matches(name, BACKEND_NAMES)}; "
            f"choose one of {', '.join(BACKEND_NAMES)}"
        )
    if name == "auto":
        name = _auto_choice(build, card_api)
    if name == "sim":
        return SimBackend(build.plan.card_graph, device=sim_device)
    if name == "cppsim":
        return cppsim_factory()(build.dir, build.plan.card_graph)  # type: ignore[no-any-return]
    from alveoflow.runtime.backends.alveo.host import AlveoBackend

    if name == "emulated":
        from alveoflow.runtime.backends.alveo.emulated import EmulatedPynq

        card_api = card_api if card_api is not None else EmulatedPynq(build.dir)
    else:
        _require_card(card_api)
    return AlveoBackend(build, card_api, device_index=device_index, buffers=buffers)


def _auto_choice(build: Build, card_api: Any) -> str:
    from alveoflow.runtime.backends.alveo.pynq_api import probe_cards

    probe = probe_cards(card_api)
    if probe.found and build.manifest.card is not None:
        log.warning("alveoflow: backend 'auto' chose 'alveo' (card: %s)", probe.found[0])
        return "alveo"
    why = "no card found" if not probe.found else "the build has no linked bitstream (card)"
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
