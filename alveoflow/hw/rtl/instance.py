"""One parameterised instance of a library module, and the wrapper that exposes it.

An ``Instance`` names a module of ``alveoflow/hw/rtl/*.sv``, its parameters, its AXI-Stream
ports and the ``$readmemh`` files it reads (name -> text; the parameters refer to the files by
name, relative to the folder the simulator or Yosys runs in). ``wrapper_sv(inst)`` renders
``af_top``: one flat ``<stream>_tdata/_tvalid/_tready`` triple per stream (``in0``, ``in1``,
... and ``out0``, ...), whatever the module calls them: a slice of a vector port (the outputs
of ``af_duplicate``) becomes a stream of its own, and a ``tlast`` becomes the top data bit
(the word is one bit wider), so one generic C++ harness drives every module and Yosys
synthesises exactly the module (the wrapper is wiring only). Probes (e.g. a FIFO's ``count``)
are module outputs the harness records the peak of. ``pins`` are other ports passed through
unchanged (``(port, "input" | "output", width)``; the combinational primitives the Yosys
sweeps measure have only pins, and ``clocked=False``). ``sources`` are generated SystemVerilog
files (name -> text) compiled with the library, e.g. a design's top level, so the same
runners build and synthesise whole designs. ``instantiate(inst, name, nets)`` renders the
instance inside a parent module (what RTL code generation needs).

Parameter values: ``int``, ``str`` (a Verilog string) or ``Bits(width, value)`` (a sized
literal, for vectors wider than 32 bits such as the pad values of ``af_swg``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from alveoflow.errors import ConfigError

RTL_DIR = Path(__file__).resolve().parent
TOP = "af_top"


@dataclass(frozen=True)
class Bits:
    """A sized parameter literal: ``width``'h<value>."""

    width: int
    value: int

    def literal(self) -> str:
        if self.value < 0 or self.value >= 1 << self.width:
            raise ConfigError(f"{self.value} does not fit a {self.width}-bit parameter")
        return f"{self.width}'h{self.value:x}"


ParamValue = int | str | Bits


@dataclass(frozen=True)
class Stream:
    """One stream of the wrapper: ``name`` (in0/out0/...) of ``width`` data bits, wired to the
    module's ``<prefix>_tdata/_tvalid/_tready`` (slice ``index`` of a vector port when set;
    ``last``: the module port also has ``<prefix>_tlast``, carried as data bit ``width``)."""

    name: str
    width: int
    prefix: str
    index: int | None = None
    last: bool = False

    @property
    def word_bits(self) -> int:
        """Bits of one harness word: the data, plus tlast as the top bit."""
        return self.width + (1 if self.last else 0)


@dataclass(frozen=True)
class Instance:
    module: str
    params: tuple[tuple[str, ParamValue], ...]
    inputs: tuple[Stream, ...]
    outputs: tuple[Stream, ...]
    files: tuple[tuple[str, str], ...] = ()
    probes: tuple[tuple[str, int], ...] = ()  # (module output port, width)
    ties: tuple[tuple[str, str], ...] = ()  # (module port, expression or "" for open)
    label: str = field(default="", compare=False)
    pins: tuple[tuple[str, str, int], ...] = ()  # (port, "input" | "output", width)
    clocked: bool = True
    sources: tuple[tuple[str, str], ...] = ()  # generated .sv files compiled with the library

    @staticmethod
    def create(
        module: str,
        params: Mapping[str, ParamValue],
        inputs: Sequence[Stream],
        outputs: Sequence[Stream],
        files: Mapping[str, str] | None = None,
        probes: Sequence[tuple[str, int]] = (),
        ties: Mapping[str, str] | None = None,
        label: str = "",
        pins: Sequence[tuple[str, str, int]] = (),
        clocked: bool = True,
        sources: Mapping[str, str] | None = None,
    ) -> Instance:
        return Instance(
            module,
            tuple(params.items()),
            tuple(inputs),
            tuple(outputs),
            tuple(sorted((files or {}).items())),
            tuple(probes),
            tuple((ties or {}).items()),
            label or module,
            tuple(pins),
            clocked,
            tuple(sorted((sources or {}).items())),
        )

    def param(self, name: str) -> ParamValue:
        return dict(self.params)[name]

    def stream(self, name: str) -> Stream:
        for s in self.inputs + self.outputs:
            if s.name == name:
                return s
        raise ConfigError(f"{self.module} has no stream {name!r}")

    def with_files(self, files: Mapping[str, str]) -> Instance:
        """The same instance reading other file contents (same names: same build)."""
        merged = dict(self.files)
        unknown = set(files) - set(merged)
        if unknown:
            raise ConfigError(f"{self.module} reads no file {sorted(unknown)}")
        merged.update(files)
        return replace(self, files=tuple(sorted(merged.items())))

    def with_file_prefix(self, prefix: str) -> Instance:
        """The same instance with every file (and the parameters naming it) renamed
        ``prefix + name``, so several instances can share a folder."""
        names = {name for name, _ in self.files}
        params = tuple(
            (k, prefix + v if isinstance(v, str) and v in names else v) for k, v in self.params
        )
        files = tuple((prefix + name, text) for name, text in self.files)
        return replace(self, params=params, files=files)

    def structure_key(self) -> str:
        """Hash of everything a build depends on except file contents."""
        text = repr(
            (self.module, self.params, self.inputs, self.outputs, self.probes, self.ties, self.pins)
        )
        text += repr((self.clocked, self.sources))
        text += repr([name for name, _ in self.files])
        return hashlib.sha256(text.encode()).hexdigest()


