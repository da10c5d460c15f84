// alveo_vvau.hpp -- Vector-Vector-Activation Unit: depthwise convolution.
//
// Semantics, per output pixel, with the K*K*CH window x in (ky, kx, c) order:
//   acc[c] = sum_k W[c][k] * x[k*CH + c]       k = ky*K + kx in 0..K*K-1
//   then thresholds (vvau), bias (vvau_bias) or nothing (vvau_raw), exactly as in mvau.
//
// Folding: PE channels and SIMD kernel positions per cycle; CF = CH/PE channel folds,
// KF = K*K/SIMD kernel folds; one output pixel takes CF*KF cycles.
//
// Input stream: per output pixel CF*KF words in (cf, kf) order, each ap_uint<SIMD*PE*bits(idt)>
// whose lane s*PE + p holds kernel position kf*SIMD + s of channel cf*PE + p. This is exactly
// sliding_window<DEPTHWISE=true, SIMD=PE> followed by dwc<PE*B -> SIMD*PE*B> (SIMD consecutive
// kernel positions concatenated, the first at the LSB). With SIMD = 1 no converter is needed.
// Output stream: per pixel CF words of PE channels. reps = number of output pixels.
//
// Memory layouts:
//   weights[PE][CF*KF]     ap_uint<SIMD * bits(wdt)>; entry [pe][cf*KF + kf] holds channel
//                          cf*PE + pe, kernel positions kf*SIMD + s at lane s (LSB first).
//   thresholds[PE][CF][NT] / bias[PE][CF]: channel cf*PE + pe.
//
// Config struct fields: CH, K, PE, SIMD, idt, wdt, odt, acc_t, MUL (lut or dsp), and
// NT, tdt, OUT_OFFSET (vvau) or bdt (vvau_bias).
#ifndef ALVEO_VVAU_HPP
#define ALVEO_VVAU_HPP

#include "alveo_mvau.hpp"

namespace alveo {

template <class C> struct vvau_types {
    static constexpr unsigned IB = elem<typename C::idt>::BITS;
    static constexpr unsigned WB = elem<typename C::wdt>::BITS;
    static constexpr unsigned OB = elem<typename C::odt>::BITS;
    static constexpr unsigned CF = C::CH / C::PE;
    static constexpr unsigned KF = C::K * C::K / C::SIMD;
    typedef ap_uint<C::SIMD * C::PE * IB> in_word;
    typedef ap_uint<C::PE * OB> out_word;
    typedef ap_uint<C::SIMD * WB> w_word;
};

template <class C, class ACT, class P>
void vvau_core(hls::stream<typename vvau_types<C>::in_word>& in,
               hls::stream<typename vvau_types<C>::out_word>& out,
               const typename vvau_types<C>::w_word weights[C::PE][C::CH / C::PE * (C::K * C::K / C::SIMD)],
               P params, unsigned reps) {
    typedef vvau_types<C> T;
    typedef typename C::idt IT;
    typedef typename C::wdt WT;
    static_assert(C::CH % C::PE == 0, "vvau: CH must be a multiple of PE");
    static_assert(C::K * C::K % C::SIMD == 0, "vvau: K*K must be a multiple of SIMD");
    static_assert(C::MUL != mul_style::dsp_packed2, "vvau: dsp_packed2 is not supported");
#pragma HLS ARRAY_PARTITION variable = weights complete dim = 1
    typename C::acc_t acc[C::PE];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 0
    unsigned cf = 0, kf = 0;
    for (unsigned i = 0; i < reps * T::CF * T::KF; i++) {
#pragma HLS PIPELINE II = 1
        const typename T::in_word x = in.read();
        for (unsigned pe = 0; pe < C::PE; pe++) {
#pragma HLS UNROLL
            const typename T::w_word w = weights[pe][cf * T::KF + kf];
            typename C::acc_t sum = (kf == 0) ? typename C::acc_t(0) : acc[pe];
            for (unsigned s = 0; s < C::SIMD; s++) {
#pragma HLS UNROLL
                sum += lane_mul<WT, IT, C::MUL>::template apply<typename C::acc_t>(
                    lane_bits<T::WB>(w, s), lane_bits<T::IB>(x, s * C::PE + pe));
            }
            acc[pe] = sum;
        }
        if (kf == T::KF - 1) {
            typename T::out_word y = 0;
            for (unsigned pe = 0; pe < C::PE; pe++) {
#pragma HLS UNROLL
                set_lane<typename C::odt>(y, pe, ACT::template apply<C>(acc[pe], params, pe, cf));
            }
            out.write(y);
            step<T::CF>(cf);
        }
        step<T::KF>(kf);
    }
}

template <class C>
void vvau(hls::stream<typename vvau_types<C>::in_word>& in,
          hls::stream<typename vvau_types<C>::out_word>& out,
          const typename vvau_types<C>::w_word weights[C::PE][C::CH / C::PE * (C::K * C::K / C::SIMD)],
          const typename C::tdt thresholds[C::PE][C::CH / C::PE][C::NT], unsigned reps) {
#pragma HLS INLINE
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 1
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 3
    vvau_core<C, act_thresholds>(in, out, weights, thresholds, reps);
}

template <class C>
void vvau_bias(hls::stream<typename vvau_types<C>::in_word>& in,
               hls::stream<typename vvau_types<C>::out_word>& out,
               const typename vvau_types<C>::w_word weights[C::PE][C::CH / C::PE * (C::K * C::K / C::SIMD)],
               const typename C::bdt bias[C::PE][C::CH / C::PE], unsigned reps) {
#pragma HLS INLINE
#pragma HLS ARRAY_PARTITION variable = bias complete dim = 1
    vvau_core<C, act_bias>(in, out, weights, bias, reps);
}

template <class C>
void vvau_raw(hls::stream<typename vvau_types<C>::in_word>& in,
              hls::stream<typename vvau_types<C>::out_word>& out,
              const typename vvau_types<C>::w_word weights[C::PE][C::CH / C::PE * (C::K * C::K / C::SIMD)],
              unsigned reps) {
#pragma HLS INLINE
    vvau_core<C, act_none>(in, out, weights, 0, reps);
}

}  // namespace alveo

#endif  // ALVEO_VVAU_HPP
