"""Build scripts of a ``Design``: per-IP Vitis HLS Tcl, the IP-integrator stitch, kernel
packaging (``kernel.xml`` with the reference's argument layout, ``package_xo``), the Vitis
link config, the SLR floorplan, the PLRAM setup for the FC weights and a ``Makefile`` that
synthesises the IPs in parallel. Every path inside is relative to the build directory (the
Makefile adds ``$(CURDIR)`` where v++ needs absolute ones)."""

from __future__ import annotations

from typing import Any

from alveoflow.compiler.codegen.design import Design
from alveoflow.compiler.codegen.render import axilite_offsets, kernel_args, render

URAM_DEPTH = 4096  # FIFOs at least this deep go to URAM, as the reference's 1024-deep links


def _pow2(n: int) -> int:
    return max(16, min(32768, 1 << (max(n, 1) - 1).bit_length()))


def _fifo_memory(depth: int, width: int) -> str:
    bits = depth * width
    if depth * width >= URAM_DEPTH * 72:
        return "ultra"
    return "block" if bits >= 18 * 1024 else "distributed"


def _link_rows(d: Design) -> list[dict[str, Any]]:
    rows = []
    for k, link in enumerate(d.links):
        src = "inoutdma" if link.src == "dma" else link.src
        dst = "inoutdma" if link.dst == "dma" else link.dst
        sport = link.src_port
        dport = link.dst_port
        if link.dst == "dma":
            dport = f"from_net{[o.tensor for o in d.dma_outs].index(link.dst_port)}"
        depth = _pow2(link.depth)
        src_bytes = (link.src_width + 7) // 8
        dst_bytes = (link.dst_width + 7) // 8
        rows.append(
            {
                "index": k,
                "src": src,
                "src_port": sport,
                "dst": dst,
                "dst_port": dport,
                "depth": depth,
                "memory": _fifo_memory(depth, 8 * src_bytes),
                "src_bytes": src_bytes,
                "dst_bytes": dst_bytes,
            }
        )
    return rows


def _placement(d: Design) -> list[tuple[int, list[str]]]:
    """(SLR, cells) for the floorplan: every IP in its SLR, and the FIFO (and width converter)
    of every link with its consumer, as the floorplanner priced them (a link out of a block
    split across SLRs therefore sits next to the part that reads it)."""
    slrs: dict[int, list[str]] = {}
    for name in ["inoutdma"] + [ip.name for ip in d.ips]:
        slrs.setdefault(d.slr.get(name, 0), []).append(name)
    for row in _link_rows(d):
        cells = [f"fifo_{row['index']}"]
        if row["src_bytes"] != row["dst_bytes"]:
            cells += [f"dwc_{row['index']}", f"fifo_{row['index']}b"]
        slrs.setdefault(d.slr.get(row["dst"], 0), []).extend(cells)
    return sorted(slrs.items())


def _ip_slrs(d: Design) -> list[tuple[int, str]]:
    """(SLR, "ip[ (part of block)]") of every IP, for the link cfg's placement summary."""
    rows = []
    for ip in d.ips:
        block = d.blocks.get(ip.name)
        rows.append((d.slr[ip.name], ip.name + (f" (part of {block})" if block else "")))
    return rows


def _kernel_xml(d: Design) -> str:
    bundles = {d.dma_in.arg: (d.dma_in.bundle, d.dma_in.mem_w)}
    bundles.update({o.arg: (o.bundle, 32) for o in d.dma_outs})
    if d.fc_node:
        bundles["weightsmem"] = ("gmem2", d.fc_mem_w)
    args = []
    for name, offset, size in axilite_offsets(d):
        if name in bundles:
            args.append(
                {
                    "name": name,
                    "qualifier": 1,
                    "port": f"m_axi_{bundles[name][0]}",
                    "size": size,
                    "offset": offset,
                    "type": "void*",
                }
            )
        else:
            args.append(
                {
                    "name": name,
                    "qualifier": 0,
                    "port": "s_axi_control",
                    "size": size,
                    "offset": offset,
                    "type": "uint",
                }
            )
    ports = [{"bundle": b, "width": w} for b, w in sorted(bundles.values())]
    return render("kernel.xml.j2", d=d, ports=ports, args=args)


def _plram_size(nbytes: int) -> str:
    mib = 1 << max(0, (max(nbytes, 1) - 1).bit_length() - 20)
    return f"{mib}M" if nbytes > 128 * 1024 else "128K"


def render_scripts(d: Design, jobs: int = 8) -> dict[str, str]:
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
    fc_ip = next((ip.name for ip in d.ips if ip.wmem_bits), "")
    dma_bundles = [d.dma_in.bundle] + [o.bundle for o in d.dma_outs]
    tops = [{"name": ip.name, "top": ip.top} for ip in d.ips]
    tops.append({"name": "inoutdma", "top": d.kernel})
    files["vivado/ipi.tcl"] = render(
        "ipi.tcl.j2",
        d=d,
        ip_names=ip_names,
        ips=tops,
        links=_link_rows(d),
        clock_hz=int(round(d.clock_mhz * 1e6)),
        dma_bundles=dma_bundles,
        fc_ip=fc_ip,
    )
    bundles = dma_bundles + (["gmem2"] if d.fc_node else [])
    files["vivado/package_kernel.tcl"] = render("package_kernel.tcl.j2", d=d, bundles=bundles)
    files["vivado/gen_xo.tcl"] = render("gen_xo.tcl.j2", d=d)
    files["vivado/kernel.xml"] = _kernel_xml(d)
    plram = d.fc_node is not None and d.fc_memory.startswith("PLRAM")
    sps = [(d.dma_in.bundle, "DDR[0]")] + [(o.bundle, "DDR[0]") for o in d.dma_outs]
    if d.fc_node:
        sps.append(("gmem2", d.fc_memory))
    files["link/link.cfg"] = render(
        "link.cfg.j2",
        d=d,
        sps=sps,
        plram=plram,
        clock_hz=int(round(d.clock_mhz * 1e6)),
        ip_slrs=_ip_slrs(d),
    )
    slrs = _placement(d)
    files["link/floorplan.tcl"] = render("floorplan.tcl.j2", d=d, slrs=slrs)
    if plram and d.fc_weights is not None:
        files["link/setup_plram.tcl"] = render(
            "setup_plram.tcl.j2",
            fc_bytes=d.fc_weights.size,
            fc_shape=tuple(d.fc_weights.shape),
            plram_size=_plram_size(d.fc_weights.size),
        )
    files["Makefile"] = render(
        "Makefile.j2", d=d, ip_names=ip_names, jobs=jobs, plram=plram, clock_mhz=d.clock_mhz
    )
    return files


__all__ = ["kernel_args", "render_scripts"]
