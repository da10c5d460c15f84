"""``build(source, config)``: every step of a build, in order, as plain functions.

    frontend -> streamline -> lower -> legalize -> fold -> size_fifos -> physical_design
             -> estimate -> emit -> write

- ``frontend``: read the QONNX model into an IR graph of ``nn`` ops (a lowered hardware
  graph given as the source skips the first four steps but ``legalize``);
- ``streamline``: explicit Pads into the convs and pools that read them;
- ``lower``: BN, scales and activations into integer thresholds, hardware ops (NHWC), one
  reader per stream;
- ``legalize``: one error listing every node that is not hardware;
- ``fold``: PE/SIMD/MMV, memory and lane styles, SLRs (the graph's own folding when
  ``config.plan`` is False);
- ``size_fifos``: FIFO depths from the dataflow model, and a re-plan when the sized FIFOs push
  the design over a resource limit;
- ``physical_design``: the one ``Design`` (IPs, streams, converters, FIFOs, DMA ends, kernel
  arguments);
- ``estimate``: the report (``report.json``) pricing that design;
- ``emit``: the generated sources and scripts (HLS, and the RTL under ``rtl/``), rendered
  from the design;
- ``write``: the build directory (``buildfmt``), manifest last.

``build`` runs them and returns a ``BuildResult`` with every intermediate. After each graph
step the runner verifies the graph; with ``config.dump_dir`` every step leaves its
intermediate there (``NN_<step>.json/.npz`` for graphs, ``.json`` for the rest). A failure
names the step and the steps that ran before it. ``compile_qonnx`` is the first four steps
(what tests of the lowering use). The CLI and the Python API both call ``build``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnx

from alveoflow.compiler.config import BuildConfig
from alveoflow.compiler.ir import Graph, nn, save_graph
from alveoflow.errors import GraphError

log = logging.getLogger(__name__)
Source = str | os.PathLike[str] | onnx.ModelProto | Graph
STEPS = (
    "frontend",
    "streamline",
    "lower",
    "legalize",
    "fold",
    "size_fifos",
    "physical_design",
    "estimate",
    "emit",
    "write",
)
REPLAN_ROUNDS = 2
assert nn  # the nn op module must be imported before nn graphs are (de)serialised


@dataclass(frozen=True)
class StepRecord:
    name: str
    seconds: float
    nodes: int = 0


@dataclass
class BuildResult:
    """Every intermediate of one build (``None`` for steps that did not run)."""

    config: BuildConfig
    source: Graph | None = None  # the frontend's nn graph: the float64 reference
    graph: Graph | None = None  # lowered and legal (unfolded)
    plan: Any = None  # FoldingPlan
    folded: Graph | None = None
    fifo: Any = None  # FifoResult
    design: Any = None  # physical.Design
    report: dict[str, Any] | None = None
    files: dict[str, str | bytes] = field(default_factory=dict)
    out_dir: Path | None = None
    steps: list[StepRecord] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)


# -- the steps ------------------------------------------------------------------------------


def frontend(source: Source, config: BuildConfig) -> Graph:
    from alveoflow.compiler.frontend import from_qonnx

    return from_qonnx(source, input_quant=config.input_quant)  # type: ignore[arg-type]


def streamline(graph: Graph) -> Graph:
    from alveoflow.compiler.passes.streamline.fuse_pad import fuse_pad

    return fuse_pad(graph)


def lower(graph: Graph) -> Graph:
    from alveoflow.compiler.passes.lower.duplicate import insert_duplicate_streams
    from alveoflow.compiler.passes.lower.walk import lower_to_hw

    return insert_duplicate_streams(lower_to_hw(graph))


def legalize(graph: Graph) -> Graph:
    from alveoflow.compiler.passes.legalize import legalize as check

    return check(graph)


def _platform(config: BuildConfig) -> Any:
    from alveoflow.hw.platforms import load_platform

    platform = load_platform(config.platform, dict(config.limits) or None)
    return platform


def fold(graph: Graph, config: BuildConfig, fifo_depths: Any = None) -> Any:
    """The folding plan: searched (``folding.plan_folding``), or with ``config.plan`` False
    the graph's own folding with every unit in the I/O SLR."""
    from alveoflow.compiler.folding import plan_folding
    from alveoflow.compiler.folding.search import fixed_plan

    platform = _platform(config)
    if not config.plan:
        return fixed_plan(graph, platform, config.clock_mhz)
    overrides = {k: dict(v) for k, v in config.overrides.items()}
    return plan_folding(
        graph, platform, config.target, config.clock_mhz, overrides, fifo_depths=fifo_depths
    )


