// alveo_swg.hpp -- sliding-window generator (ConvolutionInputGenerator) with padding.
//
// Input : one image per rep, IH x IW pixels of CH channels, SIMD channels per word
//         (CF = CH/SIMD words per pixel), rows top to bottom, pixels left to right.
// Output: for every output pixel (oh, ow), row-major, its KH x KW x CH window:
//           DEPTHWISE = false: order (ky, kx, c), c innermost  -> feeds mvau (column order)
//           DEPTHWISE = true : order (cf, ky, kx, c-in-word)    -> feeds vvau / pooling, where a
//                              channel group must see all its kernel positions back to back.
//         Each word carries SIMD channels of one window position, so the word size is unchanged.
// Geometry: OH = (IH + PT + PB - KH) / SH + 1, OW = (IW + PL + PR - KW) / SW + 1. Window
// position (ky, kx) of output (oh, ow) reads input pixel (oh*SH - PT + ky, ow*SW - PL + kx);
// outside the image every lane is PAD_VALUE.
// A 1x1 window with stride S is the downsampler: it drops pixels and lines.
//
// Only KH input rows are kept (a circular line buffer of KH * IW * CF words); rows an output
// row does not need are read and discarded. Per output row the generator first reads the new
// rows it needs and then emits that row's windows (read and emit are not overlapped, which
// costs about SH*IW*CF cycles per output row on top of OW*KH*KW*CF).
//
// Config struct fields: IH, IW, CH, KH, KW, SH, SW, PT, PL, PB, PR, SIMD, dt (element type),
// PAD_VALUE (int), DEPTHWISE (bool).
#ifndef ALVEO_SWG_HPP
#define ALVEO_SWG_HPP

#include "alveo_common.hpp"

namespace alveo {

template <class C> struct swg_geom {
    static constexpr unsigned CF = C::CH / C::SIMD;
    static constexpr unsigned OH = (C::IH + C::PT + C::PB - C::KH) / C::SH + 1;
    static constexpr unsigned OW = (C::IW + C::PL + C::PR - C::KW) / C::SW + 1;
    static constexpr unsigned ROW_WORDS = C::IW * CF;
    static constexpr unsigned WINDOW_WORDS = C::KH * C::KW * CF;
    typedef ap_uint<C::SIMD * elem<typename C::dt>::BITS> word;
};

// A word whose every lane holds the padding value.
template <class C> typename swg_geom<C>::word pad_word() {
#pragma HLS INLINE
    typename swg_geom<C>::word w = 0;
    for (unsigned i = 0; i < C::SIMD; i++) {
#pragma HLS UNROLL
        set_lane<typename C::dt>(w, i, ap_int<64>(C::PAD_VALUE));
    }
    return w;
}

// Read input row `row` of the image into line-buffer slot `slot`.
template <class C>
void swg_read_row(hls::stream<typename swg_geom<C>::word>& in,
                  typename swg_geom<C>::word buf[C::KH][swg_geom<C>::ROW_WORDS], unsigned slot) {
#pragma HLS INLINE off
    for (unsigned i = 0; i < swg_geom<C>::ROW_WORDS; i++) {
#pragma HLS PIPELINE II = 1
        buf[slot][i] = in.read();
    }
}

// Step (ow, ky, kx, cf) to the next window word in output order.
template <class C>
inline void swg_advance(unsigned& ow, unsigned& ky, unsigned& kx, unsigned& cf) {
#pragma HLS INLINE
    const unsigned CF = swg_geom<C>::CF;
    const bool cf_last = cf == CF - 1, kx_last = kx == C::KW - 1, ky_last = ky == C::KH - 1;
    if (!C::DEPTHWISE) {  // (ky, kx, cf), cf innermost
        step<CF>(cf);
        if (cf_last) step<C::KW>(kx);
        if (cf_last && kx_last) step<C::KH>(ky);
        if (cf_last && kx_last && ky_last) ow++;
    } else {  // (cf, ky, kx), kx innermost
        step<C::KW>(kx);
        if (kx_last) step<C::KH>(ky);
        if (kx_last && ky_last) step<CF>(cf);
        if (kx_last && ky_last && cf_last) ow++;
    }
}

// Emit the windows of output row oh; the rows it needs sit in slots top_slot, top_slot+1, ...
template <class C>
void swg_emit_row(hls::stream<typename swg_geom<C>::word>& out,
                  const typename swg_geom<C>::word buf[C::KH][swg_geom<C>::ROW_WORDS], int top,
                  unsigned top_slot) {
#pragma HLS INLINE off
    typedef swg_geom<C> G;
    const typename G::word pad = pad_word<C>();
    // position counters instead of divisions: cf innermost, or (ky, kx) innermost if DEPTHWISE
    unsigned ow = 0, ky = 0, kx = 0, cf = 0;
    for (unsigned i = 0; i < G::OW * G::WINDOW_WORDS; i++) {
#pragma HLS PIPELINE II = 1
        const int r = top + int(ky);
        const int c = int(ow * C::SW) - int(C::PL) + int(kx);
        const bool inside = r >= 0 && r < int(C::IH) && c >= 0 && c < int(C::IW);
        unsigned slot = top_slot + ky;
        if (slot >= C::KH) slot -= C::KH;
        out.write(inside ? buf[slot][unsigned(c) * G::CF + cf] : pad);
        swg_advance<C>(ow, ky, kx, cf);
    }
}

template <class C>
void sliding_window(hls::stream<typename swg_geom<C>::word>& in,
                    hls::stream<typename swg_geom<C>::word>& out, unsigned reps) {
    typedef swg_geom<C> G;
    static_assert(C::CH % C::SIMD == 0, "sliding_window: CH must be a multiple of SIMD");
    static_assert(C::IH + C::PT + C::PB >= C::KH && C::IW + C::PL + C::PR >= C::KW,
                  "sliding_window: kernel larger than the padded image");
    static_assert(C::PT < C::KH && C::PL < C::KW, "sliding_window: padding must be < kernel");
    typename G::word buf[C::KH][G::ROW_WORDS];
#pragma HLS ARRAY_PARTITION variable = buf complete dim = 1
    for (unsigned rep = 0; rep < reps; rep++) {
        unsigned next_row = 0;   // next input row to read
        unsigned next_slot = 0;  // line-buffer slot it goes to (next_row mod KH)
        for (unsigned oh = 0; oh < G::OH; oh++) {
            const int top = int(oh * C::SH) - int(C::PT);
            const int want = top + int(C::KH) - 1 < int(C::IH) ? top + int(C::KH) - 1
                                                                : int(C::IH) - 1;
            while (int(next_row) <= want) {
                swg_read_row<C>(in, buf, next_slot);
                next_row++;
                next_slot = next_slot + 1 == C::KH ? 0 : next_slot + 1;
            }
            // slot of row `top` (rows live in slot row mod KH; top may be negative)
            const int m = top % int(C::KH);
            swg_emit_row<C>(out, buf, top, unsigned(m < 0 ? m + int(C::KH) : m));
        }
        for (; next_row < C::IH; next_row++) swg_read_row<C>(in, buf, 0);  // unused rows
    }
}

}  // namespace alveo

#endif  // ALVEO_SWG_HPP
