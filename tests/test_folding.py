"""Folding search: valid plans within limits, overrides, errors, JSON round trip."""

import json

import pytest

from alveoflow.compiler.estimate import estimate_graph, node_cycles
from alveoflow.compiler.folding import FoldingPlan, apply_plan, plan_folding, refold
from alveoflow.compiler.folding.slr import serpentine
from alveoflow.compiler.ir import hw
from alveoflow.errors import ConfigError
from alveoflow.hw.platforms import load_platform
from alveoflow.testing.graphs import lowered_cnn, lowered_depthwise, lowered_mlp, lowered_resnet

SMALL = {
    "mlp": lambda: lowered_mlp(),
    "cnn": lambda: lowered_cnn(),
    "depthwise": lambda: lowered_depthwise(),
    "resnet18": lambda: lowered_resnet(18, input_size=32, width=0.125),
}


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("platform", ["u250", "u50"])
def test_small_networks_get_valid_plans(name, platform):
    graph = SMALL[name]()
    plan = plan_folding(graph, platform, "max")
    folded = apply_plan(graph, plan)  # re-inferred and verified: every folding is legal
    est = estimate_graph(folded, {k: (v["style"], v["pack"]) for k, v in plan.mem_styles.items()})
    assert est.ii == plan.ii_cycles
    assert plan.fps == pytest.approx(250e6 / plan.ii_cycles)
    plat = load_platform(platform)
    assert set(plan.slr.values()) <= set(range(plat.num_slrs))
    assert all(v["style"] in ("lut", "bram", "uram", "external") for v in plan.mem_styles.values())
    # folding never changes what a node computes: same shapes and types everywhere
    assert [n.outputs for n in folded.nodes] == [n.outputs for n in graph.nodes]


def test_target_fps_is_met_with_least_parallelism():
    graph = lowered_cnn()
    fast = plan_folding(graph, "u250", "max")
    slow = plan_folding(graph, "u250", fast.fps / 8)
    assert slow.fps >= fast.fps / 8

    def lanes(p):
        return sum(f.get("pe", 1) * f.get("simd", 1) * f.get("mmv", 1) for f in p.folding.values())

    assert lanes(slow) < lanes(fast)


def test_balance_every_node_meets_the_interval():
    graph = lowered_resnet(18, input_size=32, width=0.125)
    plan = plan_folding(graph, "u250", 20000)
    folded = apply_plan(graph, plan)
    ii = 250e6 / 20000
    assert all(node_cycles(folded, n) <= ii for n in folded.nodes)


def test_overrides_are_applied_and_checked():
    graph = lowered_mlp((64, 32, 32, 10))
    plan = plan_folding(graph, "u250", "max", overrides={"fc1": {"pe": 2, "simd": 4}})
    assert plan.folding["fc1"]["pe"] == 2 and plan.folding["fc1"]["simd"] == 4
    with pytest.raises(ConfigError, match="did you mean: fc1"):
        plan_folding(graph, "u250", "max", overrides={"fc_1": {"pe": 2}})
    with pytest.raises(ConfigError, match="unknown field"):
        plan_folding(graph, "u250", "max", overrides={"fc1": {"pee": 2}})
    with pytest.raises(ConfigError, match="has no field"):
        plan_folding(graph, "u250", "max", overrides={"topk": {"pe": 2}})


def test_unreachable_target_names_the_closest_feasible_figure():
    graph = lowered_cnn()
    best = plan_folding(graph, "u250", "max")
    with pytest.raises(ConfigError, match=r"closest feasible design reaches \d+ FPS"):
        plan_folding(graph, "u250", best.fps * 10)


def test_weights_that_cannot_fit_on_chip_are_rejected():
    graph = lowered_mlp((2048, 8192, 8192, 10), wbits=8, abits=2)  # 2 x 537 Mbit of weights
    with pytest.raises(ConfigError, match="does not fit on u50 at any folding"):
        plan_folding(graph, "u50", "max")


