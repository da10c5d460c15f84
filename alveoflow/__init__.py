"""alveoflow: compile low-precision Brevitas networks into streaming dataflow accelerators
for AMD Alveo cards, and run them behind a ``torch.nn.Module``.

Flow: ``alveoflow.qnn`` (models) -> ``alveoflow.export`` (QONNX) -> ``alveoflow.compiler``
(IR, passes, folding, estimates, code generation) -> ``alveoflow.hw`` (HLS library, build
scripts) -> ``alveoflow.runtime`` (AlveoModule and backends).
"""

__version__ = "0.1.0"
