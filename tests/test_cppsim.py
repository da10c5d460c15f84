"""cppsim: the generated C++ of whole (small) networks, compiled with g++, against ``sim``.

Every IP output stream must equal the bit-exact reference on many images, under random
hardware foldings (PE/SIMD/MMV, converters, duplicators); a corrupted weight in a generated
header must make the comparison fail. Objects are cached by content hash next to pytest's
temp folders, so a warm run compiles nothing."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from alveoflow.compiler.codegen import emit, write_tree
from alveoflow.compiler.folding import refold
from alveoflow.compiler.ir import Graph, hw
from alveoflow.compiler.physical import build_design
from alveoflow.compiler.physical.policy import window_feed
from alveoflow.compiler.semantics.executor import run_graph
from alveoflow.errors import ConfigError
from alveoflow.runtime.backends.cppsim.backend import CppSimBackend
from alveoflow.runtime.packing import host_plan, storage_dtype
from alveoflow.testing import lowered_cnn, lowered_depthwise, lowered_mlp

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