def test_plan_json_round_trip(tmp_path):
    graph = lowered_depthwise()
    plan = plan_folding(graph, "u250", "max")
    path = plan.save(tmp_path / "plan.json")
    again = FoldingPlan.load(path)
    assert again == plan
    assert json.loads(path.read_text())["version"] == 1
    assert apply_plan(graph, again).nodes == apply_plan(graph, plan).nodes


def test_refold_rejects_illegal_values():
    graph = lowered_mlp((64, 32, 10))
    with pytest.raises(ConfigError, match="illegal folding"):
        refold(graph, {"fc0": {"pe": 5}})
    with pytest.raises(ConfigError, match="did you mean"):
        refold(graph, {"fc00": {"pe": 2}})


def test_serpentine_walks_return_to_io():
    assert serpentine(load_platform("u250")) == (0, 1, 2, 3, 2, 1, 0)
    assert serpentine(load_platform("u50")) == (0, 1, 0)


@pytest.fixture(scope="module")
def resnet50_plan():
    graph = lowered_resnet()
    return graph, plan_folding(graph, "u250", "max")


@pytest.mark.slow
def test_resnet50_plan_within_limits_and_beats_reference_folding(resnet50_plan):
    graph, plan = resnet50_plan
    assert plan.fps > 4429  # the reference folding's 56,448-cycle interval
    walk = plan.walk
    units = [u for u in plan.units if u != "io"]
    # blocks follow the walk: the SLR sequence along the chain is a sub-sequence of it
    pos = 0
    for u in units:
        for slr in plan.unit_slrs[u]:  # a split block visits its SLRs along the walk too
            while walk[pos] != slr:
                pos += 1
    folded = apply_plan(graph, plan)
    assert isinstance(folded.node("layer3.0.conv2").op, hw.MVAU)


def test_mac_styles_are_planned_recorded_and_overridable():
    graph = lowered_mlp((256, 256, 10))
    plan = plan_folding(graph, "u250", "max")
    assert set(plan.mac_styles) == {n.name for n in graph.nodes if isinstance(n.op, hw.MVAU)}
    assert set(plan.mac_styles.values()) <= {"lut", "dsp", "dsp_packed2", "masked_sum"}
    forced = plan_folding(graph, "u250", "max", overrides={"fc0": {"mac_style": "masked_sum"}})
    assert forced.mac_styles["fc0"] == "masked_sum"
    plain = plan_folding(graph, "u250", "max", overrides={"fc0": {"mac_style": "lut"}})
    assert plain.mac_styles["fc0"] == "lut"
    with pytest.raises(ConfigError, match="mac_style"):
        plan_folding(graph, "u250", "max", overrides={"fc0": {"mac_style": "dsp"}})
    # plans written before the field existed still load (plain datapath)
    old = plan.to_dict()
    del old["mac_styles"]
    assert FoldingPlan.from_dict(old).mac_styles == {}
    assert FoldingPlan.from_dict(json.loads(plan.to_json())).mac_styles == plan.mac_styles


@pytest.mark.slow
def test_resnet50_binary_layers_use_masked_sums(resnet50_plan):
    graph, plan = resnet50_plan
    styles = plan.mac_styles
    assert styles["conv1"] in ("dsp", "dsp_packed2")
    binary = [n.name for n in graph.nodes if isinstance(n.op, hw.MVAU) and n.op.wdt.bipolar]
    # wide PE rows share one column sum: the planner takes masked sums for most binary layers
    assert sum(styles[n] == "masked_sum" for n in binary) > len(binary) // 2
    folded = apply_plan(graph, plan)
    styled = estimate_graph(
        folded,
        {k: (v["style"], v["pack"]) for k, v in plan.mem_styles.items()},
        mac_styles=styles,
    )
    plain = estimate_graph(folded, {k: (v["style"], v["pack"]) for k, v in plan.mem_styles.items()})
    assert styled.total().lut < plain.total().lut
