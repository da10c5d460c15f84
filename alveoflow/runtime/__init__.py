"""The runtime: a build directory behind a ``torch.nn.Module``. It only reads build
directories (``compiler.buildfmt``); making them is ``alveoflow.api``/``alveoflow compile``.

- ``AlveoModule`` (``module``): forward/topk on a backend, scale-out over several cards;
- ``packing``: the pure host stages (quantise, pack, unpack, dequantise, top-k);
- ``backend``: the backend protocol, the registry of backend factories and
  ``select_backend`` (sim, cppsim, alveo, emulated);
- ``build``: validated, hash-checked loading of a build directory;
- ``backends.alveo``: the PYNQ host driver, the kernel contract and the emulated card;
- ``power``/``bench``: power rails, sampling, and the benchmark behind ``alveoflow bench``.
"""

from alveoflow.runtime.module import AlveoModule

__all__ = ["AlveoModule"]
