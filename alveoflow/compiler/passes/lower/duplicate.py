"""``insert_duplicate_streams``: a stream read by two or more card ops gets a
``DuplicateStreams`` node, because a hardware stream has exactly one reader.

The node is named ``<tensor>.dup``; its outputs ``<tensor>.dup.0``, ``.1``, ... feed the
readers in graph order. Host ops (``DequantizeOutput``) read card results from card memory,
which the output DMA writes from a stream: all host readers of a card tensor together count
as one reader (the DMA), fed by the last copy, so a logits stream read by ``LabelSelect`` and
by the host gets its copy for the DMA.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict

from alveoflow.compiler.ir import Graph, Node, hw


def insert_duplicate_streams(graph: Graph) -> Graph:
    """Add a DuplicateStreams node for every stream with several card readers."""
    readers: dict[str, list[tuple[int, int]]] = defaultdict(list)  # tensor -> (node, slot)
    dma: dict[str, list[tuple[int, int]]] = defaultdict(list)  # host readers of card tensors
    for i, node in enumerate(graph.nodes):
        for slot, t in enumerate(node.inputs):
            if not node.op.on_host:
                readers[t].append((i, slot))
            elif _on_card(graph, t):
                dma[t].append((i, slot))
    shared = {  # float tensors are not streams (left by nodes lowering could not map)
        t: r
        for t, r in readers.items()
        if len(r) + bool(dma.get(t)) > 1 and not graph.tensor(t).qtype.is_float
    }
    if not shared:
        return graph
    inputs = [list(n.inputs) for n in graph.nodes]
    added: dict[str, Node] = {}
    for tensor, slots in shared.items():
        info = graph.tensor(tensor)
        name = f"{tensor}.dup"
        copies = len(slots) + bool(dma.get(tensor))
        outs = [f"{name}.{k}" for k in range(copies)]
        op = hw.DuplicateStreams(channels=info.shape[-1], dt=info.qtype, copies=copies)
        block = _fork_block(graph, tensor, [graph.nodes[i] for i, _ in slots])
        added[tensor] = Node.create(name, op, [info], outs, block=block)
        for (i, slot), out in zip(slots, outs, strict=False):
            inputs[i][slot] = out
        for i, slot in dma.get(tensor, []):
            inputs[i][slot] = outs[-1]
    nodes = [added[t.name] for t in graph.inputs if t.name in added]
    for node, ins in zip(graph.nodes, inputs, strict=True):
        nodes.append(
            dataclasses.replace(node, inputs=tuple(ins)) if list(node.inputs) != ins else node
        )
        nodes.extend(added[t.name] for t in node.outputs if t.name in added)
    return Graph.build(graph.inputs, nodes, graph.outputs, graph.meta)


def _on_card(graph: Graph, tensor: str) -> bool:
    producer = graph.producer(tensor)
    return producer is not None and not producer.op.on_host


def _fork_block(graph: Graph, tensor: str, readers: list[Node]) -> str:
    """The block of a fork: its readers' block when they share one (the entry of a residual
    block), else its producer's."""
    blocks = {r.block for r in readers}
    if len(blocks) == 1:
        return blocks.pop()
    producer = graph.producer(tensor)
    return producer.block if producer is not None else ""
