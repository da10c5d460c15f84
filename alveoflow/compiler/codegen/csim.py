"""A folding for C simulation speed: every stream and weight word at most 64 bits.

Folding never changes results (``compiler.ir.hw``), but it changes how fast the generated C++
runs under g++: the ``ap_uint`` simulation types handle words of up to 64 bits in one machine
word and anything wider with multi-word shifts (ten times slower per lane). ``csim_folding``
returns the graph refolded so that every word fits 64 bits (MMV 1, the largest PE/SIMD that
keep a word within 64 bits); ``alveoflow``'s cppsim backend runs that variant by default. The
hardware folding is the one the build's own sources use (tested bit-exact the same way).
"""

from __future__ import annotations

from alveoflow.compiler.folding import refold
from alveoflow.compiler.ir import Graph, Node, hw

WORD = 64


def _fit(n: int, bits: int) -> int:
    """The largest divisor d of n with d * bits <= WORD (at least 1)."""
    best = 1
    for d in range(1, n + 1):
        if n % d == 0 and d * bits <= WORD:
            best = d
    return best


def _fold(node: Node) -> dict[str, int]:
    op = node.op
    if isinstance(op, hw.MVAU):
        if op.external_weights:
            return {}
        ib = max(op.idt.bits, op.wdt.bits)
        return {"simd": _fit(op.mw, ib), "pe": _fit(op.mh, op.odt.bits), "mmv": 1}
    if isinstance(op, hw.VVAU):
        pe = _fit(op.channels, op.idt.bits)
        return {"pe": pe, "simd": _fit(op.kernel_elems, max(pe * op.idt.bits, op.wdt.bits))}
    if isinstance(op, hw.SlidingWindow):
        return {"simd": _fit(op.channels, op.dt.bits)}
    if isinstance(op, hw.Thresholding):
        return {"pe": _fit(op.channels, max(op.idt.bits, op.odt.bits))}
    if isinstance(op, hw.AddStreams):
        bits = max(op.idt_a.bits, op.idt_b.bits, op.odt.bits)
        return {"pe": _fit(op.channels, bits)}
    if isinstance(op, hw.StreamingMaxPool | hw.DuplicateStreams):
        return {"pe": _fit(op.channels, op.dt.bits)}
    if isinstance(op, hw.SumPool):
        return {"pe": _fit(op.channels, max(op.idt.bits, op.odt.bits))}
    return {}


def csim_folding(graph: Graph) -> Graph:
    """``graph`` refolded for fast C simulation (see the module docstring)."""
    folding = {n.name: f for n in graph.nodes if (f := _fold(n))}
    return refold(graph, folding)
