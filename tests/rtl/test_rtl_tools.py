"""The RTL tool runners and file formats: tool lookup errors, word packing, $readmemh layouts
(cross-checked against the HLS packing), the Yosys cell-count parser, the generated wrapper,
Verilator lint of every module, and a few out-of-context Yosys runs."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alveoflow.compiler.codegen import pack
from alveoflow.compiler.ir import QType, hw
from alveoflow.errors import ToolchainError
from alveoflow.hw.rtl import memh, ops, tools
from alveoflow.hw.rtl import words as W
from alveoflow.hw.rtl.instance import library_files, wrapper_sv
from alveoflow.hw.rtl.yosys import count_cells, synth

TOPS = [
    "af_mvau",
    "af_vvau",
    "af_thresholding",
    "af_swg",
    "af_maxpool",
    "af_sumpool",
    "af_sumpool_global",
    "af_add_streams",
    "af_duplicate",
    "af_label_select",
    "af_dwc",
    "af_fifo",
    "af_dma_in",
    "af_dma_out",
]


def test_missing_tool_is_a_clear_error():
    with pytest.raises(ToolchainError, match="install_tools.sh"):
        tools.require_tool("verilator", "/nonexistent/verilator")


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 13), st.integers(1, 9), st.integers(0, 2**31))
def test_pack_unpack_roundtrip(bits, lanes, seed):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 1 << bits, size=(5, lanes)).astype(np.uint64)
    words = W.pack(codes, bits)
    assert words.shape == (5, (lanes * bits + 31) // 32)
    np.testing.assert_array_equal(W.unpack(words, bits, lanes), codes)
    for q in (QType.uint(bits), QType.sint(max(bits, 2))):
        values = rng.integers(q.min, q.max + 1, size=7)
        np.testing.assert_array_equal(W.from_codes(W.to_codes(values, q), q), values)


def _lines(text: str) -> list[int]:
    return [int(line, 16) for line in text.split()]


@pytest.mark.parametrize("wdt, pe, simd", [(QType.bipolar_type(), 4, 8), (QType.sint(3), 2, 3)])
def test_weight_memh_matches_hls_packing(wdt, pe, simd):
    rng = np.random.default_rng(0)
    mh, mw = 4 * pe, 4 * simd
    w = rng.choice([-1, 1], size=(mh, mw)) if wdt.bipolar else rng.integers(-4, 4, (mh, mw))
    slice_bits = simd * wdt.bits
    for lines, hls in (
        (_lines(memh.mvau_weights(w, wdt, pe, simd)), pack.mvau_words(w, wdt, pe, simd)),
        (_lines(memh.vvau_weights(w, wdt, pe, simd)), pack.vvau_words(w, wdt, pe, simd)),
    ):
        assert len(lines) == hls.shape[1]
        for addr, word in enumerate(lines):
            for p in range(pe):
                part = (word >> (p * slice_bits)) & ((1 << slice_bits) - 1)
                assert part == int(hls[p][addr].strip('"'), 16)


def test_threshold_and_bias_rows():
    t = np.array([[-3, 0, 5], [1, 2, 3], [-8, -8, 7], [0, 1, 2]])
    lines = _lines(memh.threshold_rows(t, pe=2, tb=4))
    assert len(lines) == 2
    for nf, word in enumerate(lines):
        for p in range(2):
            for j in range(3):
                code = (word >> ((p * 3 + j) * 4)) & 0xF
                assert code - 16 * (code >= 8) == t[nf * 2 + p, j]
    assert _lines(memh.bias_rows(np.array([-1, 2, 3, -4]), pe=2, bb=4)) == [0x2F, 0xC3]


def test_count_cells_rules():
    cells = {
        "LUT2": 3,
        "LUT6": 2,
        "INV": 1,
        "RAM32M16": 1,
        "SRLC32E": 2,
        "FDRE": 5,
        "FDSE": 1,
        "CARRY4": 3,
        "CARRY8": 1,
        "RAMB18E2": 3,
        "RAMB36E2": 1,
        "URAM288": 2,
        "DSP48E2": 4,
        "MUXF7": 9,
    }
    c = count_cells(cells)
    assert (c["lut_logic"], c["lut_mem"], c["lut"]) == (6, 10, 16)
    assert (c["ff"], c["carry"], c["bram36"], c["uram"], c["dsp"]) == (6, 2.5, 2.5, 2, 4)


def test_wrapper_flattens_vector_ports_and_tlast():
    dup = hw.DuplicateStreams(channels=2, dt=QType.uint(2), copies=3)
    text = wrapper_sv(ops.duplicate(dup).inst)
    assert ".out_tvalid({out2_tvalid, out1_tvalid, out0_tvalid})" in text
    text = wrapper_sv(ops.dma_out(32, 4))
    assert ".m_axis_tlast(out0_tdata[32])" in text and "output logic [32:0] out0_tdata" in text


@pytest.mark.rtl
@pytest.mark.parametrize("top", TOPS)
def test_verilator_lint_clean(top):
    """Every top module lints clean with -Wall (width-extension warnings aside)."""
    cmd = [
        tools.require_tool("verilator"),
        "--lint-only",
        "-Wall",
        "-Wno-WIDTH",
        "-Wno-DECLFILENAME",
        "-Wno-UNUSEDSIGNAL",
        "-Wno-UNUSEDPARAM",
        "-Wno-PINCONNECTEMPTY",
        "--top-module",
        top,
        *[str(p) for p in library_files(synthesis=True)],
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0 and "%Warning" not in done.stderr, done.stderr


@pytest.mark.rtl
@pytest.mark.slow
def test_yosys_maps_memories_and_multipliers(tmp_path):
    """The style parameters reach the netlist: SRL FIFO in SRLs, BRAM FIFO in a RAMB18,
    DSP lanes in DSP48E2s, URAM weights in URAM288."""
    srl = synth(ops.fifo(16, 32, "srl")).counts
    assert srl["lut_mem"] == 16 and srl["bram36"] == 0 and srl["ff"] < 40
    bram = synth(ops.fifo(16, 512, "block")).counts
    assert bram["bram36"] == 0.5 and bram["lut_mem"] == 0
    rng = np.random.default_rng(0)
    op = hw.MVAU(mw=8, mh=4, wdt=QType.sint(8), idt=QType.uint(8), odt=QType.sint(24), pe=2, simd=4)
    weights = {"weights": rng.integers(-128, 128, size=(4, 8))}
    res = synth(ops.mvau(op, weights, mac="dsp", wmem="ultra").inst, workdir=tmp_path)
    assert res.counts["dsp"] == 8 and res.counts["uram"] == 1
    assert (tmp_path / "yosys.log").is_file() and res.seconds > 0
