"""The ``xrt`` backend (``backends.alveo.xrt_host``) on an emulated ``pyxrt`` module whose kernel
enforces the build's kernel.xml/link.cfg contract: transactions, results, checks, ``auto``."""

from __future__ import annotations

import logging
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch

from alveoflow.compiler.buildfmt import update_manifest
from alveoflow.compiler.semantics.executor import run_graph
from alveoflow.errors import ConfigError, DeviceError
from alveoflow.runtime.backend import select_backend
from alveoflow.runtime.backends.alveo import xrt_api, xrt_host
from alveoflow.runtime.backends.alveo.emulated import BANKS
from alveoflow.runtime.backends.alveo.emulated_xrt import EmulatedPyxrt
from alveoflow.runtime.build import open_build
from alveoflow.runtime.module import AlveoModule
from alveoflow.testing import lowered_cnn, lowered_resnet, write_build


@pytest.fixture(scope="module")
def resnet_build(tmp_path_factory):
    graph = lowered_resnet(18, width=0.125, input_size=32, num_classes=20, seed=3)
    return write_build(tmp_path_factory.mktemp("resnet"), graph, max_batch=4)


@pytest.fixture(scope="module")
def cnn_build(tmp_path_factory):
    graph = lowered_cnn(16, channels=(8, 8), num_classes=12, seed=1)
    return write_build(tmp_path_factory.mktemp("cnn"), graph, max_batch=4)


@pytest.fixture(scope="module")
def linked_build(resnet_build, tmp_path_factory):
    linked = tmp_path_factory.mktemp("linked") / "b"
    shutil.copytree(resnet_build, linked)
    card = open_build(linked).manifest.raw["card"]
    update_manifest(linked, {"card": {**card, "xclbin": "resnet18.xclbin"}})
    return linked


def pixels(n, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), np.uint8))


def reference(build_dir, x):
    return run_graph(open_build(build_dir).graph, {"input": x.numpy()})


def by_op(log, op):
    return [t for t in log if t.op == op]


def xml_banks(build_dir):
    """Argument name -> the bank its port is linked to, read from the generated files."""
    root = ET.parse(build_dir / "vivado" / "kernel.xml").getroot()
    ports = {a.get("name"): a.get("port", "") for a in root.iter("arg")}
    links = {}
    for line in (build_dir / "link" / "link.cfg").read_text().splitlines():
        if line.startswith("sp="):
            port, memory = line[3:].split(":")
            links[port.split(".")[1]] = memory
    out = {}
    for name, port in ports.items():
        memory = links.get(port)
        if memory:
            kind, index = memory.rstrip("]").split("[")
            out[name] = f"bank{index}" if kind == "DDR" else f"{kind}{index}"
    return out


def test_blocking_call_transactions(resnet_build):
    api = EmulatedPyxrt(resnet_build)
    x = pixels(3)
    card = open_build(resnet_build).manifest.card
    with AlveoModule(resnet_build, "emulated-xrt", card_api=api) as module:
        assert module.backend_name == "emulated-xrt"
        dev = api.cards[0]
        setup = list(dev.log)
        assert [t.op for t in setup[:2]] == ["register_xclbin", "hw_context"]
        allocs = by_op(setup, "allocate")
        banks = xml_banks(resnet_build)
        role_bank = {a.role: banks[a.name] for a in card.kernel_args if a.kind == "buffer"}
        fc = allocs[0].detail
        assert (fc["target"], fc["nbytes"]) == (role_bank["fc_weights"], 20 * 64)
        sets = allocs[1:]
        assert len(sets) == 3 * 3  # triple buffering: input, top-k, logits per set
        assert [a.detail["nbytes"] for a in sets[:3]] == [4 * 32 * 32 * 3, 4 * 5 * 4, 4 * 20 * 4]
        assert [a.detail["target"] for a in sets[:3]] == [
            role_bank[r] for r in ("input", "topk", "logits")
        ]
        start = len(dev.log)
        top = module.topk(x)
        run = list(dev.log)[start:]
        assert [t.op for t in run] == [
            "sync_to_device",
            "start",
            "wait",
            "sync_from_device",
            "sync_from_device",
        ]
        in_id, top_id, log_id = (a.detail["buffer"] for a in sets[:3])
        assert run[0].detail == {"buffer": in_id, "offset": 0, "nbytes": 3 * 32 * 32 * 3}
        call = run[1].detail
        by_role = {"input": (in_id, role_bank["input"]), "topk": (top_id, role_bank["topk"])}
        by_role |= {"logits": (log_id, role_bank["logits"]), "batch": 3}
        by_role["fc_weights"] = (fc["buffer"], role_bank["fc_weights"])
        assert call["batch"] == 3
        assert call["args"] == [by_role[a.role] for a in card.kernel_args]
        assert {run[3].detail["nbytes"], run[4].detail["nbytes"]} == {3 * 5 * 4, 3 * 20 * 4}
    np.testing.assert_array_equal(top.numpy(), reference(resnet_build, x)["topk"])
    assert not dev.open_buffers  # close() dropped every bo


