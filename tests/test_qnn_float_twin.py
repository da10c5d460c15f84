"""Float twins of the quantised ResNets, and float ResNets from torchvision state_dicts."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from alveoflow.errors import CheckpointError, ConfigError
from alveoflow.qnn import build_model
from alveoflow.qnn.float_twin import FloatResNet, float_twin, init_from_float
from alveoflow.qnn.torchvision_keys import from_torchvision, plain_state_dict
from alveoflow.train.stats import finish_stats_collection
from alveoflow.train.teacher import load_teacher

# -- a torchvision-layout ResNet-50 state_dict and forward, written from torchvision's
#    definition (Bottleneck v1.5, ReLU after the add), independently of alveoflow's code.
TV_STAGES = ((64, 3), (128, 4), (256, 6), (512, 3))


def _bn(state: dict, prefix: str, channels: int, gen: torch.Generator) -> None:
    state[f"{prefix}.weight"] = 0.5 + 0.2 * torch.rand(channels, generator=gen)
    state[f"{prefix}.bias"] = 0.1 * torch.randn(channels, generator=gen)
    state[f"{prefix}.running_mean"] = 0.1 * torch.randn(channels, generator=gen)
    state[f"{prefix}.running_var"] = 0.5 + torch.rand(channels, generator=gen)
    state[f"{prefix}.num_batches_tracked"] = torch.tensor(100)


def _conv(state: dict, key: str, out_ch: int, in_ch: int, k: int, gen: torch.Generator) -> None:
    std = (2.0 / (in_ch * k * k)) ** 0.5
    state[key] = std * torch.randn(out_ch, in_ch, k, k, generator=gen)


def torchvision_resnet50_state(classes: int = 10, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    _conv(state, "conv1.weight", 64, 3, 7, gen)
    _bn(state, "bn1", 64, gen)
    inplanes = 64
    for stage, (planes, blocks) in enumerate(TV_STAGES, start=1):
        for block in range(blocks):
            p = f"layer{stage}.{block}"
            _conv(state, f"{p}.conv1.weight", planes, inplanes, 1, gen)
            _bn(state, f"{p}.bn1", planes, gen)
            _conv(state, f"{p}.conv2.weight", planes, planes, 3, gen)
            _bn(state, f"{p}.bn2", planes, gen)
            _conv(state, f"{p}.conv3.weight", planes * 4, planes, 1, gen)
            _bn(state, f"{p}.bn3", planes * 4, gen)
            if block == 0:
                _conv(state, f"{p}.downsample.0.weight", planes * 4, inplanes, 1, gen)
                _bn(state, f"{p}.downsample.1", planes * 4, gen)
            inplanes = planes * 4
    state["fc.weight"] = 0.01 * torch.randn(classes, 2048, generator=gen)
    state["fc.bias"] = 0.01 * torch.randn(classes, generator=gen)
    return state


def torchvision_forward(state: dict, pixels: torch.Tensor) -> torch.Tensor:
    """torchvision's ResNet-50 forward on 0..255 pixels (its standard normalisation)."""
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    def bn(x, prefix):
        return F.batch_norm(
            x,
            state[f"{prefix}.running_mean"],
            state[f"{prefix}.running_var"],
            state[f"{prefix}.weight"],
            state[f"{prefix}.bias"],
            training=False,
            eps=1e-5,
        )

    x = (pixels / 255.0 - mean) / std
    x = F.relu(bn(F.conv2d(x, state["conv1.weight"], stride=2, padding=3), "bn1"))
    x = F.max_pool2d(x, 3, 2, 1)
    for stage, (_, blocks) in enumerate(TV_STAGES, start=1):
        for block in range(blocks):
            p, stride = f"layer{stage}.{block}", (2 if stage > 1 and block == 0 else 1)
            out = F.relu(bn(F.conv2d(x, state[f"{p}.conv1.weight"]), f"{p}.bn1"))
            out = F.conv2d(out, state[f"{p}.conv2.weight"], stride=stride, padding=1)
            out = F.relu(bn(out, f"{p}.bn2"))
            out = bn(F.conv2d(out, state[f"{p}.conv3.weight"]), f"{p}.bn3")
            if block == 0:
                shortcut = F.conv2d(x, state[f"{p}.downsample.0.weight"], stride=stride)
                x = F.relu(out + bn(shortcut, f"{p}.downsample.1"))
            else:
                x = F.relu(out + x)
    return F.linear(x.mean(dim=(2, 3)), state["fc.weight"], state["fc.bias"])


