"""The card host path (``backends.alveo.host``) on emulated cards: transactions and results."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from alveoflow.compiler.semantics.executor import run_graph
from alveoflow.errors import DeviceError
from alveoflow.runtime.backend import select_backend
from alveoflow.runtime.backends.alveo.emulated import EmulatedPynq
from alveoflow.runtime.build import open_build
from alveoflow.runtime.module import AlveoModule
from alveoflow.runtime.packing import dequantize
from alveoflow.testing import lowered_cnn, lowered_resnet, write_build


@pytest.fixture(scope="module")
def resnet_build(tmp_path_factory):
    graph = lowered_resnet(18, width=0.125, input_size=32, num_classes=20, seed=3)
    return write_build(tmp_path_factory.mktemp("resnet"), graph, max_batch=4)


@pytest.fixture(scope="module")
def cnn_build(tmp_path_factory):
    graph = lowered_cnn(16, channels=(8, 8), num_classes=12, seed=1)
    return write_build(tmp_path_factory.mktemp("cnn"), graph, max_batch=4)


def pixels(n, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), np.uint8))


def reference(build_dir, x):
    graph = open_build(build_dir).graph
    return run_graph(graph, {"input": x.numpy()})


def by_op(log, op):
    return [t for t in log if t.op == op]


def kernel_xml_args(build_dir):
    """The kernel's arguments as the generated kernel.xml declares them, in id order."""
    import xml.etree.ElementTree as ET

    root = ET.parse(build_dir / "vivado" / "kernel.xml").getroot()
    args = sorted(root.iter("arg"), key=lambda a: int(a.get("id")))
    return [(a.get("name"), a.get("addressQualifier"), a.get("port")) for a in args]


def test_blocking_call_transactions(resnet_build):
    api = EmulatedPynq(resnet_build)
    x = pixels(3)
    card = open_build(resnet_build).manifest.card
    with AlveoModule(resnet_build, "emulated", card_api=api) as module:
        assert module.backend_name == "emulated"
        dev = api.cards[0]
        setup = list(dev.log)
        assert setup[0].op == "load_overlay" and setup[0].detail["xclbin"] == "None"
        allocs = by_op(setup, "allocate")
        fc = allocs[0].detail
        assert (fc["target"], fc["dtype"], fc["shape"]) == ("PLRAM0", "int8", (20, 64))
        assert setup[2].op == "sync_to_device" and setup[2].detail["buffer"] == fc["buffer"]
        sets = allocs[1:]
        assert len(sets) == 3 * 3  # triple buffering: input, top-k, logits per set
        assert {a.detail["target"] for a in sets} == {"bank0"}
        assert (sets[0].detail["dtype"], sets[0].detail["shape"]) == ("uint8", (4, 32, 32, 3))
        assert (sets[1].detail["dtype"], sets[1].detail["shape"]) == ("uint32", (4, 5))
        assert (sets[2].detail["dtype"], sets[2].detail["shape"]) == ("int32", (4, 20))
        start = len(dev.log)
        topk = module.topk(x)
        run = list(dev.log)[start:]
        assert [t.op for t in run] == [
            "sync_to_device",
            "call",
            "sync_from_device",
            "sync_from_device",
        ]
        in_id, top_id, log_id = (a.detail["buffer"] for a in sets[:3])
        assert run[0].detail == {"buffer": in_id, "offset": 0, "nbytes": 3 * 32 * 32 * 3}
        call = run[1].detail
        assert call["batch"] == 3
        # the host calls in the order the generated kernel.xml declares, not its own
        by_name = {"input": (in_id, "bank0"), "topk": (top_id, "bank0"), "batch": 3}
        by_name |= {"logits": (log_id, "bank0"), "fc_weights": (fc["buffer"], "PLRAM0")}
        roles = {a.name: a.role for a in card.kernel_args}
        declared = kernel_xml_args(resnet_build)
        assert [n for n, _, _ in declared] == ["in", "out", "weightsmem", "numReps", "out_fc_dup_1"]
        assert call["args"] == [by_name[roles[name]] for name, _, _ in declared]
        assert {run[2].detail["buffer"], run[3].detail["buffer"]} == {top_id, log_id}
        assert run[2].detail["nbytes"] in (3 * 5 * 4, 3 * 20 * 4)
    ref = reference(resnet_build, x)
    np.testing.assert_array_equal(topk.numpy(), ref["topk"])
    assert not dev.open_buffers  # close() freed everything
    assert dev.log[-1].op == "free_overlay"


