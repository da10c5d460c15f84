"""Which card nodes are synthesised together: the IPs of a design.

- ``partition(graph)``: card nodes grouped into ``Partition`` s in topological order.
  - Graphs with residual blocks (``Node.block``, set by the frontend): one IP per block (the
    reference design's unit); everything before the first block is ``stem``, everything
    after the last is ``tail``.
  - Other graphs: the ``tail`` starts at the first global pool, flatten, external-weight
    layer or top-k; before it nodes are grouped by their layer (first component of the
    module path: ``conv0.swg`` with ``conv0``), and consecutive groups are merged while an IP
    stays within ``max_nodes`` nodes.
  Edges between IPs only go forward (checked).
- ``split_by_slr(graph, parts, slr_of)``: every IP holding a floorplanning unit whose nodes
  sit in several SLRs (a residual block the floorplanner split at a layer boundary) cut into
  one IP per run of nodes in the same SLR, in stream order: ``layer3_0`` -> ``layer3_0_a``,
  ``layer3_0_b``. Other IPs are returned unchanged and are placed whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from alveoflow.compiler.ir import Graph, Node, hw
from alveoflow.compiler.physical.policy import unit_of
from alveoflow.errors import GraphError

DEFAULT_MAX_NODES = 4
RESERVED = ("inoutdma",)


@dataclass(frozen=True)
class Partition:
    name: str
    nodes: tuple[Node, ...]
    block: str = ""  # the unsplit IP's name when this is one SLR's part of it, else ""


def _is_tail_start(node: Node) -> bool:
    op = node.op
    if isinstance(op, hw.SumPool) and node.outputs[0].shape[1:3] == (1, 1):
        return True
    if isinstance(op, hw.MVAU) and op.external_weights:
        return True
    return isinstance(op, hw.Flatten | hw.LabelSelect)


def _block_groups(nodes: list[Node]) -> list[tuple[str, list[Node]]]:
    first = next(i for i, n in enumerate(nodes) if n.block)
    last = max(i for i, n in enumerate(nodes) if n.block)
    groups: dict[str, list[Node]] = {}
    for i, node in enumerate(nodes):
        key = node.block or ("stem" if i < first else "tail" if i > last else "")
        if not key:
            raise GraphError(f"{node.name} sits between residual blocks but belongs to none")
        groups.setdefault(key, []).append(node)
    return list(groups.items())


def _layer_groups(nodes: list[Node], max_nodes: int) -> list[tuple[str, list[Node]]]:
    tail_at = next((i for i, n in enumerate(nodes) if _is_tail_start(n)), len(nodes))
    by_layer: dict[str, list[Node]] = {}
    for node in nodes[:tail_at]:
        by_layer.setdefault(unit_of(node), []).append(node)
    merged: list[tuple[str, list[Node]]] = []
    for key, members in by_layer.items():
        if merged and len(merged[-1][1]) + len(members) <= max_nodes:
            merged[-1][1].extend(members)
        else:
            merged.append((key, list(members)))
    if tail_at < len(nodes):
        merged.append(("tail", nodes[tail_at:]))
    return merged


def partition(graph: Graph, max_nodes: int = DEFAULT_MAX_NODES) -> list[Partition]:
    """The card nodes of ``graph`` grouped into IPs (see the module docstring)."""
    nodes = [n for n in graph.nodes if not n.op.on_host]
    if not nodes:
        raise GraphError("the graph has no card (hardware) nodes to generate code for")
    blocks = any(n.block for n in nodes)
    groups = _block_groups(nodes) if blocks else _layer_groups(nodes, max_nodes)
    names: set[str] = set()
    parts: list[Partition] = []
    for key, members in groups:
        name = re.sub(r"[^0-9A-Za-z_]", "_", key)
        if name in names or name in RESERVED:
            name = f"{name}_{len(parts)}"
        if name[:1].isdigit():
            name = "n" + name
        names.add(name)
        parts.append(Partition(name, tuple(members)))
    _check_forward(graph, parts)
    return parts


def _check_forward(graph: Graph, parts: list[Partition]) -> None:
    where = {n.name: i for i, p in enumerate(parts) for n in p.nodes}
    for i, part in enumerate(parts):
        for node in part.nodes:
            for t in node.inputs:
                prod = graph.producer(t)
                if prod is not None and prod.name in where and where[prod.name] > i:
                    raise GraphError(
                        f"IP {part.name} reads {t} from the later IP {parts[where[prod.name]].name}"
                    )


def _slr_runs(nodes: tuple[Node, ...], slr_of: Callable[[Node], int]) -> list[list[Node]]:
    """Maximal runs of consecutive nodes in one SLR (a Flatten, free in a stream, stays with
    the node before it)."""
    runs: list[list[Node]] = []
    current = -1
    for node in nodes:
        slr = current if isinstance(node.op, hw.Flatten) and runs else slr_of(node)
        if not runs or slr != current:
            runs.append([])
            current = slr
        runs[-1].append(node)
    return runs


def split_by_slr(
    graph: Graph, parts: list[Partition], slr_of: Callable[[Node], int]
) -> list[Partition]:
    """``parts`` with every IP that holds a split unit cut at each SLR change (see the
    module docstring); the parts are suffixed ``_a``, ``_b``, ... in stream order."""
    taken = {p.name for p in parts} | set(RESERVED)
    out: list[Partition] = []
    for part in parts:
        runs = _slr_runs(part.nodes, slr_of)
        if len(runs) == 1 or not _holds_split_unit(part, slr_of):
            out.append(part)
            continue
        for k, run in enumerate(runs):
            name = f"{part.name}_{_suffix(k)}"
            while name in taken:
                name += "_"
            taken.add(name)
            out.append(Partition(name, tuple(run), part.name))
    _check_forward(graph, out)
    return out


def _holds_split_unit(part: Partition, slr_of: Callable[[Node], int]) -> bool:
    slrs: dict[str, set[int]] = {}
    for node in part.nodes:
        if not isinstance(node.op, hw.Flatten):
            slrs.setdefault(unit_of(node), set()).add(slr_of(node))
    return any(len(s) > 1 for s in slrs.values())


def _suffix(k: int) -> str:
    letters = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        letters = chr(ord("a") + r) + letters
    return letters
