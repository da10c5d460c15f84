"""The IR itself: QType ranges and names, Node.create checks, Graph.build/verify/replace,
save/load round trip."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alveoflow.compiler.ir import (
    BIPOLAR,
    FLOAT32,
    Graph,
    Node,
    QType,
    TensorInfo,
    hw,
    load_graph,
    save_graph,
    smallest_qtype,
)
from alveoflow.errors import GraphError
from alveoflow.testing import lowered_resnet

U2 = QType.uint(2)


@pytest.mark.parametrize(
    "qtype,lo,hi",
    [
        (QType.uint(2), 0, 3),
        (QType.sint(4), -8, 7),
        (QType.sint(8), -128, 127),
        (BIPOLAR, -1, 1),
        (QType.uint(1), 0, 1),
        (QType.sint(32), -(2**31), 2**31 - 1),
    ],
)
def test_qtype_ranges(qtype, lo, hi):
    assert (qtype.min, qtype.max) == (lo, hi)
    assert qtype.contains(np.array([lo, hi]))
    assert not qtype.contains(np.array([hi + 1])) and not qtype.contains(np.array([lo - 1]))


def test_qtype_names_and_errors():
    for name in ("UINT2", "INT8", "BIPOLAR", "FLOAT32", "UINT32", "INT1"):
        assert QType.parse(name).name == name
    for bad in ("uint2", "INT", "FLOAT16", "BINARY"):
        with pytest.raises(GraphError):
            QType.parse(bad)
    with pytest.raises(GraphError):
        QType(65)
    with pytest.raises(GraphError):
        QType(2, bipolar=True)
    with pytest.raises(GraphError):
        _ = FLOAT32.max
    assert not BIPOLAR.contains(np.array([0]))
    assert not QType.uint(4).contains(np.array([1.5]))
    assert FLOAT32.contains(np.array([1e30]))


@given(st.integers(-(2**40), 2**40), st.integers(0, 2**40))
def test_smallest_qtype_is_tight(lo, span):
    hi = lo + span
    q = smallest_qtype(lo, hi)
    assert q.min <= lo and q.max >= hi
    if q.bits > 1:
        narrower = QType(q.bits - 1, signed=q.signed)
        assert not (narrower.min <= lo and narrower.max >= hi)


def nhwc(name, c, qtype=U2, hw_=(4, 4)):
    return TensorInfo(name, (1, *hw_, c), qtype, "NHWC")


def thr_node(name, src, c=3, thresholds=None):
    t = thresholds if thresholds is not None else np.tile([1, 2, 3], (c, 1))
    return Node.create(
        name, hw.Thresholding(channels=c, idt=U2, odt=U2), [src], name, {"thresholds": t}
    )


def test_node_create_rejects_inconsistencies():
    x = nhwc("x", 3)
    with pytest.raises(GraphError, match="missing weights"):
        Node.create("t", hw.Thresholding(channels=3, idt=U2, odt=U2), [x], "t", {})
    with pytest.raises(GraphError, match="unknown weights"):
        Node.create(
            "t",
            hw.Thresholding(channels=3, idt=U2, odt=U2),
            [x],
            "t",
            {"thresholds": np.zeros((3, 3)), "bias": np.zeros(3)},
        )
    with pytest.raises(GraphError, match="expects 2 inputs"):
        Node.create("a", hw.AddStreams(channels=3, idt_a=U2, idt_b=U2, odt=U2), [x], "a")
    with pytest.raises(GraphError, match="sorted"):
        thr_node("t", x, thresholds=np.tile([3, 1, 2], (3, 1)))
    with pytest.raises(GraphError, match="last dim"):
        thr_node("t", nhwc("y", 4))
    with pytest.raises(GraphError, match="expected UINT2"):
        thr_node("t", nhwc("y", 3, QType.uint(4)))
    w = np.ones((2, 3))
    with pytest.raises(GraphError, match="do not fit"):
        Node.create(
            "m", hw.MVAU(mw=3, mh=2, wdt=BIPOLAR, idt=U2, odt=U2), [x], "m", {"weights": w * 2}
        )
    with pytest.raises(GraphError, match="PE=4 must divide 2"):
        Node.create(
            "m", hw.MVAU(mw=3, mh=2, wdt=BIPOLAR, idt=U2, odt=U2, pe=4), [x], "m", {"weights": w}
        )


def test_node_weights_are_read_only_copies():
    t = np.tile([1, 2, 3], (3, 1))
    node = thr_node("t", nhwc("x", 3), thresholds=t)
    t[0, 0] = 99
    assert node.weights["thresholds"][0, 0] == 1
    with pytest.raises(ValueError):
        node.weights["thresholds"][0, 0] = 5


def chain():
    x = nhwc("x", 3)
    a = thr_node("a", x)
    b = thr_node("b", a.output)
    c = thr_node("c", b.output)
    return x, [a, b, c]


def test_graph_build_sorts_and_verifies():
    x, nodes = chain()
    g = Graph.build([x], nodes[::-1], ["c"])
    assert [n.name for n in g.nodes] == ["a", "b", "c"]
    assert g.producer("b").name == "b" and g.consumers("a")[0].name == "b"
    with pytest.raises(GraphError, match="not produced"):
        Graph.build([x], nodes, ["zzz"])
    with pytest.raises(GraphError, match="cycle or undefined"):
        Graph.build([x], nodes[1:], ["c"])
    dup = Node.create("a", nodes[1].op, [nodes[0].output], "a2", nodes[1].weights)
    with pytest.raises(GraphError, match="duplicate node name"):
        Graph.build([x], [*nodes, dup], ["c"])
    with pytest.raises(GraphError, match="defined twice"):
        Graph.build([x], [*nodes, Node.create("d", nodes[0].op, [x], "a", nodes[0].weights)], ["c"])


def test_graph_replace_keeps_tensor_names():
    x, nodes = chain()
    g = Graph.build([x], nodes, ["c"])
    new_b = Node.create(
        "b",
        hw.Thresholding(channels=3, idt=U2, odt=U2),
        [nodes[0].output],
        "b",
        {"thresholds": np.tile([0, 0, 1], (3, 1))},
    )
    g2 = g.replace(["b"], [new_b])
    assert g2.node("b").weights["thresholds"][0, 2] == 1 and g.node("b") is nodes[1]
    with pytest.raises(GraphError, match="unknown nodes"):
        g.replace(["nope"], [])
    with pytest.raises(GraphError):
        g.replace(["b"], [])  # c would lose its input


def test_save_load_round_trip(tmp_path):
    g = lowered_resnet(50, input_size=32, width=0.125, num_classes=10).with_meta(note="x")
    save_graph(g, tmp_path)
    back = load_graph(tmp_path)
    assert back.inputs == g.inputs and back.outputs == g.outputs
    assert dict(back.meta) == dict(g.meta)
    for a, b in zip(g.nodes, back.nodes, strict=True):
        assert (a.name, a.op, a.inputs, a.outputs) == (b.name, b.op, b.inputs, b.outputs)
        assert set(a.weights) == set(b.weights)
        for k in a.weights:
            np.testing.assert_array_equal(a.weights[k], b.weights[k])
            assert a.weights[k].dtype == b.weights[k].dtype


def test_load_rejects_wrong_format(tmp_path):
    x, nodes = chain()
    save_graph(Graph.build([x], nodes, ["c"]), tmp_path)
    text = (tmp_path / "graph.json").read_text().replace('"format": 1', '"format": 99')
    (tmp_path / "graph.json").write_text(text)
    with pytest.raises(GraphError, match="format 99"):
        load_graph(tmp_path)
    with pytest.raises(GraphError, match="cannot read"):
        load_graph(tmp_path / "missing")
