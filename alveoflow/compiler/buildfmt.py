"""The build directory: one format, written and read by this module only.

Both sides use it: the compiler writes a build (``BuildWriter``), the runtime opens one
(``read_manifest``, ``verified``, ``load_build_graph``). Format 2::

    manifest.json  {"format": 2, "alveoflow_version", "model": {"name", "metadata"},
                    "config": BuildConfig.to_dict(),
                    "input": {"name", "shape", "dtype": "float32" | "uint8" | "int8" ...,
                              "layout": "NCHW" | "NHWC" | "NC"},
                    "outputs": [{"name", "shape", "dtype", "kind": "logits" | "topk"}],
                    "nodes": [per-node summary], "hashes": {"source": sha256 of the model},
                    "files": {relative path: sha256 of every file the build owns},
                    "card": {"kernel", "kernel_args": [Design.kernel_args in call order],
                             "kernel_xml", "fc_weights_file", "max_batch", "platform",
                             "xclbin": null until `alveoflow build` linked one}}
    graph.json, graph.npz       the lowered graph
    fc_weights.npy              int8 (classes, features) when the FC weights live on the card
    ...                         reports, generated sources, scripts (all listed in "files")

Writing (``BuildWriter``): under an exclusive lock (``.<name>.lock`` next to the folder), a
stage folder ``.<name>.stage-<pid>-<token>`` next to the target is filled and then moved in
file by file, ``manifest.json`` last, so a reader never sees a new graph with an old
manifest. Files of the previous build that the new one lacks are removed; nothing else is
touched. A non-empty folder that is not a build is refused. Stage folders left by a killed
writer (their process is gone) are removed on the next write. Folders and files follow the
umask, like any other file the user creates.

Reading: ``read_manifest`` validates every field the runtime relies on and raises
``ConfigError`` naming the file, the field and what to do. ``verified(manifest, rel)``
checks a file's SHA-256 against the manifest before it is used, so a graph or FC weights file
from another build is refused.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import secrets
import shutil
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alveoflow.compiler.ir import Graph
from alveoflow.compiler.ir.serialize import graph_from_files, graph_to_files
from alveoflow.errors import ConfigError, GraphError, close_matches

FORMAT = 2
MANIFEST = "manifest.json"
GRAPH_FILES = ("graph.json", "graph.npz")
INPUT_LAYOUTS = ("NCHW", "NHWC", "NC")
OUTPUT_KINDS = ("logits", "topk")
ARG_ROLES = ("input", "topk", "logits", "fc_weights", "batch")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- writing ------------------------------------------------------------------------------------


def is_build(folder: Path) -> bool:
    """True when ``folder`` holds an alveoflow build (a manifest with a format field)."""
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "format" in data and "outputs" in data


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_stages(target: Path) -> list[Path]:
    """Remove stage folders of ``target`` whose writer process is gone; returns them."""
    removed: list[Path] = []
    prefix = f".{target.name}.stage-"
    if not target.parent.is_dir():
        return removed
    for entry in target.parent.iterdir():
        if not (entry.name.startswith(prefix) and entry.is_dir()):
            continue
        pid_text = entry.name[len(prefix) :].split("-", 1)[0]
        if pid_text.isdigit() and not _pid_alive(int(pid_text)):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


@contextlib.contextmanager
def build_lock(target: Path) -> Iterator[None]:
    """An exclusive lock on ``target`` for the duration of one write (blocks until free)."""
    lock = target.parent / f".{target.name}.lock"
    try:
        fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o666)
    except OSError as err:
        raise ConfigError(f"cannot write a build next to {target}: {err.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def check_writable_target(target: Path) -> None:
    """Refuse a target that is a file, or a non-empty folder that is not a build."""
    if target.exists() and not target.is_dir():
        raise ConfigError(f"{target} exists and is not a folder; choose another build folder")
    if target.is_dir() and any(target.iterdir()) and not is_build(target):
        shown = ", ".join(sorted(p.name for p in target.iterdir())[:5])
        raise ConfigError(
            f"refusing to write a build into {target}: it holds files alveoflow did not write "
            f"({shown}); choose an empty or new folder"
        )


class BuildWriter:
    """Writes one build directory atomically (see the module docstring)::

    with BuildWriter(target) as w:
        w.put_graph(graph)
        w.put("report.json", text)
        w.commit(manifest)
    """

    def __init__(self, target: str | os.PathLike[str]) -> None:
        self.target = Path(target)
        self.stage = self.target.parent / (
            f".{self.target.name}.stage-{os.getpid()}-{secrets.token_hex(4)}"
        )
        self._files: dict[str, str] = {}
        self._lock: contextlib.ExitStack | None = None
        self.committed = False

    def __enter__(self) -> BuildWriter:
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(f"cannot create {self.target.parent}: {err.strerror}") from None
        stack = contextlib.ExitStack()
        stack.enter_context(build_lock(self.target))
        self._lock = stack
        try:
            check_writable_target(self.target)
            clean_stale_stages(self.target)
            self.stage.mkdir()
        except BaseException:
            stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.stage, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()

    # -- filling the stage ------------------------------------------------------------------
    def put(self, rel: str, data: str | bytes) -> None:
        """Stage file ``rel`` (relative, forward slashes) with ``data``."""
        blob = data.encode() if isinstance(data, str) else bytes(data)
        path = self.stage / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
        self._files[rel] = sha256_bytes(blob)

    def put_json(self, rel: str, value: Any) -> None:
        self.put(rel, json.dumps(value, indent=1) + "\n")

    def put_npy(self, rel: str, array: np.ndarray) -> None:
        buf = io.BytesIO()
        np.save(buf, np.asarray(array), allow_pickle=False)
        self.put(rel, buf.getvalue())

    def put_graph(self, graph: Graph, stem: str = "graph") -> None:
        text, npz = graph_to_files(graph)
        self.put(f"{stem}.npz", npz)
        self.put(f"{stem}.json", text)

    def put_tree(self, files: Mapping[str, str | bytes]) -> None:
        for rel in sorted(files):
            self.put(rel, files[rel])

    @property
    def files(self) -> dict[str, str]:
        """Relative path -> SHA-256 of every staged file."""
        return dict(self._files)

    # -- committing -------------------------------------------------------------------------
    def commit(self, manifest: Mapping[str, Any]) -> Path:
        """Move the staged files into the target, manifest last; returns the target."""
        old = _owned_files(self.target)
        data = dict(manifest)
        data["format"] = FORMAT
        data["files"] = dict(sorted(self._files.items()))
        text = json.dumps(data, indent=1) + "\n"
        try:
            self.target.mkdir(exist_ok=True)
            self._move_staged()
            for rel in sorted(old - set(self._files)):
                with contextlib.suppress(FileNotFoundError):
                    (self.target / rel).unlink()
            tmp = self.target / f".{MANIFEST}.{os.getpid()}.tmp"
            tmp.write_text(text)
            os.replace(tmp, self.target / MANIFEST)
        except OSError as err:
            raise ConfigError(f"cannot write the build into {self.target}: {err}") from None
        self.committed = True
        return self.target

    def _move_staged(self) -> None:
        for rel in sorted(self._files):
            dest = self.target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.stage / rel, dest)


def _owned_files(target: Path) -> set[str]:
    """The files the build in ``target`` owns (its manifest's list), or none."""
    try:
        data = json.loads((target / MANIFEST).read_text())
    except (OSError, ValueError):
        return set()
    files = data.get("files", {}) if isinstance(data, dict) else {}
    return {str(k) for k in files} if isinstance(files, dict) else set()


def update_manifest(build_dir: Path, changes: Mapping[str, Any]) -> None:
    """Merge top-level ``changes`` into a build's manifest (atomic, under the lock)."""
    with build_lock(build_dir):
        data = json.loads((build_dir / MANIFEST).read_text())
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        tmp = build_dir / f".{MANIFEST}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(data, indent=1) + "\n")
        os.replace(tmp, build_dir / MANIFEST)


# -- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output as the manifest declares it (shape has batch 1 first)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    layout: str = ""
    kind: str = ""


@dataclass(frozen=True)
class KernelArgSpec:
    """One kernel argument as the manifest records it (``physical.KernelArg``)."""

    name: str
    role: str
    kind: str
    offset: int
    size: int
    port: str = ""
    memory: str = ""
    bank: str = ""


@dataclass(frozen=True)
class CardSpec:
    """How the host talks to the kernel (see the module docstring)."""

    kernel: str
    compute_unit: str  # the kernel instance as PYNQ/XRT name it (``nk=`` in link.cfg)
    kernel_args: tuple[KernelArgSpec, ...]
    kernel_xml: Path
    fc_weights_file: Path | None
    max_batch: int
    platform: str
    xclbin: Path | None

    def arg(self, role: str) -> KernelArgSpec | None:
        return next((a for a in self.kernel_args if a.role == role), None)

    def bank(self, role: str) -> str:
        arg = self.arg(role)
        if arg is None or not arg.bank:
            raise ConfigError(f"the kernel has no buffer argument for the {role!r} buffer")
        return arg.bank


@dataclass(frozen=True)
class Manifest:
    path: Path
    input: TensorSpec
    outputs: tuple[TensorSpec, ...]
    files: Mapping[str, str]
    card: CardSpec | None
    raw: Mapping[str, Any]

    @property
    def build_dir(self) -> Path:
        return self.path.parent

    def output(self, kind: str) -> TensorSpec | None:
        return next((o for o in self.outputs if o.kind == kind), None)


def read_manifest(build_dir: str | os.PathLike[str]) -> Manifest:
    """Read and validate ``build_dir/manifest.json``."""
    path = Path(build_dir) / MANIFEST
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
    """Validate an already-decoded manifest (``path`` is used for messages and files)."""
    where = str(path)
    _need(isinstance(data, dict), where, "top level must be a JSON object")
    _need(
        data.get("format") == FORMAT,
        where,
        f"format is {data.get('format')!r}, this alveoflow reads {FORMAT}; recompile the build",
    )
    inp = _tensor(_field(data, "input", dict, where), f"{where}: input", is_input=True)
    outs = _field(data, "outputs", list, where)
    _need(len(outs) > 0, where, "outputs is empty")
    outputs = tuple(_tensor(o, f"{where}: outputs[{i}]", False) for i, o in enumerate(outs))
    files = _field(data, "files", dict, where)
    card = _card(data["card"], path) if data.get("card") is not None else None
    return Manifest(path, inp, outputs, dict(files), card, data)


def verified(manifest: Manifest, rel: str) -> Path:
    """The path of build file ``rel`` after checking its SHA-256 against the manifest."""
    path = manifest.build_dir / rel
    want = manifest.files.get(rel)
    if want is None:
        raise ConfigError(f"{manifest.path}: the build lists no file {rel!r}; recompile the build")
    try:
        got = sha256_file(path)
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}; recompile the build") from None
    if got != want:
        raise ConfigError(
            f"{path} does not belong to this build (its SHA-256 differs from the manifest's): "
            "it was changed or copied from another build; recompile the build"
        )
    return path


