"""cppsim: the generated C++ of whole (small) networks, compiled with g++, against ``sim``.

The generated code runs as the hardware would: every IP and every dataflow call inside one
is a concurrent process over FIFOs of the design's depths. Every IP output stream must equal
the bit-exact reference on many images, under random hardware foldings (PE/SIMD/MMV,
converters, duplicators) and for build directories made by the pipeline (the hardware
folding, the default); a corrupted weight in a generated header must make the comparison
fail. Each run leaves ``BUILD/cppsim/run.json`` (FIFO depths and peaks, no deadlock); a FIFO
made too shallow deadlocks and is named in the error. Objects are cached by content hash next
to pytest's temp folders, so a warm run compiles nothing."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil

import numpy as np
import pytest
import torch

from alveoflow.compiler import buildfmt
from alveoflow.compiler.codegen import emit, write_tree
from alveoflow.compiler.config import BuildConfig
from alveoflow.compiler.folding import refold
from alveoflow.compiler.ir import Graph, hw
from alveoflow.compiler.physical import build_design
from alveoflow.compiler.physical.policy import window_feed
from alveoflow.compiler.pipeline import build
from alveoflow.compiler.semantics.executor import run_graph
from alveoflow.errors import ConfigError, DeviceError
from alveoflow.runtime.backends.cppsim.backend import CppSimBackend
from alveoflow.runtime.backends.cppsim.runinfo import design_fifos
from alveoflow.runtime.build import open_build
from alveoflow.runtime.packing import host_plan, storage_dtype
from alveoflow.testing import (
    lowered_cnn,
    lowered_depthwise,
    lowered_mlp,
    lowered_resnet,
    write_build,
)

IMAGES = 6


def _divisors(n: int, limit: int = 1 << 30) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0 and d <= limit]


def random_folding(graph: Graph, seed: int) -> Graph:
    """Random legal PE/SIMD/MMV for every node (results must not change)."""
    rng = np.random.default_rng(seed)
    pick = lambda options: int(rng.choice(options))  # noqa: E731
    fold: dict[str, dict[str, int]] = {}
    for n in graph.nodes:
        op = n.op
        if isinstance(op, hw.MVAU) and not op.external_weights:
            pixels = int(np.prod(n.outputs[0].shape[1:-1]))
            if window_feed(graph, n) is not None:  # MMV pixels of one output row per word
                pixels = int(n.outputs[0].shape[2])
            fold[n.name] = {
                "pe": pick(_divisors(op.mh)),
                "simd": pick(_divisors(op.mw, 64)),
                "mmv": pick(_divisors(pixels, 4)),
            }
        elif isinstance(op, hw.VVAU):
            fold[n.name] = {
                "pe": pick(_divisors(op.channels)),
                "simd": pick(_divisors(op.kernel_elems)),
            }
        elif isinstance(op, hw.SlidingWindow):
            fold[n.name] = {"simd": pick(_divisors(op.channels))}
        elif isinstance(
            op,
            hw.Thresholding
            | hw.AddStreams
            | hw.StreamingMaxPool
            | hw.SumPool
            | hw.DuplicateStreams,
        ):
            fold[n.name] = {"pe": pick(_divisors(n.outputs[0].shape[-1]))}
    return refold(graph, fold)


GRAPHS = {
    "cnn": lambda: lowered_cnn(input_size=16, channels=(8, 16), seed=3),
    "mlp": lambda: lowered_mlp(layers=(64, 32, 32, 10), seed=4),
    "depthwise": lambda: lowered_depthwise(input_size=16, seed=5),
    "resnet": lambda: lowered_resnet(18, width=0.125, input_size=32, num_classes=10, seed=6),
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """Objects shared across test runs (pytest keeps its base temp folder's parent)."""
    folder = tmp_path_factory.getbasetemp().parent / "alveoflow-cppsim-cache"
    folder.mkdir(exist_ok=True)
    return folder


def _card_input(graph: Graph, n: int, seed: int) -> tuple[Graph, np.ndarray]:
    card = host_plan(graph).card_graph
    info = card.inputs[0]
    rng = np.random.default_rng(seed)
    x = rng.integers(info.qtype.min, info.qtype.max + 1, size=(n, *info.shape[1:]))
    return card, x.astype(storage_dtype(info.qtype))


def mismatches(backend: CppSimBackend, graph: Graph, x: np.ndarray) -> list[str]:
    """Names of IP output streams and card outputs that differ from ``sim``."""
    card = host_plan(graph).card_graph
    ref = run_graph(card, {card.inputs[0].name: x}, keep_intermediates=True)
    taps = backend.run_taps(x)
    bad = [k for k, v in taps.items() if not np.array_equal(v.reshape(ref[k].shape), ref[k])]
    outs = backend.run(x)
    bad += [f"out:{k}" for k, v in outs.items() if not np.array_equal(v, ref[k])]
    return bad


@pytest.fixture(scope="module", params=sorted(GRAPHS))
def built(request, tmp_path_factory, cache):
    graph = random_folding(GRAPHS[request.param](), seed=11)
    root = tmp_path_factory.mktemp(request.param)
    write_tree(emit(build_design(graph)), root)
    return request.param, graph, root, CppSimBackend(root, cache_dir=cache)


def test_every_block_stream_matches_sim(built):
    name, graph, _, backend = built
    _, x = _card_input(graph, IMAGES, seed=1)
    assert len(backend.tap_names) >= 2
    assert mismatches(backend, graph, x) == []


def test_outputs_follow_the_backend_protocol(built):
    _, graph, _, backend = built
    card, x = _card_input(graph, 2, seed=2)
    outs = backend.run(x)
    assert set(outs) == set(card.outputs)
    for info in card.output_infos():
        assert outs[info.name].dtype == storage_dtype(info.qtype)
        assert outs[info.name].shape == (2, *info.shape[1:])
    with pytest.raises(ConfigError):
        backend.run(x.reshape(2, -1)[:, :-1])
    assert backend.name == "cppsim" and backend.max_batch is None


def test_second_build_comes_from_the_cache(built, cache):
    _, _, root, _ = built
    again = CppSimBackend(root, cache_dir=cache)
    assert again.report.compiled == 0


def test_corrupted_weight_is_detected(built, cache, tmp_path):
    name, graph, root, _ = built
    if name != "cnn":
        pytest.skip("one corruption test is enough")
    copy = tmp_path / "corrupt"
    shutil.copytree(root, copy)
    header = copy / "hls" / "params" / "conv0_params.h"
    text = header.read_text()
    body = text[text.index("AF_ROM_HEX(af_conv0_conv0_w") :]
    m = re.search(r'"0x([0-9a-f]+)"', body)
    assert m is not None
    word = m.group(1)
    flipped = word[:-1] + format(int(word[-1], 16) ^ 0x8, "x")  # top bit of lane 0's low nibble
    start = text.index("AF_ROM_HEX(af_conv0_conv0_w") + m.start(1)
    header.write_text(text[:start] + flipped + text[start + len(word) :])
    bad = CppSimBackend(copy, cache_dir=cache)
    assert bad.report.library != built[3].report.library  # the edited header was rebuilt
    _, x = _card_input(graph, IMAGES, seed=1)
    assert mismatches(bad, graph, x) != []


# -- build directories: the hardware folding, concurrent processes, run.json, deadlock ---------


@pytest.fixture(scope="module", params=sorted(GRAPHS))
def build_dir(request, tmp_path_factory, cache):
    """A build directory made by the pipeline, on the default (hardware-folding) cppsim."""
    root = write_build(tmp_path_factory.mktemp(f"build_{request.param}"), GRAPHS[request.param]())
    return request.param, root, CppSimBackend(root, cache_dir=cache)


def _run_json(root):
    return json.loads((root / "cppsim" / "run.json").read_text())


def test_build_dir_runs_the_hardware_folding_bit_exact(build_dir):
    name, root, backend = build_dir
    assert backend.folding == "hardware" and backend.dir == root  # BUILD/hls, not the variant
    graph = open_build(root).graph
    _, x = _card_input(graph, 3, seed=7)
    assert mismatches(backend, graph, x) == []
    record = _run_json(root)
    assert record["folding"] == "hardware" and record["sources"] == "hls"
    assert record["deadlock"] is False and record["frames"] == 3
    assert record == backend.last_run


def test_every_fifo_reports_its_depth_and_peak(build_dir):
    name, root, backend = build_dir
    _, x = _card_input(open_build(root).graph, 2, seed=8)
    backend.run(x)
    fifos = {f["name"]: f for f in _run_json(root)["fifos"]}
    planned = design_fifos(backend.info)
    assert set(planned) <= set(fifos)  # every FIFO of the design ran, under its own name
    for fifo, depth in planned.items():
        assert fifos[fifo]["depth"] == depth
    for f in fifos.values():
        assert 0 <= f["peak"] <= f["depth"] and f["left"] == 0
        assert (f["peak"] > 0) == (f["words"] > 0)
    link = fifos[next(s["name"] for s in backend.info["streams"] if s["src"] == "dma")]
    # the input DMA writes faster than the first IP reads: its FIFO holds more than a word
    assert 1 < link["peak"] <= link["depth"] and link["words"] > 0
    assert {ip["name"] for ip in _run_json(root)["ips"]} == {i["name"] for i in backend.info["ips"]}


def test_run_json_is_a_run_artifact_not_a_build_file(build_dir):
    name, root, _ = build_dir
    if name != "cnn":
        pytest.skip("one build is enough")
    manifest = buildfmt.read_manifest(root)
    assert (root / "cppsim" / "run.json").is_file()
    assert not any("run.json" in rel for rel in manifest.files)
    open_build(root)  # every listed file still verifies
    assert not list((root / "cppsim").glob(".*tmp"))


def _bypass(design):
    """The residual bypass of the first add: the stream into its second input."""
    return next(s for s in design.streams if s.dst.endswith(".add") and s.dst_index == 1)


@pytest.fixture(scope="module")
def resnet_design():
    graph = GRAPHS["resnet"]()
    return graph, build(graph, BuildConfig.from_mapping({"plan": False})).design


def test_too_shallow_fifo_deadlocks_and_is_named(resnet_design, tmp_path, cache):
    graph, design = resnet_design
    bypass = _bypass(design)
    shallow = tuple(dataclasses.replace(s, depth=2) if s is bypass else s for s in design.streams)
    root = tmp_path / "shallow"
    write_tree(emit(dataclasses.replace(design, streams=shallow)), root)
    backend = CppSimBackend(root, cache_dir=cache)
    _, x = _card_input(graph, 1, seed=9)
    name = f"{bypass.src_ip}/{bypass.name}"
    with pytest.raises(DeviceError, match="deadlock") as err:
        backend.run(x)
    message = str(err.value)
    assert f"FIFO '{name}' (depth 2) is full" in message
    assert f"from {bypass.src} to {bypass.dst} (IP {bypass.src_ip})" in message
    record = _run_json(root)
    blocked = {b["fifo"]: b for b in record["deadlock"]["blocked"]}
    assert blocked[name]["wait"] == "write" and blocked[name]["size"] == 2
    assert record["deadlock"]["message"] == message


def test_fifo_depth_override_without_recompiling(resnet_design, tmp_path, cache):
    graph, design = resnet_design
    root = tmp_path / "design"
    write_tree(emit(design), root)
    bypass = _bypass(design)
    name = f"{bypass.src_ip}/{bypass.name}"
    _, x = _card_input(graph, 1, seed=10)
    assert mismatches(CppSimBackend(root, cache_dir=cache), graph, x) == []
    shallow = CppSimBackend(root, cache_dir=cache, fifo_depths={name: 2})
    assert shallow.report.compiled == 0
    with pytest.raises(DeviceError, match=re.escape(f"FIFO '{name}' (depth 2) is full")):
        shallow.run(x)
    assert _run_json(root)["fifo_overrides"] == {name: 2}
    with pytest.raises(ConfigError, match="no FIFO 'nope'"):
        CppSimBackend(root, cache_dir=cache, fifo_depths={"nope": 4})


def test_emulated_card_runs_the_generated_cpp(build_dir):
    from alveoflow.runtime.module import AlveoModule

    name, root, _ = build_dir
    if name != "cnn":
        pytest.skip("one build is enough")
    (root / "cppsim" / "run.json").unlink(missing_ok=True)
    graph = open_build(root).graph
    _, x = _card_input(graph, 3, seed=11)
    with AlveoModule(root, "emulated", kernel="sim") as module:
        want = module(torch.from_numpy(x))
    with AlveoModule(root, "emulated", kernel="cppsim") as module:
        logits = module(torch.from_numpy(x))
    np.testing.assert_array_equal(logits.numpy(), want.numpy())
    assert _run_json(root)["frames"] == 3  # the card's kernel was the generated C++
