"""``Netlist``: one generated SystemVerilog module made of RTL library instances and streams.

A netlist has stream ports (AXI-Stream ``<name>_tdata/_tvalid/_tready``; a stream with
``tlast`` carries it as its top data bit, as ``instance`` wires it), internal stream nets,
cells (library ``Instance`` s wired to nets by stream name) and probe outputs
(``probe_<name>``: simulation observability, e.g. a FIFO's occupancy; a synthesis top leaves
them open). ``add`` checks that a cell's
stream is exactly as wide as the net it is wired to: a mismatch is an internal error of the
code generator, never bridged silently. ``render()`` is the module text; ``files`` are the
``$readmemh`` files its cells read (name -> text, names unique within a design).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from alveoflow.errors import GraphError
from alveoflow.hw.rtl.instance import Instance, instantiate


@dataclass(frozen=True)
class Port:
    name: str
    width: int
    direction: str  # "in" or "out"


@dataclass
class Netlist:
    module: str
    comment: str = ""
    ports: list[Port] = field(default_factory=list)
    nets: dict[str, int] = field(default_factory=dict)  # stream name -> data width
    cells: list[str] = field(default_factory=list)  # rendered instantiations
    probes: list[tuple[str, int, str]] = field(default_factory=list)  # name, width, expression
    wires: list[tuple[str, int]] = field(default_factory=list)  # plain (non-stream) signals
    files: dict[str, str] = field(default_factory=dict)
    _names: set[str] = field(default_factory=set)

    def port(self, name: str, width: int, direction: str) -> str:
        self.ports.append(Port(name, width, direction))
        self.nets[name] = width
        return name

    def net(self, name: str, width: int) -> str:
        if name in self.nets:
            raise GraphError(f"{self.module}: stream net {name} declared twice (internal error)")
        self.nets[name] = width
        return name

    def wire(self, name: str, width: int) -> str:
        self.wires.append((name, width))
        return name

    def probe(self, name: str, width: int, expression: str) -> None:
        self.probes.append((name, width, expression))

    def add(
        self,
        name: str,
        inst: Instance,
        nets: Mapping[str, str],
        probe_nets: Mapping[str, str] | None = None,
    ) -> None:
        """Instantiate ``inst`` as ``name``; ``nets`` maps each of its streams to a net."""
        if name in self._names:
            raise GraphError(f"{self.module}: two cells named {name} (internal error)")
        self._names.add(name)
        for stream in inst.inputs + inst.outputs:
            net = nets.get(stream.name)
            if net is None or net not in self.nets:
                raise GraphError(f"{self.module}.{name}: stream {stream.name} is not wired")
            if self.nets[net] != stream.word_bits:
                raise GraphError(
                    f"{self.module}.{name} ({inst.label}): stream {stream.name} is "
                    f"{stream.word_bits} bits but net {net} is {self.nets[net]} (internal error: "
                    "the RTL generator and the design disagree)"
                )
        for file, text in inst.files:
            if self.files.get(file, text) != text:
                raise GraphError(f"{self.module}: two different files named {file}")
            self.files[file] = text
        self.cells.append(instantiate(inst, name, nets, probe_nets))

    def render(self) -> str:
        decls = ["input  logic ap_clk", "input  logic ap_rst_n"]
        for p in self.ports:
            way, back = ("input ", "output") if p.direction == "in" else ("output", "input ")
            decls += [
                f"{way} logic [{p.width - 1}:0] {p.name}_tdata",
                f"{way} logic {p.name}_tvalid",
                f"{back} logic {p.name}_tready",
            ]
        decls += [f"output logic [{w - 1}:0] probe_{n}" for n, w, _ in self.probes]
        own = {p.name for p in self.ports}
        body = [
            f"    logic [{w - 1}:0] {n}_tdata;\n    logic {n}_tvalid, {n}_tready;\n"
            for n, w in self.nets.items()
            if n not in own
        ]
        body += [f"    logic [{w - 1}:0] {n};\n" for n, w in self.wires]
        body += [f"    assign probe_{n} = {expr};\n" for n, _, expr in self.probes]
        head = "".join(f"// {line}\n" for line in self.comment.splitlines())
        ports = ",\n    ".join(decls)
        return (
            f"{head}module {self.module} (\n    {ports}\n);\n"
            + "".join(body)
            + "".join(self.cells)
            + "endmodule\n"
        )
