"""``accel = model.to_alveo(); accel(x)`` takes what ``model(x)`` takes and returns what it
returns, on real Brevitas models compiled through ``alveoflow.compile`` / ``to_alveo``."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch

import alveoflow
from alveoflow import paths
from alveoflow.compiler.semantics import run_graph
from alveoflow.errors import ConfigError
from alveoflow.qnn import build_model, calibrate_bn
from alveoflow.runtime import AlveoModule
from alveoflow.testing.golden import BinaryMLP, calibrate

FAST = {"backend": "sim", "plan": False, "csim_variant": False}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.CACHE_ENV_VAR, str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def pixel_model(cache):
    torch.manual_seed(0)
    model = build_model("resnet_small_28", width=0.25, num_classes=10, input_size=8)
    calibrate_bn(model)
    model.eval()
    return model, model.to_alveo(**FAST)


@pytest.fixture(scope="module")
def mlp(cache):
    torch.manual_seed(1)
    model = calibrate(BinaryMLP(), (1, 1, 8, 8))
    return model, alveoflow.compile(model, torch.zeros(1, 1, 8, 8), **FAST)


def pixels(n, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 1, 8, 8), generator=gen).float()


def test_pixel_model_takes_float_nchw_pixels_like_the_model(pixel_model):
    model, accel = pixel_model
    x = pixels(12)
    with torch.no_grad():
        want = model(x)
    got = accel(x)
    assert got.shape == want.shape and got.dtype == want.dtype == torch.float32
    assert got.device == x.device
    codes = x.to(torch.uint8).permute(0, 2, 3, 1).contiguous()
    ref = run_graph(accel.build.graph, {accel.build.graph.inputs[0].name: codes.numpy()})
    np.testing.assert_array_equal(got.numpy(), ref["logits"])  # bit-exact to the reference
    assert torch.equal(accel(codes), got)  # the uint8 NHWC fast path gives the same
    assert torch.equal(accel(x.to(torch.uint8)), got)  # uint8 NCHW images (read_image)
    assert torch.equal(accel(x.double()), got)
    assert torch.equal(got.argmax(1), want.argmax(1))
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4 * float(want.abs().max()))


def test_pixel_model_refuses_or_rounds_non_pixels(pixel_model):
    _, accel = pixel_model
    x = pixels(3, seed=1)
    off = x + 0.25
    with pytest.raises(ConfigError, match="whole numbers in 0..255.*round_input=True"):
        accel(off)
    with pytest.raises(ConfigError, match="whole numbers in 0..255"):
        accel(x / 255.0 + 0.001)  # normalised input by mistake
    rounding = AlveoModule(accel.build_dir, "sim", round_input=True)
    assert torch.equal(rounding(off), accel(x))
    assert torch.equal(rounding(x + 300), accel(torch.full_like(x, 255.0)))  # clamped
    rounding.close()


def test_nan_and_inf_are_refused(pixel_model, mlp):
    for _, accel in (pixel_model, mlp):
        shape = (2, 1, 8, 8)
        for bad in (float("nan"), float("inf"), -float("inf")):
            x = torch.zeros(shape)
            x[1, 0, 3, 4] = bad
            with pytest.raises(ConfigError, match=r"1 NaN/inf value\(s\).*\[1, 0, 3, 4\]"):
                accel(x)


def test_mlp_that_flattens_in_forward_takes_the_models_shape(mlp):
    model, accel = mlp
    x = torch.randn(10, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        want = model(x)
    got = accel(x)
    assert got.shape == want.shape == (10, 10)
    ref = run_graph(accel.build.graph, {accel.build.graph.inputs[0].name: x.numpy()})
    np.testing.assert_array_equal(got.numpy(), ref["logits"])
    assert torch.equal(got.argmax(1), want.argmax(1))
    with pytest.raises(ConfigError, match=r"float input \(N, 1, 8, 8\)"):
        accel(x.reshape(10, 64))


def test_codes_fast_path_equals_the_float_path(mlp):
    _, accel = mlp
    from alveoflow.runtime.packing import quantize_input

    x = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    codes = quantize_input(x.numpy(), accel.build.plan.input)
    assert codes.dtype == np.int8 and codes.shape == (4, 64)
    assert torch.equal(accel(torch.from_numpy(codes)), accel(x))
    with pytest.raises(ConfigError, match="must be int8, got int16"):
        accel(torch.from_numpy(codes.astype(np.int16)))
    lo, hi = accel.input_spec.code_range
    if lo > -128:  # a narrow-range quantizer: -128 is not one of its codes
        with pytest.raises(ConfigError, match=f"lie in {lo}..{hi}"):
            accel(torch.full((1, 64), -128, dtype=torch.int8))


@pytest.mark.parametrize("how", ["pickle", "deepcopy", "copy"])
def test_copies_reopen_the_build(mlp, how):
    _, accel = mlp
    x = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(4))
    copier = {
        "pickle": lambda m: pickle.loads(pickle.dumps(m)),
        "deepcopy": copy.deepcopy,
        "copy": copy.copy,
    }[how]
    other = copier(accel)
    assert other is not accel and other.backends[0] is not accel.backends[0]
    assert other.build_dir == accel.build_dir.resolve()
    assert torch.equal(other(x), accel(x))
    other.close()
    assert torch.equal(accel(x), accel(x))  # closing the copy leaves the original open


def test_copy_of_a_changed_or_closed_build_is_refused(mlp, tmp_path):
    import shutil

    from alveoflow.compiler.buildfmt import update_manifest

    _, accel = mlp
    folder = tmp_path / "b"
    shutil.copytree(accel.build_dir, folder)
    module = AlveoModule(folder, "sim")
    blob = pickle.dumps(module)
    update_manifest(folder, {"note": "rebuilt"})
    with pytest.raises(ConfigError, match="changed since this AlveoModule was copied"):
        pickle.loads(blob)
    module.close()
    with pytest.raises(ConfigError, match="cannot copy a closed AlveoModule"):
        copy.deepcopy(module)
