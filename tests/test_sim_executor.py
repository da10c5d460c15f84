"""The executor on the synthetic lowered graphs: fused == unfused, float == int64 paths,
outputs in range and input-dependent, exactness bounds, feed checks, corrupted weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from alveoflow.compiler.ir import Graph, Node, QType, hw
from alveoflow.compiler.semantics import accumulator_bound, run_graph
from alveoflow.compiler.semantics.exact import exact_dtype
from alveoflow.compiler.semantics.executor import FeedError
from alveoflow.testing import lowered_cnn, lowered_depthwise, lowered_mlp, lowered_resnet

GRAPHS = {
    "mlp": lambda: lowered_mlp((64, 32, 32, 10), seed=1),
    "cnn": lambda: lowered_cnn(16, channels=(8, 16), seed=2),
    "depthwise": lambda: lowered_depthwise(16, stem_channels=8, blocks=((16, 1), (16, 2))),
    "resnet50": lambda: lowered_resnet(50, input_size=32, width=0.125, num_classes=12),
    "resnet18": lambda: lowered_resnet(18, input_size=32, width=0.125, num_classes=12),
    "resnet50v15": lambda: lowered_resnet(50, "v1.5", input_size=32, width=0.125, seed=3),
}


def feed_for(graph: Graph, batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    info = graph.inputs[0]
    shape = (batch, *info.shape[1:])
    if info.qtype.is_float:
        return {info.name: rng.normal(0.0, 1.0, size=shape).astype(np.float32)}
    return {info.name: rng.integers(0, 256, size=shape, dtype=np.uint8)}


@pytest.fixture(scope="module", params=sorted(GRAPHS))
def case(request):
    graph = GRAPHS[request.param]()
    feeds = feed_for(graph, 6)
    return graph, feeds, run_graph(graph, feeds, keep_intermediates=True)


def test_every_tensor_in_range_and_input_dependent(case):
    graph, feeds, everything = case
    for name, info in graph.tensors.items():
        value = everything[name]
        assert value.shape == (6, *info.shape[1:]), name
        if info.qtype.is_float:
            assert value.dtype == np.float32
            continue
        assert value.dtype == np.int64
        assert info.qtype.contains(value), f"{name} outside {info.qtype}"
        assert value.min() < value.max(), f"{name} is constant"


def test_fused_equals_unfused_and_int64_path(case):
    graph, feeds, everything = case
    fused = run_graph(graph, feeds)
    unfused = run_graph(graph, feeds, fuse=False)
    wide = run_graph(graph, feeds, precision="int64")
    f64 = run_graph(graph, feeds, precision="float64")
    assert set(fused) == set(graph.outputs)
    for name in graph.outputs:
        for other in (unfused, wide, f64, everything):
            np.testing.assert_array_equal(fused[name], other[name], err_msg=name)


def test_batch_elements_are_independent():
    graph = GRAPHS["resnet50"]()
    feeds = feed_for(graph, 3, seed=7)
    whole = run_graph(graph, feeds)
    for i in range(3):
        single = run_graph(graph, {k: v[i : i + 1] for k, v in feeds.items()})
        for name in graph.outputs:
            np.testing.assert_array_equal(single[name][0], whole[name][i])


def test_reference_resnet50_structure():
    g = lowered_resnet(50, input_size=64, width=0.125)
    kinds = [n.op.kind for n in g.nodes]
    assert kinds.count("MVAU") == 54
    assert g.inputs[0].qtype == QType.uint(8) and g.inputs[0].layout == "NHWC"
    conv1 = g.node("conv1")
    assert conv1.op.wdt == QType.sint(8) and conv1.op.idt == QType.uint(8)
    assert g.node("conv1.swg").op.kernel == (7, 7) and len(g.node("conv1.swg").op.pad_values) == 3
    assert g.node("layer2.0.conv1.swg").op.stride == (2, 2)  # v1.0: stride on the 1x1
    assert g.node("layer1.1.add").op.offset == -8
    fc = g.node("fc")
    assert fc.op.external_weights and "bias" in fc.weights and fc.op.odt == QType.sint(32)
    assert g.node("topk").op.k == 5 and g.outputs == ("logits", "topk")
    assert "layer1.0.input_quant" not in {n.name for n in g.nodes}
    assert g.node("layer1.1.input_quant").op.odt == QType.uint(2)


def test_builders_are_deterministic():
    a, b = lowered_mlp(seed=5), lowered_mlp(seed=5)
    c = lowered_mlp(seed=6)
    wa, wb, wc = (g.node("fc0").weights["weights"] for g in (a, b, c))
    assert np.array_equal(wa, wb) and not np.array_equal(wa, wc)


def test_corrupted_weight_changes_outputs():
    graph = GRAPHS["cnn"]()
    feeds = feed_for(graph, 8)
    good = run_graph(graph, feeds, keep_intermediates=True)
    node = graph.node("conv1")
    w = np.array(node.weights["weights"])
    w[0, :] = -w[0, :]  # flip one output channel's weights
    bad_node = Node.create(
        node.name, node.op, graph.input_infos(node), ["conv1"], {**node.weights, "weights": w}
    )
    bad_graph = graph.replace(["conv1"], [bad_node])
    bad = run_graph(bad_graph, feeds, keep_intermediates=True)
    assert not np.array_equal(good["conv1"], bad["conv1"])
    np.testing.assert_array_equal(good["conv0"], bad["conv0"])


def test_accumulator_bound_and_dtype_choice():
    op = hw.MVAU(mw=4608, mh=8, wdt=QType.bipolar_type(), idt=QType.uint(2), odt=QType.uint(2))
    assert accumulator_bound(op) == 4608 * 3
    big = hw.MVAU(mw=2048, mh=8, wdt=QType.sint(8), idt=QType.uint(16), odt=QType.sint(32))
    assert accumulator_bound(big) == 2048 * 128 * 65535
    assert exact_dtype(accumulator_bound(op)) == torch.float32
    assert exact_dtype(accumulator_bound(big)) == torch.float64
    assert exact_dtype(2**60) == torch.int64
    assert exact_dtype(5, floor=torch.int64) == torch.int64
    vv = hw.VVAU(
        channels=4, kernel_elems=9, wdt=QType.sint(4), idt=QType.uint(4), odt=QType.uint(4)
    )
    assert accumulator_bound(vv) == 8 * 15 * 9


def test_wide_accumulator_runs_in_float64_exactly():
    """Inputs near 2**24 per product: float32 would round, the executor must not."""
    rng = np.random.default_rng(9)
    idt, wdt = QType.uint(20), QType.sint(8)
    op = hw.MVAU(mw=64, mh=3, wdt=wdt, idt=idt, odt=QType.sint(34))
    w = rng.integers(-128, 128, size=(3, 64))
    from alveoflow.compiler.ir import TensorInfo

    x_info = TensorInfo("x", (1, 64), idt, "NC")
    g = Graph.build([x_info], [Node.create("m", op, [x_info], "y", {"weights": w})], ["y"])
    x = rng.integers(2**20 - 50, 2**20, size=(4, 64))
    want = x.astype(object) @ w.T.astype(object)
    np.testing.assert_array_equal(run_graph(g, {"x": x})["y"], want.astype(np.int64))


def test_feed_errors_are_clear():
    graph = GRAPHS["resnet18"]()
    with pytest.raises(FeedError, match="missing feed"):
        run_graph(graph, {})
    with pytest.raises(FeedError, match=r"expected shape \(N, 32, 32, 3\)"):
        run_graph(graph, {"input": np.zeros((1, 3, 32, 32), np.uint8)})
    with pytest.raises(FeedError, match="outside UINT8"):
        run_graph(graph, {"input": np.full((1, 32, 32, 3), 300)})
    with pytest.raises(FeedError, match="precision"):
        run_graph(graph, feed_for(graph, 1), precision="float16")


def test_torch_tensor_feeds_accepted():
    graph = GRAPHS["mlp"]()
    feeds = feed_for(graph, 2)
    a = run_graph(graph, feeds)
    b = run_graph(graph, {k: torch.from_numpy(v) for k, v in feeds.items()})
    np.testing.assert_array_equal(a["logits"], b["logits"])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["auto", "int64"])
def test_cuda_matches_cpu(precision):
    for make in (GRAPHS["resnet50"], GRAPHS["depthwise"]):
        graph = make()
        feeds = feed_for(graph, 4)
        cpu = run_graph(graph, feeds)
        gpu = run_graph(graph, feeds, device="cuda", precision=precision)
        for name in graph.outputs:
            np.testing.assert_array_equal(cpu[name], gpu[name])


@pytest.mark.slow
def test_full_size_resnet50_fused_equals_unfused():
    graph = lowered_resnet(50)
    feeds = feed_for(graph, 2, seed=11)
    fused = run_graph(graph, feeds)
    unfused = run_graph(graph, feeds, keep_intermediates=True)
    for name in graph.outputs:
        np.testing.assert_array_equal(fused[name], unfused[name])
    for name in ("conv1", "layer2.0.add", "layer4.2.conv2", "final_relu", "avgpool"):
        value = unfused[name]
        assert graph.tensor(name).qtype.contains(value) and value.min() < value.max(), name
