// alveo_mvau.hpp -- Matrix-Vector-Activation Unit (fully connected layers and convolutions
// fed by sliding_window).
//
// Semantics, per input vector x of length MW (for a conv: the window in (ky, kx, c) order):
//   acc[r] = sum_c W[r][c] * x[c]                       (acc_t arithmetic)
//   mvau        : out[r] = count(T[r][j] <= acc[r]) + OUT_OFFSET   (thresholds ascending)
//   mvau_bias   : out[r] = acc[r] + bias[r]
//   mvau_raw    : out[r] = acc[r]
// and out[r] is stored as an odt element (wrapping to its width).
//
// Folding: PE output rows and SIMD input columns per cycle; NF = MH/PE neuron folds and
// SF = MW/SIMD synapse folds; one input vector takes NF*SF cycles (MMV vectors at a time).
// The SF input words of a vector are read during the first neuron fold and replayed from a
// small buffer for the others.
//
// Streams (MMV pixels per word, pixel m in the m-th slice of the word, lane 0 at the LSB):
//   in : MW/SIMD words per vector, ap_uint<MMV * SIMD * bits(idt)>, columns sf*SIMD.. in word sf
//   out: MH/PE  words per vector, ap_uint<MMV * PE * bits(odt)>,  rows nf*PE.. in word nf
//   reps = number of input vectors (e.g. N*OH*OW for a conv); must be a multiple of MMV.
//
// Memory layouts (generated headers define these as const arrays -> on-chip ROM):
//   weights[PE][NF*SF]     ap_uint<SIMD * bits(wdt)>; entry [pe][nf*SF + sf] holds output row
//                          nf*PE + pe, input columns sf*SIMD .. sf*SIMD+SIMD-1, column
//                          sf*SIMD + i at bits [i*bits(wdt), (i+1)*bits(wdt)). Bipolar: bit 1 = +1.
//   thresholds[PE][NF][NT] tdt, row nf*PE + pe, ascending.
//   bias[PE][NF]           bdt, row nf*PE + pe.
//
// Config struct fields:
//   MW, MH, SIMD, PE, MMV     matrix size, folding, pixels in parallel (MMV >= 1)
//   idt, wdt, odt, acc_t      input / weight / output element types, accumulator type
//   MUL                       alveo::mul_style::{lut, dsp, dsp_packed2, masked_sum}
//
// mul_style::masked_sum (bipolar weights, e.g. w1a2): sum_c W[r][c]*x[c] is computed as
// 2 * sum_{c: W[r][c] = +1} x[c] - sum_c x[c]. The column sum sum_c x[c] of each input word is
// computed once per pixel (one adder tree of SIMD inputs) and shared by all PE rows; each PE
// lane only ANDs its weight bit with x[c]. Results are bit-exact with mul_style::lut.
//   NT, tdt, OUT_OFFSET       (mvau only) thresholds per row, threshold type, count offset
//   bdt                       (mvau_bias only) bias type
#ifndef ALVEO_MVAU_HPP
#define ALVEO_MVAU_HPP

#include <type_traits>

#include "alveo_fastsim.hpp"
#include "alveo_mac.hpp"
#include "alveo_threshold.hpp"