def literal(value: ParamValue) -> str:
    if isinstance(value, Bits):
        return value.literal()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if '"' in value or "\\" in value:
            raise ConfigError(f"parameter string {value!r} may not contain quotes or backslashes")
        return f'"{value}"'
    raise ConfigError(f"unsupported parameter value {value!r}")


def _port_decls(inst: Instance) -> list[str]:
    lines = ["input  logic ap_clk", "input  logic ap_rst_n"] if inst.clocked else []
    for s in inst.inputs:
        lines += [
            f"input  logic [{s.word_bits - 1}:0] {s.name}_tdata",
            f"input  logic {s.name}_tvalid",
            f"output logic {s.name}_tready",
        ]
    for s in inst.outputs:
        lines += [
            f"output logic [{s.word_bits - 1}:0] {s.name}_tdata",
            f"output logic {s.name}_tvalid",
            f"input  logic {s.name}_tready",
        ]
    lines += [f"output logic [{w - 1}:0] probe_{name}" for name, w in inst.probes]
    lines += [f"{way:6} logic [{w - 1}:0] {name}" for name, way, w in inst.pins]
    return lines


def _connections(
    inst: Instance,
    nets: Mapping[str, str] | None = None,
    probe_nets: Mapping[str, str] | None = None,
) -> list[str]:
    """Port connections of the module; stream ``name`` is wired to nets ``<nets[name]>_t*``,
    probe ``p`` to ``probe_nets[p]`` (``probe_<p>`` when absent)."""
    nets = nets or {}
    probe_nets = probe_nets or {}
    groups: dict[str, list[Stream]] = {}
    for s in inst.inputs + inst.outputs:
        groups.setdefault(s.prefix, []).append(s)
    conns = [".ap_clk(ap_clk)", ".ap_rst_n(ap_rst_n)"] if inst.clocked else []
    for prefix, streams in groups.items():
        ordered = sorted(streams, key=lambda s: -(s.index or 0))  # highest slice first
        for sig in ("tdata", "tvalid", "tready"):
            parts = [_part(s, sig, nets.get(s.name, s.name)) for s in ordered]
            expr = parts[0] if len(parts) == 1 else "{" + ", ".join(parts) + "}"
            conns.append(f".{prefix}_{sig}({expr})")
        if any(s.last for s in streams):
            (s,) = streams
            conns.append(f".{prefix}_tlast({nets.get(s.name, s.name)}_tdata[{s.width}])")
    conns += [f".{name}({probe_nets.get(name, 'probe_' + name)})" for name, _ in inst.probes]
    conns += [f".{port}({expr})" for port, expr in inst.ties]
    conns += [f".{name}({name})" for name, _, _ in inst.pins]
    return conns


def _part(s: Stream, sig: str, net: str) -> str:
    if sig == "tdata" and s.last:
        return f"{net}_tdata[{s.width - 1}:0]"
    return f"{net}_{sig}"


def instantiate(
    inst: Instance,
    name: str,
    nets: Mapping[str, str] | None = None,
    probe_nets: Mapping[str, str] | None = None,
) -> str:
    """``module #(params) name (...);`` for a parent module: clock and reset by their names,
    stream ``s`` on the parent's ``<nets[s]>_tdata/_tvalid/_tready`` (``s`` when absent;
    a tlast stream carries tlast as its top data bit), probe ``p`` on ``probe_nets[p]``
    (``probe_<p>`` when absent)."""
    params = ",\n        ".join(f".{k}({literal(v)})" for k, v in inst.params)
    conns = ",\n        ".join(_connections(inst, nets, probe_nets))
    given = f" #(\n        {params}\n    )" if inst.params else ""
    return f"    {inst.module}{given} {name} (\n        {conns}\n    );\n"


def wrapper_sv(inst: Instance, top: str = TOP) -> str:
    """``af_top`` (or ``top``): the instance with flat, uniformly named stream ports."""
    ports = ",\n    ".join(_port_decls(inst))
    return (
        f"// generated by alveoflow.hw.rtl.instance: {inst.label}\n"
        f"module {top} (\n    {ports}\n);\n" + instantiate(inst, "dut") + "endmodule\n"
    )


# Simulation-only modules (used under `ifdef AF_FAST_DOT`): they use SystemVerilog that
# Yosys 0.23 does not parse (longint functions) and never reach synthesis.
SIMULATION_ONLY = frozenset({"af_dots_fast.sv"})


def library_files(synthesis: bool = False) -> list[Path]:
    """Every .sv file of the library, sorted; ``synthesis``: without the simulation-only
    modules (what Yosys reads)."""
    files = sorted(RTL_DIR.glob("*.sv"))
    return [p for p in files if not (synthesis and p.name in SIMULATION_ONLY)]


def library_digest() -> str:
    """Hash of the library sources (part of every cache key)."""
    h = hashlib.sha256()
    for path in library_files():
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def write_files(inst: Instance, folder: Path) -> None:
    """Write the instance's $readmemh files into ``folder``."""
    for name, text in inst.files:
        (folder / name).write_text(text)


def write_sources(inst: Instance, folder: Path) -> list[str]:
    """Write the instance's generated .sv files into ``folder``; their names."""
    for name, text in inst.sources:
        (folder / name).write_text(text)
    return [name for name, _ in inst.sources]