def test_logits_equal_the_reference_and_the_pynq_path(cnn_build):
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    with AlveoModule(cnn_build, "emulated-xrt") as module:
        logits, top = module(x), module.topk(x, k=5)
    with AlveoModule(cnn_build, "emulated") as pynq:
        assert torch.equal(pynq(x), logits)
    ref = reference(cnn_build, x)
    np.testing.assert_array_equal(logits.numpy(), ref["logits"])
    np.testing.assert_array_equal(top.numpy(), ref["topk"])


def test_older_xrt_without_hw_context(resnet_build):
    api = EmulatedPyxrt(resnet_build, hw_context=False)
    x = pixels(2, seed=7)
    with AlveoModule(resnet_build, "emulated-xrt", card_api=api) as module:
        top = module.topk(x)
    assert api.cards[0].log[0].op == "load_xclbin"
    np.testing.assert_array_equal(top.numpy(), reference(resnet_build, x)["topk"])


def test_pipelined_run_rotates_buffer_sets(resnet_build):
    api = EmulatedPyxrt(resnet_build)
    x = pixels(10, seed=1)
    with AlveoModule(resnet_build, "emulated-xrt", card_api=api, buffers=2, max_batch=10) as module:
        start = len(api.cards[0].log)
        top = module.topk(x)
        run = list(api.cards[0].log)[start:]
    np.testing.assert_array_equal(top.numpy(), reference(resnet_build, x)["topk"])
    ops = [t.op for t in run if t.op != "sync_from_device"]
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
    card = open_build(resnet_build).manifest.card
    first = [a.role for a in card.kernel_args].index("input")
    inputs = [s.detail["args"][first][0] for s in starts]
    assert inputs[0] != inputs[1] and inputs[2] == inputs[0]


def _kernel_and_bos(api, build_dir):
    card = open_build(build_dir).manifest.card
    device = api.device(0)
    uuid = device.register_xclbin(api.xclbin())
    kernel = api.kernel(api.hw_context(device, uuid), f"{card.kernel}:{{{card.compute_unit}}}")
    index = {a.role: i for i, a in enumerate(card.kernel_args)}
    sizes = {"fc_weights": 20 * 64, "input": 4 * 32 * 32 * 3, "topk": 4 * 5 * 4}
    sizes["logits"] = 4 * 20 * 4
    bos = {r: api.bo(device, n, api.bo.normal, kernel.group_id(index[r])) for r, n in sizes.items()}
    fc = np.load(build_dir / "weights" / "fc_weights.npy")
    bos["fc_weights"].write(fc.reshape(-1).view(np.uint8), 0)
    bos["fc_weights"].sync(api.xclBOSyncDirection.XCL_BO_SYNC_BO_TO_DEVICE, fc.nbytes, 0)

    def call(**override):
        table = {**bos, "batch": 1, **override}
        return kernel(*[table[a.role] for a in card.kernel_args])

    return device, kernel, bos, call


def test_kernel_checks_banks_sizes_and_batch(resnet_build):
    api = EmulatedPyxrt(resnet_build)
    device, kernel, bos, call = _kernel_and_bos(api, resnet_build)
    other = next(i for i, b in enumerate(BANKS) if b != bos["fc_weights"].bank)
    wrong_bank = api.bo(device, 20 * 64, api.bo.normal, other)
    with pytest.raises(DeviceError, match="fc_weights bo is in"):
        call(fc_weights=wrong_bank)
    with pytest.raises(DeviceError, match="batch 5 exceeds the input bo"):
        call(batch=5)
    with pytest.raises(DeviceError, match="must be a positive int"):
        call(batch=0)
    short = api.bo(device, 10, api.bo.normal, bos["fc_weights"].group)
    with pytest.raises(DeviceError, match="FC bo holds 10 bytes"):
        call(fc_weights=short)
    with pytest.raises(DeviceError, match="takes 5 arguments"):
        kernel(bos["input"], 1)
    with pytest.raises(DeviceError, match="has no kernel"):
        card = open_build(resnet_build).manifest.card
        api.kernel(api.hw_context(device, "u"), f"{card.kernel}:{{other_cu}}")


