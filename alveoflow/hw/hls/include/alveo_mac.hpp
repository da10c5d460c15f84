// alveo_mac.hpp -- multiply styles and SIMD dot products used by mvau, vvau and fc_external.
//
// Multiply styles (config field MUL):
//  * mul_style::lut     -- products built from fabric LUTs (binary and small integers).
//                          bipolar x bipolar uses XNOR + popcount; bipolar weights with integer
//                          inputs become a conditional negate.
//  * mul_style::dsp     -- one DSP multiplier per product (e.g. int8 x uint8).
//  * mul_style::dsp_packed2 -- two unsigned <=8-bit activations of two MMV pixels share one DSP
//                          multiply with the same signed <=8-bit weight (see mul2_packed).
//  * mul_style::masked_sum -- bipolar weights only: sum_i w_i*x_i = 2*sum_{w_i=+1} x_i - sum_i x_i.
//                          Each lane ANDs its weight bit with x_i (no negation, operands as
//                          wide as x); the column sum sum_i x_i does not depend on the weights,
//                          so an MVAU computes it once per input word and shares it between
//                          all PE rows (alveo_mvau.hpp). Bit-exact with lut. Where a component
//                          has no shared path (vvau), it falls back to the lut arithmetic.
#ifndef ALVEO_MAC_HPP
#define ALVEO_MAC_HPP

#include <type_traits>

#include "alveo_common.hpp"

namespace alveo {

enum class mul_style { lut, dsp, dsp_packed2, masked_sum };

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

// ---- masked_sum: sums of SIMD inputs and of the inputs whose bipolar weight is +1 ----

// Number of bits of the unsigned value V (bit_length; 0 for V = 0).
template <unsigned long long V> struct bit_length {
    static constexpr unsigned value = 1 + bit_length<V / 2>::value;
};
template <> struct bit_length<0> { static constexpr unsigned value = 0; };

// Widths of the masked and column sums of SIMD inputs of type IT (signed when IT is).
template <unsigned SIMD, class IT> struct masked_types {
    static constexpr unsigned long long MAG =
        (unsigned long long)(elem<IT>::MAX > -elem<IT>::MIN ? elem<IT>::MAX : -elem<IT>::MIN);
    static constexpr unsigned SUM_BITS = bit_length<SIMD * MAG>::value + 1;  // + sign
    typedef ap_int<SUM_BITS> sum_t;        // sum_i x_i or sum_{w_i=+1} x_i
    typedef ap_int<SUM_BITS + 2> dot_t;    // 2 * masked - column (|.| <= SIMD * MAG)
};

// sum_i x_i over the SIMD lanes of one input word (shared by every PE row).
template <unsigned SIMD, class IT>
typename masked_types<SIMD, IT>::sum_t simd_column_sum(const ap_uint<SIMD * elem<IT>::BITS>& x) {
#pragma HLS INLINE
    typename masked_types<SIMD, IT>::sum_t s = 0;
    for (unsigned i = 0; i < SIMD; i++) {
#pragma HLS UNROLL
        s += lane<IT>(x, i);
    }
    return s;
}

// sum_{i: w_i = +1} x_i: each lane is x_i AND its weight bit (bipolar: bit 1 = +1).
template <unsigned SIMD, class IT>
typename masked_types<SIMD, IT>::sum_t simd_masked_sum(const ap_uint<SIMD>& w,
                                                  const ap_uint<SIMD * elem<IT>::BITS>& x) {
#pragma HLS INLINE
    typename masked_types<SIMD, IT>::sum_t s = 0;
    for (unsigned i = 0; i < SIMD; i++) {
#pragma HLS UNROLL
        const typename elem<IT>::value_t v = lane<IT>(x, i);
        s += w[i] ? v : typename elem<IT>::value_t(0);
    }
    return s;
}

// The dot product from a masked sum and a (shared) column sum: 2 * masked - column.
template <unsigned SIMD, class IT, class A>
A masked_dot(const ap_uint<SIMD>& w, const ap_uint<SIMD * elem<IT>::BITS>& x,
             const typename masked_types<SIMD, IT>::sum_t& column) {
#pragma HLS INLINE
    typedef typename masked_types<SIMD, IT>::dot_t D;
    return A(D(2) * D(simd_masked_sum<SIMD, IT>(w, x)) - D(column));
}

// masked_sum used on its own (no sharing): computes its own column sum.
template <unsigned SIMD, class WT, class IT, class A>
struct simd_dot<SIMD, WT, IT, A, mul_style::masked_sum> {
    static_assert(std::is_same<WT, bipolar>::value, "mul_style::masked_sum needs bipolar weights");
};
template <unsigned SIMD, class IT, class A>
struct simd_dot<SIMD, bipolar, IT, A, mul_style::masked_sum> {
    static A apply(const ap_uint<SIMD>& w, const ap_uint<SIMD * elem<IT>::BITS>& x) {
#pragma HLS INLINE
        return masked_dot<SIMD, IT, A>(w, x, simd_column_sum<SIMD, IT>(x));
    }
};
// bipolar x bipolar keeps XNOR-popcount (resolves the overlap with the specialisation above).
template <unsigned SIMD, class A>
struct simd_dot<SIMD, bipolar, bipolar, A, mul_style::masked_sum>
    : simd_dot<SIMD, bipolar, bipolar, A, mul_style::lut> {};

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
