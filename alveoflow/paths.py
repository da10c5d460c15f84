"""Where alveoflow keeps files of its own outside build directories.

``cache_root()`` is ``$ALVEOFLOW_CACHE`` or ``~/.cache/alveoflow``: compiled builds of
``alveoflow.compile``/``to_alveo`` (``builds/``) and cppsim objects (``cppsim/``). This is the
only place that reads the variable.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV_VAR = "ALVEOFLOW_CACHE"


def cache_root() -> Path:
    """``$ALVEOFLOW_CACHE`` or ``~/.cache/alveoflow``."""
    env = os.environ.get(CACHE_ENV_VAR, "")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "alveoflow"
