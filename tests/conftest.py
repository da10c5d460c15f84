"""Shared test set-up (the one conftest): the benchmarks folder on ``sys.path`` (its
``reference_design`` module holds the ResNet50-PYNQ figures the estimate is checked against)
and one cppsim object cache for the whole session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))


@pytest.fixture(scope="session")
def cppsim_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Objects shared across tests and runs (pytest keeps its base temp folder's parent)."""
    folder = tmp_path_factory.getbasetemp().parent / "alveoflow-cppsim-cache"
    folder.mkdir(exist_ok=True)
    return folder
