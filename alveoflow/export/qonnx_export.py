"""Brevitas -> QONNX export with cleanup, annotation, metadata and an atomic write.

``to_qonnx(model, path, input_shape=None)`` contract:

- The module tree is checked first (``checks.check_exportable``); a trial forward at
  ``input_shape`` must succeed. Failures raise ``ExportError`` and write nothing.
- Export uses ``brevitas.export.export_qonnx(..., dynamo=False)`` (the dynamo exporter
  cannot trace residual adds of QuantTensors), in eval mode; the model's mode is restored.
- Cleanup (cheap subset of qonnx ``cleanup_model``, keeping node names): qonnx
  ``RemoveStaticGraphInputs``, ``FoldConstants`` (Quant ops kept), ``RemoveUnusedTensors``,
  ``InferShapes`` (every tensor gets a shape in ``value_info``). qonnx's
  ``GiveUniqueNodeNames``/``GiveReadableTensorNames`` are NOT run: names keep module paths.
- Naming: the graph input is ``input``, the output ``logits``; each Conv/Gemm/MatMul node is
  renamed to its module path (``conv1``, ``layer3.2.conv2``, ``layer2.0.downsample.0``,
  ``fc``), found from its weight initializer name. Other nodes keep Brevitas' scope names.
- The input is annotated ``UINT8`` for pixel-input models (or ``input_datatype``).
- ``metadata_props``: ``alveoflow.version``, ``alveoflow.model`` (arch or class name),
  ``alveoflow.config`` (JSON of ``model.config`` when it has one), ``alveoflow.input_datatype``.
- The file is written to a temporary name in the same folder and renamed into place.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from alveoflow import __version__
from alveoflow.errors import ExportError
from alveoflow.export.checks import QUANT_OPS, WEIGHT_OPS, check_exportable, check_graph

log = logging.getLogger(__name__)
INPUT_NAME = "input"
OUTPUT_NAME = "logits"


def _example_input(model: nn.Module, input_shape: Sequence[int] | None) -> torch.Tensor:
    config = getattr(model, "config", None)
    expected = tuple(config.input_shape) if config is not None else None
    if input_shape is None:
        if expected is None:
            raise ExportError(f"{type(model).__name__} has no .config: pass input_shape=(N,C,H,W)")
        input_shape = expected
    shape = tuple(int(d) for d in input_shape)
    if expected is not None and (len(shape) != 4 or shape[1:] != expected[1:]):
        raise ExportError(
            f"input shape {shape} does not match the model's configured input "
            f"(N, {', '.join(map(str, expected[1:]))}); rebuild the model with "
            f"in_channels/input_size for another shape"
        )
    generator = torch.Generator().manual_seed(0)
    if config is not None and config.pixel_input:
        return torch.randint(0, 256, shape, generator=generator).float()
    return torch.randn(shape, generator=generator)


@contextlib.contextmanager
def _eval_mode(model: nn.Module):
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _trial_forward(model: nn.Module, x: torch.Tensor) -> None:
    try:
        with torch.no_grad():
            model(x)
    except Exception as err:  # noqa: BLE001 - any failure here means the input does not fit
        raise ExportError(
            f"{type(model).__name__} cannot run on an input of shape {tuple(x.shape)}: {err}"
        ) from err


def _module_path(wrapper, node) -> str | None:
    """'layer1.0.conv1' from the initializer feeding this node's weight quantizer."""
    producer = wrapper.find_producer(node.input[1])
    if producer is None or producer.op_type not in QUANT_OPS:
        return None
    weight = producer.input[0]
    if wrapper.get_initializer(weight) is None or not weight.endswith(".weight"):
        return None
    return weight[: -len(".weight")]


