"""Code generation from a folding plan's floorplan and MAC styles.

- A residual block the floorplanner split across two SLRs becomes two IPs (``<block>_a``,
  ``<block>_b``) cut where the SLR changes, with both streams that cross the cut (main branch
  and bypass) as ports, links, IPI cells and floorplan entries; cppsim over the split design
  equals ``sim`` on every tap.
- ``mac_styles`` set the configs' ``MUL``; cppsim (C-sim re-emission, MMV 1) stays exact.

Split plans are built by hand on a small ResNet-18 from the planner's own plan; ResNet-50
(where the planner splits blocks itself) only in slow, emit-only tests."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from alveoflow.compiler.codegen import emit as emit_design
from alveoflow.compiler.codegen.csim import csim_folding
from alveoflow.compiler.folding import FoldingPlan, apply_plan, plan_folding
from alveoflow.compiler.ir import Graph
from alveoflow.compiler.physical import Layout, build_design
from alveoflow.compiler.semantics.executor import run_graph
from alveoflow.errors import ConfigError
from alveoflow.runtime.backends.cppsim.backend import CppSimBackend
from alveoflow.runtime.packing import host_plan
from alveoflow.testing import lowered_resnet


def emit(graph: Graph, plan: dict | None = None) -> dict:
    """The files of the design of ``graph`` under ``plan`` (a plan dict; None: one SLR)."""
    return emit_design(build_design(graph, Layout.from_plan(plan or {})))


def write_tree(files: dict, root: Path) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    return root

STUBS = Path(__file__).resolve().parents[1] / "alveoflow" / "hw" / "scripts" / "xilinx_stubs.tcl"
TCLSH = shutil.which("tclsh")
# block -> first node of its second part (stream order); the second part goes one SLR up
CUTS = {"layer1.1": "layer1.1.conv2.swg", "layer4.0": "layer4.0.downsample.swg"}


def split_plan(graph: Graph, plan: FoldingPlan, cuts: dict[str, str]) -> FoldingPlan:
    """``plan`` with each block of ``cuts`` split: nodes from the cut on (and every later
    node) one SLR further than the planner put them."""
    node_slrs = {n.name: plan.slr_of_node(n.name, _unit(n.name)) for n in graph.nodes}
    unit_slrs = {u: [s] for u, s in plan.slr.items()}
    order = [n.name for n in graph.nodes]
    for block, first in cuts.items():
        start = order.index(first)
        for name in order[start:]:
            if not graph.node(name).op.on_host:
                node_slrs[name] += 1
        unit_slrs[block] = [node_slrs[first] - 1, node_slrs[first]]
    first = {}  # a unit's SLR is that of its first node
    for n in graph.nodes:
        first.setdefault(_unit(n.name), node_slrs[n.name])
    slr = {u: first.get(u, s) for u, s in plan.slr.items()}
    return dataclasses.replace(
        plan,
        node_slrs=node_slrs,
        unit_slrs=unit_slrs,
        split_units=sorted(cuts),
        slr=slr,
    )


def _unit(name: str) -> str:
    m = re.match(r"^(layer\d+\.\d+)\.", name)
    return m.group(1) if m else ("io" if name in ("pixels", "dequant") else name.split(".")[0])


@pytest.fixture(scope="module")
def design():
    graph = lowered_resnet(18, width=0.125, input_size=32)
    plan = split_plan(graph, plan_folding(graph, "u250", "max"), CUTS)
    folded = apply_plan(graph, plan)
    files = emit(folded, plan.to_dict())
    return graph, folded, plan, files


def _summary(files: dict) -> dict:
    """design.json, with its links as {tensor, src IP, dst IP} ("dma" at the kernel ends)."""
    s = json.loads(files["design.json"])
    streams = {st["name"]: st for st in s["streams"]}
    s["links"] = [
        {
            "tensor": streams[n]["tensor"],
            "src": streams[n]["src_ip"] or "dma",
            "dst": streams[n]["dst_ip"] or "dma",
        }
        for n in s["links"]
    ]
    return s


def _cut_tensors(graph: Graph, block: str, first: str) -> set[str]:
    """Streams produced before the cut and read after it, inside ``block``."""
    names = [n.name for n in graph.nodes if n.name.startswith(block + ".")]
    before = set(names[: names.index(first)])
    return {
        t
        for n in graph.nodes
        if n.name in names and n.name not in before
        for t in n.inputs
        if (p := graph.producer(t)) is not None and p.name in before
    }


@pytest.mark.parametrize("block", sorted(CUTS))
def test_split_block_becomes_two_ips_with_both_cut_streams(design, block):
    graph, _, plan, files = design
    s = _summary(files)
    ips = {ip["name"]: ip for ip in s["ips"]}
    key = block.replace(".", "_")
    a, b = ips.pop(f"{key}_a"), ips.pop(f"{key}_b")
    assert key not in ips
    assert a["block"] == b["block"] == key
    assert [a["slr"], b["slr"]] == plan.unit_slrs[block]
    block_nodes = [n.name for n in graph.nodes if n.name.startswith(block + ".")]
    assert a["nodes"] + b["nodes"] == block_nodes
    assert b["nodes"][0] == CUTS[block]
    cut = _cut_tensors(graph, block, CUTS[block])
    assert len(cut) == 2 and any(".fork." in t for t in cut)  # main branch and bypass
    assert {p["tensor"] for p in a["outputs"]} == cut
    assert {p["tensor"] for p in b["inputs"]} == cut
    links = [lk for lk in s["links"] if lk["src"] == f"{key}_a" and lk["dst"] == f"{key}_b"]
    assert {lk["tensor"] for lk in links} == cut
    ipi = files["vivado/ipi.tcl"]
    rows = re.findall(rf"{{ (\d+) {key}_a (out\d+) {key}_b (in\d+) ", ipi)
    assert len(rows) == 2
    assert {p["name"] for p in a["outputs"]} == {r[1] for r in rows}
    assert {p["name"] for p in b["inputs"]} == {r[2] for r in rows}
    src_a, src_b = files[f"hls/src/{key}_a.cpp"], files[f"hls/src/{key}_b.cpp"]
    for r in rows:
        assert f"& {r[1]}" in src_a and f"& {r[2]}" in src_b


def test_floorplan_and_link_cfg_place_each_part(design):
    _, _, plan, files = design
    floor = files["link/floorplan.tcl"]
    placed = {
        int(m.group(1)): m.group(2).split()
        for m in re.finditer(r"^\s+(\d+) \{ (.*) \}$", floor, re.M)
    }
    cfg = files["link/link.cfg"]
    for block in CUTS:
        key = block.replace(".", "_")
        lo, hi = plan.unit_slrs[block]
        assert f"{key}_a" in placed[lo] and f"{key}_b" in placed[hi]
        assert f"#   SLR{lo}: {key}_a (part of {key})" in cfg
        assert f"#   SLR{hi}: {key}_b (part of {key})" in cfg
    s = _summary(files)
    for k, lk in enumerate(s["links"]):  # every link FIFO sits with its consumer
        dst = "inoutdma" if lk["dst"] == "dma" else lk["dst"]
        slr = next(n for n, cells in placed.items() if dst in cells)
        assert f"fifo_{k}" in placed[slr]


def test_whole_blocks_and_plans_without_splits_are_unchanged(design):
    graph, folded, plan, files = design
    names = [ip["name"] for ip in _summary(files)["ips"]]
    assert "layer2_0" in names and "layer1_0" in names
    whole = dataclasses.replace(plan, node_slrs={}, unit_slrs={}, split_units=[])
    plain = _summary(emit(folded, whole.to_dict()))
    assert "layer1_1" in [ip["name"] for ip in plain["ips"]]
    assert not any(ip["name"].endswith(("_a", "_b")) for ip in plain["ips"])


def test_a_block_over_three_slrs_gets_three_parts_linked_forward():
    graph = lowered_resnet(18, width=0.125, input_size=32)
    order = [n.name for n in graph.nodes]
    i, j = order.index("layer2.0.conv1"), order.index("layer2.0.downsample.swg")
    node_slrs = {n: 0 if k < i else 1 if k < j else 2 for k, n in enumerate(order)}
    s = _summary(emit(graph, {"node_slrs": node_slrs}))
    names = [ip["name"] for ip in s["ips"]]
    k = names.index("layer2_0_a")
    assert names[k : k + 3] == ["layer2_0_a", "layer2_0_b", "layer2_0_c"]
    assert [ip["slr"] for ip in s["ips"][k : k + 3]] == [0, 1, 2]
    hops = {(lk["src"], lk["dst"]) for lk in s["links"] if lk["tensor"] == "layer2.0.fork.1"}
    assert hops == {("layer2_0_a", "layer2_0_c")}  # the bypass skips the middle part


def test_split_design_is_deterministic(design):
    _, folded, plan, files = design
    again = emit(folded, plan.to_dict())
    assert again.keys() == files.keys()
    assert all(again[k] == files[k] for k in files)


@pytest.mark.skipif(TCLSH is None, reason="tclsh not installed")
def test_split_design_tcl_runs_under_tclsh(design, tmp_path):
    _assert_tcl_ok(design[3], tmp_path)


def _assert_tcl_ok(files: dict, root: Path) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    scripts = sorted(f for f in files if f.endswith(".tcl"))
    assert "vivado/ipi.tcl" in scripts and "link/floorplan.tcl" in scripts
    for rel in scripts:
        cwd = root / ("hls" if rel.startswith("hls/scripts/") else Path(rel).parent)
        proc = subprocess.run(
            [str(TCLSH), str(STUBS), str(root / rel), "ip"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, f"{rel}: {proc.stderr}"


def _mul_of(files: dict, ip: str, node: str) -> str:
    src = files[f"hls/src/{ip}.cpp"]
    block = src[src.index(f"struct cfg_{node.replace('.', '_')} {{") :]
    m = re.search(r"mul_style MUL = alveo::mul_style::(\w+);", block[: block.index("};")])
    assert m is not None
    return m.group(1)


def test_mac_styles_set_the_mul_field(design):
    graph, folded, plan, files = design
    masked = [n for n, s in plan.mac_styles.items() if s == "masked_sum"]
    lut = [n for n, s in plan.mac_styles.items() if s == "lut" and n != "fc"]
    assert masked and lut and plan.mac_styles["conv1"] == "dsp_packed2"
    where = {n: ip["name"] for ip in _summary(files)["ips"] for n in ip["nodes"]}
    for n in masked + lut:
        assert _mul_of(files, where[n], n) == plan.mac_styles[n]
    assert _mul_of(files, "stem", "conv1") == "dsp_packed2"
    plain = emit(folded)  # no plan: the generator's own rule (LUT lanes for binary weights)
    assert all(_mul_of(plain, _ip_of(plain, n), n) == "lut" for n in masked)


def _ip_of(files: dict, node: str) -> str:
    return next(ip["name"] for ip in _summary(files)["ips"] if node in ip["nodes"])


def test_packed_style_falls_back_to_dsp_at_odd_mmv_and_bad_styles_fail(design):
    _, folded, plan, _ = design
    csim = emit(csim_folding(folded), plan.to_dict())  # MMV 1: pixels cannot be paired
    assert _mul_of(csim, "stem", "conv1") == "dsp"
    for node in ("layer1.0.conv1", "layer1.0.conv2"):  # unpacked styles are kept as planned
        assert _mul_of(csim, _ip_of(csim, node), node) == plan.mac_styles[node] != "dsp_packed2"
    for bad in ({"conv1": "masked_sum"}, {"layer1.0.conv1": "fast"}):
        styles = {**plan.mac_styles, **bad}
        with pytest.raises(ConfigError, match="re-run the folding planner"):
            emit(folded, dataclasses.replace(plan, mac_styles=styles).to_dict())


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    folder = tmp_path_factory.getbasetemp().parent / "alveoflow-cppsim-cache"
    folder.mkdir(exist_ok=True)
    return folder


def test_cppsim_of_split_design_equals_sim_on_every_tap(design, tmp_path, cache):
    """The split design refolded for C simulation (the plan's floorplan and MAC styles kept)
    and compiled: every IP output, cut streams included, equals ``sim``."""
    graph, folded, plan, _ = design
    files = emit(csim_folding(folded), plan.to_dict())
    backend = CppSimBackend(write_tree(files, tmp_path), cache_dir=cache)
    names = {ip["name"] for ip in json.loads(files["design.json"])["ips"]}
    assert {"layer1_1_a", "layer1_1_b", "layer4_0_a", "layer4_0_b"} <= names
    assert "mul_style::masked_sum" in files["hls/src/layer1_1_a.cpp"]
    card = host_plan(graph).card_graph
    info = card.inputs[0]
    x = np.random.default_rng(3).integers(0, 256, (2, *info.shape[1:]), dtype=np.uint8)
    ref = run_graph(card, {info.name: x}, keep_intermediates=True)
    taps = backend.run_taps(x)
    for block in CUTS:
        assert _cut_tensors(graph, block, CUTS[block]) <= set(taps)
    bad = [k for k, v in taps.items() if not np.array_equal(v.reshape(ref[k].shape), ref[k])]
    outs = backend.run(x)
    bad += [k for k, v in outs.items() if not np.array_equal(v, ref[k])]
    assert bad == []


@pytest.mark.slow
def test_cppsim_hardware_folding_keeps_packed_dsp_exact(design, tmp_path, cache):
    """The plan's own folding (wide words, the stem's even MMV with ``dsp_packed2``) of the
    split design, compiled as emitted (~30 s of g++ cold on 2 cores)."""
    _, folded, plan, files = design
    assert _mul_of(files, "stem", "conv1") == "dsp_packed2"
    backend = CppSimBackend(write_tree(files, tmp_path), cache_dir=cache)
    card = host_plan(folded).card_graph
    info = card.inputs[0]
    x = np.random.default_rng(4).integers(0, 256, (2, *info.shape[1:]), dtype=np.uint8)
    ref = run_graph(card, {info.name: x}, keep_intermediates=True)
    taps = backend.run_taps(x)
    assert len(taps) == len(_summary(files)["taps"])
    assert [k for k, v in taps.items() if not np.array_equal(v.reshape(ref[k].shape), ref[k])] == []


@pytest.fixture(scope="module")
def resnet50():
    graph = lowered_resnet(depth=50, input_size=224)
    # at the default limits every block fits whole (the stem's input bounds the FPS); at 45%
    # LUT per SLR the planner splits blocks across SLRs itself
    plan = plan_folding(graph, "u250", "max", limits={"lut": 0.45})
    return graph, plan, emit(apply_plan(graph, plan), plan.to_dict())


@pytest.mark.slow
def test_resnet50_planner_splits_become_ip_pairs(resnet50):
    graph, plan, files = resnet50
    assert plan.split_units  # the planner splits blocks at target max under that limit
    s = _summary(files)
    ips = {ip["name"]: ip for ip in s["ips"]}
    for block in plan.split_units:
        key = block.replace(".", "_")
        a, b = ips[f"{key}_a"], ips[f"{key}_b"]
        assert key not in ips
        assert [a["slr"], b["slr"]] == plan.unit_slrs[block]
        assert {plan.node_slrs[n] for n in a["nodes"]} == {a["slr"]}
        assert {plan.node_slrs[n] for n in b["nodes"]} == {b["slr"]}
        cut = _cut_tensors(graph, block, b["nodes"][0])
        assert len(cut) == 2 and any(".fork." in t for t in cut)
        links = {
            lk["tensor"] for lk in s["links"] if (lk["src"], lk["dst"]) == (a["name"], b["name"])
        }
        assert links == cut
    for name, ip in ips.items():  # every other block sits where the plan put it, whole
        if name.startswith("layer"):
            assert {plan.node_slrs[n] for n in ip["nodes"]} == {ip["slr"]}, name
            split = ip["block"].replace("_", ".") in plan.split_units
            assert split == (ip["block"] != name), name


@pytest.mark.slow
@pytest.mark.skipif(TCLSH is None, reason="tclsh not installed")
def test_resnet50_split_design_tcl_runs_under_tclsh(resnet50, tmp_path):
    _assert_tcl_ok(resnet50[2], tmp_path)
