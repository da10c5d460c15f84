"""Validated loading of manifest.json and of a whole build directory."""

from __future__ import annotations

import json

import numpy as np
import pytest

from alveoflow.errors import ConfigError
from alveoflow.runtime.backends.alveo.layout import write_build
from alveoflow.runtime.build import open_build
from alveoflow.runtime.manifest import load_manifest
from alveoflow.testing import lowered_mlp


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return write_build(tmp_path_factory.mktemp("b"), lowered_mlp((32, 16, 10)), max_batch=8)


def _edit(build, tmp_path, change):
    data = json.loads((build / "manifest.json").read_text())
    change(data)
    out = tmp_path / "edited"
    out.mkdir()
    for f in build.iterdir():
        (out / f.name).write_bytes(f.read_bytes())
    (out / "manifest.json").write_text(json.dumps(data))
    return out


def test_loads_valid_build(build):
    b = open_build(build)
    m = b.manifest
    assert m.input.name == "input" and m.input.dtype == "float32" and m.input.layout == "NC"
    assert [o.kind for o in m.outputs] == ["logits", "topk"]
    assert m.card is not None and m.card.max_batch == 8
    assert m.card.bank("topk") == "bank0" and m.card.bank("fc_weights") == "PLRAM0"
    assert m.card.xclbin == build / "alveoflow.xclbin"
    fc = np.load(m.card.fc_weights_file)
    assert fc.dtype == np.int8 and fc.shape == b.graph.node("fc").weights["weights"].shape


def test_missing_manifest_says_how_to_make_one(tmp_path):
    with pytest.raises(ConfigError, match="alveoflow compile"):
        load_manifest(tmp_path)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(format=99), "format is 99"),
        (lambda d: d.pop("input"), "missing field 'input'"),
        (lambda d: d["input"].update(dtype="int4"), "dtype 'int4'"),
        (lambda d: d["input"].update(layout="CHWN"), "layout 'CHWN'"),
        (lambda d: d["outputs"][0].update(kind="probs"), "kind 'probs'"),
        (lambda d: d["outputs"][0].update(shape=[0, 10]), "positive ints"),
        (lambda d: d["card"].update(bankz={}), "unknown keys"),
        (lambda d: d["card"]["banks"].update(inptu="bank1"), "did you mean: input"),
        (lambda d: d["card"].update(max_batch=0), "max_batch must be >= 1"),
        (lambda d: d["card"].update(args=["input", "weights"]), "unknown entries"),
    ],
)
def test_bad_manifest_fields_are_named(build, tmp_path, change, message):
    with pytest.raises(ConfigError, match=message):
        load_manifest(_edit(build, tmp_path, change))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["input"].update(shape=[1, 33]), "does not match the graph"),
        (lambda d: d["input"].update(dtype="uint8"), "input dtype uint8"),
        (lambda d: d["outputs"][0].update(name="probs"), "not a graph output"),
        (lambda d: d["outputs"][1].update(kind="logits"), "graph says topk"),
    ],
)
def test_manifest_must_match_graph(build, tmp_path, change, message):
    with pytest.raises(ConfigError, match=message):
        open_build(_edit(build, tmp_path, change))
