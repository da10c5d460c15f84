"""Named Brevitas quantizers, one per precision role of the alveoflow networks.

Each role is a subclass of one of Brevitas' own quantizer classes, so it exports to QONNX
``Quant``/``BipolarQuant`` nodes that the compiler understands. The reference precisions
(ResNet50-PYNQ ``w1a2_v1.0``) are the defaults; the factories below give the same roles at
other bit widths.

Roles and contracts:

- ``StemWeightQuant``: conv1 weights, signed 8-bit, narrow range (-127..127), one float scale
  per tensor.
- ``BinaryWeightQuant``: body conv weights, bipolar {-1, +1} with a constant scale of 1.0
  (exports as ``BipolarQuant``). The BatchNorm that follows absorbs any scale, which is how
  the hardware folds it into thresholds anyway. Latent weights are clipped in place to [-1, 1].
- ``body_weight_quant(bits)``: ``BinaryWeightQuant`` for 1 bit, else signed narrow-range
  ``bits``-bit weights with a per-tensor float scale.
- ``BranchActQuant`` / ``act_quant(bits)``: unsigned activations inside a residual branch
  and at every block input (2-bit by default), per-tensor scale initialised from runtime
  statistics (used with ``QuantReLU``).
- ``ResidualQuant`` / ``residual_quant(bits)``: the residual stream, *signed* 4-bit
  (-8..7, full range) by default. The reference stores the same values as offset-binary codes
  0..15 with zero at 8 (pre-ReLU values); a signed Brevitas quantizer gives exactly those
  levels, and code = value + 8. Used with ``QuantIdentity``; both operands of every residual
  add and the add's result go through one shared instance, so the add needs no rescaling.
- ``FCWeightQuant``: FC weights, signed 8-bit narrow range, per-tensor scale.
- ``FCBiasQuant``: FC bias, signed 32-bit with scale = input scale x weight scale.
- ``PixelInputQuant``: raw pixels, unsigned 8-bit with a constant scale of 1.0 (codes equal
  the 0..255 pixel values). The models do not insert it in their graph (the QONNX input is
  annotated UINT8 instead); it is here for code that quantises images the same way.
- ``InputQuant``: the input of a model that takes normalised floats (``pixel_input=False``),
  signed 8-bit per-tensor.

Scale initialisation (``SCALE_INITS``, the ``scale_init`` argument of the factories):

- ``"percentile"`` (Brevitas' defaults): activation scales are learned parameters initialised
  from the 99.999th percentile of the first training batches; stem/FC weight scales follow
  max|w| (not learned).
- ``"mse"``: activation scales are learned parameters initialised to the scale that minimises
  the quantisation error on the first batches (Brevitas' MSE search); stem/FC weight scales
  are learned parameters initialised the same way from the weights. At 2 bits the
  percentile start clips almost nothing and rounds most values to zero; the MSE start does
  not. The MSE search runs on ``MSE_STATS_STEPS`` batches instead of 300. Both kinds export
  as ordinary ``Quant`` nodes with a float scale, which the compiler folds into integer
  thresholds like any other.
"""

from __future__ import annotations

from functools import cache

from brevitas.quant import (
    Int8ActPerTensorFloat,
    Int8WeightPerTensorFloat,
    Int32Bias,
    SignedBinaryWeightPerTensorConst,
    Uint8ActPerTensorFloat,
)
from brevitas.quant.scaled_int import (
    Int8ActPerTensorFloatMSE,
    Int8WeightPerTensorFloatMSE,
    Uint8ActPerTensorFloatMaxInit,
    Uint8ActPerTensorFloatMSE,
)

from alveoflow.errors import ConfigError

MAX_BITS = 16
SCALE_INITS = ("percentile", "mse")


class StemWeightQuant(Int8WeightPerTensorFloat):
    """conv1 weights: signed 8-bit, narrow range, per-tensor float scale."""

    bit_width = 8


class BinaryWeightQuant(SignedBinaryWeightPerTensorConst):
    """Body weights: bipolar {-1, +1}, constant scale 1.0 (BatchNorm absorbs the scale)."""

    scaling_const = 1.0


class BranchActQuant(Uint8ActPerTensorFloat):
    """Activations inside a residual branch and at block inputs: unsigned 2-bit."""

    bit_width = 2


