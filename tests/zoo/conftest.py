"""The zoo's tests also use the golden helpers one folder up (``tests/golden_nets.py``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