def load_build_graph(manifest: Manifest) -> Graph:
    """The lowered graph of a build, after checking both graph files' hashes."""
    paths = [verified(manifest, rel) for rel in GRAPH_FILES]
    try:
        return graph_from_files(paths[0].read_text(), paths[1].read_bytes())
    except (GraphError, ValueError, KeyError, OSError, zipfile.BadZipFile) as err:
        raise ConfigError(
            f"cannot read the graph of {manifest.build_dir}: {err}; recompile"
        ) from None


def load_fc_weights(manifest: Manifest, expected: tuple[int, ...]) -> np.ndarray:
    """The build's external FC weights (int8, ``expected`` shape), hash-checked."""
    card = manifest.card
    assert card is not None and card.fc_weights_file is not None
    rel = card.fc_weights_file.relative_to(manifest.build_dir).as_posix()
    path = verified(manifest, rel)
    try:
        weights = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read the FC weights file {path}: {err}") from None
    if weights.dtype != np.int8 or tuple(weights.shape) != tuple(expected):
        raise ConfigError(
            f"{path}: FC weights are {weights.dtype}{weights.shape}, the card expects "
            f"int8{tuple(expected)}; recompile the build"
        )
    return weights


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
    try:
        np.dtype(dtype)
    except TypeError:
        raise ConfigError(f"{where}: dtype {dtype!r} is not a numpy dtype") from None
    if is_input:
        layout = _field(d, "layout", str, where)
        _need(layout in INPUT_LAYOUTS, where, f"layout {layout!r} not one of {INPUT_LAYOUTS}")
        return TensorSpec(name, tuple(shape), dtype, layout=layout)
    kind = _field(d, "kind", str, where)
    _need(kind in OUTPUT_KINDS, where, f"kind {kind!r} not one of {OUTPUT_KINDS}")
    return TensorSpec(name, tuple(shape), dtype, kind=kind)