def size_fifos(graph: Graph, plan: Any, config: BuildConfig) -> tuple[Any, Graph, Any]:
    """(plan, folded graph, FifoResult): FIFO depths from the dataflow model; when the sized
    FIFOs push the design over a limit, fold again with their cost (``REPLAN_ROUNDS``).
    Without ``config.plan`` nothing is sized (``FifoResult`` None, default depths)."""
    from alveoflow.compiler.fifo import size_fifos as model_fifos
    from alveoflow.compiler.folding import apply_plan

    folded = apply_plan(graph, plan)
    if not config.plan:
        return plan, folded, None
    fifo = model_fifos(folded, config.clock_mhz)
    for _ in range(REPLAN_ROUNDS):
        report = estimate(physical_design(folded, plan, fifo, config), plan, fifo, config)
        if report["estimate"]["within_limits"]:
            break
        log.info("FIFOs push the design over a limit: planning again with their cost")
        plan = fold(graph, config, fifo_depths=fifo.depths)
        folded = apply_plan(graph, plan)
        fifo = model_fifos(folded, config.clock_mhz)
    return plan, folded, fifo


def physical_design(folded: Graph, plan: Any, fifo: Any, config: BuildConfig) -> Any:
    from alveoflow.compiler.physical import Layout, build_design

    platform = _platform(config)
    layout = Layout.from_plan(plan, platform.part, config.hw.value)
    return build_design(folded, layout, fifo.depths if fifo is not None else None)


def estimate(design: Any, plan: Any, fifo: Any, config: BuildConfig) -> dict[str, Any]:
    from alveoflow.compiler.report.build import build_report

    return build_report(design, plan, fifo, _platform(config))


def emit(design: Any, config: BuildConfig) -> dict[str, str | bytes]:
    """The design's files (HLS sources, scripts, FC weights, and the RTL under ``rtl/``, so
    every build runs on ``rtlsim``; with ``hw=rtl`` also the RTL kernels' packaging, link
    config and Makefile); with ``config.csim_variant`` also the sources of the same network
    refolded for fast C simulation."""
    from alveoflow.compiler.codegen import emit as render
    from alveoflow.compiler.codegen.csim import csim_folding
    from alveoflow.compiler.codegen.rtl import emit_rtl
    from alveoflow.compiler.physical import Layout, build_design

    csim = None
    if config.csim_variant:
        csim = build_design(csim_folding(design.graph), Layout.from_design(design))
    files = render(design, csim)
    files.update(emit_rtl(design))
    return files


def write(result: BuildResult, out_dir: str | os.PathLike[str], source: Source) -> Path:
    """The build directory (``buildfmt.BuildWriter``), manifest last."""
    from alveoflow.compiler.buildfmt import BuildWriter
    from alveoflow.compiler.manifest import build_manifest

    assert result.graph is not None
    graph = result.folded if result.folded is not None else result.graph
    with BuildWriter(out_dir) as writer:
        writer.put_graph(graph)
        if result.plan is not None:
            writer.put("folding_plan.json", result.plan.to_json() + "\n")
        if result.report is not None:
            writer.put_json("report.json", result.report)
        writer.put_tree(result.files)
        manifest = build_manifest(graph, result.design, result.config, source)
        return writer.commit(manifest)


# -- running them ---------------------------------------------------------------------------


