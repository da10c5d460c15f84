// alveo_threshold.hpp -- multi-threshold activation and the standalone Thresholding layer.
//
// Semantics: out = (number of j in 0..NT-1 with T[j] <= x) + OUT_OFFSET, thresholds sorted
// ascending, result stored as an odt element (wrapping to its width).
//
// Threshold memory layout: thresholds[PE][CF][NT] with CF = CH / PE; entry [pe][cf][*] belongs
// to channel cf*PE + pe (channels are interleaved over the PEs, like MVAU output rows).
//
// Config struct fields for thresholding<C>:
//   CH, PE, NT            channels, channels per stream word, thresholds per channel
//   idt, tdt, odt         input element type, threshold type, output element type
//   OUT_OFFSET            (int) added to the count
#ifndef ALVEO_THRESHOLD_HPP
#define ALVEO_THRESHOLD_HPP

#include "alveo_common.hpp"

namespace alveo {

// Number of thresholds t[j] <= x. All NT comparisons happen in parallel (comparator + adder tree).
template <unsigned NT, class T, class X>
inline ap_uint<32> threshold_count(const X& x, const T t[NT]) {
#pragma HLS INLINE
    ap_uint<32> count = 0;
    for (unsigned j = 0; j < NT; j++) {
#pragma HLS UNROLL
        count += (t[j] <= x) ? 1 : 0;
    }
    return count;
}

template <class C>
void thresholding(hls::stream<ap_uint<C::PE * elem<typename C::idt>::BITS> >& in,
                  hls::stream<ap_uint<C::PE * elem<typename C::odt>::BITS> >& out,
                  const typename C::tdt thresholds[C::PE][C::CH / C::PE][C::NT], unsigned reps) {
    static_assert(C::CH % C::PE == 0, "thresholding: CH must be a multiple of PE");
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 1
#pragma HLS ARRAY_PARTITION variable = thresholds complete dim = 3
    const unsigned CF = C::CH / C::PE;
    unsigned cf = 0;
    for (unsigned i = 0; i < reps * CF; i++) {
#pragma HLS PIPELINE II = 1
        const ap_uint<C::PE * elem<typename C::idt>::BITS> x = in.read();
        ap_uint<C::PE * elem<typename C::odt>::BITS> y = 0;
        for (unsigned pe = 0; pe < C::PE; pe++) {
#pragma HLS UNROLL
            const ap_int<33> v = threshold_count<C::NT>(lane<typename C::idt>(x, pe),
                                                        thresholds[pe][cf]);
            set_lane<typename C::odt>(y, pe, v + C::OUT_OFFSET);
        }
        out.write(y);
        step<C::CH / C::PE>(cf);
    }
}

}  // namespace alveo

#endif  // ALVEO_THRESHOLD_HPP