def _card(d: Any, path: Path) -> CardSpec:
    where = f"{path}: card"
    _need(isinstance(d, dict), where, "must be an object")
    args = [
        _arg(a, f"{where}: kernel_args[{i}]")
        for i, a in enumerate(_field(d, "kernel_args", list, where))
    ]
    roles = [a.role for a in args]
    _need(len(set(roles)) == len(roles), where, f"kernel_args repeat a role: {roles}")
    _need("input" in roles and "batch" in roles, where, "kernel_args lack the input or batch")
    max_batch = _field(d, "max_batch", int, where)
    _need(max_batch >= 1, where, f"max_batch must be >= 1, got {max_batch}")
    fc = d.get("fc_weights_file")
    _need(fc is None or isinstance(fc, str), where, "fc_weights_file must be a string or null")
    xclbin = d.get("xclbin")
    _need(xclbin is None or isinstance(xclbin, str), where, "xclbin must be a string or null")
    return CardSpec(
        kernel=_field(d, "kernel", str, where),
        compute_unit=_field(d, "compute_unit", str, where),
        kernel_args=tuple(args),
        kernel_xml=path.parent / _field(d, "kernel_xml", str, where),
        fc_weights_file=path.parent / fc if fc else None,
        max_batch=max_batch,
        platform=str(d.get("platform", "")),
        xclbin=path.parent / xclbin if xclbin else None,
    )


def _arg(d: Any, where: str) -> KernelArgSpec:
    _need(isinstance(d, dict), where, "must be an object")
    role = _field(d, "role", str, where)
    _need(role in ARG_ROLES, where, f"role {role!r}{close_matches(role, ARG_ROLES)} unknown")
    kind = _field(d, "kind", str, where)
    _need(kind in ("buffer", "scalar"), where, f"kind {kind!r} must be buffer or scalar")
    return KernelArgSpec(
        name=_field(d, "name", str, where),
        role=role,
        kind=kind,
        offset=_field(d, "offset", int, where),
        size=_field(d, "size", int, where),
        port=str(d.get("port", "")),
        memory=str(d.get("memory", "")),
        bank=str(d.get("bank", "")),
    )


__all__ = [
    "FORMAT",
    "MANIFEST",
    "BuildWriter",
    "CardSpec",
    "KernelArgSpec",
    "Manifest",
    "TensorSpec",
    "build_lock",
    "check_writable_target",
    "clean_stale_stages",
    "is_build",
    "load_build_graph",
    "load_fc_weights",
    "parse_manifest",
    "read_manifest",
    "sha256_file",
    "update_manifest",
    "verified",
]
