"""alveoflow: compile low-precision Brevitas networks into streaming dataflow accelerators
for AMD Alveo cards, and run them behind a ``torch.nn.Module``.

Flow: ``alveoflow.qnn`` (models) -> ``alveoflow.export`` (QONNX) -> ``alveoflow.compiler``
(IR, passes, folding, estimates, code generation) -> ``alveoflow.hw`` (HLS library, build
scripts) -> ``alveoflow.runtime`` (AlveoModule and backends).
"""

__version__ = "0.1.0"


def compile(*args, **kwargs):  # noqa: A001 - the public name mirrors torch.compile
    """Compile any Brevitas module for an Alveo card: ``alveoflow.compile(model, example_input,
    backend="auto", ...) -> AlveoModule``. Imported lazily so ``import alveoflow`` stays light."""
    from alveoflow.api import compile as compile_module

    return compile_module(*args, **kwargs)
