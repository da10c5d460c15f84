"""The build pipeline: every step in order, verification after each, intermediate dumps."""

from __future__ import annotations

import pytest
import torch

from alveoflow.compiler.config import BuildConfig
from alveoflow.compiler.ir import FLOAT32, Graph, Node, TensorInfo, load_graph, nn
from alveoflow.compiler.passes.streamline.fuse_pad import fuse_pad
from alveoflow.compiler.pipeline import STEPS, build, compile_qonnx, run_passes
from alveoflow.errors import GraphError
from alveoflow.testing import golden as gn


@pytest.fixture(scope="module")
def vgg_path(tmp_path_factory):
    torch.manual_seed(0)
    model = gn.calibrate(gn.VGG(2, 2), (1, 3, 16, 16))
    return gn.export(model, tmp_path_factory.mktemp("vgg") / "vgg.onnx", (1, 3, 16, 16))


def test_build_runs_every_step_in_order(vgg_path, tmp_path):
    result = build(vgg_path, BuildConfig(), tmp_path / "b")
    assert [s.name for s in result.steps] == list(STEPS)
    assert result.graph is not None and result.design is not None and result.report
    assert result.out_dir is not None and (result.out_dir / "manifest.json").is_file()
    assert len(result.source.nodes) > len(result.graph.nodes) / 2
    names = {n.name for n in result.folded.nodes}
    assert {n for ip in result.design.ips for n in ip.nodes} <= names


def test_lowering_half_is_compile_qonnx(vgg_path):
    result = compile_qonnx(vgg_path)
    assert [p.name for p in result.passes] == ["frontend", "streamline", "lower", "legalize"]
    result.graph.verify()


def test_dumps_every_intermediate(vgg_path, tmp_path):
    result = build(vgg_path, BuildConfig(dump_dir=tmp_path, plan=False))
    stems = sorted(p.stem for p in tmp_path.glob("*.json"))
    assert stems == ["00_frontend", "01_streamline", "02_lower", "03_legalize", "07_estimate"]
    again = load_graph(tmp_path, "00_frontend")
    assert [n.name for n in again.nodes] == [n.name for n in result.source.nodes]
    lowered = load_graph(tmp_path, "03_legalize")
    assert [n.op for n in lowered.nodes] == [n.op for n in result.graph.nodes]


def _broken(graph: Graph) -> Graph:
    """A 'pass' that returns a graph whose node order is not topological."""
    return Graph(graph.inputs, tuple(reversed(graph.nodes)), graph.outputs, graph.meta)


def test_invalid_step_output_names_the_step_and_its_predecessors():
    x = TensorInfo("x", (1, 4), FLOAT32, "NC")
    a = Node.create("a", nn.Relu(), [x], "a")
    b = Node.create("b", nn.Relu(), [a.output], "b")
    g = Graph.build([x], [a, b], ["b"])
    with pytest.raises(GraphError, match=r"step _broken failed \(steps run before it: fuse_pad\)"):
        run_passes(g, [fuse_pad, _broken])


def test_unchanged_graph_is_returned_as_is():
    x = TensorInfo("x", (1, 4), FLOAT32, "NC")
    g = Graph.build([x], [Node.create("a", nn.Relu(), [x], "a")], ["a"])
    assert run_passes(g, [fuse_pad]) is g
