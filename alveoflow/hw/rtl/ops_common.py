"""What every op's RTL unit shares: ``RtlUnit`` and the word helpers (see ``ops``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from alveoflow.compiler.ir import QType
from alveoflow.errors import ConfigError
from alveoflow.hw.rtl import words as W
from alveoflow.hw.rtl.instance import Instance, Stream

Arrays = Sequence[np.ndarray]
Shapes = Sequence[tuple[int, ...]]
WEIGHT_FILE, PARAM_FILE = "weights.memh", "params.memh"
MACS = ("lut", "dsp", "masked_sum")
WMEMS = ("block", "ultra", "distributed", "stream")
PMEMS = ("block", "distributed")


@dataclass(frozen=True)
class RtlUnit:
    inst: Instance
    to_words: Callable[[Arrays], dict[str, np.ndarray]]
    from_words: Callable[[Mapping[str, np.ndarray], Shapes], list[np.ndarray]]
    counts: Callable[[Shapes], dict[str, int]]


def stream_in(name: str, lanes: int, bits: int, prefix: str | None = None) -> Stream:
    return Stream(name, lanes * bits, prefix or name)


def words_of(values: np.ndarray, qtype: QType, lanes: int) -> np.ndarray:
    codes = W.to_codes(values, qtype).reshape(-1, lanes)
    return W.pack(codes, qtype.bits)


def values_of(words: np.ndarray, qtype: QType, lanes: int) -> np.ndarray:
    return W.from_codes(W.unpack(words, qtype.bits, lanes), qtype)


def rows_of(x: np.ndarray) -> np.ndarray:
    """(..., C) -> (pixels, C)."""
    arr = np.asarray(x)
    return arr.reshape(-1, arr.shape[-1])


def check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not one of {list(allowed)}")


def lanes_unit(
    inst: Instance, in_types: Sequence[QType], out_types: Sequence[QType], lanes: int
) -> RtlUnit:
    """An op whose every stream carries ``lanes`` elements per word in tensor order."""

    def to_words(inputs: Arrays) -> dict[str, np.ndarray]:
        return {
            f"in{i}": words_of(x, q, lanes)
            for i, (x, q) in enumerate(zip(inputs, in_types, strict=True))
        }

    def from_words(words: Mapping[str, np.ndarray], shapes: Shapes) -> list[np.ndarray]:
        return [
            values_of(words[f"out{i}"], q, lanes).reshape(shape)
            for i, (q, shape) in enumerate(zip(out_types, shapes, strict=True))
        ]

    def counts(shapes: Shapes) -> dict[str, int]:
        return {f"out{i}": math.prod(shape) // lanes for i, shape in enumerate(shapes)}

    return RtlUnit(inst, to_words, from_words, counts)
