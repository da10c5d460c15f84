"""The compiler pipeline: every pass, in order, in one function (``compile_qonnx``).

``run_passes`` runs passes one by one, checks the graph invariants after each
(``Graph.verify``), records timings and node counts, and optionally dumps every
intermediate graph as ``<dump_dir>/NN_<pass>.json/.npz`` (``save_graph``). When a pass
raises ``GraphError`` or leaves an invalid graph, the error names the pass and the passes
that ran before it. ``LegalizationError``/``UnsupportedOpError`` pass through unchanged:
they already name every offending node.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnx

from alveoflow.compiler.frontend import from_qonnx
from alveoflow.compiler.ir import Graph, nn, save_graph
from alveoflow.compiler.passes.legalize import legalize
from alveoflow.compiler.passes.lower.duplicate import insert_duplicate_streams
from alveoflow.compiler.passes.lower.walk import lower_to_hw
from alveoflow.compiler.passes.streamline.fuse_pad import fuse_pad
from alveoflow.errors import ConfigError, GraphError, close_matches

log = logging.getLogger(__name__)
Pass = Callable[[Graph], Graph]
assert nn  # the nn op module must be imported before nn graphs are (de)serialised


@dataclass(frozen=True)
class CompileOptions:
    """Options of ``compile_qonnx``."""

    dump_dir: Path | None = None
    """Write every intermediate graph here (``00_frontend``, ``01_fuse_pad``, ...)."""


@dataclass(frozen=True)
class PassRecord:
    name: str
    seconds: float
    nodes: int
    changed: bool


@dataclass(frozen=True)
class CompileResult:
    graph: Graph
    """The lowered, legal graph of hardware ops."""
    source: Graph
    """The frontend's graph (nn ops, QONNX semantics): the float64 reference."""
    passes: tuple[PassRecord, ...] = field(default=())

    @property
    def seconds(self) -> float:
        return sum(p.seconds for p in self.passes)


def compile_qonnx(
    source: str | os.PathLike[str] | onnx.ModelProto, options: CompileOptions | None = None
) -> CompileResult:
    """QONNX model -> lowered hardware graph. Every pass, in order:

    1. ``from_qonnx``: read the model (constant folding, weight codes, module-path names);
    2. ``fuse_pad``: explicit Pads into the convs/pools that read them;
    3. ``lower_to_hw``: streamline into integer thresholds and emit hardware ops (NHWC);
    4. ``insert_duplicate_streams``: one reader per stream;
    5. ``legalize``: one error listing every node that is not hardware.
    """
    options = options or CompileOptions()
    start = time.perf_counter()
    graph = from_qonnx(source)
    records = [PassRecord("frontend", time.perf_counter() - start, len(graph.nodes), True)]
    _dump(options, 0, "frontend", graph)
    lowered, more = run_passes(
        graph, [fuse_pad, lower_to_hw, insert_duplicate_streams, legalize], options
    )
    return CompileResult(lowered, graph, tuple(records + more))


BUILD_SETTINGS = ("platform", "target_fps", "clock_mhz", "plan")


def compile_build(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    dump_dir: str | os.PathLike[str] | None = None,
    **settings: Any,
) -> CompileResult:
    """Compile ``source`` into ``out_dir`` (used by ``alveoflow compile`` and
    ``alveoflow.compile``): ``graph.json``/``graph.npz`` (the lowered graph), the card
    files (``fc_weights.npy``) and ``manifest.json`` (with its ``card`` section); and unless
    ``plan=False``, the folding plan, FIFO depths and estimates for ``platform`` (default
    u250) at ``target_fps`` (default "max") and ``clock_mhz`` (default 250):
    ``folding_plan.json`` and ``report.json``. ``settings`` may only name
    ``BUILD_SETTINGS``; anything else raises ``ConfigError``. ``dump_dir``: write every
    intermediate graph there as the passes run."""
    from alveoflow.compiler.manifest import write_build
    from alveoflow.compiler.report.build import plan_and_report

    unknown = [k for k in settings if k not in BUILD_SETTINGS]
    if unknown:
        hints = "; ".join(f"{k!r}{close_matches(k, BUILD_SETTINGS)}" for k in unknown)
        raise ConfigError(f"unknown compile setting(s): {hints}")
    out = Path(out_dir)
    dump = Path(dump_dir) if dump_dir is not None else None
    result = compile_qonnx(source, CompileOptions(dump_dir=dump))
    write_build(result.graph, out, Path(source))
    if settings.get("plan", True):
        plan_and_report(
            result.graph,
            out,
            platform=str(settings.get("platform", "u250")),
            target_fps=settings.get("target_fps", "max"),
            clock_mhz=float(settings.get("clock_mhz", 250.0)),
        )
    return result


def run_passes(
    graph: Graph, passes: Sequence[Pass], options: CompileOptions | None = None, first: int = 1
) -> tuple[Graph, list[PassRecord]]:
    """Apply ``passes`` in order, verifying after each (see the module docstring)."""
    options = options or CompileOptions()
    records: list[PassRecord] = []
    for index, fn in enumerate(passes, start=first):
        name = fn.__name__
        before = ", ".join(r.name for r in records) or "none"
        start = time.perf_counter()
        try:
            out = fn(graph)
            if out is not graph:
                out.verify()
        except GraphError as err:
            raise GraphError(f"pass {name} failed (passes run before it: {before}): {err}") from err
        seconds = time.perf_counter() - start
        records.append(PassRecord(name, seconds, len(out.nodes), out is not graph))
        log.info("pass %-26s %6.2f s  %4d nodes", name, seconds, len(out.nodes))
        _dump(options, index, name, out)
        graph = out
    return graph, records


def _dump(options: CompileOptions, index: int, name: str, graph: Graph) -> None:
    if options.dump_dir is not None:
        save_graph(graph, options.dump_dir, stem=f"{index:02d}_{name}")
