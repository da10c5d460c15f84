// af_glue.hpp -- plumbing shared by the code alveoflow generates (copied verbatim into every
// build directory next to the alveo*.hpp library; not generated, not per network).
//
// 1. Parameter ROMs. A generated *_params.h holds every weight/threshold array ONCE, as
//      AF_ROM_HEX(name, word type, dims, "0x..", "0x..", ...)   packed words, hex strings
//      AF_ROM_INT(name, elem type, dims, -3, 7, ...)             scalars (thresholds, bias)
//    and code reads the array as AF_GET(name). Under Vitis HLS (__SYNTHESIS__) that is a
//    `static const T name dims = {...}` array: on-chip ROM, like hand-written headers. Under
//    g++ (C simulation) the same literals fill a plain table that compiles quickly, converted
//    to the typed array once, on first use (a 10^5-entry array of ap_uint objects would be
//    dynamically initialised and takes g++ minutes to compile).
// 2. mmv_pack / mmv_unpack: between per-pixel streams and the MMV-interleaved words of an
//    MVAU with MMV > 1 (word sf of a group holds columns sf*SIMD.. of pixel m in slice m).
// 3. lane_convert: re-type every lane of a word (storage bytes <-> B-bit elements at the DMA).
// 4. forward: copy a stream (a process of its own in a DATAFLOW region).
// 5. (C simulation only) memory <-> byte helpers and stream taps used by the cppsim harness.
#ifndef AF_GLUE_HPP
#define AF_GLUE_HPP

#include "alveo.hpp"

#ifdef __SYNTHESIS__
#define AF_ROM_HEX(name, T, dims, ...) static const T name##_rom dims = {__VA_ARGS__};
#define AF_ROM_INT(name, T, dims, ...) static const T name##_rom dims = {__VA_ARGS__};
#define AF_GET(name) name##_rom
#else
#include <cstddef>
#include <cstring>
#include <vector>

namespace af {

inline unsigned hex_digit(char c) {
    if (c >= '0' && c <= '9') return unsigned(c - '0');
    if (c >= 'a' && c <= 'f') return unsigned(c - 'a' + 10);
    return unsigned(c - 'A' + 10);
}

// Set the raw bits of v (ap_uint<W> or ap_int<W>) from a "0x..." hex string.
template <class V> void set_hex(V& v, const char* s) {
    const int W = V::width;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
    const int n = int(std::strlen(s));
    v = 0;
    for (int lo = 0; lo < W; lo += 64) {  // 16 digits (one 64-bit limb) at a time
        unsigned long long limb = 0;
        for (int d = 15; d >= 0; d--) {
            const int pos = n - 1 - (lo / 4 + d);
            limb = (limb << 4) | (pos >= 0 ? hex_digit(s[pos]) : 0u);
        }
        const int hi = lo + 63 < W - 1 ? lo + 63 : W - 1;
        v.range(hi, lo) = limb;
    }
}

// Pointer to the first element of a (multi-dimensional) array of T.
template <class T, class A> T* first(A& a) { return reinterpret_cast<T*>(&a); }

template <class T, class A> bool fill_hex(A& a, const char* const* src, size_t n) {
    T* dst = first<T>(a);
    for (size_t i = 0; i < n; i++) set_hex(dst[i], src[i]);
    return true;
}

template <class T, class A> bool fill_int(A& a, const long long* src, size_t n) {
    T* dst = first<T>(a);
    for (size_t i = 0; i < n; i++) dst[i] = src[i];
    return true;
}

}  // namespace af

