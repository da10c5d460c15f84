"""``alveoflow.compile`` and ``to_alveo``: Brevitas module -> build directory -> ``AlveoModule``.

This is the one module that joins the three layers (``export`` -> ``compiler`` ->
``runtime``); the runtime itself only reads build directories.

``compile(module, example_input, build_dir=None, backend="auto", **settings)`` exports the
module to QONNX (``alveoflow.export.to_qonnx``), builds it (``compiler.pipeline.build`` with
a ``BuildConfig`` made of ``settings``: ``platform``, ``target_fps``, ``clock_mhz``,
``input_quant``, ...) into a build directory and opens it with ``AlveoModule``. Builds are
cached: the key is a SHA-256 of the module's class, every parameter and buffer (name,
dtype, shape, bytes), its ``config`` when it has one, the example input's shape and dtype,
the settings, and the alveoflow version. Without ``build_dir`` the build lives in
``cache_root()/builds/<class>-<key>``. A build whose manifest records the same key is reused
as it is. The build directory is written by ``compiler.buildfmt.BuildWriter``: a folder
holding files alveoflow did not write is refused, never emptied.

``to_alveo(model, **kw)`` is the same for ``alveoflow.qnn`` models; the example input comes
from ``model.config.input_shape``. ``round_input=True`` opens the module rounding input that is
off its grid (pixels that are not whole numbers, input off a declared ``input_quant`` grid)
instead of refusing it (``AlveoModule``).

Calibration check: after a build, the float64 QONNX graph is run on one seeded random batch and
the quantizer outputs that land exactly on a rounding tie are counted
(``runtime.verify.count_ties``; recorded in the manifest as ``calibration``). Many ties mean
the scales were never calibrated (e.g. a fresh ``QuantResNet50()``): a ``CalibrationWarning``
says so, on every ``compile``/``to_alveo`` of that build, with what to do.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from alveoflow.compiler.buildfmt import MANIFEST, update_manifest
from alveoflow.compiler.config import BuildConfig
from alveoflow.errors import ConfigError
from alveoflow.paths import cache_root
from alveoflow.runtime.module import AlveoModule
from alveoflow.runtime.verify import CalibrationWarning, count_ties, looks_uncalibrated

log = logging.getLogger(__name__)
KEY_FIELD = "cache_key"
CALIBRATION_FIELD = "calibration"
CHECK_FRAMES = 1  # frames of the random batch the calibration check runs


def build_key(module: nn.Module, example_input: torch.Tensor, config: BuildConfig) -> str:
    """The cache key of a build (see the module docstring)."""
    from alveoflow import __version__

    h = hashlib.sha256()
    h.update(f"{__version__}|{type(module).__module__}.{type(module).__qualname__}".encode())
    model_config = getattr(module, "config", None)
    if model_config is not None and hasattr(model_config, "to_dict"):
        h.update(json.dumps(model_config.to_dict(), sort_keys=True, default=str).encode())
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"|{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    h.update(f"|input {tuple(example_input.shape)} {example_input.dtype}|".encode())
    h.update(json.dumps(config.to_dict(), sort_keys=True, default=str).encode())
    return h.hexdigest()


def compile(  # noqa: A001 - the public name is alveoflow.compile
    module: nn.Module,
    example_input: torch.Tensor,
    build_dir: str | os.PathLike[str] | None = None,
    backend: str = "auto",
    round_input: bool = False,
    **settings: Any,
) -> AlveoModule:
    """Export, build and open ``module`` (see the module docstring)."""
    if not isinstance(example_input, torch.Tensor):
        raise ConfigError(f"example_input must be a torch.Tensor, got {type(example_input)}")
    config = BuildConfig.from_mapping(settings)
    key = build_key(module, example_input, config)
    target = Path(build_dir) if build_dir is not None else _cached_dir(module, key)
    if _reusable(target, key):
        log.info("alveoflow: reusing build %s", target)
    else:
        _make_build(module, example_input, target, key, config)
    _warn_if_uncalibrated(target, type(module).__name__)
    return AlveoModule(target, backend, round_input=round_input)


def to_alveo(model: nn.Module, backend: str = "auto", **kw: Any) -> AlveoModule:
    """``model.to_alveo(...)`` for ``alveoflow.qnn`` models (input shape from the config)."""
    config = getattr(model, "config", None)
    shape = getattr(config, "input_shape", None)
    if shape is None:
        raise ConfigError(
            f"{type(model).__name__} has no config.input_shape; use "
            "alveoflow.compile(model, example_input) instead"
        )
    return compile(model, torch.zeros(tuple(shape)), backend=backend, **kw)


def _cached_dir(module: nn.Module, key: str) -> Path:
    return cache_root() / "builds" / f"{type(module).__name__.lower()}-{key[:16]}"


def _reusable(folder: Path, key: str) -> bool:
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get(KEY_FIELD) == key


def _make_build(
    module: nn.Module, example_input: torch.Tensor, target: Path, key: str, config: BuildConfig
) -> None:
    from alveoflow.compiler.pipeline import build
    from alveoflow.export import to_qonnx

    pixel = bool(getattr(getattr(module, "config", None), "pixel_input", False))
    with tempfile.TemporaryDirectory(prefix="alveoflow-export-") as tmp:
        onnx_path = Path(tmp) / "model.onnx"
        to_qonnx(module, onnx_path, tuple(example_input.shape), "UINT8" if pixel else None)
        result = build(onnx_path, config, target)
    changes: dict[str, Any] = {KEY_FIELD: key}
    source = getattr(result, "source", None)
    if source is not None:
        changes[CALIBRATION_FIELD] = _tie_check(source, tuple(example_input.shape), pixel)
    update_manifest(target, changes)
    log.info("alveoflow: build written to %s", target)


def _tie_check(source: Any, shape: tuple[int, ...], pixel: bool) -> dict[str, Any]:
    """Quantizer outputs on a rounding tie in the float64 graph, on one seeded random batch."""
    rng = np.random.default_rng(0)
    frame = (CHECK_FRAMES, *shape[1:])
    x = rng.integers(0, 256, frame).astype(np.float32) if pixel else rng.standard_normal(frame)
    on_tie, total = count_ties(source, x.astype(np.float32))
    return {"ties": on_tie, "elements": total, "frames": CHECK_FRAMES, "input": "random"}


def _warn_if_uncalibrated(target: Path, name: str) -> None:
    try:
        data = json.loads((target / MANIFEST).read_text()).get(CALIBRATION_FIELD) or {}
        on_tie, total = int(data.get("ties", 0)), int(data.get("elements", 0))
    except (OSError, ValueError, AttributeError, TypeError):
        return
    if looks_uncalibrated(on_tie, total):
        warnings.warn(
            f"{name}: {on_tie} of {total} quantizer outputs ({100 * on_tie / total:.2f}%) sit "
            "exactly on a rounding tie on a random batch: the scales look uncalibrated (fresh "
            "BatchNorm / default scales). Its outputs are arbitrary and any two exact "
            "evaluations may round ties differently; calibrate or train it first "
            "(alveoflow.qnn.calibrate_bn, `alveoflow train`), then check the build with "
            "`alveoflow verify`",
            CalibrationWarning,
            stacklevel=_user_stacklevel(),
        )


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside alveoflow."""
    package = str(Path(__file__).resolve().parent)
    frame, level = sys._getframe(1), 1
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(package):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level