def test_card_refuses_a_manifest_that_disagrees_with_kernel_xml(resnet_build, tmp_path):
    """The old host argument order (input, topk, logits, fc_weights, batch) against the
    generated kernel: refused before any call, naming both orders."""
    import json
    import shutil

    from alveoflow.compiler import buildfmt

    copy = tmp_path / "b"
    shutil.copytree(resnet_build, copy)
    data = json.loads((copy / "manifest.json").read_text())
    args = data["card"]["kernel_args"]
    order = ["input", "topk", "logits", "fc_weights", "batch"]
    data["card"]["kernel_args"] = sorted(args, key=lambda a: order.index(a["role"]))
    (copy / "manifest.json").write_text(json.dumps(data))
    assert buildfmt.read_manifest(copy).card is not None
    with pytest.raises(DeviceError, match="kernel.xml declares"):
        EmulatedPynq(copy)


def test_logits_through_the_card_equal_reference(cnn_build):
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    with AlveoModule(cnn_build, "emulated") as module:
        logits = module(x)
        top = module.topk(x, k=5)
    ref = reference(cnn_build, x)
    np.testing.assert_array_equal(logits.numpy(), ref["logits"])
    np.testing.assert_array_equal(top.numpy(), ref["topk"])


def test_pipelined_run_rotates_buffer_sets(resnet_build):
    api = EmulatedPynq(resnet_build)
    x = pixels(10, seed=1)
    with AlveoModule(resnet_build, "emulated", card_api=api, buffers=2, max_batch=10) as module:
        start = len(api.cards[0].log)
        top = module.topk(x)
        run = list(api.cards[0].log)[start:]
    np.testing.assert_array_equal(top.numpy(), reference(resnet_build, x)["topk"])
    ops = [t.op for t in run if t.op != "sync_from_device"]
    # chunks of 4, 4, 2 over 2 sets: the third chunk waits for the first to finish
    assert ops == [
        "sync_to_device",
        "start",
        "sync_to_device",
        "start",
        "wait",
        "sync_to_device",
        "start",
        "wait",
        "wait",
    ]
    starts = by_op(run, "start")
    assert [s.detail["batch"] for s in starts] == [4, 4, 2]
    inputs = [s.detail["args"][0][0] for s in starts]
    assert inputs[0] != inputs[1] and inputs[2] == inputs[0]
    assert [w.detail["call"] for w in by_op(run, "wait")] == [s.detail["call"] for s in starts]


def test_fc_weights_from_another_build_are_refused(resnet_build, tmp_path):
    import shutil

    from alveoflow.errors import ConfigError

    corrupt = tmp_path / "b"
    shutil.copytree(resnet_build, corrupt)
    fc = np.load(corrupt / "weights" / "fc_weights.npy")
    np.save(corrupt / "weights" / "fc_weights.npy", -fc)
    with pytest.raises(ConfigError, match="does not belong to this build"):
        AlveoModule(corrupt, "emulated")


def _card_buffers(api, build_dir, fc_values=None):
    card = open_build(build_dir).manifest.card
    dev = api.devices()[0]
    ol = api.overlay(card.xclbin, dev)
    fc = api.allocate((20, 64), np.int8, target=ol.PLRAM0)
    fc[...] = np.load(build_dir / "weights" / "fc_weights.npy") if fc_values is None else fc_values
    fc.sync_to_device()
    inp = api.allocate((4, 32, 32, 3), np.uint8, target=ol.bank0)
    top = api.allocate((4, 5), np.uint32, target=ol.bank0)
    lg = api.allocate((4, 20), np.int32, target=ol.bank0)
    return ol, getattr(ol, card.compute_unit), fc, inp, top, lg


def test_card_computes_with_the_uploaded_fc_weights(resnet_build):
    """The card uses the FC weights in its own memory, not the build's: negated weights
    give other logit codes than the build's weights on the same images."""
    fc = np.load(resnet_build / "weights" / "fc_weights.npy")
    x = pixels(4, seed=2)
    codes = []
    for weights in (fc, -fc):
        api = EmulatedPynq(resnet_build)
        _, kernel, fcbuf, inp, top, lg = _card_buffers(api, resnet_build, weights)
        inp[...] = x.numpy()
        inp.sync_to_device()
        kernel.call(inp, top, fcbuf, 4, lg)
        lg.sync_from_device()
        codes.append(np.array(lg))
    with AlveoModule(resnet_build, "sim") as module:
        raw = module.run_numpy(x.numpy())["logits"]
    scale = open_build(resnet_build).plan.output("logits")
    np.testing.assert_array_equal(dequantize(codes[0], scale.scale, scale.shift), raw)
    assert not np.array_equal(codes[0], codes[1])


