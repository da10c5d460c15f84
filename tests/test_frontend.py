"""Frontend: reading QONNX files into nn-op graphs (names, weights, folding, errors)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from brevitas import nn as qnn
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from alveoflow.compiler.frontend import from_qonnx
from alveoflow.compiler.frontend.naming import module_path, stable_names
from alveoflow.compiler.ir import BIPOLAR, QType
from alveoflow.compiler.ir import nn as irnn
from alveoflow.compiler.semantics.executor import run_graph
from alveoflow.errors import GraphError, UnsupportedOpError
from alveoflow.testing.golden import calibrate, export, weight_quant


@pytest.fixture(scope="module")
def small_resnet(tmp_path_factory):
    from alveoflow.export import to_qonnx
    from alveoflow.qnn import build_model, calibrate_bn

    model = calibrate_bn(build_model("resnet_small_28", pixel_mean=(128.0,)), batches=2)
    return to_qonnx(model, tmp_path_factory.mktemp("rs") / "rs.onnx")


def test_module_path_names():
    assert module_path("/layer3/layer3.2/conv2/Conv") == ("layer3.2.conv2", "")
    assert module_path(
        "/layer2/layer2.0/downsample/downsample.0/weight_quant/export_handler/Quant"
    ) == (
        "layer2.0.downsample.0",
        "",
    )
    assert module_path("/layer1/layer1.0/residual_quant/act_quant/export_handler_2/Quant") == (
        "layer1.0.residual_quant",
        "_2",
    )
    names = stable_names(
        [
            ("/relu/act_quant/export_handler/Quant", "Quant"),
            ("/relu/act_quant/act_impl/Relu", "Relu"),
            ("/Flatten", "Flatten"),
            ("", "Conv"),
            ("/layer1/layer1.0/Add", "Add"),
            ("fc", "Gemm"),
        ]
    )
    assert names == ["relu", "relu.relu", "flatten", "conv_3", "layer1.0.add", "fc"]
    assert len(set(stable_names([("/a/Relu", "Relu")] * 3))) == 3
    # a functional op called twice: a suffix, not a name that looks like a child module
    assert stable_names([("/MaxPool", "MaxPool"), ("/MaxPool_1", "MaxPool")]) == [
        "maxpool",
        "maxpool_1",
    ]


def test_reads_our_export(small_resnet):
    g = from_qonnx(small_resnet)
    names = {n.name for n in g.nodes}
    assert {"conv1", "layer1.0.conv1", "layer2.0.downsample.0", "fc", "layer1.0.relu1"} <= names
    assert g.inputs[0].qtype == QType.uint(8) and g.inputs[0].shape == (1, 1, 28, 28)
    conv = g.node("layer1.0.conv1")
    assert isinstance(conv.op, irnn.Conv) and conv.op.wdt == BIPOLAR
    assert set(np.unique(conv.weights["weight"])) == {-1, 1}
    stem = g.node("conv1")
    assert stem.op.wdt == QType.sint(8) and np.abs(stem.weights["weight"]).max() <= 127
    assert g.meta["metadata"]["alveoflow.model"] == "resnet_small"
    assert g.outputs == ("logits",)


def test_evaluation_matches_onnxruntime(small_resnet):
    from alveoflow.export.qonnx_export import execute_qonnx

    g = from_qonnx(small_resnet)
    x = np.random.default_rng(0).integers(0, 256, (2, 1, 28, 28)).astype(np.float32)
    ours = run_graph(g, {"input": x})["logits"]
    ref = np.concatenate([execute_qonnx(small_resnet, x[i : i + 1]) for i in range(2)])
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5)


def test_linear_weights_keep_codes_and_per_channel_scale(tmp_path):
    model = nn.Sequential(
        qnn.QuantIdentity(return_quant_tensor=True),
        qnn.QuantLinear(12, 5, bias=True, **weight_quant(4, per_channel=True)),
    )
    calibrate(model, (1, 12))
    g = from_qonnx(export(model, tmp_path / "lin.onnx", (1, 12)))
    (lin,) = [n for n in g.nodes if isinstance(n.op, irnn.Linear)]
    assert lin.op.wdt == QType.sint(4) and lin.weights["weight"].shape == (5, 12)
    assert len(set(lin.weights["weight_scale"].tolist())) == 5
    x = np.random.default_rng(1).normal(size=(3, 12)).astype(np.float32)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    got = run_graph(g, {g.inputs[0].name: x})[g.outputs[0]]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def _model(nodes, inputs, outputs, inits=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def _vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def test_folds_shape_chains_into_reshape():
    nodes = [
        helper.make_node("Shape", ["x"], ["s"], name="/shape"),
        helper.make_node("Gather", ["s", "zero"], ["n"], name="/gather", axis=0),
        helper.make_node("Unsqueeze", ["n", "axes"], ["nu"], name="/unsq"),
        helper.make_node("Concat", ["nu", "minus1"], ["target"], name="/cat", axis=0),
        helper.make_node("Reshape", ["x", "target"], ["y"], name="/flat/Reshape"),
        helper.make_node("Relu", ["y"], ["out"], name="/act/Relu"),
    ]
    inits = [
        numpy_helper.from_array(np.array(0, np.int64), "zero"),
        numpy_helper.from_array(np.array([0], np.int64), "axes"),
        numpy_helper.from_array(np.array([-1], np.int64), "minus1"),
    ]
    g = from_qonnx(_model(nodes, [_vi("x", ["N", 2, 3, 3])], [_vi("out", [None, 18])], inits))
    assert [n.op.kind for n in g.nodes] == ["Reshape", "Relu"]
    assert g.node("flat.reshape").op.shape == (18,)
    assert g.tensor("out").shape == (1, 18)


def test_maxpool_ceil_mode_becomes_end_padding():
    node = helper.make_node(
        "MaxPool",
        ["x"],
        ["y"],
        name="/pool/MaxPool",
        kernel_shape=[3, 3],
        strides=[2, 2],
        ceil_mode=1,
    )
    g = from_qonnx(_model([node], [_vi("x", [1, 2, 8, 8])], [_vi("y", [1, 2, 4, 4])]))
    pool = g.node("pool")
    assert pool.op.pads == (0, 0, 1, 1) and g.tensor("y").shape == (1, 2, 4, 4)
    x = np.random.default_rng(0).normal(size=(1, 2, 8, 8)).astype(np.float32)
    want = torch.nn.functional.max_pool2d(torch.from_numpy(x), 3, 2, ceil_mode=True).numpy()
    np.testing.assert_array_equal(run_graph(g, {"x": x})["y"], want)


def _quant_node(x, y, name, bits=4, signed=True):
    return helper.make_node(
        "Quant",
        [x, "qs", "qz", f"qb{bits}"],
        [y],
        name=name,
        domain="qonnx.custom_op.general",
        signed=int(signed),
        narrow=0,
        rounding_mode="ROUND",
    )


def _quant_inits(*bits):
    inits = [
        numpy_helper.from_array(np.array(0.125, np.float32), "qs"),
        numpy_helper.from_array(np.array(0.0, np.float32), "qz"),
    ]
    return inits + [numpy_helper.from_array(np.array(float(b), np.float32), f"qb{b}") for b in bits]


def test_unknown_ops_become_placeholders_and_are_all_listed_in_one_error():
    """Reading goes on past an unknown op; the whole model's problems, reader-stage ones
    included, come out of one compile in one error."""
    from alveoflow.compiler.pipeline import compile_qonnx
    from alveoflow.errors import LegalizationError

    nodes = [
        _quant_node("x", "q", "/inp/act_quant/export_handler/Quant"),
        helper.make_node("Softmax", ["q"], ["b"], name="/head/Softmax"),
        helper.make_node("Relu", ["b"], ["c"], name="/after/Relu"),
        helper.make_node("LpNormalization", ["q"], ["d"], name="/norm/LpNormalization"),
        helper.make_node("Transpose", ["d"], ["e"], name="/t/Transpose", perm=[0, 1, 3, 2]),
        helper.make_node("Sub", ["c", "e"], ["y"], name="/sum/Sub"),
    ]
    model = _model(nodes, [_vi("x", [1, 4, 3, 3])], [_vi("y", [1, 4, 3, 3])], _quant_inits(4))
    g = from_qonnx(model)
    head, norm = g.node("head"), g.node("norm")
    assert isinstance(head.op, irnn.Unmapped) and head.op.source_kind == "Softmax"
    assert isinstance(norm.op, irnn.Unmapped) and norm.output.shape == (1, 4, 3, 3)
    assert g.node("t.transpose").output.shape == (1, 4, 3, 3)  # read on past the unknown op
    with pytest.raises(LegalizationError) as info:
        compile_qonnx(model)
    text = str(info.value)
    assert "head: Softmax: unsupported op type Softmax" in text
    assert "norm: LpNormalization: unsupported op type LpNormalization" in text
    assert "sum.sub: Binary: Sub of two tensors has no hardware op" in text  # its own problem
    assert "after" in text  # summarised as downstream of head


def test_a_float_model_is_one_line_error():
    from alveoflow.compiler.pipeline import compile_qonnx

    nodes = [helper.make_node("Relu", ["x"], ["y"], name="/act/Relu")]
    model = _model(nodes, [_vi("x", [1, 4])], [_vi("y", [1, 4])])
    with pytest.raises(UnsupportedOpError) as info:
        compile_qonnx(model)
    text = str(info.value)
    assert "\n" not in text and "is a float model" in text and "export_qonnx" in text


def test_dynamic_quant_parameters_are_rejected():
    nodes = [
        helper.make_node("Relu", ["x"], ["s"], name="/scale/Relu"),
        helper.make_node(
            "Quant",
            ["x", "s", "zp", "bits"],
            ["y"],
            name="/q/Quant",
            domain="qonnx.custom_op.general",
            signed=1,
            narrow=0,
            rounding_mode="ROUND",
        ),
    ]
    inits = [
        numpy_helper.from_array(np.array(0.0, np.float32), "zp"),
        numpy_helper.from_array(np.array(4.0, np.float32), "bits"),
    ]
    from alveoflow.compiler.pipeline import compile_qonnx
    from alveoflow.errors import LegalizationError

    with pytest.raises(LegalizationError, match="q: Quant: Quant scale must be a constant"):
        compile_qonnx(_model(nodes, [_vi("x", [1, 4])], [_vi("y", [1, 4])], inits))


@pytest.mark.parametrize("content", [b"", b"not an onnx model at all \x00\x01", b"\x08\x07" * 40])
def test_corrupt_files_raise_graph_error(tmp_path, content):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(GraphError, match="bad.onnx"):
        from_qonnx(path)


def test_missing_file(tmp_path):
    with pytest.raises(GraphError, match="does not exist"):
        from_qonnx(tmp_path / "nope.onnx")


def test_truncated_export_is_rejected(small_resnet, tmp_path):
    data = small_resnet.read_bytes()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises((GraphError, UnsupportedOpError)):
        from_qonnx(path)


def test_model_proto_input_is_not_modified(small_resnet):
    proto = onnx.load(str(small_resnet))
    before = proto.SerializeToString()
    from_qonnx(proto)
    assert proto.SerializeToString() == before
