"""The rtlsim backend on the test nets: the generated RTL of each build under Verilator is
bit-exact with the reference (``sim``), its steady state is within 5% of the estimate's
``ii_cycles``, ``BUILD/rtlsim/run.json`` has its fields, a too-shallow FIFO is reported as a
deadlock naming the stream, and each IP simulated alone is bit-exact and on its own estimate.

Each net is built once per module (``write_build`` with the folding planner and the FIFO
sizing, as ``alveoflow compile`` does); models go to a session cache."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from alveoflow.compiler.config import BuildConfig
from alveoflow.compiler.semantics.executor import run_graph
from alveoflow.errors import DeviceError
from alveoflow.runtime.backends.rtlsim.backend import RUN_JSON, RtlSimBackend
from alveoflow.runtime.backends.rtlsim.blocks import simulate_blocks
from alveoflow.runtime.build import open_build
from alveoflow.testing import (
    lowered_cnn,
    lowered_depthwise,
    lowered_mlp,
    lowered_resnet,
    write_build,
)

pytestmark = pytest.mark.rtl

NETS = {
    "mlp": lambda: lowered_mlp(layers=(64, 32, 32, 10)),
    "cnn": lambda: lowered_cnn(input_size=16, channels=(8, 16)),
    "depthwise": lambda: lowered_depthwise(input_size=16, blocks=((16, 1), (32, 2))),
    "resnet": lambda: lowered_resnet(depth=18, input_size=32, width=0.125, num_classes=10),
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rtlsim model cache, ``cache_root()/rtlsim`` of ``ALVEOFLOW_CACHE=cache.parent``
    (kept across tests and runs in pytest's base temp folder's parent)."""
    folder = tmp_path_factory.getbasetemp().parent / "alveoflow-rtlsim-cache" / "rtlsim"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def net_build(tmp_path_factory: pytest.TempPathFactory):
    """``net_build(name)``: the build directory of test net ``name`` (made once)."""
    root = tmp_path_factory.mktemp("rtlsim_builds")
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in made:
            made[name] = write_build(root / name, NETS[name](), plan=True, csim_variant=False)
        return made[name]

    return get


def _frames(build: Path, n: int, seed: int = 0) -> np.ndarray:
    info = open_build(build).plan.card_graph.inputs[0]
    q = info.qtype
    dtype = np.int8 if q.signed else np.uint8
    rng = np.random.default_rng(seed)
    return rng.integers(q.min, q.max + 1, (n, *info.shape[1:])).astype(dtype)


