"""The Vitis kernels of the RTL flavour (``hw=rtl``): what a user with Vitis links without
running HLS synthesis on the network.

Two kernels, connected by AXI4-Stream links in the link config (``sc=``):

- ``<kernel>_net``: the network (``afn_top``) as a free-running RTL kernel (``ap_ctrl_none``,
  no AXI4-Lite, ``ap_clk``/``ap_rst_n`` and AXI4-Stream ports only). Its top is the module
  ``<kernel>_net`` (``rtl/<kernel>_net.sv``), a thin wrapper that gives each stream port of
  ``afn_top`` Vitis' names and splits off the ``tlast`` the DMA ends carry as their top data
  bit: ``afn_top`` input ``in0`` (``W+1`` bits) -> ``s_axis_in0_tdata[W-1:0]`` +
  ``s_axis_in0_tlast``; ``in1`` (the FC weights, no tlast) -> ``s_axis_in1_tdata``; output
  ``out<k>`` -> ``m_axis_out<k>_tdata[31:0]`` + ``_tlast``. The probes stay open. The
  interface list (``interfaces``) is read from the generated ``afn_top`` netlist ports, and
  the packaging Tcl, the wrapper and the kernel XML are all rendered from that one list.
- ``<kernel>``: the host-facing kernel, an HLS memory mover (``hls/src/rtl_dma.cpp``,
  ``vitis_hls`` ``-flow_target vitis`` straight to an ``.xo``) with the design's
  ``kernel_args`` in their order and registers (the host, ``vivado/kernel.xml`` and the
  manifest are unchanged: the runtime cannot tell the flavours apart), then one AXI4-Stream
  argument per network port (``to_net``, ``fc_net``, ``from_net<k>``; stream arguments take
  no register). It reads each image's input words (tlast on the last), the FC weights once
  per image (the words the HLS ``fc_external`` reads), and writes each output's 32-bit words.

Files (``kernel_files``): ``rtl/<kernel>_net.sv``, ``vivado/package_rtl_kernel.tcl``
(``ipx::package_project`` + ``package_xo``), ``vivado/rtl_kernel.xml``,
``hls/src/rtl_dma.cpp``, ``hls/scripts/rtl_dma.tcl``, and, replacing the HLS flavour's,
``link/link.cfg`` (both kernels, ``sp=`` as before, ``sc=`` per stream) and ``Makefile``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from alveoflow.compiler.codegen.render import design_view, render
from alveoflow.compiler.codegen.rtl.netlist import Netlist
from alveoflow.compiler.physical import Design
from alveoflow.errors import GraphError
from alveoflow.hw.rtl.instance import library_files

AXIS_VLNV = "xilinx.com:interface:axis_rtl:1.0"
DMA_SOURCE = "hls/src/rtl_dma.cpp"
PACKAGE_TCL = "vivado/package_rtl_kernel.tcl"
KERNEL_XML = "vivado/rtl_kernel.xml"


@dataclass(frozen=True)
class StreamIf:
    """One AXI4-Stream interface of the network kernel."""

    name: str  # interface and signal prefix: s_axis_in0, m_axis_out0
    top_port: str  # the afn_top stream port it wraps: in0, in1, out0
    width: int  # TDATA bits (without TLAST)
    mode: str  # "slave" (into the kernel) or "master"
    tlast: bool
    peer: str  # the mover's stream argument on the other end: to_net, fc_net, from_net<k>

    def signals(self) -> list[tuple[str, int, str]]:
        """(port, width, direction) of every signal, as the wrapper declares them."""
        into, back = ("input", "output") if self.mode == "slave" else ("output", "input")
        out = [(f"{self.name}_tdata", self.width, into)]
        if self.tlast:
            out.append((f"{self.name}_tlast", 1, into))
        return out + [(f"{self.name}_tvalid", 1, into), (f"{self.name}_tready", 1, back)]


def net_module(design: Design) -> str:
    """The network kernel's name (and its top module's)."""
    return f"{design.kernel}_net"


def interfaces(top: Netlist) -> list[StreamIf]:
    """The network kernel's interfaces, one per stream port of ``top`` (``afn_top``)."""
    out = []
    for p in top.ports:
        tlast = p.name == "in0" or p.name.startswith("out")
        width = p.width - int(tlast)
        if width % 8:
            raise GraphError(f"{top.module}.{p.name}: {width} data bits is not whole bytes")
        slave = p.direction == "in"
        peer = {"in0": "to_net", "in1": "fc_net"}.get(p.name, p.name.replace("out", "from_net"))
        name = f"{'s' if slave else 'm'}_axis_{p.name}"
        out.append(StreamIf(name, p.name, width, "slave" if slave else "master", tlast, peer))
    return out


def wrapper_sv(module: str, ifs: list[StreamIf], top: Netlist) -> str:
    """The network kernel's top module: ``top`` behind Vitis' AXI4-Stream port names."""
    decls = ["input  wire ap_clk", "input  wire ap_rst_n"]
    for i in ifs:
        for name, width, way in i.signals():
            vec = f"[{width - 1}:0] " if width > 1 else ""
            decls.append(f"{way:<6} wire {vec}{name}")
    conns = [".ap_clk(ap_clk)", ".ap_rst_n(ap_rst_n)"]
    for i in ifs:
        data = f"{{{i.name}_tlast, {i.name}_tdata}}" if i.tlast else f"{i.name}_tdata"
        conns += [
            f".{i.top_port}_tdata({data})",
            f".{i.top_port}_tvalid({i.name}_tvalid)",
            f".{i.top_port}_tready({i.name}_tready)",
        ]
    conns += [f".probe_{name}()" for name, _, _ in top.probes]
    return (
        f"// free-running Vitis RTL kernel {module}: {top.module} with AXI4-Stream ports\n"
        f"module {module} (\n    " + ",\n    ".join(decls) + "\n);\n"
        f"    {top.module} u_net (\n        " + ",\n        ".join(conns) + "\n    );\n"
        "endmodule\n"
    )


