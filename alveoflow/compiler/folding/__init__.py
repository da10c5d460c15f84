"""Platform-aware folding: how much parallelism each node gets, where its memories live and
which SLR it sits in.

- ``plan_folding(graph, platform, target, clock_mhz, overrides)`` -> ``FoldingPlan``
  (the heuristic is explained in ``search.py``);
- ``apply_plan(graph, plan)`` sets the plan's folding on a graph;
- ``refold(graph, {name: {"pe": .., "simd": .., "mmv": ..}})`` for hand-written folding.
"""

from alveoflow.compiler.folding.apply import refold
from alveoflow.compiler.folding.plan import FoldingPlan, apply_plan
from alveoflow.compiler.folding.search import plan_folding

__all__ = ["FoldingPlan", "apply_plan", "plan_folding", "refold"]