def _reference(build: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    card = open_build(build).plan.card_graph
    return {k: np.asarray(v) for k, v in run_graph(card, {card.inputs[0].name: x}).items()}


@pytest.mark.parametrize("name", sorted(NETS))
def test_bit_exact_and_on_the_estimate(name, net_build, cache):
    build = net_build(name)
    backend = RtlSimBackend(build, open_build(build).plan.card_graph, cache_dir=cache)
    x = _frames(build, 4)
    got = backend.run(x)
    want = _reference(build, x)
    for tensor, values in got.items():
        np.testing.assert_array_equal(values, want[tensor].reshape(values.shape), err_msg=tensor)
    run = json.loads((build / RUN_JSON).read_text())
    ii = json.loads((build / "report.json").read_text())["estimate"]["ii_cycles"]
    assert run["frames"] == 4 and run["frames_measured"] == 3
    assert abs(run["cycles_per_frame"] / ii - 1) <= 0.05, (run["cycles_per_frame"], ii)
    assert run["estimate"] == {"ii_cycles": ii, "within_5pct": True}
    assert run["diagnosis"] is None
    assert 0 < run["latency_cycles"] < run["cycles"]
    for stream, fifo in run["fifos"].items():
        assert 0 <= fifo["peak"] <= fifo["depth"], stream
    assert any(f["peak"] > 0 for f in run["fifos"].values())


def test_run_json_is_a_run_artifact(net_build, cache):
    """run.json sits in its own folder, is written whole (no temporary file left) and is not
    a build file; fewer frames than the steady state needs are padded, their results
    dropped."""
    build = net_build("mlp")
    backend = RtlSimBackend(build, cache_dir=cache, min_frames=4)
    x = _frames(build, 1, seed=3)
    got = backend.run(x)
    assert all(v.shape[0] == 1 for v in got.values())
    run = json.loads((build / RUN_JSON).read_text())
    assert run["frames_requested"] == 1 and run["frames"] == 4
    keys = {"cycles_per_frame", "latency_cycles", "fifos", "diagnosis", "estimate", "cycles"}
    assert keys <= set(run)
    assert sorted(p.name for p in (build / "rtlsim").iterdir()) == ["run.json"]
    manifest = json.loads((build / "manifest.json").read_text())
    assert not any(rel.startswith("rtlsim/") for rel in manifest["files"])
    one = RtlSimBackend(build, cache_dir=cache, min_frames=1)
    one.run(x)
    run = json.loads((build / RUN_JSON).read_text())
    assert run["frames"] == 1 and run["cycles_per_frame"] is None and run["latency_cycles"] > 0


def _shallow_bypass(build: Path, out: Path) -> tuple[Path, str]:
    """The build of the same net with the first residual bypass FIFO 2 words deep."""
    from alveoflow.compiler import pipeline
    from alveoflow.compiler.ir import hw
    from alveoflow.compiler.physical import Layout, build_design

    config = BuildConfig.from_mapping({"plan": True, "csim_variant": False})
    result = pipeline.build(NETS["resnet"](), config)
    graph = result.folded
    add = next(n for n in graph.nodes if isinstance(n.op, hw.AddStreams))
    bypass = add.inputs[1]
    depths = dict(result.fifo.depths)
    depths[(bypass, add.name)] = 2
    result.design = build_design(graph, Layout.from_design(result.design), depths)
    result.files = pipeline.emit(result.design, config)
    pipeline.write(result, out, NETS["resnet"]())
    stream = next(s.name for s in result.design.streams if s.dst == add.name and s.dst_index == 1)
    return out, stream


def test_a_too_shallow_fifo_is_a_deadlock_naming_the_stream(tmp_path, cache):
    build, stream = _shallow_bypass(tmp_path / "base", tmp_path / "shallow")
    backend = RtlSimBackend(build, cache_dir=cache)
    with pytest.raises(DeviceError, match=f"deadlock .*stream {stream} is full"):
        backend.run(_frames(build, 2))
    run = json.loads((build / RUN_JSON).read_text())
    diagnosis = run["diagnosis"]
    assert diagnosis["kind"] == "deadlock" and diagnosis["stream"] == stream
    assert run["fifos"][stream] == {"depth": 2, "peak": 2, "end": 2}
    assert run["cycles_per_frame"] is None


def test_cli_run_on_rtlsim_equals_sim(net_build, cache, tmp_path, monkeypatch):
    from alveoflow import cli

    monkeypatch.setenv("ALVEOFLOW_CACHE", str(cache.parent))
    build = net_build("cnn")
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, *open_build(build).graph.inputs[0].shape[1:])).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    args = ["run", str(build), "--input", str(tmp_path / "x.npy"), "--output"]
    assert cli.main(args + [str(tmp_path / "sim.npy"), "--backend", "sim", "--device", "cpu"]) == 0
    assert cli.main(args + [str(tmp_path / "rtl.npy"), "--backend", "rtlsim"]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "rtl.npy"), np.load(tmp_path / "sim.npy"))


def test_each_block_alone_is_bit_exact_and_on_its_estimate(net_build, cache):
    build = net_build("resnet")
    results = simulate_blocks(build, _frames(build, 4, seed=5), cache_dir=cache)
    assert len(results) == len(json.loads((build / "design.json").read_text())["ips"])
    for name, block in results.items():
        assert block.bit_exact, (name, block.mismatched)
        assert block.within, (name, block.cycles_per_frame, block.estimate)