class _Runner:
    """Runs steps in order: timing, verification of graphs, dumps, errors naming the step."""

    def __init__(
        self, result: BuildResult, progress: Callable[[str, float], None] | None = None
    ) -> None:
        self.result = result
        self.dump = result.config.dump_dir
        self.progress = progress

    def __call__(self, name: str, fn: Callable[..., Any], *args: Any) -> Any:
        before = ", ".join(s.name for s in self.result.steps) or "none"
        start = time.perf_counter()
        try:
            out = fn(*args)
            if isinstance(out, Graph) and not (args and out is args[0]):
                out.verify()
        except GraphError as err:
            raise GraphError(f"step {name} failed (steps run before it: {before}): {err}") from err
        seconds = time.perf_counter() - start
        nodes = len(out.nodes) if isinstance(out, Graph) else 0
        self.result.steps.append(StepRecord(name, seconds, nodes))
        log.info("step %-16s %6.2f s", name, seconds)
        if self.progress is not None:
            self.progress(name, seconds)
        self._dump(len(self.result.steps) - 1, name, out)
        return out

    def _dump(self, index: int, name: str, out: Any) -> None:
        if self.dump is None:
            return
        stem = f"{index:02d}_{name}"
        if isinstance(out, Graph):
            save_graph(out, self.dump, stem=stem)
        elif isinstance(out, dict) and name == "estimate":
            Path(self.dump).mkdir(parents=True, exist_ok=True)
            (Path(self.dump) / f"{stem}.json").write_text(json.dumps(out, indent=1))


def lower_source(
    source: Source,
    config: BuildConfig,
    result: BuildResult,
    progress: Callable[[str, float], None] | None = None,
) -> Graph:
    """Steps frontend .. legalize (a hardware graph as the source: legalize only)."""
    run = _Runner(result, progress)
    if isinstance(source, Graph) and not any(isinstance(n.op, _NN_OPS) for n in source.nodes):
        graph = run("legalize", legalize, source)
        result.graph = graph
        return graph
    result.source = run("frontend", frontend, source, config)
    graph = run("streamline", streamline, result.source)
    graph = run("lower", lower, graph)
    graph = run("legalize", legalize, graph)
    result.graph = graph
    return graph


_NN_OPS = tuple(
    cls
    for cls in vars(nn).values()
    if isinstance(cls, type) and issubclass(cls, nn.Op) and cls.__module__ == nn.__name__
)


def build(
    source: Source,
    config: BuildConfig | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> BuildResult:
    """Every step of a build (see the module docstring); writes ``out_dir`` when given.
    ``progress(step, seconds)`` is called after each step."""
    config = config or BuildConfig()
    result = BuildResult(config)
    graph = lower_source(source, config, result, progress)
    run = _Runner(result, progress)
    result.plan = run("fold", fold, graph, config)
    result.plan, result.folded, result.fifo = run(
        "size_fifos", size_fifos, graph, result.plan, config
    )
    result.design = run(
        "physical_design", physical_design, result.folded, result.plan, result.fifo, config
    )
    result.report = run("estimate", estimate, result.design, result.plan, result.fifo, config)
    result.files = run("emit", emit, result.design, config)
    if out_dir is not None:
        result.out_dir = run("write", write, result, out_dir, source)
    return result


# -- the lowering half, for tests and tools ---------------------------------------------------


@dataclass(frozen=True)
class CompileResult:
    graph: Graph
    """The lowered, legal graph of hardware ops."""
    source: Graph
    """The frontend's graph (nn ops, QONNX semantics): the float64 reference."""
    passes: tuple[StepRecord, ...] = field(default=())

    @property
    def seconds(self) -> float:
        return sum(p.seconds for p in self.passes)


def compile_qonnx(source: Source, config: BuildConfig | None = None) -> CompileResult:
    """Steps frontend .. legalize of ``source`` (a QONNX model)."""
    result = BuildResult(config or BuildConfig())
    graph = lower_source(source, result.config, result)
    assert result.source is not None
    return CompileResult(graph, result.source, tuple(result.steps))


def run_passes(graph: Graph, passes: Sequence[Callable[[Graph], Graph]]) -> Graph:
    """Apply graph-to-graph ``passes`` in order, verifying after each."""
    result = BuildResult(BuildConfig())
    run = _Runner(result)
    for fn in passes:
        graph = run(fn.__name__, fn, graph)
    return graph
