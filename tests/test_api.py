"""``alveoflow.api``: compile/to_alveo glue and the build cache."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from alveoflow import api, paths
from alveoflow.compiler.config import BuildConfig
from alveoflow.errors import ConfigError
from alveoflow.testing import lowered_mlp


class Tiny(nn.Module):
    def __init__(self, config=None):
        super().__init__()
        self.fc = nn.Linear(48, 10)
        if config is not None:
            self.config = config

    def forward(self, x):
        return self.fc(x)


@pytest.fixture
def fake_compiler(monkeypatch, tmp_path):
    """Export and compile stand-ins: record calls, write a real build of a small graph."""
    calls = []

    def to_qonnx(model, path, input_shape=None, input_datatype=None):
        calls.append(("export", tuple(input_shape), input_datatype))
        Path(path).write_bytes(b"onnx")
        return path

    import alveoflow.compiler.pipeline

    real_build = alveoflow.compiler.pipeline.build

    def build(onnx_path, config, out_dir):
        calls.append(("compile", config))
        real_build(lowered_mlp((48, 16, 10)), BuildConfig(plan=False), out_dir)

    monkeypatch.setattr(alveoflow.export, "to_qonnx", to_qonnx)
    monkeypatch.setattr(alveoflow.compiler.pipeline, "build", build)
    monkeypatch.setenv(paths.CACHE_ENV_VAR, str(tmp_path / "cache"))
    return calls


def test_cache_root_from_env_or_home(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.CACHE_ENV_VAR, str(tmp_path / "c"))
    assert paths.cache_root() == tmp_path / "c"
    monkeypatch.delenv(paths.CACHE_ENV_VAR)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert paths.cache_root() == tmp_path / ".cache" / "alveoflow"


def test_build_key_tracks_weights_options_and_input():
    torch.manual_seed(0)
    model, x = Tiny(), torch.zeros(1, 48)
    u250, u280 = BuildConfig(platform="u250"), BuildConfig(platform="u280")
    key = api.build_key(model, x, u250)
    assert key == api.build_key(model, x, u250)
    assert key != api.build_key(model, x, u280)
    assert key != api.build_key(model, torch.zeros(2, 48), u250)
    with torch.no_grad():
        model.fc.weight[0, 0] += 1
    assert key != api.build_key(model, x, u250)


def test_compile_builds_once_then_reuses(fake_compiler, tmp_path):
    model = Tiny()
    first = api.compile(model, torch.zeros(1, 48), backend="sim", clock_mhz=200)
    assert first.backend_name == "sim"
    assert first.build_dir.parent == tmp_path / "cache" / "builds"
    assert [c[0] for c in fake_compiler] == ["export", "compile"]
    assert fake_compiler[1][1] == BuildConfig(clock_mhz=200.0)
    again = api.compile(model, torch.zeros(1, 48), backend="sim", clock_mhz=200)
    assert again.build_dir == first.build_dir and len(fake_compiler) == 2
    other = api.compile(model, torch.zeros(1, 48), backend="sim", target_fps=3000)
    assert other.build_dir != first.build_dir and len(fake_compiler) == 4
    x = torch.randn(2, 48)
    assert torch.equal(first(x), again(x))
    for m in (first, again, other):
        m.close()
    assert not list((tmp_path / "cache" / "builds").glob(".*stage*"))  # no stages left


def test_unknown_setting_is_refused_with_a_hint(fake_compiler):
    with pytest.raises(ConfigError, match="'targt_fps' \\(did you mean: target_fps"):
        api.compile(Tiny(), torch.zeros(1, 48), targt_fps=3)


def test_a_folder_of_user_files_is_never_emptied(fake_compiler, tmp_path):
    target = tmp_path / "mine"
    (target / "src").mkdir(parents=True)
    (target / "notes.txt").write_text("keep")
    with pytest.raises(ConfigError, match="refusing to write a build"):
        api.compile(Tiny(), torch.zeros(1, 48), build_dir=target, backend="sim")
    assert (target / "notes.txt").read_text() == "keep" and (target / "src").is_dir()


def test_compile_into_a_given_build_dir(fake_compiler, tmp_path):
    target = tmp_path / "mybuild"
    module = api.compile(Tiny(), torch.zeros(1, 48), build_dir=target, backend="sim")
    assert module.build_dir == target and (target / "manifest.json").is_file()
    module.close()


def test_to_alveo_takes_the_input_shape_from_config(fake_compiler):
    config = SimpleNamespace(input_shape=(1, 48), pixel_input=False)
    module = api.to_alveo(Tiny(config), backend="sim")
    assert fake_compiler[0] == ("export", (1, 48), None)
    module.close()
    with pytest.raises(ConfigError, match="alveoflow.compile"):
        api.to_alveo(Tiny(), backend="sim")


def test_compile_rejects_non_tensor_example():
    with pytest.raises(ConfigError, match="example_input"):
        api.compile(Tiny(), [0.0] * 48)


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("alveoflow.compiler.pipeline") is None, reason="no compiler yet"
)
def test_to_alveo_end_to_end_small_resnet(tmp_path, monkeypatch):
    from alveoflow.compiler.semantics.executor import run_graph
    from alveoflow.qnn import build_model, calibrate_bn

    monkeypatch.setenv(paths.CACHE_ENV_VAR, str(tmp_path))
    model = build_model("resnet_small_32")
    calibrate_bn(model)
    module = api.to_alveo(model, backend="sim")
    stage = module.build.plan.input
    frame = stage.user.shape[1:]
    if stage.kind == "pixels":
        x = torch.randint(0, 256, (3, *frame), dtype=torch.uint8)
    else:
        x = torch.randn(3, *frame)
    ref = run_graph(module.build.graph, {"input": x.numpy()})
    assert torch.equal(module(x), torch.from_numpy(ref["logits"]))
    module.close()
