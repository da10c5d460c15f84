"""Shared test set-up (the one conftest): the benchmarks folder on ``sys.path`` (its
``reference_design`` module holds the ResNet50-PYNQ figures the estimate is checked against),
one cppsim object cache for the whole session, and the RTL tests (marked ``rtl``) skipped
with the reason when Verilator or Yosys is missing (``scripts/install_tools.sh`` installs
them). Golden-net helpers live in ``alveoflow.testing``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from alveoflow.hw.rtl.tools import find_tool

    missing = [tool for tool in ("verilator", "yosys") if find_tool(tool) is None]
    if not missing:
        return
    skip = pytest.mark.skip(reason=f"{', '.join(missing)} not installed (scripts/install_tools.sh)")
    for item in items:
        if "rtl" in item.keywords and "no_tools" not in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def cppsim_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Objects shared across tests and runs (pytest keeps its base temp folder's parent)."""
    folder = tmp_path_factory.getbasetemp().parent / "alveoflow-cppsim-cache"
    folder.mkdir(exist_ok=True)
    return folder
