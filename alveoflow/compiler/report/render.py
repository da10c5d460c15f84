"""``render_report(build_dir)``: ``report.json`` -> ``report.html`` with four PNG plots.

Plots (matplotlib, Agg backend, written next to the HTML): per-layer cycles with the
bottleneck in red and the frame interval as a line; resources per SLR against the limits;
the floorplan (units per SLR in chain order, split blocks hatched); latency and throughput
against batch size. When ``alveoflow synth`` has run on the build (``synth/synth.json``),
a table of Yosys' figures per IP next to the estimate of the same IP; a ``synth.json`` from
an earlier compile of the folder (other design hashes) is named stale and not shown.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from alveoflow.compiler.synth.build import DESIGN_FILES, KERNEL, read_synth
from alveoflow.errors import ConfigError

PLOTS = ("cycles.png", "resources.png", "floorplan.png", "batch.png")
KEYS = ("lut", "ff", "bram36", "uram", "dsp")


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_cycles(report: dict[str, Any], path: Path) -> None:
    plt = _plt()
    layers = [r for r in report["layers"] if r["cycles"] > 0]
    ii = report["estimate"]["ii_cycles"]
    fig, ax = plt.subplots(figsize=(max(8, len(layers) * 0.09), 4))
    colors = ["#c0392b" if r["cycles"] >= ii else "#2e86c1" for r in layers]
    ax.bar(range(len(layers)), [r["cycles"] for r in layers], color=colors, width=0.85)
    ax.axhline(ii, color="#c0392b", ls="--", lw=1, label=f"frame interval {ii:,} cycles")
    ax.set_ylabel("cycles per frame")
    ax.set_title(f"Per-layer cycles (bottleneck: {report['estimate']['bottleneck']})")
    step = max(1, len(layers) // 40)
    ax.set_xticks(range(0, len(layers), step))
    ax.set_xticklabels(
        [layers[i]["name"] for i in range(0, len(layers), step)], rotation=90, fontsize=6
    )
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_resources(report: dict[str, Any], path: Path) -> None:
    plt = _plt()
    slrs = report["estimate"]["resources"]["per_slr"]
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(KEYS)
    for j, key in enumerate(KEYS):
        xs = [i + j * width for i in range(len(slrs))]
        ax.bar(xs, [100 * s["fraction"][key] for s in slrs], width=width, label=key)
        for x, s in zip(xs, slrs, strict=True):
            ax.plot([x - width / 2, x + width / 2], [100 * s["limit"][key]] * 2, color="k", lw=1.5)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(slrs))])
    ax.set_xticklabels([f"SLR{s['slr']}" for s in slrs])
    ax.set_ylabel("% of the SLR (black bar: limit)")
    ax.set_title("Resources per SLR against the limits")
    ax.legend(ncol=5, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def floorplan_segments(report: dict[str, Any]) -> dict[int, list[tuple[str, int, int]]]:
    """Per SLR, its pieces in chain order as (unit, part number, parts): a whole unit is
    part 1 of 1, a unit split across SLRs has one piece per SLR it visits."""
    plan = report["floorplan"]
    n = len(report["estimate"]["resources"]["per_slr"])
    spans = plan.get("unit_slrs") or {u: [s] for u, s in plan["units"].items()}
    order = [u for u in report["plan"]["units"] if u in spans]
    per: dict[int, list[tuple[str, int, int]]] = {i: [] for i in range(n)}
    for u in order:
        for k, slr in enumerate(spans[u]):
            per[slr].append((u, k + 1, len(spans[u])))
    return per


def plot_floorplan(report: dict[str, Any], path: Path) -> None:
    """Units per SLR in chain order; a block split at a layer boundary is drawn hatched with
    a red edge, once per SLR it spans, labelled with its part (``layer3.0 1/2``)."""
    plt = _plt()
    per = floorplan_segments(report)
    n = len(per)
    order = [u for u in report["plan"]["units"] if any(u == s[0] for v in per.values() for s in v)]
    fig, ax = plt.subplots(figsize=(10, 1.2 + 1.1 * n))
    cmap = plt.get_cmap("viridis")
    for slr, pieces in per.items():
        for k, (name, part, parts) in enumerate(pieces):
            color = cmap(order.index(name) / max(1, len(order) - 1))
            split = parts > 1
            ax.add_patch(
                plt.Rectangle(
                    (k, slr + 0.1),
                    0.95,
                    0.8,
                    facecolor=color,
                    alpha=0.8,
                    hatch="//" if split else None,
                    edgecolor="#c0392b" if split else color,
                    lw=2 if split else 0.5,
                )
            )
            label = f"{name} {part}/{parts}" if split else name
            ax.text(k + 0.47, slr + 0.5, label, ha="center", va="center", fontsize=6, rotation=90)
    ax.set_xlim(0, max([len(v) for v in per.values()] + [1]) + 0.5)
    ax.set_ylim(0, n)
    ax.set_yticks([i + 0.5 for i in range(n)])
    ax.set_yticklabels([f"SLR{i}" for i in range(n)])
    ax.set_xticks([])
    walk = " -> ".join(str(s) for s in report["floorplan"]["walk"])
    names: list[str] = report["floorplan"].get("split_units") or []
    note = f"; split at a layer boundary (hatched): {', '.join(names)}" if names else ""
    ax.set_title(f"Floorplan (colour = chain order; walk {walk}{note})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_batch(report: dict[str, Any], path: Path) -> None:
    plt = _plt()
    thr = report["estimate"]["throughput"]
    batches = sorted(int(b) for b in thr)
    fig, ax1 = plt.subplots(figsize=(7, 4))
    ax1.plot(batches, [thr[str(b)]["fps"] for b in batches], "o-", color="#2e86c1")
    ax1.set_xscale("log")
    ax1.set_xlabel("batch size")
    ax1.set_ylabel("throughput (frames/s)", color="#2e86c1")
    ax2 = ax1.twinx()
    ax2.plot(batches, [thr[str(b)]["latency_ms"] for b in batches], "s--", color="#c0392b")
    ax2.set_yscale("log")
    ax2.set_ylabel("time for the batch (ms)", color="#c0392b")
    ax1.set_title("Throughput and latency against batch size")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _summary(report: dict[str, Any]) -> str:
    e = report["estimate"]
    tot = e["resources"]["total"]
    rows = [
        ("model", report["model"]),
        ("platform", f"{report['platform']['card']} ({report['platform']['shell']})"),
        ("clock", f"{e['clock_mhz']:g} MHz"),
        ("frame interval", f"{e['ii_cycles']:,} cycles (bottleneck {e['bottleneck']})"),
        ("throughput", f"{e['fps']:,.0f} FPS"),
        ("batch-1 latency", f"{e['latency_ms']} ms"),
        ("resources", ", ".join(f"{k} {tot[k]:,.0f}" for k in KEYS)),
        ("within limits", "yes" if e["within_limits"] else "NO"),
        ("SLR crossings", _crossings(report)),
    ]
    return "\n".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )


def _crossings(report: dict[str, Any]) -> str:
    sll = report["estimate"].get("sll", {})
    used, budget = sll.get("used", []), sll.get("budget", [])
    text = ", ".join(f"{u:,}/{b:,}" for u, b in zip(used, budget, strict=False)) or "-"
    split = report["floorplan"].get("split_units") or []
    blocks = f"; blocks split across SLRs: {', '.join(split)}" if split else "; no block split"
    return f"SLLs used/budget per boundary {text}{blocks}"


def _layer_table(report: dict[str, Any]) -> str:
    head = (
        "<tr><th>layer</th><th>kind</th><th>SLR</th><th>cycles</th><th>folding</th>"
        "<th>memory</th><th>LUT</th><th>BRAM36</th><th>URAM</th><th>DSP</th></tr>"
    )
    body = []
    for r in report["layers"]:
        fold = " ".join(f"{k}={v}" for k, v in r["folding"].items())
        res = r["resources"]
        cells = [
            r["name"],
            r["kind"],
            f"{r['slr']} (split block)" if r.get("unit_split") else r["slr"],
            f"{r['cycles']:,}",
            fold,
            r["mem_style"],
            f"{res['lut']:,.0f}",
            f"{res['bram36']:.1f}",
            f"{res['uram']:.0f}",
            f"{res['dsp']:.0f}",
        ]
        body.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    return head + "\n".join(body)


SYNTH_KEYS = ("lut", "ff", "carry", "bram36", "uram", "dsp")


def _num(value: float, key: str) -> str:
    return f"{value:,.1f}" if key == "bram36" else f"{value:,.0f}"


def _off(estimate: float, measured: float) -> str:
    return f"{estimate / measured - 1:+.1%}" if measured else "-"


def _synth_row(name: str, yos: dict[str, float], est: dict[str, float]) -> str:
    cells = [name, *(_num(yos[k], k) for k in SYNTH_KEYS)]
    cells += [_num(est.get(k, 0.0), k) for k in KEYS]
    cells += [_off(est.get("lut", 0.0), yos["lut"]), _off(est.get("ff", 0.0), yos["ff"])]
    return "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"


def _stale(root: Path, synth: dict[str, Any]) -> bool:
    manifest = root / "manifest.json"
    if not manifest.is_file():
        return False
    files = json.loads(manifest.read_text()).get("files", {})
    return any(files.get(rel) != synth.get("design", {}).get(rel) for rel in DESIGN_FILES)


def synth_section(root: Path) -> str:
    """The Yosys table of ``root/synth/synth.json`` (empty without one)."""
    synth = read_synth(root)
    if synth is None:
        return ""
    if _stale(root, synth):
        return (
            "<h2>Yosys synthesis</h2><p>synth/synth.json is from an earlier compile of this "
            "folder; run <code>alveoflow synth</code> again.</p>"
        )
    est = synth["estimate"]
    head = (
        "<tr><th>IP</th>"
        + "".join(f"<th>Yosys {k}</th>" for k in SYNTH_KEYS)
        + "".join(f"<th>est. {k}</th>" for k in KEYS)
        + "<th>LUT off</th><th>FF off</th></tr>"
    )
    rows = [_synth_row(ip, c, est[ip]) for ip, c in synth["ips"].items()]
    ip_yos = {k: sum(c[k] for c in synth["ips"].values()) for k in SYNTH_KEYS}
    ip_est = {k: sum(est[ip].get(k, 0.0) for ip in synth["ips"]) for k in KEYS}
    rows.append(_synth_row("IPs total", ip_yos, ip_est))
    rows.append(_synth_row("outside the IPs*", synth["kernel"], est.get(KERNEL, {})))
    how = {
        "rtl": "each IP's generated module synthesised whole",
        "ops": "each IP as the sum of its ops, FIFOs and converters synthesised out of context",
    }[synth["method"]]
    missing = synth.get("missing") or []
    gaps = f"<p>Not synthesised (no RTL module): {html.escape('; '.join(missing))}</p>"
    return f"""<h2>Yosys synthesis (per IP) next to the estimate</h2>
