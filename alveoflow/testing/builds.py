"""Build directories of lowered test graphs, made by the real pipeline.

``write_build(folder, graph, plan=False, **settings)`` runs ``compiler.pipeline.build`` on a
lowered hardware graph (``alveoflow.testing.graphs``) and writes a complete build directory:
graph, design, report, sources and scripts, manifest. Without ``plan`` the folding search
and FIFO sizing are skipped (the graph's own folding, one SLR), which keeps tests fast;
everything else is what ``alveoflow compile`` writes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alveoflow.compiler.config import BuildConfig
from alveoflow.compiler.ir import Graph


def write_build(
    folder: str | os.PathLike[str], graph: Graph, plan: bool = False, **settings: Any
) -> Path:
    """A build directory for ``graph`` (see the module docstring); returns its path."""
    from alveoflow.compiler.pipeline import build

    config = BuildConfig.from_mapping({"plan": plan, **settings})
    result = build(graph, config, folder)
    assert result.out_dir is not None
    return result.out_dir
