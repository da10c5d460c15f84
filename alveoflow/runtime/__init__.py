"""The runtime: a build directory behind a ``torch.nn.Module``.

- ``AlveoModule`` (``module``): forward/topk on a backend, scale-out over several cards;
- ``compile``/``to_alveo`` (``api``): Brevitas module -> cached build -> ``AlveoModule``;
- ``packing``: the pure host stages (quantise, pack, unpack, dequantise, top-k);
- ``backend``: the backend protocol and ``select_backend`` (sim, cppsim, alveo, emulated);
- ``manifest``/``build``: validated loading of a build directory;
- ``backends.alveo``: the PYNQ host driver and the emulated card;
- ``power``/``bench``: power rails, sampling, and the benchmark behind ``alveoflow bench``.
"""

from alveoflow.runtime.api import compile, to_alveo
from alveoflow.runtime.module import AlveoModule

__all__ = ["AlveoModule", "compile", "to_alveo"]