<p>{html.escape(synth["tool"])}: <code>{html.escape(synth["flow"])}</code>. These are Yosys'
counts (LUT functions, CARRY8 sites); Vivado's will differ, by an amount nobody knows until
someone runs Vivado on the same RTL. Per IP: {html.escape(how)}. Off = estimate / Yosys - 1.
*Outside the IPs: {html.escape(synth["kernel_is"])}; the DMA ends are AXI-Stream boundaries in
the RTL, while the estimate prices AXI4 memory-mapped masters: not the same hardware.</p>
<table>{head}{"".join(rows)}</table>{gaps if missing else ""}
"""


def render_report(build_dir: str | Path) -> Path:
    """Write ``report.html`` and its PNGs into ``build_dir``; returns the HTML path."""
    root = Path(build_dir)
    src = root / "report.json"
    if not src.is_file():
        raise ConfigError(f"{src} not found: run `alveoflow compile` on this build directory first")
    report = json.loads(src.read_text())
    for name, fn in zip(
        PLOTS, (plot_cycles, plot_resources, plot_floorplan, plot_batch), strict=True
    ):
        fn(report, root / name)
    figs = "\n".join(f'<img src="{p}" alt="{p}" style="max-width:100%">' for p in PLOTS)
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>alveoflow report: {html.escape(report["model"])}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px;font-size:13px;text-align:left}}</style></head>
<body><h1>{html.escape(report["model"])} on {html.escape(report["platform"]["card"])}</h1>
<table>{_summary(report)}</table>
{synth_section(root)}<h2>Plots</h2>{figs}
<h2>Layers</h2><table>{_layer_table(report)}</table>
</body></html>
"""
    out = root / "report.html"
    out.write_text(page)
    return out
