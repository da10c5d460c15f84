// alveo_mac.hpp -- multiply styles and SIMD dot products used by mvau, vvau and fc_external.
//
// Multiply styles (config field MUL):
//  * mul_style::lut     -- products built from fabric LUTs (binary and small integers).
//                          bipolar x bipolar uses XNOR + popcount; bipolar weights with integer
//                          inputs become a conditional negate.
//  * mul_style::dsp     -- one DSP multiplier per product (e.g. int8 x uint8).
//  * mul_style::dsp_packed2 -- two unsigned <=8-bit activations of two MMV pixels share one DSP
//                          multiply with the same signed <=8-bit weight (see mul2_packed).
#ifndef ALVEO_MAC_HPP
#define ALVEO_MAC_HPP

#include "alveo_common.hpp"

namespace alveo {

enum class mul_style { lut, dsp, dsp_packed2 };

// One product w * x of decoded elements, bound to LUTs or to a DSP by STYLE. Bipolar weights
// turn the product into a conditional negate, which is what the LUTs implement.
template <class WT, class IT, mul_style STYLE> struct lane_mul {
    template <class A>
    static A apply(const ap_uint<elem<WT>::BITS>& w, const ap_uint<elem<IT>::BITS>& x) {
#pragma HLS INLINE
        A p = A(elem<WT>::decode(w)) * A(elem<IT>::decode(x));
#pragma HLS BIND_OP variable = p op = mul impl = fabric
        return p;
    }
};

template <class WT, class IT> struct lane_mul<WT, IT, mul_style::dsp> {
    template <class A>
    static A apply(const ap_uint<elem<WT>::BITS>& w, const ap_uint<elem<IT>::BITS>& x) {
#pragma HLS INLINE
        A p = A(elem<WT>::decode(w)) * A(elem<IT>::decode(x));
#pragma HLS BIND_OP variable = p op = mul impl = dsp
        return p;
    }
};

template <class IT, mul_style STYLE> struct lane_mul<bipolar, IT, STYLE> {
    template <class A>
    static A apply(const ap_uint<1>& w, const ap_uint<elem<IT>::BITS>& x) {
#pragma HLS INLINE
        const A v = A(elem<IT>::decode(x));
        return w ? v : A(-v);
    }
};

// (resolves the bipolar/dsp overlap of the two partial specialisations above)
template <class IT> struct lane_mul<bipolar, IT, mul_style::dsp>
    : lane_mul<bipolar, IT, mul_style::lut> {};

// Sum over SIMD lanes of W[i] * X[i], for words of packed weights and inputs.
template <unsigned SIMD, class WT, class IT, class A, mul_style STYLE> struct simd_dot {
    static A apply(const ap_uint<SIMD * elem<WT>::BITS>& w,
                   const ap_uint<SIMD * elem<IT>::BITS>& x) {
#pragma HLS INLINE
        A sum = 0;
        for (unsigned i = 0; i < SIMD; i++) {
#pragma HLS UNROLL
            sum += lane_mul<WT, IT, STYLE>::template apply<A>(lane_bits<elem<WT>::BITS>(w, i),
                                                              lane_bits<elem<IT>::BITS>(x, i));
        }
        return sum;
    }
};

// bipolar x bipolar: product is +1 where the bits agree, so sum = 2*popcount(xnor) - SIMD.
template <unsigned SIMD, class A, mul_style STYLE>
struct simd_dot<SIMD, bipolar, bipolar, A, STYLE> {
    static A apply(const ap_uint<SIMD>& w, const ap_uint<SIMD>& x) {
#pragma HLS INLINE
        const ap_uint<SIMD> agree = ~(w ^ x);
        ap_uint<32> ones = 0;
        for (unsigned i = 0; i < SIMD; i++) {
#pragma HLS UNROLL
            ones += agree[i];
        }
        return A(2 * int(ones)) - A(int(SIMD));
    }
};

// Two exact products w*a0 and w*a1 from a single multiply ("two 8-bit MACs per DSP").
//   packed = a0 + a1 * 2^18           (unsigned, 26 bits: fits the DSP48E2 27-bit port)
//   prod   = w * packed = w*a0 + (w*a1) * 2^18      (signed, 35 bits)
// |w*a0| <= 128*255 < 2^17, so the low 18 bits hold w*a0 as an 18-bit two's-complement value.
// When that value is negative it borrowed 1 from the upper field, so the sign-correction
// term adds bit 17 back: p1 = (prod >> 18) + prod[17].
inline void mul2_packed(const ap_int<8>& w, const ap_uint<8>& a0, const ap_uint<8>& a1,
                        ap_int<16>* p0, ap_int<16>* p1) {
#pragma HLS INLINE
    const ap_uint<26> packed = (ap_uint<26>(a1) << 18) | ap_uint<26>(a0);
    ap_int<36> prod = ap_int<36>(w) * ap_int<27>(packed);
#pragma HLS BIND_OP variable = prod op = mul impl = dsp
    ap_int<18> low;
    low.range(17, 0) = prod.range(17, 0);
    const ap_int<18> high = ap_int<18>(prod >> 18) + ap_int<18>(prod[17]);
    *p0 = low;
    *p1 = high;
}

}  // namespace alveo

#endif  // ALVEO_MAC_HPP
