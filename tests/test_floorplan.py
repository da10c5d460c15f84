"""SLR floorplanning: whole blocks where they fit, splits at node boundaries only when needed,
every SLR within its limits, SLR crossings (main and bypass branch) within the SLL budget."""

import dataclasses
import json

import numpy as np
import pytest
from reference_design import apply_reference_folding, reference_estimate

from alveoflow.compiler.estimate.model import unit_of
from alveoflow.compiler.folding import FoldingPlan, apply_plan, plan_folding
from alveoflow.compiler.folding.slr import floorplan, place, serpentine
from alveoflow.compiler.report import plan_and_report
from alveoflow.hw.platforms import RESOURCE_KEYS, load_platform
from alveoflow.testing.graphs import lowered_cnn, lowered_depthwise, lowered_mlp, lowered_resnet

PIECES = 6
PIECE_LUT = 20_000.0  # a unit is 120k LUT: one fits SLR0's 70% budget, two do not


def _lut(v: float) -> np.ndarray:
    return np.array([v if k == "lut" else 0.0 for k in RESOURCE_KEYS])


def _chain(n_units: int, bypass_to: int = PIECES - 1):
    """``n_units`` units of PIECES nodes each: a main stream through the nodes (32 bits) and
    a bypass stream (16 bits) from each unit's first node to node ``bypass_to``."""
    units = [f"b{i}" for i in range(n_units)]
    pieces = {u: [(f"{u}.n{k}", _lut(PIECE_LUT)) for k in range(PIECES)] for u in units}
    edges = []
    prev = None
    for u in units:
        names = [n for n, _ in pieces[u]]
        if prev is not None:
            edges.append((prev, names[0], 32))
        edges += [(a, b, 32) for a, b in zip(names, names[1:], strict=False)]
        edges.append((names[0], names[bypass_to], 16))
        prev = names[-1]
    return units, pieces, edges


def _walk_order_ok(placement, units, pieces) -> bool:
    """Nodes follow the serpentine walk: each one's SLR is at or after its predecessor's
    position along the walk."""
    walk, pos = placement.walk, 0
    for u in units:
        for name, _ in pieces[u]:
            while pos < len(walk) and walk[pos] != placement.node_slr[name]:
                pos += 1
            if pos == len(walk):
                return False
    return True


def _within_budget(placement, platform) -> bool:
    return all(
        placement.usage[i][k] <= platform.budget(i).as_dict()[k] + 1e-6
        for i in range(platform.num_slrs)
        for k in RESOURCE_KEYS
    )


def _crossing_bits(placement, edges, boundaries: int) -> list[int]:
    used = [0] * boundaries
    for a, b, bits in edges:
        sa, sb = placement.node_slr[a], placement.node_slr[b]
        for boundary in range(min(sa, sb), max(sa, sb)):
            used[boundary] += bits + 2
    return used


def test_whole_units_stay_whole_when_they_fit():
    plat = load_platform("u250")
    units, pieces, edges = _chain(7)  # one in SLR0, two in each other SLR
    placement = place(units, pieces, edges, plat)
    assert placement.fits and placement.split_units == []
    assert all(len(s) == 1 for s in placement.unit_slrs.values())
    assert _walk_order_ok(placement, units, pieces)


def test_a_unit_is_split_at_a_node_boundary_only_when_needed():
    plat = load_platform("u250")
    units, pieces, edges = _chain(8)  # 960k LUT: fits the 1,027k total, not as whole units
    placement = place(units, pieces, edges, plat)
    assert placement.fits
    assert 1 <= len(placement.split_units) <= len(serpentine(plat)) - 1
    assert _within_budget(placement, plat)
    assert _walk_order_ok(placement, units, pieces)
    for u in placement.split_units:
        slrs = [placement.node_slr[n] for n, _ in pieces[u]]
        assert len(set(slrs)) > 1  # really split, along its node order
        assert tuple(dict.fromkeys(slrs)) == placement.unit_slrs[u]
    # the crossing count is every stream between SLRs, the bypass of a split unit included
    assert list(placement.sll) == _crossing_bits(placement, edges, plat.num_slrs - 1)
    u = placement.split_units[0]
    a, b = placement.unit_slrs[u][:2]
    boundary = min(a, b)
    assert placement.sll[boundary] >= (32 + 2) + (16 + 2)  # main and bypass branch cross


def test_too_many_units_do_not_fit_even_when_split():
    plat = load_platform("u250")
    units, pieces, edges = _chain(9)  # 1,080k LUT > 1,027k
    placement = place(units, pieces, edges, plat)
    assert not placement.fits and placement.cap > 1.0


def test_the_sll_budget_rules_out_splits_that_cross_too_many_wires():
    units, pieces, edges = _chain(8)
    roomy = place(units, pieces, edges, load_platform("u250"))
    boundary_max = max(roomy.sll)
    tight = dataclasses.replace(load_platform("u250"), sll_per_boundary=(40, 40, 40))
    placement = place(units, pieces, edges, tight)
    assert boundary_max > 40  # a split crosses main (34) and bypass (18) wires
    assert not placement.fits and not placement.sll_ok


