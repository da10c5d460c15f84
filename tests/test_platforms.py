"""Platforms as data: loading, budgets, limits and errors."""

import pytest

from alveoflow.errors import ConfigError
from alveoflow.hw.platforms import RESOURCE_KEYS, available_platforms, load_platform


def test_all_platforms_load_and_fit_their_totals():
    assert set(available_platforms()) >= {"u250", "u280", "u55c", "u50"}
    for name in available_platforms():
        p = load_platform(name)
        assert p.num_slrs == len(p.sll_per_boundary) + 1
        for key in RESOURCE_KEYS:
            per_slr = sum(s.as_dict()[key] for s in p.slrs)
            assert 0 < per_slr <= p.totals.as_dict()[key], (name, key)
        assert p.default_shell in p.shells
        assert 0 <= p.io_slr < p.num_slrs
        assert all(0 <= m.slr < p.num_slrs for m in p.memories)


def test_u250_facts():
    p = load_platform("U250")
    assert p.num_slrs == 4
    assert p.totals.as_dict() == {
        "lut": 1728000,
        "ff": 3456000,
        "bram36": 2688,
        "uram": 1280,
        "dsp": 12288,
    }
    assert p.default_shell == "xilinx_u250_gen3x16_xdma_4_1_202210_1"
    assert "xilinx_u250_xdma_201830_2" in p.shells
    assert sorted(m.slr for m in p.memories if m.kind == "ddr4") == [0, 1, 2, 3]
    assert any(m.kind == "plram" for m in p.memories)
    assert load_platform("u250", shell="xilinx_u250_xdma_201830_2").default_shell.endswith(
        "201830_2"
    )


def test_default_limits_and_budget():
    p = load_platform("u250")
    assert (p.limits.lut, p.limits.ff, p.limits.bram36, p.limits.uram, p.limits.dsp) == (
        0.70,
        0.50,
        0.80,
        0.80,
        0.80,
    )
    # SLR1 has no platform infrastructure: budget = available x limit
    assert p.budget(1).lut == pytest.approx(p.slrs[1].lut * 0.70)
    # the I/O SLR loses one memory controller first
    assert p.budget(p.io_slr).lut == pytest.approx((p.slrs[0].lut - p.memory_controller.lut) * 0.7)
    assert p.total_budget().lut == pytest.approx(sum(p.budget(i).lut for i in range(4)))


def test_limits_are_configurable():
    p = load_platform("u250", limits={"lut": 0.8})
    assert p.limits.lut == 0.8 and p.limits.ff == 0.5
    assert p.budget(1).lut == pytest.approx(p.slrs[1].lut * 0.8)


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: load_platform("u205"), "did you mean"),
        (lambda: load_platform("u250", limits={"lutt": 0.5}), "did you mean: lut"),
        (lambda: load_platform("u250", limits={"lut": 1.5}), "fraction"),
        (lambda: load_platform("u250", shell="xilinx_u250_xdma_201830_3"), "did you mean"),
    ],
)
def test_bad_input_is_a_config_error(call, fragment):
    with pytest.raises(ConfigError, match=fragment):
        call()