def test_missing_sync_is_visible(resnet_build):
    """The emulated card reads only synced bytes: an unsynced input is 0xA5 garbage."""
    api = EmulatedPyxrt(resnet_build)
    _, _, bos, call = _kernel_and_bos(api, resnet_build)
    x = pixels(1, seed=5)
    expected = reference(resnet_build, x)["topk"]
    to_dev = api.xclBOSyncDirection.XCL_BO_SYNC_BO_TO_DEVICE
    from_dev = api.xclBOSyncDirection.XCL_BO_SYNC_BO_FROM_DEVICE
    bos["input"].write(x.numpy().reshape(-1), 0)
    call().wait()
    bos["topk"].sync(from_dev, 20, 0)
    garbage = bos["topk"].read(20, 0).view(np.uint32)
    assert not np.array_equal(garbage, expected[0])
    bos["input"].sync(to_dev, x.numpy().nbytes, 0)
    call().wait()
    bos["topk"].sync(from_dev, 20, 0)
    np.testing.assert_array_equal(bos["topk"].read(20, 0).view(np.uint32), expected[0])


def test_scale_out_over_two_cards(resnet_build):
    api = EmulatedPyxrt(resnet_build, cards=2)
    x = pixels(6, seed=4)
    with AlveoModule(resnet_build, "emulated-xrt", card_api=api, devices=[0, 1]) as module:
        assert module.max_batch == 8
        logits = module(x)
    np.testing.assert_array_equal(logits.numpy(), reference(resnet_build, x)["logits"])
    assert [[t.detail["batch"] for t in by_op(c.log, "start")] for c in api.cards] == [[3], [3]]


def test_a_card_of_another_platform_is_not_used(resnet_build, monkeypatch):
    from alveoflow.runtime.backends.alveo import emulated_xrt

    monkeypatch.setattr(emulated_xrt.XrtDevice, "get_info", lambda self, key: "xilinx_u55c")
    with pytest.raises(DeviceError, match="0 cards matching platform 'u250'"):
        AlveoModule(resnet_build, "emulated-xrt")


def test_xrt_without_pyxrt_says_what_was_looked_for(resnet_build, monkeypatch):
    monkeypatch.setattr(xrt_api, "import_pyxrt", lambda: None)
    with pytest.raises(DeviceError) as err:
        select_backend("xrt", open_build(resnet_build))
    text = str(err.value)
    assert "'pyxrt' (not importable" in text and "emulated-xrt" in text
    assert "Traceback" not in text


def test_unlinked_build_needs_an_xclbin_on_a_real_card(resnet_build):
    class RealLooking(EmulatedPyxrt):
        emulated = False

    with pytest.raises(ConfigError, match="no linked bitstream"):
        xrt_host.XrtBackend(open_build(resnet_build), RealLooking(resnet_build))


def test_auto_prefers_xrt_and_says_so(linked_build, monkeypatch, caplog):
    """pyxrt importable and seeing a card: 'xrt', even though PYNQ would see one too."""
    fake = EmulatedPyxrt(linked_build)
    monkeypatch.setattr(xrt_api, "import_pyxrt", lambda: fake)
    monkeypatch.setattr(xrt_host, "import_pyxrt", lambda: fake)
    with caplog.at_level(logging.WARNING):
        module = AlveoModule(linked_build, "auto")
    assert "chose 'xrt' (pyxrt, card:" in caplog.text
    assert module.backend_name == "emulated-xrt" and by_op(fake.cards[0].log, "allocate")
    module.close()


def test_auto_falls_back_to_pynq_then_sim(linked_build, monkeypatch, caplog):
    from alveoflow.runtime.backends.alveo.emulated import EmulatedPynq

    monkeypatch.setattr(xrt_api, "import_pyxrt", lambda: None)
    with caplog.at_level(logging.WARNING):
        module = AlveoModule(linked_build, "auto", card_api=EmulatedPynq(linked_build))
    assert "chose 'alveo' (PYNQ" in caplog.text and module.backend_name == "emulated"
    module.close()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        module = AlveoModule(linked_build, "auto")
    assert "chose 'sim' (no card found" in caplog.text and "pyxrt" in caplog.text
    module.close()


def test_rtlsim_is_a_known_name_with_a_clear_error(resnet_build):
    from alveoflow.runtime import backend

    if "rtlsim" in backend._FACTORIES:
        pytest.skip("rtlsim is registered now")
    with pytest.raises(ConfigError, match="backend 'rtlsim' is not available"):
        AlveoModule(resnet_build, "rtlsim")
