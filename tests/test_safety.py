"""Safe data: every class of bad input or fault a user can hit is one line and exit code 2 (or a
clear exception in Python), checked before work starts, and nothing is lost or half-written.

The build-directory writer's own guarantees (user files kept, stale files and stages removed,
lock, hashes, umask) are tested in ``test_buildfmt``; here they are driven through the public
entry points (the CLI and ``alveoflow.compile``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from alveoflow import api, cli, paths
from alveoflow.compiler.buildfmt import MANIFEST, sha256_file
from alveoflow.compiler.config import BuildConfig
from alveoflow.errors import ConfigError
from alveoflow.runtime.module import AlveoModule
from alveoflow.testing import lowered_mlp, write_build

ROOT = os.geteuid() == 0  # permission bits do not stop root


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return write_build(tmp_path_factory.mktemp("b") / "b", lowered_mlp((48, 16, 10)), max_batch=8)


@pytest.fixture
def inputs(tmp_path):
    x = np.random.default_rng(0).standard_normal((3, 48)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    return tmp_path / "x.npy"


def run_cli(capsys, *args):
    code = cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_error(code, err):
    return code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def _bad_files(tmp):
    np.save(tmp / "obj.npy", np.array([[1, "a"]], dtype=object), allow_pickle=True)
    np.savez(tmp / "z.npz", a=np.zeros(3))
    np.save(tmp / "c.npy", np.zeros((2, 48), np.complex64))
    np.save(tmp / "scalar.npy", np.float32(1))
    (tmp / "trunc.npy").write_bytes(b"\x93NUMPY\x01\x00v\x00{'descr': '<f4'")
    np.save(tmp / "nan.npy", np.full((2, 48), np.nan, np.float32))
    np.save(tmp / "inf.npy", np.full((2, 48), -np.inf, np.float32))


@pytest.mark.parametrize(
    "name, message",
    [
        ("/dev/null", "is empty"),
        ("missing.npy", "no such file"),
        (".", "is a folder"),
        ("obj.npy", "Object arrays cannot be loaded"),
        ("z.npz", "is an .npz archive"),
        ("c.npy", "holds complex64 values"),
        ("scalar.npy", "must hold a batch"),
        ("trunc.npy", "cannot read --input"),
        ("nan.npy", "NaN/inf"),
        ("inf.npy", "NaN/inf"),
    ],
)
def test_bad_input_files(build, tmp_path, capsys, name, message):
    _bad_files(tmp_path)
    path = name if name.startswith("/") else tmp_path / name
    code, _, err = run_cli(capsys, "run", build, "--input", path, "--output", tmp_path / "y.npy")
    assert one_line_error(code, err) and message in err
    assert not (tmp_path / "y.npy").exists()  # nothing written


@pytest.mark.parametrize(
    "output, message",
    [
        ("/proc/version/y.npy", "/proc/version is a file, not a folder"),
        ("/proc/y.npy", "cannot write in /proc"),
        ("{tmp}", "is a folder"),
        ("{tmp}/a_file/y.npy", "a_file is a file, not a folder"),
    ],
)
def test_unwritable_output_is_refused_before_inference(
    build, inputs, tmp_path, capsys, monkeypatch, output, message
):
    (tmp_path / "a_file").write_text("mine")

    def no_inference(*a, **k):
        raise AssertionError("inference ran before the output was checked")

    monkeypatch.setattr(AlveoModule, "run_numpy", no_inference)
    path = output.format(tmp=tmp_path)
    code, out, err = run_cli(capsys, "run", build, "--input", inputs, "--output", path)
    assert one_line_error(code, err) and message in err and not out
    assert (tmp_path / "a_file").read_text() == "mine"


@pytest.mark.skipif(ROOT, reason="root writes into read-only folders")
def test_read_only_output_folder(build, inputs, tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        code, _, err = run_cli(capsys, "run", build, "--input", inputs, "--output", folder / "y")
    finally:
        folder.chmod(0o755)
    assert one_line_error(code, err) and "cannot write in" in err


def test_missing_output_folder_is_created(build, inputs, tmp_path, capsys):
    out = tmp_path / "new" / "deeper" / "logits"  # no .npy suffix: written under this name
    code, _, _ = run_cli(capsys, "run", build, "--input", inputs, "--output", out)
    assert code == 0 and np.load(out).shape == (3, 10)
    assert not [p for p in out.parent.iterdir() if p.name != "logits"]  # no temp files left


def test_failed_run_keeps_the_previous_output(build, inputs, tmp_path, capsys):
    out = tmp_path / "y.npy"
    assert run_cli(capsys, "run", build, "--input", inputs, "--output", out)[0] == 0
    before = out.read_bytes()
    np.save(tmp_path / "nan.npy", np.full((3, 48), np.nan, np.float32))
    code, _, err = run_cli(capsys, "run", build, "--input", tmp_path / "nan.npy", "--output", out)
    assert one_line_error(code, err) and out.read_bytes() == before


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_follow_the_umask(build, inputs, tmp_path, capsys, umask, mode):
    old = os.umask(umask)
    try:
        code, _, _ = run_cli(capsys, "run", build, "--input", inputs, "--output", tmp_path / "y")
    finally:
        os.umask(old)
    assert code == 0 and (tmp_path / "y").stat().st_mode & 0o777 == mode


def test_corrupt_graph_npz(build, inputs, tmp_path, capsys):
    """A damaged file is refused by its hash; one that also has its hash updated (so it is
    really read) is refused as unreadable: both one line."""
    copy = tmp_path / "b"
    shutil.copytree(build, copy)
    (copy / "graph.npz").write_bytes(b"PK\x03\x04 not a zip")
    args = ("run", copy, "--input", inputs, "--output", tmp_path / "y.npy")
    code, _, err = run_cli(capsys, *args)
    assert one_line_error(code, err) and "does not belong to this build" in err
    data = json.loads((copy / MANIFEST).read_text())
    data["files"]["graph.npz"] = sha256_file(copy / "graph.npz")
    (copy / MANIFEST).write_text(json.dumps(data))
    code, _, err = run_cli(capsys, *args)
    assert one_line_error(code, err) and "cannot read the graph" in err


@pytest.mark.parametrize(
    "clock, platform, message",
    [
        ("nan", "u250", "must be finite"),
        ("inf", "u250", "must be finite"),
        ("-inf", "u250", "must be finite"),
        ("10000", "u250", "must be finite and in"),
        ("0", "u250", "must be finite and in"),
        ("400", "u250", "kernel clock limit of 300 MHz"),
        ("301", "u55c", "kernel clock limit of 300 MHz"),
    ],
)
def test_bad_clocks(tmp_path, capsys, clock, platform, message):
    out = tmp_path / "o"
    args = ["compile", "missing.onnx", "--out", out, f"--clock-mhz={clock}"]
    code, _, err = run_cli(capsys, *args, "--platform", platform)
    assert one_line_error(code, err) and message in err and not out.exists()
    with pytest.raises(ConfigError, match=message):
        BuildConfig.from_mapping({"clock_mhz": clock, "platform": platform})


def test_every_platform_states_a_sourced_clock_limit():
    from importlib import resources

    from alveoflow.hw.platforms import available_platforms

    for name in available_platforms():
        data = json.loads(
            resources.files("alveoflow.hw.platforms").joinpath(f"{name}.json").read_text()
        )
        assert 0 < data["max_clock_mhz"] <= 1000
        assert any(s.startswith("max_clock_mhz:") for s in data["sources"])
        assert BuildConfig(platform=name, clock_mhz=data["max_clock_mhz"]).clock_mhz > 0


@pytest.mark.parametrize("backend", ["sim", "emulated", "emulated-xrt", "cppsim"])
@pytest.mark.parametrize("device", ["gpu", "cuda:x", "tpu"])
def test_bad_sim_device_is_refused_when_the_module_is_built(build, backend, device):
    with pytest.raises(ConfigError, match="sim device"):
        AlveoModule(build, backend, sim_device=device)


def test_bad_device_on_the_command_line(build, inputs, tmp_path, capsys):
    args = ("run", build, "--input", inputs, "--output", tmp_path / "y.npy", "--device", "gpu")
    for backend in ("sim", "emulated"):
        code, _, err = run_cli(capsys, *args, "--backend", backend)
        assert one_line_error(code, err) and "sim device" in err


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"buffers": 0}, "buffers must be"),
        ({"max_batch": 0}, "max_batch must be"),
        ({"devices": []}, "distinct card indices"),
        ({"sim_device": None}, "sim_device must be a string"),
    ],
)
def test_bad_module_options(build, kw, message):
    with pytest.raises(ConfigError, match=message):
        AlveoModule(build, "sim", **kw)


def test_pickling_a_module_with_an_injected_card_is_refused(build):
    import copy
    import pickle

    from alveoflow.runtime.backends.alveo.emulated import EmulatedPynq

    with AlveoModule(build, "emulated", card_api=EmulatedPynq(build)) as module:
        for copier in (pickle.dumps, copy.deepcopy):
            with pytest.raises(ConfigError, match="reopen it from its build folder"):
                copier(module)
    with AlveoModule(build, "emulated") as module:  # the emulator it made itself is remade
        again = copy.deepcopy(module)
        x = torch.randn(2, 48)
        assert again.backend_name == "emulated" and torch.equal(again(x), module(x))
        again.close()


# -- through alveoflow.compile -------------------------------------------------------------------


@pytest.fixture
def fake_export(monkeypatch, tmp_path):
    """Export and compile stand-ins that write a real build of a small graph."""
    import alveoflow.compiler.pipeline
    import alveoflow.export

    real_build = alveoflow.compiler.pipeline.build
    monkeypatch.setattr(alveoflow.export, "to_qonnx", lambda m, p, *a: p)
    monkeypatch.setattr(
        alveoflow.compiler.pipeline,
        "build",
        lambda src, config, out: real_build(
            lowered_mlp((48, 16, 10)), BuildConfig(plan=False), out
        ),
    )
    monkeypatch.setenv(paths.CACHE_ENV_VAR, str(tmp_path / "cache"))


def test_compile_into_an_unwritable_place(fake_export):
    with pytest.raises(ConfigError, match="cannot") as err:
        api.compile(torch.nn.Linear(48, 10), torch.zeros(1, 48), build_dir="/proc/version/b")
    assert "\n" not in str(err.value)


def test_compile_cleans_stages_of_killed_compiles(fake_export, tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    pid = int(dead.stdout)
    target = tmp_path / "b"
    stale = tmp_path / f".b.stage-{pid}-dead0000"
    alive = tmp_path / f".b.stage-{os.getpid()}-live0000"
    for folder in (stale, alive):
        folder.mkdir()
        (folder / "graph.npz").write_bytes(b"half")
    module = api.compile(
        torch.nn.Linear(48, 10), torch.zeros(1, 48), build_dir=target, backend="sim"
    )
    module.close()
    assert not stale.exists() and alive.exists()  # a live writer's stage is left alone
    shutil.rmtree(alive)


def test_compile_follows_the_umask(fake_export, tmp_path):
    old = os.umask(0o027)
    try:
        module = api.compile(
            torch.nn.Linear(48, 10), torch.zeros(1, 48), build_dir=tmp_path / "b", backend="sim"
        )
    finally:
        os.umask(old)
    module.close()
    assert (tmp_path / "b").stat().st_mode & 0o777 == 0o750
    assert (tmp_path / "b" / MANIFEST).stat().st_mode & 0o777 == 0o640


# -- no raw tracebacks from the command line ------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["bench", "{build}", "--batch", "1", "--json", "/proc/version/x.json"], "--json"),
        (["bench", "{build}", "--batch", "1", "--plot", "{tmp}/p.xyz"], "--plot"),
        (["bench", "{build}", "--batch", "1", "--plot", "{tmp}"], "name a .png"),
        (["bench", "{build}", "--batch", "1", "--devices", "0,0"], "distinct"),
        (["run", "{tmp}/nope", "--input", "{tmp}/x.npy", "--output", "{tmp}/y"], "not found"),
        (["run", "{tmp}/x.npy", "--input", "{tmp}/x.npy", "--output", "{tmp}/y"], "manifest"),
        (["run", "{build}", "--input", "{tmp}/x.npy", "--output", "{tmp}/y", "--backend", "gpu"],
         "unknown backend"),
        (["run", "{build}", "--input", "{tmp}/x.npy", "--output", "{tmp}/y", "--backend", "xrt"],
         "needs an Alveo card"),
        (["verify", "{build}", "--model", "{tmp}/x.npy", "--data", "{tmp}/x.npy"],
         "cannot read checkpoint"),
        (["info", "{tmp}/x.npy"], "ONNX"),
        (["export-weights", "{tmp}/nope", "--out", "{tmp}/w"], "not found"),
        (["compile", "{tmp}/x.npy", "--out", "{tmp}/c"], "ONNX"),
    ],
)  # fmt: skip
def test_bad_command_lines_are_one_line(build, inputs, tmp_path, capsys, args, message):
    filled = [a.format(build=build, tmp=tmp_path) for a in args]
    code, _, err = run_cli(capsys, *filled)
    lines = [line for line in err.strip().splitlines() if "Available backends" not in line]
    assert code == 2 and message in err and "Traceback" not in err
    assert len(lines) <= 4 if "xrt" in args else len(lines) == 1
