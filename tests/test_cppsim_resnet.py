"""cppsim on the lowered ResNet-50: every block's output stream equals ``sim`` for one image.

Two slow tests: the full 224x224 network through the build-directory path with the C-sim
folding (the variant emitted with the build, words of at most 64 bits), and a 64x64
ResNet-50 with the planner's hardware folding (wide words, MMV, converters: exactly what
Vitis would synthesise)."""

from __future__ import annotations

import numpy as np
import pytest

from alveoflow.compiler.semantics.executor import run_graph
from alveoflow.runtime.backends.cppsim.backend import CppSimBackend
from alveoflow.runtime.build import open_build
from alveoflow.runtime.packing import host_plan
from alveoflow.testing import lowered_resnet, write_build


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    folder = tmp_path_factory.getbasetemp().parent / "alveoflow-cppsim-cache"
    folder.mkdir(exist_ok=True)
    return folder


def _compare(backend: CppSimBackend, graph, seed: int) -> tuple[int, list[str]]:
    card = host_plan(graph).card_graph
    info = card.inputs[0]
    x = np.random.default_rng(seed).integers(0, 256, (1, *info.shape[1:]), dtype=np.uint8)
    ref = run_graph(card, {info.name: x}, keep_intermediates=True)
    taps = backend.run_taps(x)
    bad = [k for k, v in taps.items() if not np.array_equal(v.reshape(ref[k].shape), ref[k])]
    outs = backend.run(x)
    bad += [k for k, v in outs.items() if not np.array_equal(v, ref[k])]
    return len(taps), bad


@pytest.mark.slow
def test_resnet50_224_build_dir_csim_folding(tmp_path, cache):
    graph = lowered_resnet(depth=50, input_size=224)
    build = write_build(tmp_path / "b", graph)
    backend = CppSimBackend(build, folding="csim", cache_dir=cache)  # emitted with the build
    assert (build / "cppsim" / "csim" / "design.json").is_file()
    count, bad = _compare(backend, graph, seed=0)
    assert count == 19  # stem, 16 blocks, tail (FC scores and top-k)
    assert bad == []


@pytest.mark.slow
def test_resnet50_hardware_folding(tmp_path, cache):
    graph = lowered_resnet(depth=50, input_size=64, seed=2)
    build = write_build(tmp_path / "b", graph, plan=True, csim_variant=False)
    backend = CppSimBackend(build, folding="hardware", cache_dir=cache)
    count, bad = _compare(backend, open_build(build).graph, seed=1)
    assert count == 19 and bad == []
