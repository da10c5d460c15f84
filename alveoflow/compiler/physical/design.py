"""The ``Design``: one frozen description of the hardware a build makes.

It is built once (``physical.build.build_design``) from the folded, lowered graph, the
folding plan and the FIFO depths, and then only read: the estimator prices it, the code
generators (HLS, RTL) render it, the manifest and ``kernel.xml`` are written from it, and the
host calls the kernel with its ``kernel_args``. Nothing downstream decides hardware on its
own.

- ``IP``: a group of card nodes synthesised together (one residual block, the stem, the
  tail, or one SLR's part of a split block), its SLR and its stream ports.
- ``Stream``: one producer -> consumer connection of one tensor, after duplicate insertion
  (every tensor has one card reader; ``Flatten`` is a view and has no stream of its own). Its
  two ends may differ in elements per word (``src_lanes`` != ``dst_lanes``): a width
  converter sits on it, inside the consumer IP or, on a link between IPs whose two widths are
  whole bytes, as an IP-integrator converter (``dwc``). ``depth`` is its FIFO depth in
  producer words; ``slices`` is the number of MMV pixels side by side in a word.
- ``DmaEnd``: the memory -> stream (input) or stream -> memory (output) end of the kernel.
- ``KernelArg``: the kernel's arguments in call order, named exactly as in ``kernel.xml``:
  buffers with their role (``input``, ``topk``, ``logits``, ``fc_weights``), memory and
  AXI-Lite register offset, and the ``batch`` scalar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from alveoflow.compiler.ir import Graph, QType

DMA = "dma"  # the endpoint name of the kernel's DMA (inputs and outputs)
_BAD = re.compile(r"[^0-9A-Za-z_]")


def ident(name: str) -> str:
    """A C identifier made of ``name``'s letters, digits and underscores (design element
    names: streams, IPs, kernel arguments)."""
    text = _BAD.sub("_", name).strip("_") or "x"
    return text if not text[0].isdigit() else "n" + text


@dataclass(frozen=True)
class Port:
    """A stream port of an IP: ``stream`` is ``Stream.name``; ``lanes`` elements per word as
    the IP sees it (after a converter on the link)."""

    name: str
    stream: str
    tensor: str
    lanes: int
    qtype: QType

    @property
    def width(self) -> int:
        return self.lanes * self.qtype.bits


@dataclass(frozen=True)
class IP:
    name: str
    nodes: tuple[str, ...]
    slr: int
    block: str  # the unsplit IP this is one SLR's part of, else its own name
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    fc_port: bool = False  # reads external weights through an AXI master

    @property
    def top(self) -> str:
        return f"af_{self.name}"


@dataclass(frozen=True)
class Stream:
    name: str  # unique, C-identifier friendly
    tensor: str  # the tensor it carries (the producer's output)
    src: str  # producer node, or DMA
    dst: str  # consumer node, or DMA
    src_ip: str  # IP of the producer ("" for the DMA)
    dst_ip: str
    qtype: QType
    src_lanes: int
    dst_lanes: int
    frame_elems: int  # elements per frame
    shape: tuple[int, ...]
    depth: int  # FIFO depth, in producer words
    slices: int = 1  # MMV pixels side by side in a word
    dst_index: int = 0  # input index of the consumer node

    @property
    def kind(self) -> str:
        """``internal`` (inside one IP), ``link`` (between IPs) or ``dma``."""
        if DMA in (self.src, self.dst):
            return "dma"
        return "internal" if self.src_ip == self.dst_ip else "link"

    @property
    def src_width(self) -> int:
        return self.src_lanes * self.qtype.bits

    @property
    def dst_width(self) -> int:
        return self.dst_lanes * self.qtype.bits

    @property
    def converts(self) -> bool:
        return self.src_lanes != self.dst_lanes

    @property
    def dwc(self) -> str:
        """Where its width converter is: ``""`` (none), ``"link"`` (IP integrator, between
        IPs, both widths whole bytes) or ``"ip"`` (inside the consumer IP)."""
        if not self.converts:
            return ""
        whole = self.src_width % 8 == 0 and self.dst_width % 8 == 0
        return "link" if self.kind == "link" and whole and self.slices == 1 else "ip"

    @property
    def words(self) -> int:
        """Producer words per frame."""
        return self.frame_elems // self.src_lanes


@dataclass(frozen=True)
class DmaEnd:
    """One DMA end: the card input (memory -> stream) or a card output (stream -> memory)."""

    arg: str  # the kernel argument it serves
    role: str  # "input", "topk" or "logits" (the host buffer it fills or reads)
    tensor: str  # the card tensor (as the runtime names it)
    stream: str  # Stream.name at the network side
    direction: str  # "in" or "out"
    qtype: QType
    lanes: int  # elements per network-side word
    frame_elems: int
    shape: tuple[int, ...]

    @property
    def storage_bits(self) -> int:
        return 8 if self.qtype.bipolar else next(b for b in (8, 16, 32, 64) if self.qtype.bits <= b)

    @property
    def frame_bytes(self) -> int:
        return self.frame_elems * self.storage_bits // 8

    @property
    def width(self) -> int:
        return self.lanes * self.qtype.bits


@dataclass(frozen=True)
class KernelArg:
    """One kernel argument, in call order (see the module docstring)."""

    name: str  # as in kernel.xml and the HLS top
    role: str  # "input", "topk", "logits", "fc_weights" or "batch"
    kind: str  # "buffer" or "scalar"
    offset: int  # AXI-Lite register offset
    size: int  # register bytes
    port: str = ""  # m_axi bundle of a buffer ("gmem0"); "" for a scalar
    memory: str = ""  # where the buffer is linked ("DDR[0]", "PLRAM[0]")
    bank: str = ""  # the same memory as PYNQ names it ("bank0", "PLRAM0")
    data_width: int = 0  # m_axi port width in bits

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "role": self.role, "kind": self.kind}
        out.update(offset=self.offset, size=self.size)
        if self.kind == "buffer":
            out.update(port=self.port, memory=self.memory, bank=self.bank)
        return out


@dataclass(frozen=True)
class FcWeights:
    """The layer whose int8 weights live in card memory (streamed by the tail IP)."""

    node: str
    shape: tuple[int, int]
    memory: str  # "PLRAM[0]" or "DDR[0]"
    mem_w: int  # bits per read word


@dataclass(frozen=True)
class Design:
    kernel: str
    platform: str
    part: str
    shell: str
    clock_mhz: float
    hw: str  # "hls" or "rtl"
    ips: tuple[IP, ...]
    streams: tuple[Stream, ...]
    dma_in: DmaEnd
    dma_outs: tuple[DmaEnd, ...]
    kernel_args: tuple[KernelArg, ...]
    fc: FcWeights | None
    io_slr: int
    graph: Graph = field(repr=False, compare=False)
    node_slrs: dict[str, int] = field(default_factory=dict, compare=False)
    mem_styles: dict[str, tuple[str, int]] = field(default_factory=dict, compare=False)
    mul_styles: dict[str, str] = field(default_factory=dict, compare=False)

    def ip(self, name: str) -> IP:
        return next(i for i in self.ips if i.name == name)

    def stream(self, name: str) -> Stream:
        return next(s for s in self.streams if s.name == name)

    def ip_of(self, node: str) -> str:
        return next((i.name for i in self.ips if node in i.nodes), "")

    def links(self) -> tuple[Stream, ...]:
        """Streams between IPs and between the DMA and an IP, in design order."""
        return tuple(s for s in self.streams if s.kind != "internal")

    def arg(self, role: str) -> KernelArg | None:
        return next((a for a in self.kernel_args if a.role == role), None)