def _rename(wrapper) -> None:
    graph = wrapper.graph
    wrapper.rename_tensor(graph.input[0].name, INPUT_NAME)
    wrapper.rename_tensor(graph.output[0].name, OUTPUT_NAME)
    taken = {node.name for node in graph.node}
    for node in graph.node:
        if node.op_type in WEIGHT_OPS and len(node.input) > 1:
            path = _module_path(wrapper, node)
            if path and path not in taken:
                taken.add(path)
                node.name = path


def _cleanup(wrapper):
    from qonnx.transformation.fold_constants import FoldConstants
    from qonnx.transformation.general import RemoveStaticGraphInputs, RemoveUnusedTensors
    from qonnx.transformation.infer_shapes import InferShapes

    for node in wrapper.graph.node:
        if node.op_type in ("Quant", "BipolarQuant", "Trunc"):
            node.domain = "qonnx.custom_op.general"
    for transformation in (
        RemoveStaticGraphInputs(),
        FoldConstants(exclude_op_types=list(QUANT_OPS)),
        RemoveUnusedTensors(),
        InferShapes(),
    ):
        wrapper = wrapper.transform(transformation, make_deepcopy=False)
    return wrapper


def _annotate(wrapper, model: nn.Module, input_datatype: str | None) -> None:
    from qonnx.core.datatype import DataType

    config = getattr(model, "config", None)
    if input_datatype is None and config is not None and config.pixel_input:
        input_datatype = "UINT8"
    if input_datatype is not None:
        try:
            wrapper.set_tensor_datatype(INPUT_NAME, DataType[input_datatype])
        except KeyError as err:
            raise ExportError(f"unknown QONNX input datatype {input_datatype!r}") from err
    meta = {
        "alveoflow.version": __version__,
        "alveoflow.model": getattr(config, "arch", type(model).__name__),
        "alveoflow.input_datatype": input_datatype or "FLOAT32",
    }
    if config is not None:
        meta["alveoflow.config"] = json.dumps(config.to_dict(), sort_keys=True)
    props = wrapper.model.metadata_props  # model-level ONNX metadata (qonnx's is graph-level)
    for key, value in meta.items():
        entry = next((p for p in props if p.key == key), None) or props.add(key=key)
        entry.value = value


def to_qonnx(
    model: nn.Module,
    path: str | Path,
    input_shape: Sequence[int] | None = None,
    input_datatype: str | None = None,
) -> Path:
    """Export ``model`` to a cleaned, annotated QONNX file at ``path``; returns the path."""
    from brevitas.export import export_qonnx
    from qonnx.core.modelwrapper import ModelWrapper

    path = Path(path)
    if not path.parent.is_dir():
        raise ExportError(f"output folder {str(path.parent)!r} does not exist")
    check_exportable(model)
    x = _example_input(model, input_shape)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        start = time.perf_counter()
        with _eval_mode(model):
            _trial_forward(model, x)
            try:
                export_qonnx(model, args=x, export_path=str(tmp), dynamo=False)
            except Exception as err:  # noqa: BLE001 - report any tracer failure as ExportError
                raise ExportError(
                    f"Brevitas QONNX export of {type(model).__name__} failed: {err}"
                ) from err
        log.info("brevitas export: %.2f s", time.perf_counter() - start)
        wrapper = _cleanup(ModelWrapper(str(tmp)))
        _rename(wrapper)
        _annotate(wrapper, model, input_datatype)
        check_graph(wrapper)
        wrapper.save(str(tmp))
        os.replace(tmp, path)
        log.info("QONNX written to %s in %.2f s", path, time.perf_counter() - start)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def execute_qonnx(path: str | Path, x: np.ndarray | torch.Tensor) -> np.ndarray:
    """Run a QONNX file on ``x`` with qonnx ``execute_onnx``; returns the first output."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx

    wrapper = ModelWrapper(str(path))
    array = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    name = wrapper.graph.input[0].name
    outputs = execute_onnx(wrapper, {name: array.astype(np.float32)})
    return np.asarray(outputs[wrapper.graph.output[0].name])


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file as a dict."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {prop.key: prop.value for prop in model.metadata_props}
