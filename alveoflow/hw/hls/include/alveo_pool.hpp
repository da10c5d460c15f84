// alveo_pool.hpp -- streaming max-pool and sum-pool.
//
// maxpool<C>(in, out, reps): K x K window, stride S, padding (PT, PL, PB, PR). Padded positions
//   are ignored (they hold the element type's minimum, i.e. act as -infinity; padding is < K so
//   every window holds at least one real pixel). Output element type = input element type.
//   Config: IH, IW, CH, K, S, PT, PL, PB, PR, PE, dt.
// sumpool<C>(in, out, reps): same window, out = sum of the window (padding counts as 0, no
//   division), stored as the wider odt. Config: as maxpool with idt, odt instead of dt.
// sumpool_global<C>(in, out, reps): sum over all PIXELS pixels of an image per channel
//   (global average pooling without the division). Config: PIXELS, CH, PE, idt, odt.
// Streams: PE channels per word, CH/PE words per pixel; reps = images. Output pixels follow in
// row-major order, OH = (IH + PT + PB - K)/S + 1 (same for OW).
//
// The windowed pools are a sliding_window in depthwise order (each channel group sees its
// K*K window positions back to back) feeding a small reduction, inside one DATAFLOW region.
#ifndef ALVEO_POOL_HPP
#define ALVEO_POOL_HPP

#include "alveo_swg.hpp"

namespace alveo {

// sliding_window config derived from a pool config.
template <class P, class D, long long PADV> struct pool_window {
    static constexpr unsigned IH = P::IH, IW = P::IW, CH = P::CH, KH = P::K, KW = P::K;
    static constexpr unsigned SH = P::S, SW = P::S, PT = P::PT, PL = P::PL, PB = P::PB,
                              PR = P::PR, SIMD = P::PE;
    static constexpr int PAD_VALUE = int(PADV);
    static constexpr bool DEPTHWISE = true;
    typedef D dt;
};

struct reduce_max {
    template <class A> static A first(const A& x) { return x; }
    template <class A> static A next(const A& acc, const A& x) { return x > acc ? x : acc; }
};
struct reduce_sum {
    template <class A> static A first(const A& x) { return x; }
    template <class A> static A next(const A& acc, const A& x) { return acc + x; }
};

// Reduce every KK consecutive words lane-wise (ID elements in, OD elements out, acc type A).
template <unsigned PE, unsigned KK, class ID, class OD, class A, class R>
void pool_reduce(hls::stream<ap_uint<PE * elem<ID>::BITS> >& in,
                 hls::stream<ap_uint<PE * elem<OD>::BITS> >& out, unsigned groups) {
    A acc[PE];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 0
    unsigned k = 0;
    for (unsigned i = 0; i < groups * KK; i++) {
#pragma HLS PIPELINE II = 1
        const ap_uint<PE * elem<ID>::BITS> x = in.read();
        ap_uint<PE * elem<OD>::BITS> y = 0;
        for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
            const A v = A(lane<ID>(x, pe));
            acc[pe] = (k == 0) ? R::first(v) : R::next(acc[pe], v);
            set_lane<OD>(y, pe, acc[pe]);
        }
        if (k == KK - 1) out.write(y);
        step<KK>(k);
    }
}

template <class C>
void maxpool(hls::stream<ap_uint<C::PE * elem<typename C::dt>::BITS> >& in,
             hls::stream<ap_uint<C::PE * elem<typename C::dt>::BITS> >& out, unsigned reps) {
#pragma HLS DATAFLOW
    typedef typename C::dt D;
    typedef pool_window<C, D, elem<D>::MIN> W;
    static_assert(C::PT < C::K && C::PL < C::K && C::PB < C::K && C::PR < C::K,
                  "maxpool: padding must be smaller than the kernel");
    hls::stream<typename swg_geom<W>::word, 2> windows("maxpool_windows");
#pragma HLS STREAM variable = windows depth = 2
    ALVEO_PROCESS("sliding_window", sliding_window<W>(in, windows, reps));
    ALVEO_PROCESS("pool_reduce",
                  pool_reduce<C::PE, C::K * C::K, D, D, ap_int<elem<D>::BITS + 1>, reduce_max>(
                      windows, out, reps * swg_geom<W>::OH * swg_geom<W>::OW * (C::CH / C::PE)));
    ALVEO_JOIN();
}

template <class C>
void sumpool(hls::stream<ap_uint<C::PE * elem<typename C::idt>::BITS> >& in,
             hls::stream<ap_uint<C::PE * elem<typename C::odt>::BITS> >& out, unsigned reps) {
#pragma HLS DATAFLOW
    typedef pool_window<C, typename C::idt, 0> W;
    hls::stream<typename swg_geom<W>::word, 2> windows("sumpool_windows");
#pragma HLS STREAM variable = windows depth = 2
    ALVEO_PROCESS("sliding_window", sliding_window<W>(in, windows, reps));
    ALVEO_PROCESS("pool_reduce",
                  pool_reduce<C::PE, C::K * C::K, typename C::idt, typename C::odt,
                              ap_int<elem<typename C::odt>::BITS + 1>, reduce_sum>(
                      windows, out, reps * swg_geom<W>::OH * swg_geom<W>::OW * (C::CH / C::PE)));
    ALVEO_JOIN();
}

template <class C>
void sumpool_global(hls::stream<ap_uint<C::PE * elem<typename C::idt>::BITS> >& in,
                    hls::stream<ap_uint<C::PE * elem<typename C::odt>::BITS> >& out,
                    unsigned reps) {
    typedef typename C::idt ID;
    typedef typename C::odt OD;
    typedef ap_int<elem<OD>::BITS + 1> A;
    const unsigned CF = C::CH / C::PE;
    static_assert(C::CH % C::PE == 0, "sumpool_global: CH must be a multiple of PE");
    A acc[CF][C::PE];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 2
    for (unsigned rep = 0; rep < reps; rep++) {
        unsigned cf = 0;
        bool first = true;  // first pixel of the image: start the sums
        for (unsigned i = 0; i < C::PIXELS * CF; i++) {
#pragma HLS PIPELINE II = 1
            const ap_uint<C::PE * elem<ID>::BITS> x = in.read();
            for (unsigned pe = 0; pe < C::PE; pe++) {
#pragma HLS UNROLL
                acc[cf][pe] = (first ? A(0) : acc[cf][pe]) + A(lane<ID>(x, pe));
            }
            if (cf == CF - 1) first = false;
            step<C::CH / C::PE>(cf);
        }
        for (unsigned cf = 0; cf < CF; cf++) {
#pragma HLS PIPELINE II = 1
            ap_uint<C::PE * elem<OD>::BITS> y = 0;
            for (unsigned pe = 0; pe < C::PE; pe++) {
#pragma HLS UNROLL
                set_lane<OD>(y, pe, acc[cf][pe]);
            }
            out.write(y);
        }
    }
}

}  // namespace alveo

#endif  // ALVEO_POOL_HPP
