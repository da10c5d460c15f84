// alveo_fc_external.hpp -- fully connected layer whose int8 weights live in external memory
// (DDR or PLRAM) and are re-read for every image (the ResNet-50 FC 2048 -> 1000).
//
// fc_external<C>(in, out, wmem, bias, reps):
//   in  : per image MW/SIMD words of SIMD idt elements (columns sf*SIMD.. in word sf)
//   out : per image MH words ap_uint<32>, each the raw two's-complement value
//         acc[r] = sum_c W[r][c] * x[c] + bias[r]   (acc_t arithmetic, e.g. ap_int<32>)
//   wmem: int8 weights W, shape (MH, MW) row-major, MEM_W/8 consecutive int8 per memory word,
//         byte i of a word at bits [8i, 8i+8): word r*SF + sf holds row r, columns
//         sf*SIMD .. sf*SIMD+SIMD-1 (SIMD = MEM_W/8 = 64 for 512-bit words, PE = 1).
//   bias: const ap_int<32> bias[MH] (on-chip).
//   reps = images.
// Config: MW, MH, MEM_W, idt, acc_t.
//
// In the kernel top the pointer is an AXI master, e.g.
//   #pragma HLS INTERFACE m_axi port=wmem offset=slave bundle=gmem2 max_read_burst_length=64
//   #pragma HLS INTERFACE s_axilite port=wmem bundle=control
// The weight reads are sequential within an image, so they infer long bursts.
#ifndef ALVEO_FC_EXTERNAL_HPP
#define ALVEO_FC_EXTERNAL_HPP

#include "alveo_mac.hpp"

namespace alveo {

template <class C> struct fc_types {
    static constexpr unsigned SIMD = C::MEM_W / 8;
    static constexpr unsigned SF = C::MW / SIMD;
    typedef ap_uint<SIMD * elem<typename C::idt>::BITS> in_word;
};

template <class C>
void fc_external(hls::stream<typename fc_types<C>::in_word>& in, hls::stream<ap_uint<32> >& out,
                 const ap_uint<C::MEM_W>* wmem, const ap_int<32> bias[C::MH], unsigned reps) {
    typedef fc_types<C> T;
    typedef typename C::acc_t A;
    static_assert(C::MEM_W % 8 == 0, "fc_external: MEM_W must hold whole bytes");
    static_assert(C::MW % T::SIMD == 0, "fc_external: MW must be a multiple of MEM_W/8");
    typename T::in_word xbuf[T::SF];
    for (unsigned rep = 0; rep < reps; rep++) {
        for (unsigned sf = 0; sf < T::SF; sf++) {
#pragma HLS PIPELINE II = 1
            xbuf[sf] = in.read();
        }
        A acc = 0;
        unsigned sf = 0, r = 0;
        for (unsigned i = 0; i < C::MH * T::SF; i++) {
#pragma HLS PIPELINE II = 1
            const ap_uint<C::MEM_W> w = wmem[i];  // sequential: one burst per image
            const A dot = simd_dot<T::SIMD, ap_int<8>, typename C::idt, A, mul_style::dsp>::apply(
                w, xbuf[sf]);
            acc = (sf == 0 ? A(0) : acc) + dot;
            if (sf == T::SF - 1) {
                const A y = acc + A(bias[r]);
                out.write(ap_uint<32>(ap_int<32>(y).range(31, 0)));
                r++;
            }
            step<T::SF>(sf);
        }
    }
}

}  // namespace alveo

#endif  // ALVEO_FC_EXTERNAL_HPP
