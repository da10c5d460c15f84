"""``alveoflow.compile`` and ``to_alveo``: Brevitas module -> build directory -> ``AlveoModule``.

``compile(module, example_input, build_dir=None, backend="auto", platform="u250",
target_fps="max", **options)`` exports the module to QONNX (``alveoflow.export.to_qonnx``),
compiles it (``alveoflow.compiler.pipeline``) into a build directory and opens it with
``AlveoModule``. Builds are cached: the key is a SHA-256 of the module's class, every
parameter and buffer (name, dtype, shape, bytes), its ``config`` when it has one, the example
input's shape and dtype, the platform, the target and the options, plus the alveoflow
version. Without ``build_dir`` the build lives in ``cache_root()/builds/<class>-<key>``;
``cache_root()`` is ``$ALVEOFLOW_CACHE`` or ``~/.cache/alveoflow`` (the only place that reads
the variable). A directory whose ``.alveoflow-key`` file holds the same key is reused as is.
New builds are made in a temporary folder and renamed into place, so a crash never leaves a
half-written build that a later call would trust.

``to_alveo(model, **kw)`` is the same for ``alveoflow.qnn`` models; the example input comes
from ``model.config.input_shape``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from alveoflow.errors import ConfigError
from alveoflow.runtime.module import AlveoModule

log = logging.getLogger(__name__)

CACHE_ENV_VAR = "ALVEOFLOW_CACHE"
KEY_FILE = ".alveoflow-key"


def cache_root() -> Path:
    """``$ALVEOFLOW_CACHE`` or ``~/.cache/alveoflow``."""
    env = os.environ.get(CACHE_ENV_VAR, "")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "alveoflow"


def build_key(module: nn.Module, example_input: torch.Tensor, **settings: Any) -> str:
    """The cache key of a build (see the module docstring)."""
    from alveoflow import __version__

    h = hashlib.sha256()
    h.update(f"{__version__}|{type(module).__module__}.{type(module).__qualname__}".encode())
    config = getattr(module, "config", None)
    if config is not None and hasattr(config, "to_dict"):
        h.update(json.dumps(config.to_dict(), sort_keys=True, default=str).encode())
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"|{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    h.update(f"|input {tuple(example_input.shape)} {example_input.dtype}|".encode())
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return h.hexdigest()


def compile(  # noqa: A001 - the public name is alveoflow.compile
    module: nn.Module,
    example_input: torch.Tensor,
    build_dir: str | os.PathLike[str] | None = None,
    backend: str = "auto",
    platform: str = "u250",
    target_fps: str | float = "max",
    **options: Any,
) -> AlveoModule:
    """Export, compile and open ``module`` (see the module docstring)."""
    if not isinstance(example_input, torch.Tensor):
        raise ConfigError(f"example_input must be a torch.Tensor, got {type(example_input)}")
    settings = {"platform": platform, "target_fps": target_fps, **options}
    key = build_key(module, example_input, **settings)
    target = Path(build_dir) if build_dir is not None else _cached_dir(module, key)
    if _reusable(target, key):
        log.info("alveoflow: reusing build %s", target)
    else:
        _make_build(module, example_input, target, key, settings)
    return AlveoModule(target, backend)


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
    marker = folder / KEY_FILE
    return (
        marker.is_file()
        and marker.read_text().strip() == key
        and (folder / "manifest.json").is_file()
    )


def _make_build(
    module: nn.Module, example_input: torch.Tensor, target: Path, key: str, settings: dict[str, Any]
) -> None:
    from alveoflow.export import to_qonnx

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        onnx_path = tmp / "model.onnx"
        pixel = bool(getattr(getattr(module, "config", None), "pixel_input", False))
        to_qonnx(module, onnx_path, tuple(example_input.shape), "UINT8" if pixel else None)
        compile_qonnx(onnx_path, tmp, **settings)
        (tmp / KEY_FILE).write_text(key + "\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
        log.info("alveoflow: build written to %s", target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def compile_qonnx(onnx_path: Path, out_dir: Path, **settings: Any) -> None:
    """Run the compiler on a QONNX file into ``out_dir`` (graph, manifest).

    Uses ``alveoflow.compiler.pipeline.compile_build(onnx_path, out_dir, **settings)``."""
    try:
        from alveoflow.compiler.pipeline import compile_build
    except ImportError as err:
        raise ConfigError(
            f"the compiler is not available in this installation ({err}); "
            "compile elsewhere and use AlveoModule.load(BUILD_DIR)"
        ) from None
    compile_build(onnx_path, out_dir, **settings)