@pytest.mark.parametrize(
    "graph",
    [
        lowered_mlp,
        lowered_cnn,
        lowered_depthwise,
        lambda: lowered_resnet(18, input_size=32, width=0.125),
    ],
)
def test_small_networks_keep_whole_blocks(graph):
    g = graph()
    plan = plan_folding(g, "u250", "max")
    assert plan.split_units == []
    assert all(len(s) == 1 for s in plan.unit_slrs.values())
    assert set(plan.node_slrs) == {n.name for n in g.nodes}
    for node in g.nodes:
        assert plan.node_slrs[node.name] == plan.slr[unit_of(node)]


def test_reference_folding_keeps_whole_blocks():
    """The reference design, priced with its own structure, places one whole residual block
    per IP on the physical device (its build used more than the default limits)."""
    graph = apply_reference_folding(lowered_resnet())
    full = {k: 1.0 for k in RESOURCE_KEYS}
    plat = load_platform("u250", full)
    placement = floorplan(graph, reference_estimate(graph), plat)
    assert placement.fits and placement.split_units == []
    assert _within_budget(placement, plat)


@pytest.fixture(scope="module")
def split_build(tmp_path_factory):
    """A small ResNet under a LUT limit so tight that its blocks cannot all stay whole (the
    first of a few limits where the planner splits one)."""
    from alveoflow.errors import ConfigError

    graph = lowered_resnet(18, input_size=32, width=0.125)
    for lut in (0.06, 0.055, 0.05, 0.047, 0.045, 0.043, 0.041, 0.039, 0.037):
        out = tmp_path_factory.mktemp("split")
        limits = {"lut": lut}
        try:
            report = plan_and_report(graph, out, "u250", "max", 250.0, limits=limits)
        except ConfigError:  # below what the smallest folding needs
            break
        if report["floorplan"]["split_units"]:
            return graph, out, report, load_platform("u250", limits)
    pytest.fail("no tight LUT limit made the planner split a block")


def test_split_plan_is_within_limits_and_round_trips(split_build):
    graph, out, report, plat = split_build
    plan = FoldingPlan.load(out / "folding_plan.json")
    assert plan.split_units
    est = report["estimate"]
    assert est["within_limits"] and all(s["within_limits"] for s in est["resources"]["per_slr"])
    assert est["sll"]["within_budget"] and est["sll"]["used"] == plan.sll
    assert all(u <= b for u, b in zip(plan.sll, plat.sll_per_boundary, strict=False))
    assert report["floorplan"]["split_units"] == plan.split_units
    again = FoldingPlan.from_dict(json.loads(plan.to_json()))
    assert again == plan
    assert apply_plan(graph, again).nodes == apply_plan(graph, plan).nodes
    for u in plan.split_units:
        assert plan.is_split(u) and plan.slr[u] == plan.unit_slrs[u][0]
        nodes = [n.name for n in graph.nodes if n.name == u or n.name.startswith(u + ".")]
        seen = [plan.node_slrs[n] for n in nodes]
        assert tuple(dict.fromkeys(seen)) == tuple(plan.unit_slrs[u])
    split_rows = [r for r in report["layers"] if r["unit_split"]]
    assert {r["slr"] for r in split_rows} == {
        s for u in plan.split_units for s in plan.unit_slrs[u]
    }


def test_plans_without_floorplan_fields_still_load(split_build):
    _, out, _, _ = split_build
    data = json.loads((out / "folding_plan.json").read_text())
    for key in ("node_slrs", "unit_slrs", "split_units", "sll"):
        del data[key]
    old = FoldingPlan.from_dict(data)
    assert old.split_units == [] and not old.is_split("layer1.0")
    assert old.slr_of_node("layer1.0.conv1", "layer1.0") == old.slr["layer1.0"]


@pytest.mark.slow
def test_resnet50_reaches_the_stem_bound_within_limits(tmp_path):
    """At target max the plan reaches the bound of the stem's sliding window (one input
    pixel per cycle: 224 * 224 cycles per frame), with every SLR within its limits."""
    graph = lowered_resnet()
    report = plan_and_report(graph, tmp_path, "u250", "max", 250.0)
    est = report["estimate"]
    assert est["ii_cycles"] == 224 * 224 and est["latency_ms"] <= 1.0
    assert est["within_limits"]
    assert all(s["within_limits"] for s in est["resources"]["per_slr"])
    assert est["sll"]["within_budget"]
    plan = FoldingPlan.load(tmp_path / "folding_plan.json")
    assert FoldingPlan.from_dict(json.loads(plan.to_json())) == plan
    # splits are the exception: most blocks stay whole
    blocks = [u for u in plan.units if u.startswith("layer")]
    assert len(plan.split_units) <= len(plan.walk) - 1 < len(blocks) // 2