def rtl_kernel_xml(module: str, ifs: list[StreamIf]) -> str:
    """``vivado/rtl_kernel.xml``: the network kernel, ``ap_ctrl_none``, stream ports only."""
    rows = [
        {
            "name": i.name,
            "mode": "read_only" if i.mode == "slave" else "write_only",
            "width": i.width,
            "type": escape(f"stream<ap_axiu<{i.width},0,0,0> >&"),
        }
        for i in ifs
    ]
    return render("rtl_kernel.xml.j2", module=module, ports=rows)


def package_tcl(
    design: Design, module: str, ifs: list[StreamIf], sources: list[str], mems: list[str]
) -> str:
    """``vivado/package_rtl_kernel.tcl`` (run from ``vivado/``): project, IP, ``.xo``."""
    return render(
        "package_rtl_kernel.tcl.j2",
        module=module,
        part=design.part,
        interfaces=ifs,
        sources=[f"../{s}" for s in sources],
        mems=[f"../{m}" for m in mems],
        vlnv=AXIS_VLNV,
    )


def _dma_view(design: Design, ifs: list[StreamIf]) -> dict[str, Any]:
    """What the mover template reads: arguments with their C++ types, word counts."""
    view = design_view(design)
    fc = design.fc
    in_arg = next(a for a in design.kernel_args if a.role == "input")
    args = []
    for a in design.kernel_args:
        if a.kind == "scalar":
            ctype = f"unsigned {a.name}"
        elif a.role == "input":
            ctype = f"const ap_uint<{in_arg.data_width}>* {a.name}"
        elif a.role == "fc_weights":
            assert fc is not None
            ctype = f"const ap_uint<{fc.mem_w}>* {a.name}"
        else:
            ctype = f"ap_uint<32>* {a.name}"
        args.append({"name": a.name, "kind": a.kind, "port": a.port, "decl": ctype})
    streams = [f"hls::stream<ap_axiu<{i.width}, 0, 0, 0> >& {i.peer}" for i in ifs]
    outs = [
        {"arg": o.arg, "words": o.frame_bytes // 4, "peer": f"from_net{k}"}
        for k, o in enumerate(design.dma_outs)
    ]
    return {
        "kernel": design.kernel,
        "args": args,
        "signature": ", ".join([a["decl"] for a in args] + streams),
        "batch": next(a.name for a in design.kernel_args if a.role == "batch"),
        "in_arg": in_arg.name,
        "mem_w": in_arg.data_width,
        "in_words": design.dma_in.frame_bytes * 8 // in_arg.data_width,
        "outs": outs,
        "fc_arg": next((a.name for a in design.kernel_args if a.role == "fc_weights"), ""),
        "fc_w": fc.mem_w if fc else 0,
        "fc_words": fc.shape[0] * fc.shape[1] * 8 // fc.mem_w if fc else 0,
        "dma_in": view["dma_in"],
    }


def _link_view(design: Design, module: str, ifs: list[StreamIf]) -> dict[str, Any]:
    kernel = design.kernel
    scs = []
    for i in ifs:
        mover, net = f"{kernel}_1.{i.peer}", f"{module}_1.{i.name}"
        scs.append(f"{mover}:{net}" if i.mode == "slave" else f"{net}:{mover}")
    return {
        "sps": [(a.port, a.memory) for a in design.kernel_args if a.kind == "buffer"],
        "scs": scs,
        "plram": design.fc is not None and design.fc.memory.startswith("PLRAM"),
        "clock_hz": int(round(design.clock_mhz * 1e6)),
    }


def kernel_files(design: Design, top: Netlist, sources: list[str]) -> dict[str, str]:
    """Every file of the RTL flavour's kernels (see the module docstring); ``sources``: the
    generated IP and top modules, in compile order, relative to the build directory."""
    module = net_module(design)
    ifs = interfaces(top)
    wrapper = f"rtl/{module}.sv"
    lib = [f"rtl/lib/{p.name}" for p in library_files(synthesis=True)]
    mems = [f"rtl/mem/{name}" for name in sorted(top.files)]
    period = round(1000.0 / design.clock_mhz, 3)
    link = _link_view(design, module, ifs)
    view = design_view(design)
    return {
        wrapper: wrapper_sv(module, ifs, top),
        KERNEL_XML: rtl_kernel_xml(module, ifs),
        PACKAGE_TCL: package_tcl(design, module, ifs, lib + sources + [wrapper], mems),
        DMA_SOURCE: render("rtl_dma.cpp.j2", k=_dma_view(design, ifs)),
        "hls/scripts/rtl_dma.tcl": render(
            "rtl_dma.tcl.j2",
            kernel=design.kernel,
            part=design.part,
            period_ns=period,
            clock_mhz=design.clock_mhz,
        ),
        "link/link.cfg": render("rtl_link.cfg.j2", d=view, module=module, **link),
        "Makefile": render(
            "Makefile_rtl.j2",
            d=view,
            module=module,
            ip_names=[ip.name for ip in design.ips],
            plram=link["plram"],
            rtl=lib + sources + [wrapper] + mems,
        ),
    }


__all__ = ["StreamIf", "interfaces", "kernel_files", "net_module", "rtl_kernel_xml"]