#define AF_ROM_HEX(name, T, dims, ...)                                                        \
    static const char* const name##_src dims = {__VA_ARGS__};                                 \
    typedef T name##_type dims;                                                               \
    static const name##_type& name##_get() {                                                  \
        static name##_type table;                                                             \
        static const bool done = af::fill_hex<T>(table, (const char* const*)&name##_src,     \
                                                 sizeof(name##_src) / sizeof(const char*));   \
        (void)done;                                                                           \
        return table;                                                                         \
    }
#define AF_ROM_INT(name, T, dims, ...)                                                        \
    static const long long name##_src dims = {__VA_ARGS__};                                   \
    typedef T name##_type dims;                                                               \
    static const name##_type& name##_get() {                                                  \
        static name##_type table;                                                             \
        static const bool done = af::fill_int<T>(table, (const long long*)&name##_src,       \
                                                 sizeof(name##_src) / sizeof(long long));     \
        (void)done;                                                                           \
        return table;                                                                         \
    }
#define AF_GET(name) name##_get()
#endif  // __SYNTHESIS__

namespace af {

// MMV consecutive per-pixel vectors (SF words of SIMD_BITS each) -> SF interleaved words of
// MMV*SIMD_BITS (pixel m in slice m). groups = vectors / MMV.
template <unsigned SIMD_BITS, unsigned SF, unsigned MMV>
void mmv_pack(hls::stream<ap_uint<SIMD_BITS> >& in, hls::stream<ap_uint<MMV * SIMD_BITS> >& out,
              unsigned groups) {
    ap_uint<SIMD_BITS> buf[MMV][SF];
    for (unsigned g = 0; g < groups; g++) {
        for (unsigned m = 0; m < MMV; m++)
            for (unsigned sf = 0; sf < SF; sf++) {
#pragma HLS PIPELINE II = 1
                buf[m][sf] = in.read();
            }
        for (unsigned sf = 0; sf < SF; sf++) {
#pragma HLS PIPELINE II = 1
            ap_uint<MMV * SIMD_BITS> w = 0;
            for (unsigned m = 0; m < MMV; m++) {
#pragma HLS UNROLL
                w.range((m + 1) * SIMD_BITS - 1, m * SIMD_BITS) = buf[m][sf];
            }
            out.write(w);
        }
    }
}

// NF interleaved output words of MMV*PE_BITS -> MMV per-pixel vectors of NF words each.
template <unsigned PE_BITS, unsigned NF, unsigned MMV>
void mmv_unpack(hls::stream<ap_uint<MMV * PE_BITS> >& in, hls::stream<ap_uint<PE_BITS> >& out,
                unsigned groups) {
    ap_uint<MMV * PE_BITS> buf[NF];
    for (unsigned g = 0; g < groups; g++) {
        for (unsigned nf = 0; nf < NF; nf++) {
#pragma HLS PIPELINE II = 1
            buf[nf] = in.read();
        }
        for (unsigned m = 0; m < MMV; m++)
            for (unsigned nf = 0; nf < NF; nf++) {
#pragma HLS PIPELINE II = 1
                out.write(ap_uint<PE_BITS>(buf[nf].range((m + 1) * PE_BITS - 1, m * PE_BITS)));
            }
    }
}

// Pads one image with per-channel values (e.g. the mean pixel): IH x IW pixels of CF words in,
// (PT+IH+PB) x (PL+IW+PR) pixels out; a padded pixel is the CF words pad[0..CF-1].
template <unsigned IH, unsigned IW, unsigned CF, unsigned PT, unsigned PL, unsigned PB,
          unsigned PR, int W>
void pad_image(hls::stream<ap_uint<W> >& in, hls::stream<ap_uint<W> >& out,
               const ap_uint<W> pad[CF]) {
    for (unsigned r = 0; r < PT + IH + PB; r++)
        for (unsigned c = 0; c < PL + IW + PR; c++)
            for (unsigned cf = 0; cf < CF; cf++) {
#pragma HLS PIPELINE II = 1
                const bool inside = r >= PT && r < PT + IH && c >= PL && c < PL + IW;
                out.write(inside ? in.read() : pad[cf]);
            }
}

// Every lane of a word decoded as FROM and re-encoded as TO (values must fit TO).
template <class FROM, class TO, unsigned LANES>
void lane_convert(hls::stream<ap_uint<LANES * alveo::elem<FROM>::BITS> >& in,
                  hls::stream<ap_uint<LANES * alveo::elem<TO>::BITS> >& out, unsigned words) {
    for (unsigned i = 0; i < words; i++) {
#pragma HLS PIPELINE II = 1
        const ap_uint<LANES * alveo::elem<FROM>::BITS> x = in.read();
        ap_uint<LANES * alveo::elem<TO>::BITS> y = 0;
        for (unsigned l = 0; l < LANES; l++) {
#pragma HLS UNROLL
            alveo::set_lane<TO>(y, l, ap_int<65>(alveo::lane<FROM>(x, l)));
        }
        out.write(y);
    }
}

// Copies `words` words of in to out.
template <int W> void forward(hls::stream<ap_uint<W> >& in, hls::stream<ap_uint<W> >& out,
                              unsigned words) {
    for (unsigned i = 0; i < words; i++) {
#pragma HLS PIPELINE II = 1
        out.write(in.read());
    }
}

#ifndef __SYNTHESIS__
// ---- C simulation helpers (cppsim harness) ----

// Bytes -> memory words (byte i of a word at bits [8i, 8i+8)).
template <int W>
std::vector<ap_uint<W> > bytes_to_words(const unsigned char* src, size_t nbytes) {
    const size_t per = W / 8;
    std::vector<ap_uint<W> > out((nbytes + per - 1) / per);
    size_t i = 0;
    if (W % 64 == 0) {  // whole 64-bit limbs at a time (little-endian bytes)
        for (; i + per <= nbytes; i += per)
            for (size_t l = 0; l < per / 8; l++) {
                unsigned long long limb = 0;
                for (int b = 7; b >= 0; b--) limb = (limb << 8) | src[i + 8 * l + b];
                out[i / per].range(64 * l + 63, 64 * l) = limb;
            }
    }
    for (; i < nbytes; i++) out[i / per].range(8 * (i % per) + 7, 8 * (i % per)) = src[i];
    return out;
}

template <int W>
void words_to_bytes(const std::vector<ap_uint<W> >& src, unsigned char* dst, size_t nbytes) {
    const size_t per = W / 8;
    for (size_t i = 0; i < nbytes; i++)
        dst[i] = (unsigned char)src[i / per].range(8 * (i % per) + 7, 8 * (i % per)).to_uint();
}

// Decode every word written to s from now on (elements of type T, LANES per word) into
// int64 values at dst, at most `count` of them; *seen counts the values the stream carried.
template <class T, unsigned LANES, int W>
void tap_into(hls::stream<ap_uint<W> >& s, long long* dst, size_t count, size_t* seen) {
    s.on_write([dst, count, seen](const ap_uint<W>& word) {
        for (unsigned l = 0; l < LANES; l++, (*seen)++)
            if (dst && *seen < count)
                dst[*seen] = (long long)ap_int<65>(alveo::lane<T>(word, l)).to_int64();
    });
}
#endif

}  // namespace af

#endif  // AF_GLUE_HPP
