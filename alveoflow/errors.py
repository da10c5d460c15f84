"""One exception hierarchy for the whole project.

Every error a user can trigger by bad input, a missing tool or a missing card is an
``AlveoflowError`` subclass with a message that says what went wrong and what to do.
``assert`` is reserved for internal invariants.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class AlveoflowError(Exception):
    """Base class of every error alveoflow raises on purpose."""


class ConfigError(AlveoflowError, ValueError):
    """A bad option, an unknown key or layer name, or an inconsistent configuration."""


class CheckpointError(AlveoflowError, ValueError):
    """A checkpoint that does not fit the model it is loaded into."""


class DataError(AlveoflowError, ValueError):
    """A data set that is missing, corrupt or truncated, or laid out in an unexpected way."""


class ExportError(AlveoflowError):
    """A model or layer that cannot be exported to QONNX."""


class UnsupportedOpError(AlveoflowError):
    """An operator the frontend or a pass does not know how to handle."""


class GraphError(AlveoflowError):
    """A graph that violates an IR invariant (shapes, types, names, order)."""


class LegalizationError(AlveoflowError):
    """One or more nodes could not be mapped to hardware; ``problems`` lists them all."""

    def __init__(self, problems: Iterable[tuple[str, str]]):
        self.problems = list(problems)
        lines = [f"  - {name}: {reason}" for name, reason in self.problems]
        super().__init__(
            f"{len(self.problems)} node(s) could not be mapped to hardware:\n" + "\n".join(lines)
        )


class ToolchainError(AlveoflowError):
    """An external tool (g++, Vitis, Vivado) is missing or failed; says where the log is."""

    def __init__(self, message: str, log_path: str | None = None, log_tail: str = ""):
        self.log_path = log_path
        self.log_tail = log_tail
        text = message
        if log_path:
            text += f"\n  log: {log_path}"
        if log_tail:
            text += "\n  last lines:\n" + "\n".join("    " + ln for ln in log_tail.splitlines())
        super().__init__(text)


class DeviceError(AlveoflowError):
    """No card, the wrong card, or a card-side failure."""


def close_matches(name: str, candidates: Iterable[str], n: int = 3) -> str:
    """A ' (did you mean: a, b?)' suffix for an unknown name, or '' when nothing is close."""
    found = difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.5)
    return f" (did you mean: {', '.join(found)}?)" if found else ""
