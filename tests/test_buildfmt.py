"""The build-directory format: validated manifests, hash-checked files, atomic and safe
writes (user files kept, stale stages cleaned, concurrent writers serialised)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest

from alveoflow.compiler import buildfmt
from alveoflow.compiler.buildfmt import BuildWriter, read_manifest
from alveoflow.errors import ConfigError
from alveoflow.runtime.build import open_build
from alveoflow.testing import lowered_mlp, write_build


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return write_build(tmp_path_factory.mktemp("b") / "b", lowered_mlp((32, 16, 10)), max_batch=8)


def _copy(build, tmp_path, name="copy"):
    out = tmp_path / name
    shutil.copytree(build, out)
    return out


def _edit(build, tmp_path, change):
    out = _copy(build, tmp_path, "edited")
    data = json.loads((out / "manifest.json").read_text())
    change(data)
    (out / "manifest.json").write_text(json.dumps(data))
    return out


def test_loads_valid_build(build):
    b = open_build(build)
    m = b.manifest
    assert m.input.name == "input" and m.input.dtype == "float32" and m.input.layout == "NC"
    assert [o.kind for o in m.outputs] == ["logits", "topk"]
    assert m.card is not None and m.card.max_batch == 8 and m.card.xclbin is None
    assert m.card.bank("topk") == "bank0" and m.card.bank("fc_weights") == "PLRAM0"
    fc = buildfmt.load_fc_weights(m, b.graph.node("fc").weights["weights"].shape)
    assert fc.dtype == np.int8


def test_missing_manifest_says_how_to_make_one(tmp_path):
    with pytest.raises(ConfigError, match="alveoflow compile"):
        read_manifest(tmp_path)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(format=99), "format is 99"),
        (lambda d: d.pop("input"), "missing field 'input'"),
        (lambda d: d["input"].update(dtype="int99"), "dtype 'int99'"),
        (lambda d: d["input"].update(layout="CHWN"), "layout 'CHWN'"),
        (lambda d: d["outputs"][0].update(kind="probs"), "kind 'probs'"),
        (lambda d: d["outputs"][0].update(shape=[0, 10]), "positive ints"),
        (lambda d: d["card"].update(max_batch=0), "max_batch must be >= 1"),
        (lambda d: d["card"]["kernel_args"][0].update(role="inptu"), "did you mean: input"),
        (lambda d: d["card"]["kernel_args"].pop(0), "lack the input"),
        (lambda d: d.pop("files"), "missing field 'files'"),
    ],
)
def test_bad_manifest_fields_are_named(build, tmp_path, change, message):
    with pytest.raises(ConfigError, match=message):
        read_manifest(_edit(build, tmp_path, change))


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


@pytest.mark.parametrize("name", ["graph.json", "graph.npz"])
def test_graph_files_from_another_model_are_refused(build, tmp_path, name):
    other = write_build(tmp_path / "other", lowered_mlp((32, 8, 10), seed=9))
    copy = _copy(build, tmp_path)
    shutil.copy(other / name, copy / name)
    with pytest.raises(ConfigError, match=f"{name} does not belong to this build"):
        open_build(copy)


def test_corrupt_graph_npz_is_one_error(build, tmp_path):
    copy = _copy(build, tmp_path)
    (copy / "graph.npz").write_bytes(b"PK not a zip")
    data = json.loads((copy / "manifest.json").read_text())
    data["files"]["graph.npz"] = buildfmt.sha256_file(copy / "graph.npz")
    (copy / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="cannot read the graph"):
        open_build(copy)


def test_new_build_removes_only_its_own_stale_files(build, tmp_path):
    target = _copy(build, tmp_path, "t")
    (target / "notes.txt").write_text("user")
    (target / "hls" / "src" / "old_ip.cpp").write_text("stale build file")
    data = json.loads((target / "manifest.json").read_text())
    data["files"]["hls/src/old_ip.cpp"] = "0" * 64
    (target / "manifest.json").write_text(json.dumps(data))
    write_build(target, lowered_mlp((32, 16, 10)))
    assert not (target / "hls" / "src" / "old_ip.cpp").exists()
    assert (target / "notes.txt").read_text() == "user"


def test_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        out = write_build(tmp_path / "u", lowered_mlp((32, 16, 10)))
    finally:
        os.umask(old)
    assert (out.stat().st_mode & 0o777) == 0o755
    assert ((out / "graph.json").stat().st_mode & 0o777) == 0o644
    assert ((out / "manifest.json").stat().st_mode & 0o777) == 0o644


def test_stage_of_a_killed_writer_is_cleaned(tmp_path):
    target = tmp_path / "k"
    code = (
        "import os, sys\n"
        "from alveoflow.compiler.buildfmt import BuildWriter\n"
        f"w = BuildWriter({str(target)!r}).__enter__()\n"
        "w.put('graph.json', 'x')\n"
        "os._exit(0)\n"  # killed before commit: the stage stays behind
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert len(list(tmp_path.glob(".k.stage-*"))) == 1
    write_build(target, lowered_mlp((32, 16, 10)))
    assert not list(tmp_path.glob(".k.stage-*"))
    assert (target / "manifest.json").is_file()


def test_concurrent_writers_do_not_interleave(tmp_path):
    target = tmp_path / "c"
    graphs = [lowered_mlp((32, 16, 10), seed=s) for s in (1, 2)]
    errors: list[BaseException] = []

    def run(g):
        try:
            write_build(target, g)
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=run, args=(g,)) for g in graphs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    open_build(target)  # whichever won, every file matches the manifest


def test_writer_refuses_a_file_and_cleans_up_on_error(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="not a folder"), BuildWriter(tmp_path / "f"):
        pass
    with pytest.raises(RuntimeError), BuildWriter(tmp_path / "e") as w:
        w.put("a.txt", "x")
        raise RuntimeError("boom")
    assert not (tmp_path / "e").exists() and not list(tmp_path.glob(".e.stage-*"))