def test_kernel_checks_banks_and_batch(resnet_build):
    api = EmulatedPynq(resnet_build)
    ol, kernel, good_fc, inp, top, lg = _card_buffers(api, resnet_build)
    fc = api.allocate((20, 64), np.int8, target=ol.bank1)  # design reads PLRAM0
    with pytest.raises(DeviceError, match="fc_weights buffer is in bank1"):
        kernel.call(inp, top, fc, 1, lg)
    with pytest.raises(DeviceError, match="batch 5 exceeds"):
        kernel.call(inp, top, good_fc, 5, lg)
    with pytest.raises(DeviceError, match="not a whole card buffer"):
        kernel.call(inp[:2], top, good_fc, 2, lg)
    with pytest.raises(DeviceError, match="takes 5 arguments"):
        kernel.call(inp, top, lg, 1)
    with pytest.raises(DeviceError, match="numReps .* must be a positive int"):
        kernel.call(inp, top, good_fc, lg, 1)  # the old host order: a buffer where numReps is


def test_missing_sync_is_visible(resnet_build):
    """The emulated card reads only what was synced: an unsynced input is garbage."""
    api = EmulatedPynq(resnet_build)
    _, kernel, fc, inp, top, lg = _card_buffers(api, resnet_build)
    x = pixels(1, seed=5)
    expected = reference(resnet_build, x)["topk"]
    inp[:1] = x.numpy()
    kernel.call(inp, top, fc, 1, lg)  # input never synced: the card reads 0xA5 bytes
    top.sync_from_device()
    garbage = np.array(top[:1])
    assert not np.array_equal(garbage, expected)
    inp[:1].sync_to_device()
    kernel.call(inp, top, fc, 1, lg)
    np.testing.assert_array_equal(top[:1], garbage)  # host copy stale until synced back
    top[:1].sync_from_device()
    np.testing.assert_array_equal(top[:1], expected)


def test_scale_out_over_three_cards(resnet_build):
    api = EmulatedPynq(resnet_build, cards=3)
    x = pixels(7, seed=4)
    with AlveoModule(resnet_build, "emulated", card_api=api, devices=[0, 1, 2]) as module:
        assert module.max_batch == 12
        top = module.topk(x)
        logits = module(x)
    ref = reference(resnet_build, x)
    np.testing.assert_array_equal(top.numpy(), ref["topk"])
    np.testing.assert_array_equal(logits.numpy(), ref["logits"])
    calls = [[t.detail["batch"] for t in by_op(card.log, "call")] for card in api.cards]
    assert calls == [[3, 3], [2, 2], [2, 2]]  # every card ran its own shard, twice
    for card in api.cards:
        assert by_op(card.log, "load_overlay") and not card.open_buffers


def test_alveo_without_a_card_says_what_was_looked_for(resnet_build):
    class NoCards:
        def devices(self):
            return []

    with pytest.raises(DeviceError) as err:
        AlveoModule(resnet_build, "alveo", card_api=NoCards())
    text = str(err.value)
    assert "pynq.Device.devices" in text and "Available backends: sim" in text
    assert "emulated" in text


def test_alveo_without_pynq(resnet_build, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pynq" else real(name, *a)
    )
    with pytest.raises(DeviceError, match="'pynq' \\(not installed"):
        select_backend("alveo", open_build(resnet_build))


def test_auto_picks_the_card_only_once_linked(resnet_build, tmp_path, caplog):
    import shutil

    from alveoflow.compiler.buildfmt import update_manifest

    api = EmulatedPynq(resnet_build)
    with caplog.at_level(logging.WARNING):
        module = AlveoModule(resnet_build, "auto", card_api=api)
    assert "chose 'sim' (the build has no linked xclbin)" in caplog.text
    assert module.backend_name == "sim"
    module.close()
    linked = tmp_path / "linked"
    shutil.copytree(resnet_build, linked)
    card = open_build(linked).manifest.raw["card"]
    update_manifest(linked, {"card": {**card, "xclbin": "resnet18.xclbin"}})
    api = EmulatedPynq(linked)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        module = AlveoModule(linked, "auto", card_api=api)
    assert "chose 'alveo'" in caplog.text
    assert module.backend_name == "emulated" and len(api.cards[0].log) > 0
    module.close()


@pytest.mark.slow
def test_soak_10000_inferences(cnn_build):
    import tracemalloc

    api = EmulatedPynq(cnn_build, log_limit=64)
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    with AlveoModule(cnn_build, "emulated", card_api=api) as module:
        first = module.topk(x)
        open_before = len(api.cards[0].open_buffers)
        for _ in range(50):
            module.topk(x)
        tracemalloc.start()
        base = tracemalloc.take_snapshot()
        for _ in range(2500 - 51):
            assert torch.equal(module.topk(x), first)
        grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(base, "filename"))
        tracemalloc.stop()
        assert len(api.cards[0].open_buffers) == open_before
    assert grown < 256 * 1024, f"memory grew by {grown} bytes over ~10,000 inferences"
    assert not api.cards[0].open_buffers
