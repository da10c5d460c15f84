"""The pass pipeline: order, verification after each pass, intermediate dumps."""

from __future__ import annotations

import golden_nets as gn
import numpy as np
import pytest
import torch

from alveoflow.compiler.ir import FLOAT32, Graph, Node, TensorInfo, load_graph, nn
from alveoflow.compiler.passes.streamline.fuse_pad import fuse_pad
from alveoflow.compiler.pipeline import CompileOptions, compile_qonnx, run_passes
from alveoflow.errors import GraphError


@pytest.fixture(scope="module")
def vgg_path(tmp_path_factory):
    torch.manual_seed(0)
    model = gn.calibrate(gn.VGG(2, 2), (1, 3, 16, 16))
    return gn.export(model, tmp_path_factory.mktemp("vgg") / "vgg.onnx", (1, 3, 16, 16))


def test_compile_runs_every_pass_in_order(vgg_path):
    result = compile_qonnx(vgg_path)
    assert [p.name for p in result.passes] == [
        "frontend",
        "fuse_pad",
        "lower_to_hw",
        "insert_duplicate_streams",
        "legalize",
    ]
    assert result.passes[-1].changed is False  # legalize only checks
    result.graph.verify()
    assert result.seconds >= 0 and len(result.source.nodes) > len(result.graph.nodes) / 2


def test_dumps_every_intermediate_graph(vgg_path, tmp_path):
    result = compile_qonnx(vgg_path, CompileOptions(dump_dir=tmp_path))
    stems = sorted(p.stem for p in tmp_path.glob("*.json"))
    assert stems == [
        "00_frontend",
        "01_fuse_pad",
        "02_lower_to_hw",
        "03_insert_duplicate_streams",
        "04_legalize",
    ]
    again = load_graph(tmp_path, "00_frontend")
    assert [n.name for n in again.nodes] == [n.name for n in result.source.nodes]
    lowered = load_graph(tmp_path, "04_legalize")
    assert [n.op for n in lowered.nodes] == [n.op for n in result.graph.nodes]


def _broken(graph: Graph) -> Graph:
    """A 'pass' that returns a graph whose node order is not topological."""
    return Graph(graph.inputs, tuple(reversed(graph.nodes)), graph.outputs, graph.meta)


def test_invalid_pass_output_names_the_pass_and_its_predecessors():
    x = TensorInfo("x", (1, 4), FLOAT32, "NC")
    a = Node.create("a", nn.Relu(), [x], "a")
    b = Node.create("b", nn.Relu(), [a.output], "b")
    g = Graph.build([x], [a, b], ["b"])
    with pytest.raises(GraphError, match=r"pass _broken failed \(passes run before it: fuse_pad\)"):
        run_passes(g, [fuse_pad, _broken])


def test_unchanged_graph_is_returned_as_is():
    x = TensorInfo("x", (1, 4), FLOAT32, "NC")
    g = Graph.build([x], [Node.create("a", nn.Relu(), [x], "a")], ["a"])
    out, records = run_passes(g, [fuse_pad])
    assert out is g and records[0].changed is False and np.isfinite(records[0].seconds)