class ResidualQuant(Int8ActPerTensorFloat):
    """Residual stream: signed 4-bit (-8..7), i.e. the reference's offset-binary codes."""

    bit_width = 4


class FCWeightQuant(Int8WeightPerTensorFloat):
    """FC weights: signed 8-bit, narrow range, per-tensor float scale."""

    bit_width = 8


class FCBiasQuant(Int32Bias):
    """FC bias: signed 32-bit, scale = input scale x weight scale."""

    bit_width = 32


class PixelInputQuant(Uint8ActPerTensorFloatMaxInit):
    """Raw pixels: unsigned 8-bit with a constant scale of 1.0 (code == pixel value)."""

    bit_width = 8
    scaling_impl_type = "const"
    scaling_const = 255.0  # max value 255 over 255 levels -> scale exactly 1.0
    max_val = 255.0


class InputQuant(Int8ActPerTensorFloat):
    """Normalised float input (``pixel_input=False``): signed 8-bit, per-tensor scale."""

    bit_width = 8


def _check_bits(bits: int, role: str, minimum: int = 1) -> None:
    if not isinstance(bits, int) or not minimum <= bits <= MAX_BITS:
        raise ConfigError(
            f"{role} bit width must be an integer in {minimum}..{MAX_BITS}, got {bits!r}"
        )


def check_scale_init(scale_init: str) -> str:
    """``scale_init`` itself, or ``ConfigError`` when it is not one of ``SCALE_INITS``."""
    if scale_init not in SCALE_INITS:
        raise ConfigError(f"scale_init must be one of {', '.join(SCALE_INITS)}, got {scale_init!r}")
    return scale_init


MSE_STATS_STEPS = 32
"""Statistics batches of an MSE-initialised activation quantizer (Brevitas' MSE search costs
about ten times a percentile per batch; 32 small batches give a stable average)."""


def _variant(name: str, base: type, bits: int, **attrs: object) -> type:
    return type(name, (base,), {"bit_width": bits, **attrs})


@cache
def body_weight_quant(bits: int, scale_init: str = "percentile") -> type:
    """The body-conv weight quantizer for ``bits`` (1 -> bipolar, else signed narrow range)."""
    _check_bits(bits, "weight")
    if bits == 1:
        return BinaryWeightQuant  # constant scale: the BatchNorm after it absorbs any scale
    return int_weight_quant(bits, scale_init)


@cache
def act_quant(bits: int, scale_init: str = "percentile") -> type:
    """The unsigned activation quantizer for ``bits`` (``BranchActQuant`` at 2 bits)."""
    _check_bits(bits, "activation")
    if check_scale_init(scale_init) == "mse":
        return _variant(
            f"Uint{bits}ActQuantMSE",
            Uint8ActPerTensorFloatMSE,
            bits,
            collect_stats_steps=MSE_STATS_STEPS,
        )
    if bits == BranchActQuant.bit_width:
        return BranchActQuant
    return _variant(f"Uint{bits}ActQuant", Uint8ActPerTensorFloat, bits)


@cache
def residual_quant(bits: int, scale_init: str = "percentile") -> type:
    """The signed residual-stream quantizer for ``bits`` (``ResidualQuant`` at 4 bits)."""
    _check_bits(bits, "residual", minimum=2)
    if check_scale_init(scale_init) == "mse":
        return _variant(
            f"Int{bits}ResidualQuantMSE",
            Int8ActPerTensorFloatMSE,
            bits,
            collect_stats_steps=MSE_STATS_STEPS,
        )
    if bits == ResidualQuant.bit_width:
        return ResidualQuant
    return _variant(f"Int{bits}ResidualQuant", Int8ActPerTensorFloat, bits)


@cache
def int_weight_quant(bits: int, scale_init: str = "percentile") -> type:
    """Signed narrow-range ``bits``-bit per-tensor weights (stem and FC roles, 8 by default)."""
    _check_bits(bits, "weight", minimum=2)
    if check_scale_init(scale_init) == "mse":
        return _variant(f"Int{bits}WeightQuantMSE", Int8WeightPerTensorFloatMSE, bits)
    if bits == 8:
        return StemWeightQuant
    return _variant(f"Int{bits}WeightQuant", Int8WeightPerTensorFloat, bits)
