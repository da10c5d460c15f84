"""Test helpers shared by every part of alveoflow (not imported by the library itself).

``graphs``: seeded builders of random but valid *lowered* hardware graphs (hw ops only,
NHWC, integer codes) for tests and benchmarks of the executor, folding, estimates, FIFO
sizing and code generation. ``builds.write_build``: a build directory of such a graph, made
by the real pipeline.
"""

from alveoflow.testing.builds import write_build
from alveoflow.testing.graphs import (
    lowered_cnn,
    lowered_depthwise,
    lowered_mlp,
    lowered_resnet,
)

__all__ = ["lowered_cnn", "lowered_depthwise", "lowered_mlp", "lowered_resnet", "write_build"]
