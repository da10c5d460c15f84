"""The ``alveo`` backend: the PYNQ/XRT host driver (``host``), the one module that imports
pynq (``pynq_api``), an emulated card behind the same API (``emulated``) and the writer of a
build's card files (``layout``)."""
