"""The runtime: a build directory behind a ``torch.nn.Module``. It only reads build
directories (``compiler.buildfmt``); making them is ``alveoflow.api``/``alveoflow compile``.

- ``AlveoModule`` (``module``): a drop-in for the model (takes its input, returns its
  logits), forward/topk on a backend, scale-out over several cards, copies reopen the build;
- ``inputs``: what a build accepts (the model's own input, or card codes) and its checks;
- ``packing``: the pure host stages (quantise, pack, unpack, dequantise, top-k);
- ``backend``: the backend protocol, the registry of backend factories and
  ``select_backend`` (sim, cppsim, rtlsim, xrt, alveo, emulated, emulated-xrt);
- ``build``: validated, hash-checked loading of a build directory;
- ``backends.alveo``: the card host driver over PYNQ (``host``) and over XRT's ``pyxrt``
  (``xrt_host``), the kernel contract, and emulated cards for both (``emulated``,
  ``emulated_xrt``);
- ``verify``: a build against the float64 QONNX graph code for code, and rounding ties;
- ``power``/``bench``: power rails, sampling, and the benchmark behind ``alveoflow bench``.
"""

from alveoflow.runtime.module import AlveoModule

__all__ = ["AlveoModule"]
