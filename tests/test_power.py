"""Power rails from a fake sysfs tree (XRT XMC files and hwmon/PMBus) and the sampler."""

from __future__ import annotations

import time

import pytest

from alveoflow.runtime.power import PowerSampler, find_rails, read_power

# millivolts, milliamps
RAILS = {"12v_aux": (12100, 2000), "12v_pex": (12000, 3500), "vccint": (850, 20000)}
BOARD_W = 12.1 * 2.0 + 12.0 * 3.5
FPGA_W = 0.85 * 20.0


def xmc_tree(root, bdf="0000:03:00.0", rails=RAILS):
    folder = root / "bus/pci/devices" / bdf / "xmc.u.1234"
    folder.mkdir(parents=True)
    for name, (mv, ma) in rails.items():
        (folder / f"xmc_{name}_vol").write_text(f"{mv}\n")
        (folder / f"xmc_{name}_curr").write_text(f"{ma}\n")
    return folder


def hwmon_tree(root):
    folder = root / "class/hwmon/hwmon3"
    folder.mkdir(parents=True)
    labels = {"12v_aux": "12V AUX", "12v_pex": "12V-PEX Voltage", "vccint": "VCCINT"}
    for i, (name, (mv, ma)) in enumerate(RAILS.items(), start=1):
        (folder / f"in{i}_label").write_text(labels[name] + "\n")
        (folder / f"in{i}_input").write_text(f"{mv}\n")
        (folder / f"curr{i}_label").write_text(labels[name].replace("Voltage", "Current") + "\n")
        (folder / f"curr{i}_input").write_text(f"{ma}\n")
    (folder / "in9_label").write_text("3V3 PEX\n")  # a rail we do not use
    (folder / "in9_input").write_text("3300\n")
    return folder


def test_xmc_rails_board_and_fpga_power(tmp_path):
    xmc_tree(tmp_path)
    rails = find_rails(tmp_path)
    assert rails is not None and set(rails) == set(RAILS)
    board, fpga = read_power(rails)
    assert board == pytest.approx(BOARD_W) and fpga == pytest.approx(FPGA_W)


def test_xmc_rails_for_a_given_card(tmp_path):
    xmc_tree(tmp_path, "0000:03:00.0")
    assert find_rails(tmp_path, bdf="0000:03:00.0") is not None
    assert find_rails(tmp_path, bdf="0000:65:00.0") is None


def test_hwmon_rails_by_label(tmp_path):
    hwmon_tree(tmp_path)
    board, fpga = read_power(find_rails(tmp_path))
    assert board == pytest.approx(BOARD_W) and fpga == pytest.approx(FPGA_W)


def test_incomplete_or_missing_rails(tmp_path):
    assert find_rails(tmp_path) is None
    xmc_tree(tmp_path, rails={k: v for k, v in RAILS.items() if k != "vccint"})
    assert find_rails(tmp_path) is None


def test_sampler_thread_and_windows(tmp_path):
    folder = xmc_tree(tmp_path)
    rails = find_rails(tmp_path)
    with PowerSampler(rails, interval=0.01) as sampler:
        t0 = time.monotonic()
        while len(sampler.samples) < 3:
            time.sleep(0.005)
    t1 = time.monotonic()
    assert sampler._thread is None  # stopped on exit
    (folder / "xmc_vccint_curr").write_text("40000\n")  # FPGA power doubles
    sampler.sample()
    t2 = time.monotonic()
    first = sampler.window(t0 - 1, t1)
    assert first[0] == pytest.approx(BOARD_W) and first[1] == pytest.approx(FPGA_W)
    last = sampler.window(t1 + 1e-9, t2)
    assert last[1] == pytest.approx(2 * FPGA_W)
    assert sampler.window(t2 + 10, t2 + 20) is None
