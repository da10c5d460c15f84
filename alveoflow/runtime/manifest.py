"""Validated loading of a build directory's ``manifest.json``.

The runtime trusts nothing it reads: ``load_manifest(build_dir)`` checks every field it relies
on and raises ``ConfigError`` naming the file, the field and what to do (usually: recompile).

Fields the runtime relies on (written by ``alveoflow compile`` / the hardware build)::

    {
      "format": 1,
      "input":   {"name": str, "shape": [1, ...], "dtype": "float32" | "uint8",
                  "layout": "NCHW" | "NHWC" | "NC"},
      "outputs": [{"name": str, "shape": [1, ...], "dtype": str,
                   "kind": "logits" | "topk"}, ...],
      "nodes":   [...],            # per-node report; not read by the runtime
      "hashes":  {str: str},       # e.g. {"graph": sha256, "weights": sha256}
      "card": {                    # optional: present once a bitstream was linked
        "xclbin": "resnet50.xclbin",      # path, relative to the build directory
        "kernel": "resnet50_1",           # overlay attribute of the compute unit
        "banks": {"input": "bank0", "output": "bank0", "fc_weights": "PLRAM0"},
        "fc_weights_file": "fc_weights.npy",  # int8 (classes, features) or null
        "max_batch": 1000,                # frames the card buffers are sized for
        "args": ["input", "topk", "logits", "fc_weights", "batch"],  # optional
        "platform": "xilinx_u250"         # optional: substring of the card's name
      }
    }

``card.args`` is the kernel's argument order; each entry is a buffer role (``input``,
``topk``, ``logits``, ``fc_weights``) or ``batch`` (the frame count, an int). Without it the
default ``DEFAULT_ARGS`` order is used, keeping only the roles the build has. The ``output``
bank holds both the top-k and logits buffers unless ``topk``/``logits`` banks are given.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alveoflow.errors import ConfigError, close_matches

MANIFEST_FORMAT = 1
INPUT_DTYPES = ("float32", "uint8")
INPUT_LAYOUTS = ("NCHW", "NHWC", "NC")
OUTPUT_KINDS = ("logits", "topk")
BUFFER_ROLES = ("input", "topk", "logits", "fc_weights")
DEFAULT_ARGS = ("input", "topk", "logits", "fc_weights", "batch")
CARD_KEYS = ("xclbin", "kernel", "banks", "fc_weights_file", "max_batch", "args", "platform")


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output as the manifest declares it (shape has batch 1 first)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    layout: str = ""
    kind: str = ""


@dataclass(frozen=True)
class CardSpec:
    """Where the linked bitstream expects its buffers (see the module docstring)."""

    xclbin: Path
    kernel: str
    banks: Mapping[str, str]
    fc_weights_file: Path | None
    max_batch: int
    args: tuple[str, ...] | None
    platform: str | None

    def bank(self, role: str) -> str:
        """The memory bank of buffer ``role`` (``output`` covers ``topk`` and ``logits``)."""
        if role in self.banks:
            return self.banks[role]
        if role in ("topk", "logits") and "output" in self.banks:
            return self.banks["output"]
        raise ConfigError(f"manifest card.banks has no entry for the {role!r} buffer")


@dataclass(frozen=True)
class Manifest:
    """The validated content of ``manifest.json``."""

    path: Path
    input: TensorSpec
    outputs: tuple[TensorSpec, ...]
    hashes: Mapping[str, str]
    card: CardSpec | None
    raw: Mapping[str, Any]

    @property
    def build_dir(self) -> Path:
        return self.path.parent

    def output(self, kind: str) -> TensorSpec | None:
        return next((o for o in self.outputs if o.kind == kind), None)


def load_manifest(build_dir: str | os.PathLike[str]) -> Manifest:
    """Read and validate ``build_dir/manifest.json``."""
    path = Path(build_dir) / "manifest.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"{path} not found: is {build_dir} a build directory? "
            "Create one with `alveoflow compile MODEL.onnx --out BUILD_DIR`"
        ) from None
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read {path}: {err}; recompile the build") from None
    return parse_manifest(data, path)


def parse_manifest(data: Any, path: Path) -> Manifest:
    """Validate an already-decoded manifest (``path`` is only used in messages)."""
    where = str(path)
    _need(isinstance(data, dict), where, "top level must be a JSON object")
    _need(
        data.get("format") == MANIFEST_FORMAT,
        where,
        f"format is {data.get('format')!r}, this runtime reads {MANIFEST_FORMAT}; recompile",
    )
    inp = _tensor(_field(data, "input", dict, where), f"{where}: input", is_input=True)
    outs = _field(data, "outputs", list, where)
    _need(len(outs) > 0, where, "outputs is empty")
    outputs = tuple(_tensor(o, f"{where}: outputs[{i}]", False) for i, o in enumerate(outs))
    hashes = data.get("hashes", {})
    _need(isinstance(hashes, dict), where, "hashes must be an object")
    card = _card(data["card"], path) if data.get("card") is not None else None
    return Manifest(path, inp, outputs, dict(hashes), card, data)


def _need(cond: bool, where: str, msg: str) -> None:
    if not cond:
        raise ConfigError(f"{where}: {msg}")


def _field(data: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in data:
        raise ConfigError(f"{where}: missing field {key!r}{close_matches(key, data)}")
    value = data[key]
    _need(isinstance(value, kind), where, f"{key} must be a {kind.__name__}, got {value!r}")
    return value


def _tensor(d: Any, where: str, is_input: bool) -> TensorSpec:
    _need(isinstance(d, dict), where, "must be an object")
    name = _field(d, "name", str, where)
    shape = _field(d, "shape", list, where)
    _need(
        len(shape) >= 2 and all(isinstance(s, int) and s > 0 for s in shape),
        where,
        f"shape must be a list of >= 2 positive ints (batch first), got {shape}",
    )
    dtype = _field(d, "dtype", str, where)
    if is_input:
        _need(dtype in INPUT_DTYPES, where, f"dtype {dtype!r} not one of {INPUT_DTYPES}")
        layout = _field(d, "layout", str, where)
        _need(layout in INPUT_LAYOUTS, where, f"layout {layout!r} not one of {INPUT_LAYOUTS}")
        return TensorSpec(name, tuple(shape), dtype, layout=layout)
    kind = _field(d, "kind", str, where)
    _need(kind in OUTPUT_KINDS, where, f"kind {kind!r} not one of {OUTPUT_KINDS}")
    return TensorSpec(name, tuple(shape), dtype, kind=kind)


def _card(d: Any, path: Path) -> CardSpec:
    where = f"{path}: card"
    _need(isinstance(d, dict), where, "must be an object")
    unknown = sorted(set(d) - set(CARD_KEYS))
    _need(not unknown, where, f"unknown keys {unknown}; known: {list(CARD_KEYS)}")
    banks = _field(d, "banks", dict, where)
    for role in banks:
        _need(
            role in (*BUFFER_ROLES, "output"),
            where,
            f"banks: unknown buffer {role!r}{close_matches(role, BUFFER_ROLES)}",
        )
    max_batch = _field(d, "max_batch", int, where)
    _need(max_batch >= 1, where, f"max_batch must be >= 1, got {max_batch}")
    args = d.get("args")
    if args is not None:
        _need(isinstance(args, list), where, "args must be a list")
        bad = [a for a in args if a not in (*BUFFER_ROLES, "batch")]
        _need(not bad, where, f"args: unknown entries {bad}")
    fc = d.get("fc_weights_file")
    _need(fc is None or isinstance(fc, str), where, "fc_weights_file must be a string or null")
    platform = d.get("platform")
    _need(platform is None or isinstance(platform, str), where, "platform must be a string")
    return CardSpec(
        xclbin=path.parent / _field(d, "xclbin", str, where),
        kernel=_field(d, "kernel", str, where),
        banks=dict(banks),
        fc_weights_file=path.parent / fc if fc else None,
        max_batch=max_batch,
        args=tuple(args) if args is not None else None,
        platform=platform,
    )
