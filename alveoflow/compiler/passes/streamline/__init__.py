"""Streamlining: turning real-valued QONNX arithmetic into integer codes.

- ``fuse_pad``: explicit Pads into the convs/pools that read them (nn -> nn).
- ``chain``: per-channel functions from integers to real values (BatchNorm, scales,
  biases, Relu, input normalisation), evaluated with the float64 reference kernels.
- ``thresholds``: exact integer multi-thresholds of such functions followed by a quantizer.
The walk that applies them while emitting hardware ops is ``passes.lower.walk``.
"""
