"""Checkpoints: {config, state_dict} round trip, bare state_dicts, and clear mismatch errors."""

from __future__ import annotations

import pytest
import torch

from alveoflow.errors import CheckpointError
from alveoflow.qnn import QuantResNet, QuantResNetSmall, build_model, calibrate_bn


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    return calibrate_bn(build_model("resnet_small_28", bits="w2a2"))


def test_round_trip_restores_config_and_outputs(small, tmp_path):
    path = small.save(tmp_path / "ck.pt")
    loaded = QuantResNet.from_checkpoint(path).eval()
    assert isinstance(loaded, QuantResNetSmall)
    assert loaded.config == small.config
    x = torch.randint(0, 256, (2, 1, 28, 28)).float()
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), small(x), rtol=0, atol=0)


def test_bare_state_dict_uses_class_defaults(small, tmp_path):
    path = tmp_path / "bare.pt"
    torch.save(build_model("resnet_small_28").state_dict(), path)
    model = QuantResNetSmall.from_checkpoint(path)
    assert model.config.bits == "w1a2r4"


def test_shape_mismatch_names_key_and_shapes(tmp_path):
    path = build_model("resnet_small_28", num_classes=5).save(tmp_path / "c5.pt")
    with pytest.raises(CheckpointError) as info:
        QuantResNetSmall.from_checkpoint(path, num_classes=10)
    message = str(info.value)
    assert "fc.weight" in message and "(5, 64)" in message and "(10, 64)" in message


def test_missing_and_unexpected_keys_are_listed(small, tmp_path):
    state = dict(small.state_dict())
    del state["layer2.0.conv1.weight"]
    state["head.extra"] = torch.zeros(1)
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError) as info:
        QuantResNetSmall.from_checkpoint(tmp_path / "bad.pt")
    assert "missing keys: layer2.0.conv1.weight" in str(info.value)
    assert "unexpected keys: head.extra" in str(info.value)


def test_partial_activation_scales_are_an_error(small, tmp_path):
    state = dict(small.state_dict())
    scale_keys = [k for k in state if k.endswith("scaling_impl.value") and "relu1" in k]
    for key in scale_keys:
        del state[key]
    torch.save(state, tmp_path / "partial.pt")
    with pytest.raises(CheckpointError, match="relu1"):
        QuantResNetSmall.from_checkpoint(tmp_path / "partial.pt")


def test_unreadable_and_missing_files(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        QuantResNet.from_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        QuantResNet.from_checkpoint(tmp_path / "nope.pt")
