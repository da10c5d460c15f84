"""Build scripts of a ``Design``: per-IP Vitis HLS Tcl, the IP-integrator stitch, kernel
packaging (``kernel.xml`` with the reference's argument layout, ``package_xo``), the Vitis
link config, the SLR floorplan, the PLRAM setup for the FC weights and a ``Makefile`` that
synthesises the IPs in parallel. Every path inside is relative to the build directory (the
Makefile adds ``$(CURDIR)`` where v++ needs absolute ones)."""

from __future__ import annotations

from typing import Any

from alveoflow.compiler.codegen.render import design_view, links, render
from alveoflow.compiler.physical import DMA, Design
from alveoflow.compiler.physical.policy import fifo_memory

VIVADO_FIFO_MEMORY = {
    "registers": "distributed",
    "lutram": "distributed",
    "bram": "block",
    "uram": "ultra",
}


def _pow2(n: int) -> int:
    return max(16, min(32768, 1 << (max(n, 1) - 1).bit_length()))


def _link_rows(d: Design) -> list[dict[str, Any]]:
    """One row per stream between IPs or to the DMA: its FIFO (``axis_data_fifo``, depth a
    power of two >= the design's) and, where the design puts a converter on the link, an
    ``axis_dwidth_converter``."""
    rows = []
    outs = [o.stream for o in d.dma_outs]
    for k, s in enumerate(links(d)):
        src = "inoutdma" if s.src == DMA else s.src_ip
        dst = "inoutdma" if s.dst == DMA else s.dst_ip
        sport = "to_net" if s.src == DMA else _port(d, s.src_ip, s.name, output=True)
        dport = f"from_net{outs.index(s.name)}" if s.dst == DMA else _port(d, s.dst_ip, s.name)
        depth = _pow2(s.depth)
        src_bytes = (s.src_width + 7) // 8
        dst_bytes = (s.dst_width + 7) // 8 if s.dwc == "link" else src_bytes
        rows.append(
            {
                "index": k,
                "src": src,
                "src_port": sport,
                "dst": dst,
                "dst_port": dport,
                "depth": depth,
                "memory": VIVADO_FIFO_MEMORY[fifo_memory(depth, 8 * src_bytes)],
                "src_bytes": src_bytes,
                "dst_bytes": dst_bytes,
            }
        )
    return rows


def _port(d: Design, ip: str, stream: str, output: bool = False) -> str:
    ports = d.ip(ip).outputs if output else d.ip(ip).inputs
    return next(p.name for p in ports if p.stream == stream)


def _placement(d: Design) -> list[tuple[int, list[str]]]:
    """(SLR, cells) for the floorplan: every IP in its SLR, and the FIFO (and width converter)
    of every link with the IP that reads it."""
    slr = design_view(d)["slr"]
    slrs: dict[int, list[str]] = {}
    for name in ["inoutdma"] + [ip.name for ip in d.ips]:
        slrs.setdefault(slr[name], []).append(name)
    for row in _link_rows(d):
        cells = [f"fifo_{row['index']}"]
        if row["src_bytes"] != row["dst_bytes"]:
            cells += [f"dwc_{row['index']}", f"fifo_{row['index']}b"]
        slrs.setdefault(slr[row["dst"]], []).extend(cells)
    return sorted(slrs.items())


def _ip_slrs(d: Design) -> list[tuple[int, str]]:
    """(SLR, "ip[ (part of block)]") of every IP, for the link cfg's placement summary."""
    return [
        (ip.slr, ip.name + (f" (part of {ip.block})" if ip.block != ip.name else ""))
        for ip in d.ips
    ]


def kernel_xml(d: Design) -> str:
    """``kernel.xml``: the kernel's ports and arguments, in ``Design.kernel_args`` order."""
    args, ports = [], {}
    for a in d.kernel_args:
        buffer = a.kind == "buffer"
        if buffer:
            ports[a.port] = a.data_width
        args.append(
            {
                "name": a.name,
                "qualifier": 1 if buffer else 0,
                "port": f"m_axi_{a.port}" if buffer else "s_axi_control",
                "size": a.size,
                "offset": a.offset,
                "type": "void*" if buffer else "uint",
            }
        )
    port_rows = [{"bundle": b, "width": w} for b, w in sorted(ports.items())]
    return render("kernel.xml.j2", d=design_view(d), ports=port_rows, args=args)


def _plram_size(nbytes: int) -> str:
    mib = 1 << max(0, (max(nbytes, 1) - 1).bit_length() - 20)
    return f"{mib}M" if nbytes > 128 * 1024 else "128K"


def render_scripts(d: Design, jobs: int = 8) -> dict[str, str]:
    view = design_view(d)
    files: dict[str, str] = {}
    period = round(1000.0 / d.clock_mhz, 3)
    common = dict(part=d.part, period_ns=period, clock_mhz=d.clock_mhz)
    for ip in d.ips:
        files[f"hls/scripts/{ip.name}.tcl"] = render(
            "hls_ip.tcl.j2", name=ip.name, top=ip.top, **common
        )
    files["hls/scripts/inoutdma.tcl"] = render(
        "hls_ip.tcl.j2", name="inoutdma", top=d.kernel, **common
    )
    ip_names = [ip.name for ip in d.ips] + ["inoutdma"]
    fc_ip = next((ip.name for ip in d.ips if ip.fc_port), "")
    dma_bundles = [view["dma_in"]["bundle"]] + [o["bundle"] for o in view["dma_outs"]]
    tops = [{"name": ip.name, "top": ip.top} for ip in d.ips]
    tops.append({"name": "inoutdma", "top": d.kernel})
    files["vivado/ipi.tcl"] = render(
        "ipi.tcl.j2",
        d=view,
        ip_names=ip_names,
        ips=tops,
        links=_link_rows(d),
        clock_hz=int(round(d.clock_mhz * 1e6)),
        dma_bundles=dma_bundles,
        fc_ip=fc_ip,
    )
    bundles = [a.port for a in d.kernel_args if a.kind == "buffer"]
    files["vivado/package_kernel.tcl"] = render("package_kernel.tcl.j2", d=view, bundles=bundles)
    files["vivado/gen_xo.tcl"] = render("gen_xo.tcl.j2", d=view)
    files["vivado/kernel.xml"] = kernel_xml(d)
    plram = d.fc is not None and d.fc.memory.startswith("PLRAM")
    sps = [(a.port, a.memory) for a in d.kernel_args if a.kind == "buffer"]
    files["link/link.cfg"] = render(
        "link.cfg.j2",
        d=view,
        sps=sps,
        plram=plram,
        clock_hz=int(round(d.clock_mhz * 1e6)),
        ip_slrs=_ip_slrs(d),
    )
    slrs = _placement(d)
    files["link/floorplan.tcl"] = render("floorplan.tcl.j2", d=view, slrs=slrs)
    if plram and d.fc is not None:
        size = d.fc.shape[0] * d.fc.shape[1]
        files["link/setup_plram.tcl"] = render(
            "setup_plram.tcl.j2",
            fc_bytes=size,
            fc_shape=tuple(d.fc.shape),
            plram_size=_plram_size(size),
        )
    files["Makefile"] = render(
        "Makefile.j2", d=view, ip_names=ip_names, jobs=jobs, plram=plram, clock_mhz=d.clock_mhz
    )
    return files


__all__ = ["kernel_xml", "render_scripts"]
