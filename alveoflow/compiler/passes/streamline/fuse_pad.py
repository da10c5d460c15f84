"""``fuse_pad``: a constant ``Pad`` feeding a conv or pool becomes that op's own padding.

- value 0 -> ``Conv`` pads, or ``AveragePool`` pads with ``count_include_pad`` (zeros are
  counted, as after an explicit Pad);
- another value -> the pads and ``pad_value`` of a ``Conv`` without pads of its own;
- value -inf -> ``MaxPool`` pads (a padded position never wins).
Only a Pad whose output has this single reader is fused; any other Pad is left for lowering
to report. Returns the same graph when there is nothing to fuse.
"""

from __future__ import annotations

import dataclasses
import math

from alveoflow.compiler.ir import Graph, Node, nn


def _add(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


def _fused(pad: nn.Pad, reader: Node) -> nn.Conv | nn.AveragePool | nn.MaxPool | None:
    op = reader.op
    if isinstance(op, nn.Conv) and pad.value == op.pad_value:
        return dataclasses.replace(op, pads=_add(op.pads, pad.pads))
    if isinstance(op, nn.Conv) and math.isfinite(pad.value) and not any(op.pads):
        return dataclasses.replace(op, pads=pad.pads, pad_value=pad.value)
    if (
        pad.value == 0.0
        and isinstance(op, nn.AveragePool)
        and (op.count_include_pad or not any(op.pads))
    ):
        return dataclasses.replace(op, pads=_add(op.pads, pad.pads), count_include_pad=True)
    if math.isinf(pad.value) and pad.value < 0 and isinstance(op, nn.MaxPool):
        return dataclasses.replace(op, pads=_add(op.pads, pad.pads))
    return None


def fuse_pad(graph: Graph) -> Graph:
    """Fuse constant Pads into the conv/pool that reads them (see the module docstring)."""
    remove: list[str] = []
    add: list[Node] = []
    for node in graph.nodes:
        if not isinstance(node.op, nn.Pad):
            continue
        readers = graph.consumers(node.output.name)
        if len(readers) != 1 or node.output.name in graph.outputs:
            continue
        reader = readers[0]
        op = _fused(node.op, reader)
        if op is None:
            continue
        src = graph.input_infos(node)[0]
        add.append(
            Node.create(reader.name, op, [src], [t.name for t in reader.outputs], reader.weights)
        )
        remove += [node.name, reader.name]
    return graph.replace(remove, add) if remove else graph
