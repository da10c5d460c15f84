// alveo_mmv.hpp -- streams of MMV pixels side by side, for MVAUs that compute MMV output
// pixels at once (the stem's MMV, the reference's ConvolutionalLayerMMV).
//
// mmv_interleave<W, WORDS, MMV>(in, out, groups): in carries, pixel after pixel, WORDS
//   W-bit words per pixel; out carries, per group of MMV consecutive pixels, WORDS words of
//   MMV * W bits whose m-th W-bit slice is word w of pixel m (the MVAU's MMV input format).
// sliding_window_mmv<C>(in, out, reps): sliding_window<C> (C as there, DEPTHWISE false) with
//   MMV consecutive output pixels per word: C::MMV must divide the output width OW, so a
//   group never straddles two output rows; out words are MMV * SIMD elements.
// dwc_sliced<C>(in, out, reps): dwc applied to each of SLICES side-by-side streams at once:
//   every input word holds SLICES slices of IN_W / SLICES bits; slice s of the frames is
//   re-packed into OUT_W / SLICES-bit slices of the output words. FRAME_BITS is one slice's
//   frame (one pixel's vector); reps counts groups of SLICES pixels. Like dwc, it keeps only
//   IN_W / SLICES + OUT_W / SLICES bits per slice and emits as soon as a word is complete.
//   Config: IN_W, OUT_W, SLICES, FRAME_BITS.
#ifndef ALVEO_MMV_HPP
#define ALVEO_MMV_HPP

#include "alveo_swg.hpp"

namespace alveo {

template <unsigned W, unsigned WORDS, unsigned MMV>
void mmv_interleave(hls::stream<ap_uint<W> >& in, hls::stream<ap_uint<MMV * W> >& out,
                    unsigned groups) {
    ap_uint<W> buf[MMV][WORDS];
#pragma HLS ARRAY_PARTITION variable = buf complete dim = 1
    for (unsigned g = 0; g < groups; g++) {
        for (unsigned m = 0; m < MMV; m++)
            for (unsigned w = 0; w < WORDS; w++) {
#pragma HLS PIPELINE II = 1
                buf[m][w] = in.read();
            }
        for (unsigned w = 0; w < WORDS; w++) {
#pragma HLS PIPELINE II = 1
            ap_uint<MMV * W> word = 0;
            for (unsigned m = 0; m < MMV; m++) {
#pragma HLS UNROLL
                word.range((m + 1) * W - 1, m * W) = buf[m][w];
            }
            out.write(word);
        }
    }
}

template <class C>
void sliding_window_mmv(hls::stream<typename swg_geom<C>::word>& in,
                        hls::stream<ap_uint<C::MMV * C::SIMD * elem<typename C::dt>::BITS> >& out,
                        unsigned reps) {
    typedef swg_geom<C> G;
    static_assert(!C::DEPTHWISE, "sliding_window_mmv: MMV feeds an MVAU, not a depthwise unit");
    static_assert(G::OW % C::MMV == 0, "sliding_window_mmv: MMV must divide the output width");
#pragma HLS DATAFLOW
    hls::stream<typename G::word, 2 * G::WINDOW_WORDS> windows("windows");
#pragma HLS STREAM variable = windows depth = 2 * G::WINDOW_WORDS
    ALVEO_PROCESS("sliding_window", sliding_window<C>(in, windows, reps));
    const unsigned W = C::SIMD * elem<typename C::dt>::BITS;
    ALVEO_PROCESS("mmv_interleave", mmv_interleave<W, G::WINDOW_WORDS, C::MMV>(
                                        windows, out, reps * G::OH * G::OW / C::MMV));
    ALVEO_JOIN();
}

template <class C>
void dwc_sliced(hls::stream<ap_uint<C::IN_W> >& in, hls::stream<ap_uint<C::OUT_W> >& out,
                unsigned reps) {
    const unsigned IS = C::IN_W / C::SLICES, OS = C::OUT_W / C::SLICES;
    static_assert(C::IN_W % C::SLICES == 0 && C::OUT_W % C::SLICES == 0,
                  "dwc_sliced: widths must be multiples of SLICES");
    static_assert(C::FRAME_BITS % IS == 0 && C::FRAME_BITS % OS == 0,
                  "dwc_sliced: FRAME_BITS must be a multiple of both slice widths");
    const unsigned OUT_WORDS = C::FRAME_BITS / OS;
    for (unsigned rep = 0; rep < reps; rep++) {
        ap_uint<IS + OS> buf[C::SLICES];  // per slice: bits not emitted yet, oldest at the LSB
#pragma HLS ARRAY_PARTITION variable = buf complete dim = 1
        for (unsigned s = 0; s < C::SLICES; s++) {
#pragma HLS UNROLL
            buf[s] = 0;
        }
        unsigned have = 0;  // valid bits in each slice's buffer (the same for all)
        unsigned emitted = 0;
        // Each cycle reads a word when fewer than OS bits wait, and emits when it can.
        while (emitted < OUT_WORDS) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 65536
            if (have < OS) {
                const ap_uint<C::IN_W> word = in.read();
                for (unsigned s = 0; s < C::SLICES; s++) {
#pragma HLS UNROLL
                    buf[s] |= ap_uint<IS + OS>(word.range((s + 1) * IS - 1, s * IS)) << have;
                }
                have += IS;
            }
            if (have >= OS) {
                ap_uint<C::OUT_W> word = 0;
                for (unsigned s = 0; s < C::SLICES; s++) {
#pragma HLS UNROLL
                    word.range((s + 1) * OS - 1, s * OS) = buf[s].range(OS - 1, 0);
                    buf[s] >>= OS;
                }
                out.write(word);
                have -= OS;
                emitted++;
            }
        }
    }
}

}  // namespace alveo

#endif  // ALVEO_MMV_HPP
