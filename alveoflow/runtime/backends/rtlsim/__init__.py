"""The rtlsim backend: a build's generated RTL (``BUILD/rtl``) run cycle-accurately under
Verilator (``backend.RtlSimBackend``; models in ``model``, host data <-> port words in
``frames``, timing and deadlock diagnosis in ``report``, per-IP runs in ``blocks``). It only
reads the build directory, except for its run artifact ``BUILD/rtlsim/run.json``; compiled
models go to ``alveoflow.paths.cache_root() / "rtlsim"``."""
