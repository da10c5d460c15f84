"""Set folding fields on a graph's nodes: speed and cost change, results never do.

``refold(graph, folding)`` takes ``{node name: {field: value}}`` with fields among ``pe``,
``simd``, ``mmv`` and returns a new graph whose nodes carry the new values (re-inferred and
verified by ``Graph.build``). Unknown node names and fields an op does not have are
``ConfigError`` s with close-match suggestions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from alveoflow.compiler.ir import Graph
from alveoflow.errors import ConfigError, GraphError, close_matches

FOLDING_FIELDS = ("pe", "simd", "mmv")


def refold(graph: Graph, folding: Mapping[str, Mapping[str, int]]) -> Graph:
    """A copy of ``graph`` with the folding fields in ``folding`` applied."""
    names = [n.name for n in graph.nodes]
    unknown = [k for k in folding if k not in names]
    if unknown:
        raise ConfigError(
            f"folding names unknown node {unknown[0]!r}{close_matches(unknown[0], names)}"
        )
    if not folding:
        return graph
    nodes = []
    for node in graph.nodes:
        fields = folding.get(node.name)
        if not fields:
            nodes.append(node)
            continue
        own = {f.name for f in dataclasses.fields(node.op)}  # type: ignore[arg-type]
        for key in fields:
            if key not in FOLDING_FIELDS or key not in own:
                have = [f for f in FOLDING_FIELDS if f in own]
                raise ConfigError(
                    f"{node.name} ({node.op.kind}) has no folding field {key!r}; it has {have}"
                )
        changed = {k: int(v) for k, v in fields.items() if getattr(node.op, k) != int(v)}
        if not changed:
            nodes.append(node)
            continue
        op = dataclasses.replace(node.op, **changed)  # type: ignore[type-var]
        try:
            nodes.append(node.with_op(op, graph.input_infos(node)))
        except GraphError as err:
            raise ConfigError(f"illegal folding for {node.name}: {err}") from None
    return Graph.build(graph.inputs, nodes, graph.outputs, graph.meta)
