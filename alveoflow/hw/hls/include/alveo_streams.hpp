// alveo_streams.hpp -- stream plumbing: add_streams (residual add), duplicate (fan-out) and
// dwc (data-width converter).
//
// add_streams<C>(a, b, out, reps): out[c] = saturate(a[c] + b[c] + OFFSET) into the range of
//   odt (signed or unsigned), PE lanes per word, CH/PE words per pixel; reps = pixels.
//   Config: CH, PE, adt, bdt, odt, OFFSET (int).
// duplicate<C>(in, out0, out1, reps) / duplicate_n<C, N>(in, outs, reps): every input word is
//   written to each output. Config: W (word bits), WORDS (words per rep).
// dwc<C>(in, out, reps): re-packs a frame of FRAME_BITS bits from IN_W-bit words into OUT_W-bit
//   words, LSB first (the first input word's bit 0 is the first output word's bit 0). Works
//   for up- and down-conversion and for widths that do not divide each other (e.g. 24 -> 64).
//   Config: IN_W, OUT_W, FRAME_BITS (a multiple of both widths).
#ifndef ALVEO_STREAMS_HPP
#define ALVEO_STREAMS_HPP

#include "alveo_common.hpp"

namespace alveo {

template <class C>
void add_streams(hls::stream<ap_uint<C::PE * elem<typename C::adt>::BITS> >& a,
                 hls::stream<ap_uint<C::PE * elem<typename C::bdt>::BITS> >& b,
                 hls::stream<ap_uint<C::PE * elem<typename C::odt>::BITS> >& out, unsigned reps) {
    static_assert(C::CH % C::PE == 0, "add_streams: CH must be a multiple of PE");
    for (unsigned i = 0; i < reps * (C::CH / C::PE); i++) {
#pragma HLS PIPELINE II = 1
        const ap_uint<C::PE * elem<typename C::adt>::BITS> x = a.read();
        const ap_uint<C::PE * elem<typename C::bdt>::BITS> y = b.read();
        ap_uint<C::PE * elem<typename C::odt>::BITS> z = 0;
        for (unsigned pe = 0; pe < C::PE; pe++) {
#pragma HLS UNROLL
            const ap_int<40> sum = ap_int<40>(lane<typename C::adt>(x, pe)) +
                                   ap_int<40>(lane<typename C::bdt>(y, pe)) + C::OFFSET;
            set_lane<typename C::odt>(z, pe, saturate<typename C::odt>(sum));
        }
        out.write(z);
    }
}

template <class C>
void duplicate(hls::stream<ap_uint<C::W> >& in, hls::stream<ap_uint<C::W> >& out0,
               hls::stream<ap_uint<C::W> >& out1, unsigned reps) {
    for (unsigned i = 0; i < reps * C::WORDS; i++) {
#pragma HLS PIPELINE II = 1
        const ap_uint<C::W> x = in.read();
        out0.write(x);
        out1.write(x);
    }
}

template <class C, unsigned N>
void duplicate_n(hls::stream<ap_uint<C::W> >& in, hls::stream<ap_uint<C::W> > outs[N],
                 unsigned reps) {
    for (unsigned i = 0; i < reps * C::WORDS; i++) {
#pragma HLS PIPELINE II = 1
        const ap_uint<C::W> x = in.read();
        for (unsigned k = 0; k < N; k++) {
#pragma HLS UNROLL
            outs[k].write(x);
        }
    }
}

template <class C>
void dwc(hls::stream<ap_uint<C::IN_W> >& in, hls::stream<ap_uint<C::OUT_W> >& out,
         unsigned reps) {
    static_assert(C::FRAME_BITS % C::IN_W == 0 && C::FRAME_BITS % C::OUT_W == 0,
                  "dwc: FRAME_BITS must be a multiple of IN_W and of OUT_W");
    const unsigned OUT_WORDS = C::FRAME_BITS / C::OUT_W;
    for (unsigned rep = 0; rep < reps; rep++) {
        ap_uint<C::IN_W + C::OUT_W> buf = 0;  // bits not emitted yet, oldest at the LSB
        unsigned have = 0;                     // valid bits in buf
        unsigned emitted = 0;
        // Each cycle reads a word when fewer than OUT_W bits wait, and emits when it can.
        while (emitted < OUT_WORDS) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 65536
            if (have < C::OUT_W) {
                buf |= ap_uint<C::IN_W + C::OUT_W>(in.read()) << have;
                have += C::IN_W;
            }
            if (have >= C::OUT_W) {
                out.write(ap_uint<C::OUT_W>(buf.range(C::OUT_W - 1, 0)));
                buf >>= C::OUT_W;
                have -= C::OUT_W;
                emitted++;
            }
        }
    }
}

}  // namespace alveo

#endif  // ALVEO_STREAMS_HPP
