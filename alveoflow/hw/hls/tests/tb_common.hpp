// tb_common.hpp -- helpers shared by the C++ testbenches: seeded random numbers, packing of
// plain integers into stream words (lane 0 at the LSB), first-mismatch reporting and the
// "stream fully drained" check.
#ifndef ALVEO_TB_COMMON_HPP
#define ALVEO_TB_COMMON_HPP

#include <cstdio>
#include <random>
#include <vector>

#include "alveo_common.hpp"

namespace tb {

typedef std::vector<long long> vec;

struct Rng {
    std::mt19937_64 gen;
    explicit Rng(unsigned long long seed) : gen(seed) {}
    long long between(long long lo, long long hi) {  // inclusive
        return std::uniform_int_distribution<long long>(lo, hi)(gen);
    }
};

// A random value of element type T (bipolar: -1 or +1).
template <class T> long long rand_elem(Rng& rng) {
    if (alveo::elem<T>::BITS == 1 && alveo::elem<T>::SIGNED) return rng.between(0, 1) ? 1 : -1;
    return rng.between(alveo::elem<T>::MIN, alveo::elem<T>::MAX);
}

template <class T> vec rand_vec(Rng& rng, size_t n) {
    vec v(n);
    for (size_t i = 0; i < n; i++) v[i] = rand_elem<T>(rng);
    return v;
}

// The value an element of type T actually holds after storing v (wraps to the width).
template <class T> long long wrap(long long v) {
    return alveo::elem<T>::decode(alveo::elem<T>::encode(ap_int<64>(v))).to_int64();
}

// Pack vals[first .. first+lanes) as T elements into one word.
template <class T, int W> ap_uint<W> pack(const vec& vals, size_t first, unsigned lanes) {
    ap_uint<W> word = 0;
    for (unsigned i = 0; i < lanes; i++) alveo::set_lane<T>(word, i, ap_int<64>(vals[first + i]));
    return word;
}

template <class T, int W> long long unpack(const ap_uint<W>& word, unsigned i) {
    return alveo::lane<T>(word, i).to_int64();
}

// Counts mismatches, prints the first one of each check.
struct Checker {
    const char* name;
    long errors = 0;
    explicit Checker(const char* n) : name(n) {}
    void eq(long long got, long long want, const char* what, long index) {
        if (got != want && errors++ == 0)
            std::printf("[%s] MISMATCH %s at %ld: got %lld, expected %lld\n", name, what, index,
                        got, want);
    }
    void ok(bool cond, const char* what) {
        if (!cond && errors++ == 0) std::printf("[%s] FAILED %s\n", name, what);
    }
    template <class S> void drained(S& s, const char* what) {
        if (!s.empty()) {
            if (errors++ == 0) std::printf("[%s] leftover words in stream %s\n", name, what);
        }
    }
    int report() const {
        std::printf("[%s] %s (%ld errors)\n", name, errors ? "FAIL" : "ok", errors);
        return errors ? 1 : 0;
    }
};

// Read exactly n words from s, flagging a read of an empty stream as an error.
template <class Word>
std::vector<Word> take(hls::stream<Word>& s, size_t n, Checker& chk, const char* what) {
    std::vector<Word> out;
    for (size_t i = 0; i < n; i++) {
        if (s.empty()) {
            chk.ok(false, what);
            return out;
        }
        out.push_back(s.read());
    }
    return out;
}

}  // namespace tb

#endif  // ALVEO_TB_COMMON_HPP