def test_torchvision_state_dict_maps_onto_a_float_resnet50():
    state = torchvision_resnet50_state()
    model = from_torchvision(state, input_size=64)
    assert model.config.arch == "resnet50" and model.config.version == "v1.5"
    assert model.config.num_classes == 10 and model.style == "torchvision"
    pixels = torch.randint(0, 256, (2, 3, 64, 64)).float()
    with torch.no_grad():
        torch.testing.assert_close(model(pixels), torchvision_forward(state, pixels))


def test_torchvision_containers_and_bad_layouts():
    state = torchvision_resnet50_state(seed=1)
    wrapped = {"model": {f"module.{k}": v for k, v in state.items()}}
    assert plain_state_dict(wrapped).keys() == state.keys()
    broken = dict(state)
    broken["layer2.0.conv2.weight"] = torch.zeros(128, 128, 1, 1)
    with pytest.raises(CheckpointError, match="1 wrong shape"):
        from_torchvision(broken)
    with pytest.raises(CheckpointError, match="not a torchvision ResNet"):
        from_torchvision({"fc.weight": torch.zeros(2, 2)})


def test_load_teacher_checks_classes_and_channels(tmp_path):
    path = tmp_path / "resnet50.pth"
    torch.save(torchvision_resnet50_state(classes=10), path)
    student = build_model("resnet_small_32")  # 3 channels, 10 classes
    teacher = load_teacher(path, student)
    assert not any(p.requires_grad for p in teacher.parameters())
    assert teacher(torch.zeros(1, 3, 32, 32)).shape == (1, 10)
    with pytest.raises(ConfigError, match="num_classes=10 but the student has 5"):
        load_teacher(path, build_model("resnet_small_32", num_classes=5))
    with pytest.raises(ConfigError, match="in_channels=3 but the student has 1"):
        load_teacher(path, build_model("resnet_small_28"))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read teacher"):
        load_teacher(tmp_path / "junk.pt", student)


def test_twin_has_the_quantised_models_names_and_initialises_it():
    quant = build_model("resnet_small_28", width=0.5)
    twin = float_twin(quant)
    assert set(twin.state_dict()) <= set(quant.state_dict())
    with torch.no_grad():
        for value in twin.state_dict().values():
            if value.is_floating_point():
                value.normal_()
    assert init_from_float(quant, twin) == len(twin.state_dict())
    for key, value in twin.state_dict().items():
        assert torch.equal(quant.state_dict()[key], value), key
    with pytest.raises(CheckpointError, match="shape mismatch"):
        init_from_float(build_model("resnet_small_28", width=1.0), twin)


def test_twin_computes_the_quantised_network_without_quantisation():
    """At 16 bits everywhere the quantised model approximates its float twin closely, which
    checks that the twin's block wiring (ReLU placement, shortcuts) is the same."""
    torch.manual_seed(0)
    twin = FloatResNet(build_model("resnet_small_28").config)
    pixels = torch.randint(0, 256, (64, 1, 28, 28)).float()
    twin.train()
    with torch.no_grad():
        twin(pixels)  # realistic BatchNorm statistics
    twin.eval()
    with torch.no_grad():  # a 32-bit bias on the product of two 16-bit scales saturates
        twin.fc.bias.zero_()
    quant = build_model("resnet_small_28", bits="w16a16r16", first_last_bits=16)
    init_from_float(quant, twin)
    for module in quant.modules():  # 8 statistics batches are plenty here (and fast)
        if hasattr(module, "collect_stats_steps"):
            module.collect_stats_steps = 8
    data = torch.utils.data.TensorDataset(pixels, torch.zeros(64))
    finish_stats_collection(quant, data, 16, torch.device("cpu"))
    init_from_float(quant, twin)  # undo the BatchNorm updates of the statistics pass
    quant.eval()
    with torch.no_grad():
        expected, got = twin(pixels[:8]), quant(pixels[:8])
    got = got.value if hasattr(got, "value") else got
    assert (got - expected).abs().max() < 0.01 * expected.abs().max()
