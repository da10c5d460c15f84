"""RTL tests: every module of alveoflow/hw/rtl under Verilator against the reference
executor (and Yosys on a few). They need verilator and yosys (scripts/install_tools.sh);
without them they are skipped with that reason. Models are cached by content hash in
~/.cache/alveoflow/rtl, so a rerun only simulates."""

from __future__ import annotations

import pytest

from alveoflow.hw.rtl.tools import find_tool


def pytest_collection_modifyitems(config, items):
    missing = [tool for tool in ("verilator", "yosys") if find_tool(tool) is None]
    if not missing:
        return
    skip = pytest.mark.skip(reason=f"{', '.join(missing)} not installed (scripts/install_tools.sh)")
    for item in items:
        if "rtl" in item.keywords and "no_tools" not in item.keywords:
            item.add_marker(skip)
