// alveo_common.hpp -- element types, lane packing and small arithmetic helpers shared by
// every alveoflow HLS component.
//
// Stream conventions (the same in the Python reference executor):
//  * Tensors are NHWC. A stream carries elements in (n, h, w, c) order, c innermost.
//  * A stream word is an ap_uint<LANES * B>; element i of a word lives at bits
//    [i*B, (i+1)*B): lane 0 at the LSB.
//  * An element type is named by a C++ type: ap_uint<B>, ap_int<B> or alveo::bipolar
//    (1 bit: bit 1 means +1, bit 0 means -1). elem<T> gives its width and how to turn the raw
//    lane bits into a value and back.
//  * "reps" arguments count repetitions of the unit the component's config describes
//    (one input vector for mvau, one pixel for thresholding, one image for sliding_window...).
#ifndef ALVEO_COMMON_HPP
#define ALVEO_COMMON_HPP

#ifndef AP_INT_MAX_W
#define AP_INT_MAX_W 4096  // wide stream words (e.g. 64 x 16-bit FC input) need > 1024 bits
#endif
#include <cassert>  // ap_private.h (C simulation, words > 64 bits) asserts without including it
#include "ap_int.h"
#include "hls_stream.h"

// Dataflow processes. Each call of a DATAFLOW region is written ALVEO_PROCESS(name, call);
// the region ends with ALVEO_JOIN(). Under Vitis HLS (and with any other hls_stream.h) they
// are the call itself and nothing. In C simulation with alveoflow's stream model
// (hw/hls/csim, used by cppsim) during an afsim::Run, the call starts a process, so the
// region's processes run concurrently over FIFOs of their declared depths, as in hardware,
// and ALVEO_JOIN() waits for them to return; outside a run the calls run one after another.
#if defined(__SYNTHESIS__) || !defined(AF_SIM_HPP)
#define ALVEO_PROCESS(name, ...) __VA_ARGS__
#define ALVEO_JOIN()
#else
#define ALVEO_PROCESS(name, ...) ::afsim::spawn(name, [&]() { __VA_ARGS__; })
#define ALVEO_JOIN() ::afsim::join()
#endif

namespace alveo {

// 1-bit bipolar element: bit 1 -> +1, bit 0 -> -1.
struct bipolar {};

// How a stream element is stored (BITS) and interpreted (decode/encode, MIN/MAX).
template <class T> struct elem;

template <int B> struct elem<ap_uint<B> > {
    static constexpr unsigned BITS = B;
    static constexpr bool SIGNED = false;
    static constexpr long long MIN = 0;
    static constexpr long long MAX = (1LL << B) - 1;
    typedef ap_uint<B> value_t;
    static value_t decode(const ap_uint<B>& bits) { return bits; }
    template <class V> static ap_uint<B> encode(const V& v) { return ap_uint<B>(v); }
};

template <int B> struct elem<ap_int<B> > {
    static constexpr unsigned BITS = B;
    static constexpr bool SIGNED = true;
    static constexpr long long MIN = -(1LL << (B - 1));
    static constexpr long long MAX = (1LL << (B - 1)) - 1;
    typedef ap_int<B> value_t;
    static value_t decode(const ap_uint<B>& bits) {
        value_t v;
        v.range(B - 1, 0) = bits;  // reinterpret the bits as two's complement
        return v;
    }
    template <class V> static ap_uint<B> encode(const V& v) {
        ap_int<B> t = v;  // wraps to B bits
        return ap_uint<B>(t.range(B - 1, 0));
    }
};

template <> struct elem<bipolar> {
    static constexpr unsigned BITS = 1;
    static constexpr bool SIGNED = true;
    static constexpr long long MIN = -1;
    static constexpr long long MAX = 1;
    typedef ap_int<2> value_t;
    static value_t decode(const ap_uint<1>& bits) { return bits ? value_t(1) : value_t(-1); }
    template <class V> static ap_uint<1> encode(const V& v) { return v > 0 ? 1 : 0; }
};

// Raw bits of lane i of a packed word (lane 0 at the LSB).
template <unsigned B, int W>
inline ap_uint<B> lane_bits(const ap_uint<W>& word, unsigned i) {
#pragma HLS INLINE
    return ap_uint<B>(word.range((i + 1) * B - 1, i * B));
}

// Decoded value of lane i of a word of T elements.
template <class T, int W>
inline typename elem<T>::value_t lane(const ap_uint<W>& word, unsigned i) {
#pragma HLS INLINE
    return elem<T>::decode(lane_bits<elem<T>::BITS>(word, i));
}

// Store value v, encoded as a T element, into lane i of word.
template <class T, int W, class V>
inline void set_lane(ap_uint<W>& word, unsigned i, const V& v) {
#pragma HLS INLINE
    const unsigned B = elem<T>::BITS;
    word.range((i + 1) * B - 1, i * B) = elem<T>::encode(v);
}

// Clamp v into the representable range of element type T.
template <class T, class V>
inline V saturate(const V& v) {
#pragma HLS INLINE
    const V lo = V(elem<T>::MIN);
    const V hi = V(elem<T>::MAX);
    return v < lo ? lo : (v > hi ? hi : v);
}

// Counter that wraps at N; used for flattened fold loops.
template <unsigned N>
inline void step(unsigned& counter) {
#pragma HLS INLINE
    counter = (counter == N - 1) ? 0u : counter + 1;
}

}  // namespace alveo

#endif  // ALVEO_COMMON_HPP
