"""``AlveoModule`` on the sim backend: exact outputs, errors, threads, inference mode."""

from __future__ import annotations

import logging
import threading

import numpy as np
import pytest
import torch

from alveoflow.compiler.semantics.executor import run_graph
from alveoflow.errors import ConfigError, DeviceError
from alveoflow.runtime.build import open_build
from alveoflow.runtime.module import AlveoModule
from alveoflow.testing import lowered_cnn, lowered_mlp, lowered_resnet, write_build

GRAPHS = {
    "mlp": lambda: lowered_mlp((48, 32, 10), seed=2),
    "cnn": lambda: lowered_cnn(16, channels=(8, 16), num_classes=10, seed=1),
    "resnet": lambda: lowered_resnet(18, width=0.125, input_size=32, num_classes=10, seed=4),
}


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    return {
        name: write_build(tmp_path_factory.mktemp(name), make(), max_batch=16)
        for name, make in GRAPHS.items()
    }


def example(build_dir, n, seed=0):
    stage = open_build(build_dir).plan.input
    shape = (n, *stage.user.shape[1:])
    rng = np.random.default_rng(seed)
    if stage.kind == "pixels":
        return torch.from_numpy(rng.integers(0, 256, shape, dtype=np.uint8))
    return torch.from_numpy((rng.standard_normal(shape) * 2).astype(np.float32))


def reference(build_dir, x):
    return run_graph(open_build(build_dir).graph, {"input": x.numpy()})


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_outputs_equal_the_reference(builds, name):
    build = builds[name]
    x = example(build, 5)
    with AlveoModule.load(build, backend="sim") as module:
        logits = module(x)
        top = module.topk(x, k=1)
    ref = reference(build, x)
    assert logits.dtype == torch.float32 and logits.shape == (5, 10)
    np.testing.assert_array_equal(logits.numpy(), ref["logits"])
    np.testing.assert_array_equal(top.numpy(), ref["topk"][:, :1])


def test_topk_beyond_the_card_k_ranks_logits(builds):
    build = builds["mlp"]  # the card's LabelSelect keeps k=1
    x = example(build, 6, seed=3)
    with AlveoModule(build, "sim") as module:
        top3 = module.topk(x, k=3)
        logits = module(x).numpy()
    expected = np.argsort(-logits, axis=1, kind="stable")[:, :3]
    np.testing.assert_array_equal(top3.numpy(), expected)
    np.testing.assert_array_equal(top3[:, 0].numpy(), reference(build, x)["topk"][:, 0])


def test_float64_input_and_inference_mode(builds):
    build = builds["cnn"]
    x = example(build, 2)
    with AlveoModule(build, "sim") as module, torch.inference_mode():
        a = module(x.double())
        b = module(x.requires_grad_(False))
    assert torch.equal(a, b)
    x.requires_grad_(True)
    with AlveoModule(build, "sim") as module:
        assert torch.equal(module(x), b)


@pytest.mark.parametrize(
    "name, make, error, message",
    [
        ("resnet", lambda x: x.float(), ConfigError, "permute it to NCHW"),
        ("resnet", lambda x: x[0], ConfigError, "unsqueeze"),
        ("resnet", lambda x: x.permute(0, 3, 1, 2) + 0.5, ConfigError, "whole numbers in 0..255"),
        ("resnet", lambda x: x.permute(0, 3, 1, 2) - 1.0, ConfigError, "whole numbers in 0..255"),
        ("resnet", lambda x: x.to(torch.int16), ConfigError, "must be uint8"),
        ("resnet", lambda x: x.bool(), ConfigError, "neither a float input nor integer codes"),
        ("resnet", lambda x: x[:0], ConfigError, "empty batch"),
        ("cnn", lambda x: x.to(torch.int32), ConfigError, "convert with .float()"),
        ("cnn", lambda x: x[:, :, :8], ConfigError, r"float input \(N, 3, 16, 16\) NCHW"),
        ("cnn", lambda x: x.permute(0, 2, 3, 1), ConfigError, "permute it to NCHW"),
        ("cnn", lambda x: x.to(torch.complex64), ConfigError, "complex"),
        ("cnn", lambda x: x.to("meta"), DeviceError, "meta"),
        ("cnn", lambda x: x.numpy(), ConfigError, "torch.Tensor"),
    ],
)
def test_clear_input_errors(builds, name, make, error, message):
    build = builds[name]
    with AlveoModule(build, "sim") as module, pytest.raises(error, match=message):
        module(make(example(build, 2)))


def test_batch_beyond_the_buffer(builds):
    build = builds["cnn"]
    with AlveoModule(build, "sim", max_batch=3) as module:
        with pytest.raises(ConfigError, match="batch of 4 frames exceeds"):
            module(example(build, 4))
        assert module(example(build, 3)).shape == (3, 10)


def test_threads_share_one_module(builds):
    build = builds["cnn"]
    inputs = [example(build, 3, seed=s) for s in range(6)]
    with AlveoModule(build, "sim") as module:
        expected = [module(x) for x in inputs]
        results: dict[int, torch.Tensor] = {}

        def work(i):
            for _ in range(3):
                results[i] = module(inputs[i])

        threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for i, x in enumerate(expected):
        assert torch.equal(results[i], x)


def test_auto_without_a_card_logs_sim(builds, caplog):
    class NoCards:
        def devices(self):
            return []

    with caplog.at_level(logging.WARNING):
        module = AlveoModule(builds["mlp"], "auto", card_api=NoCards())
    assert module.backend_name == "sim" and "chose 'sim'" in caplog.text
    module.close()
    with pytest.raises(DeviceError, match="closed"):
        module(example(builds["mlp"], 1))


def test_unknown_and_unavailable_backends(builds):
    with pytest.raises(ConfigError, match="did you mean: sim"):
        AlveoModule(builds["mlp"], "simm")
    with pytest.raises(ConfigError, match="distinct card indices"):
        AlveoModule(builds["mlp"], "sim", devices=[0, 0])


def test_unlinked_build_needs_no_xclbin_except_on_a_card(builds):
    """Every build describes its kernel; only a linked one names an xclbin, and a real card
    needs one (the emulated card runs the kernel as kernel.xml describes it)."""
    from alveoflow.runtime.backends.alveo.host import AlveoBackend

    class OneCard:
        def devices(self):
            return [type("Device", (), {"name": "xilinx_u250_gen3x16_xdma"})()]

    build = open_build(builds["mlp"])
    assert build.manifest.card is not None and build.manifest.card.xclbin is None
    with pytest.raises(ConfigError, match="no linked bitstream"):
        AlveoBackend(build, api=OneCard())
    with AlveoModule(builds["mlp"], "emulated") as module:
        assert module.backend_name == "emulated"


def test_cppsim_unavailable_is_a_clear_error(builds, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "alveoflow.runtime.backends.cppsim.backend", None)
    with pytest.raises(ConfigError, match="cppsim backend is not available.*backend='sim'"):
        AlveoModule(builds["mlp"], "cppsim")
