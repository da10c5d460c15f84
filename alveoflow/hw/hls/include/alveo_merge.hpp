// alveo_merge.hpp -- stream ops of U-Net, squeeze-and-excitation and residual networks:
// channel concatenation, nearest-neighbour upsampling, per-channel gating and per-channel
// integer gains.
//
// concat_streams<C>(a, b, out, reps): for every pixel, the CA elements of a then the CB
//   elements of b, re-encoded as odt (values unchanged: odt holds adt and bdt). PE lanes per
//   word on all three streams (PE divides CA and CB); reps = pixels.
//   Config: CA, CB, PE, adt, bdt, odt.
// upsample<C>(in, out, reps): nearest-neighbour upsampling of an H x W x CH image by integer
//   factors FY, FX: out[y][x][c] = in[y / FY][x / FX][c]. Each input row is buffered once and
//   written FY times, each of its pixels FX times. PE lanes per word; reps = images.
//   Config: H, W, CH, PE, FY, FX, dt.
// channel_mul<C>(x, g, out, reps): out[p][c] = x[p][c] * g[c] for the PIXELS pixels of an
//   image, where g (CH elements of gdt, PE lanes per word) is read first, once per image.
//   odt holds every product (no saturation). reps = images.
//   Config: CH, PE, PIXELS, idt, gdt, odt.
// scale_stream<C>(in, out, factors, reps): out[c] = x[c] * factors[c] with a constant positive
//   integer per channel (puts one operand of a residual add on the other's scale). Factor
//   memory factors[PE][CH / PE] (channel cf*PE + pe at [pe][cf], like thresholds); odt holds
//   every product. PE lanes per word; reps = pixels.
//   Config: CH, PE, idt, fdt (factor type), odt.
#ifndef ALVEO_MERGE_HPP
#define ALVEO_MERGE_HPP

#include "alveo_common.hpp"

namespace alveo {

template <class C>
void concat_streams(hls::stream<ap_uint<C::PE * elem<typename C::adt>::BITS> >& a,
                    hls::stream<ap_uint<C::PE * elem<typename C::bdt>::BITS> >& b,
                    hls::stream<ap_uint<C::PE * elem<typename C::odt>::BITS> >& out,
                    unsigned reps) {
    static_assert(C::CA % C::PE == 0 && C::CB % C::PE == 0,
                  "concat_streams: PE must divide CA and CB");
    const unsigned WA = C::CA / C::PE, WORDS = (C::CA + C::CB) / C::PE;
    for (unsigned i = 0; i < reps * WORDS; i++) {
#pragma HLS PIPELINE II = 1
        const unsigned k = i % WORDS;
        ap_uint<C::PE * elem<typename C::odt>::BITS> z = 0;
        if (k < WA) {
            const ap_uint<C::PE * elem<typename C::adt>::BITS> w = a.read();
            for (unsigned pe = 0; pe < C::PE; pe++) {
#pragma HLS UNROLL
                set_lane<typename C::odt>(z, pe, lane<typename C::adt>(w, pe));
            }
        } else {
            const ap_uint<C::PE * elem<typename C::bdt>::BITS> w = b.read();
            for (unsigned pe = 0; pe < C::PE; pe++) {
#pragma HLS UNROLL
                set_lane<typename C::odt>(z, pe, lane<typename C::bdt>(w, pe));
            }
        }
        out.write(z);
    }
}

template <class C>
void upsample(hls::stream<ap_uint<C::PE * elem<typename C::dt>::BITS> >& in,
              hls::stream<ap_uint<C::PE * elem<typename C::dt>::BITS> >& out, unsigned reps) {
    static_assert(C::CH % C::PE == 0, "upsample: PE must divide CH");
    const unsigned WPP = C::CH / C::PE;  // words per pixel
    ap_uint<C::PE * elem<typename C::dt>::BITS> row[C::W * (C::CH / C::PE)];
    for (unsigned rep = 0; rep < reps; rep++) {
        for (unsigned y = 0; y < C::H; y++) {
            for (unsigned k = 0; k < C::W * WPP; k++) {
#pragma HLS PIPELINE II = 1
                row[k] = in.read();
            }
            for (unsigned i = 0; i < C::FY * C::W * C::FX * WPP; i++) {
#pragma HLS PIPELINE II = 1
                const unsigned word = i % WPP;
                const unsigned x = (i / WPP) % (C::W * C::FX) / C::FX;
                out.write(row[x * WPP + word]);
            }
        }
    }
}

template <class C>
void channel_mul(hls::stream<ap_uint<C::PE * elem<typename C::idt>::BITS> >& x,
                 hls::stream<ap_uint<C::PE * elem<typename C::gdt>::BITS> >& g,
                 hls::stream<ap_uint<C::PE * elem<typename C::odt>::BITS> >& out,
                 unsigned reps) {
    static_assert(C::CH % C::PE == 0, "channel_mul: PE must divide CH");
    const unsigned WPP = C::CH / C::PE;
    ap_uint<C::PE * elem<typename C::gdt>::BITS> gate[C::CH / C::PE];
    for (unsigned rep = 0; rep < reps; rep++) {
        for (unsigned k = 0; k < WPP; k++) {
#pragma HLS PIPELINE II = 1
            gate[k] = g.read();
        }
        for (unsigned i = 0; i < C::PIXELS * WPP; i++) {
#pragma HLS PIPELINE II = 1
            const ap_uint<C::PE * elem<typename C::idt>::BITS> w = x.read();
            const ap_uint<C::PE * elem<typename C::gdt>::BITS> gw = gate[i % WPP];
            ap_uint<C::PE * elem<typename C::odt>::BITS> z = 0;
            for (unsigned pe = 0; pe < C::PE; pe++) {
#pragma HLS UNROLL
                const ap_int<48> prod = ap_int<48>(lane<typename C::idt>(w, pe)) *
                                        ap_int<48>(lane<typename C::gdt>(gw, pe));
                set_lane<typename C::odt>(z, pe, prod);
            }
            out.write(z);
        }
    }
}

template <class C>
void scale_stream(hls::stream<ap_uint<C::PE * elem<typename C::idt>::BITS> >& in,
                  hls::stream<ap_uint<C::PE * elem<typename C::odt>::BITS> >& out,
                  const typename C::fdt factors[C::PE][C::CH / C::PE], unsigned reps) {
    static_assert(C::CH % C::PE == 0, "scale_stream: PE must divide CH");
#pragma HLS ARRAY_PARTITION variable = factors complete dim = 1
    unsigned cf = 0;
    for (unsigned i = 0; i < reps * (C::CH / C::PE); i++) {
#pragma HLS PIPELINE II = 1
        const ap_uint<C::PE * elem<typename C::idt>::BITS> w = in.read();
        ap_uint<C::PE * elem<typename C::odt>::BITS> z = 0;
        for (unsigned pe = 0; pe < C::PE; pe++) {
#pragma HLS UNROLL
            const ap_int<48> prod = ap_int<48>(lane<typename C::idt>(w, pe)) *
                                    ap_int<48>(factors[pe][cf]);
            set_lane<typename C::odt>(z, pe, prod);
        }
        out.write(z);
        step<C::CH / C::PE>(cf);
    }
}

}  // namespace alveo

#endif  // ALVEO_MERGE_HPP
