"""The user's input -> the card's input array: what ``AlveoModule`` accepts, checked.

``accel(x)`` takes what ``model(x)`` took. ``InputSpec.of(build)`` describes that for one
build, and ``to_card(x, spec, round_input)`` turns a numpy batch into the card's input
array (its storage dtype and layout), or raises a one-line ``ConfigError``:

- a *float model* (input stage ``quantize``): the model's own float input, in the model's
  shape (NCHW images, (N, F), or e.g. (N, 1, 8, 8) for an MLP that flattens in ``forward``),
  quantised on the host exactly as the graph's ``QuantizeInput`` (its layout steps, scale,
  rounding and range). Input off a declared ``--input-quant`` grid is refused unless
  ``round_input``, which rounds it as the grid's quantizer would.
- a *pixel model* (``alveoflow.qnn`` with ``pixel_input``, stage ``pixels``): float NCHW
  pixel values like the model takes. They must be whole numbers in 0..255 (the card takes
  uint8 pixels); ``round_input`` rounds (half to even) and clamps them instead. uint8 NCHW
  images (``torchvision.io.read_image``'s layout) are taken too.
- the fast path, for both: integer *card codes* of the card's storage dtype in the card's
  layout (uint8 NHWC pixels, int8/uint8 NHWC or (N, F) codes of the input quantizer),
  passed through after a range check. An integer tensor whose shape is the card's frame is
  always read as codes.

NaN and inf are refused whatever the options (the card has no code for them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import numpy as np

from alveoflow.compiler.boundary import InputStage
from alveoflow.errors import ConfigError
from alveoflow.runtime.build import Build
from alveoflow.runtime.packing import quantize_input

PIXEL_MAX = 255


@dataclass(frozen=True)
class InputSpec:
    """What a build takes: the model's own input and the card's codes (see above)."""

    stage: InputStage
    model_frame: tuple[int, ...]  # the model's input without the batch (NCHW images)
    model_layout: str
    card_frame: tuple[int, ...]
    card_layout: str

    @staticmethod
    def of(build: Build) -> InputSpec:
        stage = build.plan.input
        card = stage.card
        if stage.kind == "pixels":
            shape = build.graph.meta.get("model_input_shape")
            frame = tuple(int(d) for d in shape[1:]) if shape else _nchw(card.shape[1:])
            return InputSpec(stage, frame, "NCHW", tuple(card.shape[1:]), card.layout)
        user = stage.user
        layout = build.manifest.input.layout
        return InputSpec(stage, tuple(user.shape[1:]), layout, tuple(card.shape[1:]), card.layout)

    @property
    def codes_dtype(self) -> np.dtype:
        return self.stage.card_dtype

    @property
    def code_range(self) -> tuple[int, int]:
        stage = self.stage
        if stage.kind == "codes":
            return int(stage.card.qtype.min), int(stage.card.qtype.max)
        return int(stage.lo), int(stage.hi)

    def describe(self) -> str:
        """What this build takes, for error messages."""
        codes = f"{self.codes_dtype.name} {self.card_layout} codes {_frame_text(self.card_frame)}"
        if self.stage.kind == "pixels":
            return (
                f"float {self.model_layout} pixels {_frame_text(self.model_frame)} with whole "
                f"values 0..255 like the model, or uint8 {self.card_layout} pixels "
                f"{_frame_text(self.card_frame)} (fast path)"
            )
        if self.stage.kind == "quantize":
            return (
                f"the model's float input {_frame_text(self.model_frame)} {self.model_layout}, "
                f"or {codes} of its input quantizer (fast path)"
            )
        return codes


def _nchw(nhwc: tuple[int, ...]) -> tuple[int, ...]:
    h, w, c = nhwc
    return (c, h, w)


def _frame_text(frame: tuple[int, ...]) -> str:
    return f"(N, {', '.join(map(str, frame))})"


def to_card(x: np.ndarray, spec: InputSpec, round_input: bool = False) -> np.ndarray:
    """The card's input array for the user's batch ``x`` (see the module docstring)."""
    x = np.asarray(x)
    if x.ndim == 0 or x.shape[0] == 0:
        raise ConfigError(
            f"empty batch (input shape {list(x.shape)}); this build takes {spec.describe()}"
        )
    frame = tuple(x.shape[1:])
    if x.dtype.kind in "iu":
        if frame == spec.card_frame:
            return _codes(x, spec)
        if spec.stage.kind == "pixels" and frame == spec.model_frame:
            return _pixels(x, spec, round_input)
    elif x.dtype.kind == "f" and spec.stage.kind != "codes" and frame == spec.model_frame:
        if spec.stage.kind == "pixels":  # its range check refuses NaN and inf too
            return _pixels(x, spec, round_input)
        check_finite(x)
        return quantize_input(x, spec.stage, round_input=round_input)
    raise ConfigError(_mismatch(x, spec))


def check_finite(x: np.ndarray) -> None:
    """Refuse NaN and inf (one line: how many, the first index)."""
    bad = ~np.isfinite(x)
    if bad.any():
        where = [int(i) for i in np.argwhere(bad)[0]]
        raise ConfigError(
            f"input holds {int(bad.sum())} NaN/inf value(s), e.g. {x[tuple(where)]} at "
            f"{where}: the card has no code for them; clean the input first"
        )


def _codes(x: np.ndarray, spec: InputSpec) -> np.ndarray:
    want = spec.codes_dtype
    if x.dtype != want:
        raise ConfigError(
            f"card codes {_frame_text(spec.card_frame)} must be {want.name}, got {x.dtype.name}; "
            f"convert them with .to(torch.{want.name}) or pass the model's float input"
        )
    lo, hi = spec.code_range
    if x.size and (int(x.min()) < lo or int(x.max()) > hi):
        raise ConfigError(
            f"card codes must lie in {lo}..{hi} (the input quantizer's range), got "
            f"{int(x.min())}..{int(x.max())}"
        )
    return np.ascontiguousarray(x)


def _pixels(x: np.ndarray, spec: InputSpec, round_input: bool) -> np.ndarray:
    """NCHW pixel values -> uint8 NHWC, refusing (or rounding) non-pixel values."""
    if x.dtype.kind == "f":
        if round_input:
            check_finite(x)
            codes = np.clip(np.rint(x), 0, PIXEL_MAX).astype(np.uint8)
        else:
            codes = _checked_pixels(x)
    else:
        if x.size and (int(x.min()) < 0 or int(x.max()) > PIXEL_MAX):
            raise ConfigError(f"pixel values must lie in 0..255, got {x.min()}..{x.max()}")
        codes = x.astype(np.uint8, copy=False)
    return _nhwc(codes)


def _nhwc(codes: np.ndarray) -> np.ndarray:
    """NCHW -> a new C-contiguous NHWC array. For few channels, one strided copy per channel
    is several times faster than numpy's general transpose (25 vs 168 ms for 100 RGB
    224x224 images here)."""
    if codes.shape[1] > 16:
        return np.ascontiguousarray(codes.transpose(0, 2, 3, 1))
    out = np.empty((codes.shape[0], *codes.shape[2:], codes.shape[1]), codes.dtype)
    for channel in range(codes.shape[1]):
        out[..., channel] = codes[:, channel]
    return out


def _checked_pixels(values: np.ndarray) -> np.ndarray:
    """``values`` as uint8 when every one is a whole number in 0..255 (two reductions and
    one compare: the common case costs about one pass over the batch), else a ConfigError."""
    if values.size and values.min() >= 0 and values.max() <= PIXEL_MAX:
        codes = values.astype(np.uint8)
        if np.array_equal(codes, values):
            return codes
    check_finite(values)  # min/max are NaN when a value is: say so first
    _refuse_pixels(values)


def _refuse_pixels(values: np.ndarray) -> NoReturn:
    """The error for finite ``values`` of which at least one is not a pixel value."""
    bad = (values != np.rint(values)) | (values < 0) | (values > PIXEL_MAX)
    where = [int(i) for i in np.argwhere(bad)[0]]
    raise ConfigError(
        f"this build takes pixel values, whole numbers in 0..255, like the model's "
        f"PixelNorm expects; {int(bad.sum())} value(s) are not, e.g. "
        f"{values[tuple(where)]:.9g} at {where}. Pass raw 0..255 pixels (not "
        "normalised ones), or round them (round_input=True, --round-input)"
    )


def _mismatch(x: np.ndarray, spec: InputSpec) -> str:
    got = f"{x.dtype.name} {list(x.shape)}"
    msg = f"this build takes {spec.describe()}; got {got}"
    frame = tuple(x.shape[1:])
    frames = {spec.model_frame: spec.model_layout, spec.card_frame: spec.card_layout}
    if tuple(x.shape) in frames:
        return msg + "; add the batch dimension with x.unsqueeze(0)"
    if x.dtype.kind == "f" and frame == spec.card_frame and spec.card_frame != spec.model_frame:
        return msg + f"; float input comes in the model's layout: permute it to {spec.model_layout}"
    if x.dtype.kind in "iu" and spec.stage.kind == "quantize" and frame == spec.model_frame:
        return msg + "; the model takes float values: convert with .float()"
    if x.dtype.kind not in "iuf":
        return msg + f"; {x.dtype.name} is neither a float input nor integer codes"
    if x.ndim == 4 and len(spec.card_frame) == 3 and sorted(frame) == sorted(spec.card_frame):
        return msg + f"; permute the tensor to {spec.model_layout} (float) or NHWC (codes)"
    return msg