namespace alveo {

template <class C> struct mvau_types {
    static constexpr unsigned IB = elem<typename C::idt>::BITS;
    static constexpr unsigned WB = elem<typename C::wdt>::BITS;
    static constexpr unsigned OB = elem<typename C::odt>::BITS;
    static constexpr unsigned NF = C::MH / C::PE;
    static constexpr unsigned SF = C::MW / C::SIMD;
    typedef ap_uint<C::MMV * C::SIMD * IB> in_word;
    typedef ap_uint<C::MMV * C::PE * OB> out_word;
    typedef ap_uint<C::SIMD * WB> w_word;
    typedef ap_uint<C::SIMD * IB> px_word;  // SIMD inputs of one pixel
};

// ---- activation policies: turn an accumulator of row (nf*PE + pe) into an output value ----
struct act_thresholds {
    template <class C, class A, class P>
    static ap_int<64> apply(const A& acc, const P& thr, unsigned pe, unsigned nf) {
#pragma HLS INLINE
        return ap_int<64>(threshold_count<C::NT>(acc, thr[pe][nf])) + C::OUT_OFFSET;
    }
};
struct act_bias {
    template <class C, class A, class P>
    static ap_int<64> apply(const A& acc, const P& bias, unsigned pe, unsigned nf) {
#pragma HLS INLINE
        return ap_int<64>(acc) + ap_int<64>(bias[pe][nf]);
    }
};
struct act_none {
    template <class C, class A, class P>
    static ap_int<64> apply(const A& acc, const P&, unsigned, unsigned) {
#pragma HLS INLINE
        return ap_int<64>(acc);
    }
};

// Slice of pixel m out of an MMV-wide input word.
template <class C>
inline typename mvau_types<C>::px_word pixel(const typename mvau_types<C>::in_word& x,
                                             unsigned m) {
#pragma HLS INLINE
    const unsigned W = C::SIMD * mvau_types<C>::IB;
    return typename mvau_types<C>::px_word(x.range((m + 1) * W - 1, m * W));
}

// Per-pixel SIMD dot products of one weight word (lut / dsp styles).
template <class C, mul_style S> struct mmv_dot {
    static void apply(const typename mvau_types<C>::w_word& w,
                      const typename mvau_types<C>::in_word& x, typename C::acc_t s[C::MMV]) {
#pragma HLS INLINE
    for (unsigned m = 0; m < C::MMV; m++) {
#pragma HLS UNROLL
        s[m] = simd_dot<C::SIMD, typename C::wdt, typename C::idt, typename C::acc_t,
                        S>::apply(w, pixel<C>(x, m));
    }
    }
};

// dsp_packed2: pixels (2k, 2k+1) share one multiply per weight via mul2_packed.
template <class C> struct mmv_dot<C, mul_style::dsp_packed2> {
    static void apply(const typename mvau_types<C>::w_word& w,
                      const typename mvau_types<C>::in_word& x, typename C::acc_t s[C::MMV]) {
#pragma HLS INLINE
    typedef typename C::wdt WT;
    typedef typename C::idt IT;
    static_assert(C::MMV % 2 == 0, "dsp_packed2 needs an even MMV (pixels are paired)");
    static_assert(elem<WT>::SIGNED && elem<WT>::BITS <= 8, "dsp_packed2 needs ap_int<<=8> weights");
    static_assert(!elem<IT>::SIGNED && elem<IT>::BITS <= 8, "dsp_packed2 needs ap_uint<<=8> inputs");
    for (unsigned m = 0; m < C::MMV; m += 2) {
#pragma HLS UNROLL
        const typename mvau_types<C>::px_word x0 = pixel<C>(x, m), x1 = pixel<C>(x, m + 1);
        typename C::acc_t s0 = 0, s1 = 0;
        for (unsigned i = 0; i < C::SIMD; i++) {
#pragma HLS UNROLL
            ap_int<16> p0, p1;
            mul2_packed(lane<WT>(w, i), lane<IT>(x0, i), lane<IT>(x1, i), &p0, &p1);
            s0 += p0;
            s1 += p1;
        }
        s[m] = s0;
        s[m + 1] = s1;
    }
    }
};

// Per-pixel column sums of an input word: computed (once per word, for all PE rows) only by
// mul_style::masked_sum; the other styles need none and leave them zero.
template <class C, mul_style S> struct mmv_column_sums {
    typedef typename masked_types<C::SIMD, typename C::idt>::sum_t sum_t;
    static void apply(const typename mvau_types<C>::in_word&, sum_t cs[C::MMV]) {
#pragma HLS INLINE
    for (unsigned m = 0; m < C::MMV; m++) {
#pragma HLS UNROLL
        cs[m] = 0;
    }
    }
};
template <class C> struct mmv_column_sums<C, mul_style::masked_sum> {
    typedef typename masked_types<C::SIMD, typename C::idt>::sum_t sum_t;
    static void apply(const typename mvau_types<C>::in_word& x, sum_t cs[C::MMV]) {
#pragma HLS INLINE
    for (unsigned m = 0; m < C::MMV; m++) {
#pragma HLS UNROLL
        cs[m] = simd_column_sum<C::SIMD, typename C::idt>(pixel<C>(x, m));
    }
    }
};

// One PE row's per-pixel dot products: mmv_dot, or for masked_sum a masked sum per pixel
// combined with the shared column sums.
template <class C, mul_style S> struct pe_dot {
    typedef typename mmv_column_sums<C, S>::sum_t sum_t;
    static void apply(const typename mvau_types<C>::w_word& w,
                      const typename mvau_types<C>::in_word& x, const sum_t[C::MMV],
                      typename C::acc_t s[C::MMV]) {
#pragma HLS INLINE
    mmv_dot<C, S>::apply(w, x, s);
    }
};
template <class C> struct pe_dot<C, mul_style::masked_sum> {
    typedef typename mmv_column_sums<C, mul_style::masked_sum>::sum_t sum_t;
    static void apply(const typename mvau_types<C>::w_word& w,
                      const typename mvau_types<C>::in_word& x, const sum_t cs[C::MMV],
                      typename C::acc_t s[C::MMV]) {
#pragma HLS INLINE
    static_assert(std::is_same<typename C::wdt, bipolar>::value,
                  "mul_style::masked_sum needs bipolar weights");
    for (unsigned m = 0; m < C::MMV; m++) {
#pragma HLS UNROLL
        s[m] = masked_dot<C::SIMD, typename C::idt, typename C::acc_t>(w, pixel<C>(x, m), cs[m]);
    }
    }
};
// The style mvau_core runs: C::MUL, except that bipolar x bipolar keeps XNOR-popcount (which
// needs no column sum) when masked_sum is asked for.
template <class C> struct effective_mul {
    static constexpr mul_style value =
        C::MUL == mul_style::masked_sum && std::is_same<typename C::idt, bipolar>::value
            ? mul_style::lut
            : C::MUL;
};

// The folded loop shared by every MVAU flavour; ACT decides what happens to an accumulator and
// P is the (decayed) parameter array ACT reads: thresholds, bias or an unused dummy.
// (mvau_core below: the C-simulation fast path when there is one, else this loop.)
template <class C, class ACT, class P>
void mvau_core_hw(hls::stream<typename mvau_types<C>::in_word>& in,
               hls::stream<typename mvau_types<C>::out_word>& out,
               const typename mvau_types<C>::w_word weights[C::PE][C::MH / C::PE * (C::MW / C::SIMD)],
               P params, unsigned reps) {
    typedef mvau_types<C> T;
    static_assert(C::MW % C::SIMD == 0, "mvau: MW must be a multiple of SIMD");
    static_assert(C::MH % C::PE == 0, "mvau: MH must be a multiple of PE");
    static_assert(C::MMV >= 1, "mvau: MMV must be >= 1");
#pragma HLS ARRAY_PARTITION variable = weights complete dim = 1
    typename T::in_word inbuf[T::SF];
    typename C::acc_t acc[C::MMV][C::PE];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 0
    unsigned nf = 0, sf = 0;
    const unsigned total = reps / C::MMV * T::NF * T::SF;
    for (unsigned i = 0; i < total; i++) {
#pragma HLS PIPELINE II = 1
        typename T::in_word x;
        if (nf == 0) {
            x = in.read();  // first neuron fold: fetch, keep for the other folds
            inbuf[sf] = x;
        } else {
            x = inbuf[sf];
        }
        const mul_style S = effective_mul<C>::value;
        typename mmv_column_sums<C, S>::sum_t cs[C::MMV];
#pragma HLS ARRAY_PARTITION variable = cs complete dim = 0
        mmv_column_sums<C, S>::apply(x, cs);  // shared by all PE rows (masked_sum only)
        for (unsigned pe = 0; pe < C::PE; pe++) {
#pragma HLS UNROLL
            typename C::acc_t s[C::MMV];
            pe_dot<C, S>::apply(weights[pe][nf * T::SF + sf], x, cs, s);
            for (unsigned m = 0; m < C::MMV; m++) {
#pragma HLS UNROLL
                acc[m][pe] = (sf == 0 ? typename C::acc_t(0) : acc[m][pe]) + s[m];
            }
        }
        if (sf == T::SF - 1) {
            typename T::out_word y = 0;
            for (unsigned m = 0; m < C::MMV; m++) {
#pragma HLS UNROLL
                for (unsigned pe = 0; pe < C::PE; pe++) {
#pragma HLS UNROLL
                    set_lane<typename C::odt>(
                        y, m * C::PE + pe,
                        ACT::template apply<C>(acc[m][pe], params, pe, nf));
                }
            }
            out.write(y);
        }
        if (sf == T::SF - 1) step<T::NF>(nf);
        step<T::SF>(sf);
    }
}

#if defined(__SYNTHESIS__) || defined(ALVEO_NO_FAST_PATHS)
template <class C, class ACT, class P>
void mvau_core(hls::stream<typename mvau_types<C>::in_word>& in,
               hls::stream<typename mvau_types<C>::out_word>& out,
               const typename mvau_types<C>::w_word weights[C::PE][C::MH / C::PE * (C::MW / C::SIMD)],
               P params, unsigned reps) {
#pragma HLS INLINE
    mvau_core_hw<C, ACT>(in, out, weights, params, reps);
}
#else
// C simulation: the native-integer version (alveo_fastsim.hpp) when the types allow it.
template <class C, class ACT, class P>
void mvau_core_sim(std::true_type, hls::stream<typename mvau_types<C>::in_word>& in,
                   hls::stream<typename mvau_types<C>::out_word>& out,
                   const typename mvau_types<C>::w_word weights[C::PE][C::MH / C::PE * (C::MW / C::SIMD)],
                   P params, unsigned reps) {
    fast::mvau<C, ACT>::run(in, out, weights, params, reps);
}
template <class C, class ACT, class P>
void mvau_core_sim(std::false_type, hls::stream<typename mvau_types<C>::in_word>& in,
                   hls::stream<typename mvau_types<C>::out_word>& out,
                   const typename mvau_types<C>::w_word weights[C::PE][C::MH / C::PE * (C::MW / C::SIMD)],
                   P params, unsigned reps) {
    mvau_core_hw<C, ACT>(in, out, weights, params, reps);
}
template <class C, class ACT, class P>
void mvau_core(hls::stream<typename mvau_types<C>::in_word>& in,
               hls::stream<typename mvau_types<C>::out_word>& out,
               const typename mvau_types<C>::w_word weights[C::PE][C::MH / C::PE * (C::MW / C::SIMD)],
               P params, unsigned reps) {
    mvau_core_sim<C, ACT>(std::integral_constant<bool, fast::mvau_ok<C>::value>(), in, out,
                          weights, params, reps);
}
#endif

// Thresholded MVAU (conv/FC + BN + quantized activation).
template <class C>
void mvau(hls::stream<typename mvau_types<C>::in_word>& in,
          hls::stream<typename mvau_types<C>::out_word>& out,
          const typename mvau_types<C>::w_word weights[C::PE][C::MH / C::PE * (C::MW / C::SIMD)],
          const typename C::tdt thresholds[C::PE][C::MH / C::PE][C::NT], unsigned reps) {
#pragma HLS INLINE
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 1
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 3
    mvau_core<C, act_thresholds>(in, out, weights, thresholds, reps);
}

// Raw accumulator plus a per-row bias.
template <class C>
void mvau_bias(hls::stream<typename mvau_types<C>::in_word>& in,
               hls::stream<typename mvau_types<C>::out_word>& out,
               const typename mvau_types<C>::w_word weights[C::PE][C::MH / C::PE * (C::MW / C::SIMD)],
               const typename C::bdt bias[C::PE][C::MH / C::PE], unsigned reps) {
#pragma HLS INLINE
#pragma HLS ARRAY_PARTITION variable = bias complete dim = 1
    mvau_core<C, act_bias>(in, out, weights, bias, reps);
}

// Raw accumulator, no bias.
template <class C>
void mvau_raw(hls::stream<typename mvau_types<C>::in_word>& in,
              hls::stream<typename mvau_types<C>::out_word>& out,
              const typename mvau_types<C>::w_word weights[C::PE][C::MH / C::PE * (C::MW / C::SIMD)],
              unsigned reps) {
#pragma HLS INLINE
    mvau_core<C, act_none>(in, out, weights, 0, reps);
}

}  // namespace alveo

#endif  // ALVEO_MVAU_HPP
