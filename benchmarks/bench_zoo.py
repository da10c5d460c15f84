"""Compile, plan and sim times of the zoo nets (``tests/zoo``), and sim throughput against
the model's own float32 PyTorch forward in the same run; prints JSON and writes
``benchmarks/results/bench_zoo.json``.

For every zoo net (plain Brevitas layers, calibrated, exported with Brevitas'
``export_qonnx``): ``compile_s`` is frontend .. legalize (``compile_qonnx``, with the net's
``--input-quant``), ``plan_s`` the folding plan for the default U250 target
(``pipeline.fold``; an error there is reported, not raised), and the bit-exact reference
(``run_graph`` on the lowered graph, float input, host quantization included) is timed
against the Brevitas model's float32 forward on the same batch. The two are timed
alternately and ``ratio`` (sim images/s over PyTorch images/s) is the median over the pairs,
so it stays meaningful on a shared machine; both run on ``--threads`` threads (default 1:
on a loaded machine multi-threaded timings swing widely); the 1-minute load average is
reported too.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_zoo.py [--batch 32] [--repeats 5]
        [--threads 1] [NET ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "zoo"))
import zoo_nets  # noqa: E402
from common import conditions, save  # noqa: E402

from alveoflow.compiler.config import BuildConfig, InputQuant  # noqa: E402
from alveoflow.compiler.pipeline import compile_qonnx, fold  # noqa: E402
from alveoflow.compiler.semantics import run_graph  # noqa: E402
from alveoflow.errors import AlveoflowError  # noqa: E402


def _seconds(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _throughputs(sim: Callable[[], Any], ref: Callable[[], Any], images: int, repeats: int):
    sim(), ref()  # warm up
    pairs = [(_seconds(sim)[0], _seconds(ref)[0]) for _ in range(repeats)]
    sim_ips = [images / s for s, _ in pairs]
    ref_ips = [images / r for _, r in pairs]
    ratios = [s / r for s, r in zip(sim_ips, ref_ips, strict=True)]
    return float(np.median(sim_ips)), float(np.median(ref_ips)), float(np.median(ratios))


def bench_net(name: str, batch: int, repeats: int, folder: Path) -> dict[str, Any]:
    case = zoo_nets.CASES[name]
    model = zoo_nets.make(case)
    path = zoo_nets.export(model, case, str(folder / f"{name}.onnx"))
    grid = InputQuant.parse(case.input_quant) if case.input_quant else None
    config = BuildConfig(input_quant=grid)
    compile_s, result = _seconds(lambda: compile_qonnx(path, config))
    lowered = result.graph
    row: dict[str, Any] = {"nodes": len(lowered.nodes), "compile_s": round(compile_s, 3)}
    try:
        row["plan_s"] = round(_seconds(lambda: fold(lowered, config))[0], 3)
    except (AlveoflowError, NotImplementedError) as err:
        row["plan_error"] = f"{type(err).__name__}: {err}"[:200]
    x = case.inputs(batch, seed=1)
    xt = torch.from_numpy(x)
    feed = {lowered.inputs[0].name: x}
    torch.set_grad_enabled(False)
    sim_ips, ref_ips, ratio = _throughputs(
        lambda: run_graph(lowered, feed), lambda: model(xt), batch, repeats
    )
    row.update(
        sim_images_per_s=round(sim_ips, 1),
        torch_images_per_s=round(ref_ips, 1),
        ratio=round(ratio, 3),
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "nets", nargs="*", help=f"zoo nets (default: all of {sorted(zoo_nets.CASES)})"
    )
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    unknown = [n for n in args.nets if n not in zoo_nets.CASES]
    if unknown:
        parser.error(f"unknown nets {unknown}; known: {sorted(zoo_nets.CASES)}")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        nets = {
            n: bench_net(n, args.batch, args.repeats, Path(tmp))
            for n in args.nets or sorted(zoo_nets.CASES)
        }
    report = {
        "batch": args.batch,
        "repeats": args.repeats,
        "threads": torch.get_num_threads(),
        "loadavg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "nets": nets,
        "conditions": conditions(),
    }
    save("bench_zoo", report)


if __name__ == "__main__":
    main()
