// tb_mvau.cpp -- alveo::mvau / mvau_bias / mvau_raw against a naive matrix-vector product.
// Covers several foldings (PE=MH, SIMD=MW, PE=1, SIMD=1, in between), bipolar x bipolar
// (XNOR-popcount), bipolar x uint, int8 x uint8 on DSPs, signed inputs, MMV=2 and 4, the
// dsp_packed2 style, thresholds and raw outputs with and without bias, and the masked_sum style
// (bipolar weights x 1/2/4-bit unsigned and signed inputs; 2*masked - shared column sum).
#include <algorithm>

#include "alveo_mvau.hpp"
#include "tb_common.hpp"

using alveo::bipolar;
using alveo::mul_style;
using tb::vec;

enum Mode { THR, BIAS, RAW };

template <unsigned MW_, unsigned MH_, unsigned SIMD_, unsigned PE_, unsigned MMV_, class I, class W,
          class O, class A, mul_style S, unsigned NT_ = 3, int OFF = 0>
struct Cfg {
    static constexpr unsigned MW = MW_, MH = MH_, SIMD = SIMD_, PE = PE_, MMV = MMV_, NT = NT_;
    static constexpr int OUT_OFFSET = OFF;
    static constexpr mul_style MUL = S;
    typedef I idt;
    typedef W wdt;
    typedef O odt;
    typedef A acc_t;
    typedef A tdt;
    typedef ap_int<20> bdt;
};

// A config written the way the code generator emits one.
struct cfg_layer3_2_conv2 {
    static constexpr unsigned MW = 72, MH = 8, SIMD = 8, PE = 4, MMV = 1, NT = 3;
    static constexpr int OUT_OFFSET = 0;
    static constexpr alveo::mul_style MUL = alveo::mul_style::lut;
    using idt = ap_uint<2>;
    using wdt = alveo::bipolar;
    using odt = ap_uint<2>;
    using acc_t = ap_int<16>;
    using tdt = ap_int<16>;
};

template <class C, Mode M> struct Invoke;
template <class C> struct Invoke<C, THR> {
    template <class I, class O, class Wt, class T, class B>
    static void run(I& in, O& out, Wt w, T thr, B, unsigned reps) {
        alveo::mvau<C>(in, out, w, thr, reps);
    }
};
template <class C> struct Invoke<C, BIAS> {
    template <class I, class O, class Wt, class T, class B>
    static void run(I& in, O& out, Wt w, T, B bias, unsigned reps) {
        alveo::mvau_bias<C>(in, out, w, bias, reps);
    }
};
template <class C> struct Invoke<C, RAW> {
    template <class I, class O, class Wt, class T, class B>
    static void run(I& in, O& out, Wt w, T, B, unsigned reps) {
        alveo::mvau_raw<C>(in, out, w, reps);
    }
};

// bias type used by the testbench (codegen-style configs without a bdt field included)
template <class C> struct Bdt { typedef ap_int<20> type; };

template <class C, Mode M>
int run(const char* name, unsigned long long seed, unsigned vecs) {
    typedef alveo::mvau_types<C> T;
    typedef typename C::idt IT;
    typedef typename C::wdt WT;
    typedef typename C::odt OT;
    typedef typename Bdt<C>::type BT;
    const unsigned MW = C::MW, MH = C::MH, PE = C::PE, SIMD = C::SIMD, MMV = C::MMV;
    const unsigned NF = T::NF, SF = T::SF, NT = C::NT;
    tb::Rng rng(seed);
    tb::Checker chk(name);

    const vec W = tb::rand_vec<WT>(rng, MH * MW), X = tb::rand_vec<IT>(rng, vecs * MW);
    vec acc(vecs * MH, 0);
    for (unsigned v = 0; v < vecs; v++)
        for (unsigned r = 0; r < MH; r++)
            for (unsigned c = 0; c < MW; c++) acc[v * MH + r] += W[r * MW + c] * X[v * MW + c];
    const long long lo = *std::min_element(acc.begin(), acc.end()) - 2;
    const long long hi = *std::max_element(acc.begin(), acc.end()) + 2;

    // Parameters in the documented memory layouts.
    typename T::w_word(*wmem)[NF * SF] = new typename T::w_word[PE][NF * SF];
    typename C::tdt(*thr)[NF][NT] = new typename C::tdt[PE][NF][NT];
    BT(*bias)[NF] = new BT[PE][NF];
    vec TH(MH * NT), BI(MH);
    for (unsigned r = 0; r < MH; r++) {
        vec t(NT);
        for (unsigned j = 0; j < NT; j++) t[j] = rng.between(lo, hi);
        std::sort(t.begin(), t.end());
        for (unsigned j = 0; j < NT; j++) TH[r * NT + j] = thr[r % PE][r / PE][j] = t[j];
        BI[r] = bias[r % PE][r / PE] = rng.between(-1000, 1000);
    }
    for (unsigned pe = 0; pe < PE; pe++)
        for (unsigned nf = 0; nf < NF; nf++)
            for (unsigned sf = 0; sf < SF; sf++)
                wmem[pe][nf * SF + sf] = tb::pack<WT, SIMD * T::WB>(
                    W, (nf * PE + pe) * MW + sf * SIMD, SIMD);

    vec want(vecs * MH);
    for (unsigned i = 0; i < vecs * MH; i++) {
        long long v = acc[i];
        if (M == THR) {
            long long n = 0;
            for (unsigned j = 0; j < NT; j++) n += TH[(i % MH) * NT + j] <= acc[i];
            v = n + C::OUT_OFFSET;
        } else if (M == BIAS) {
            v += BI[i % MH];
        }
        want[i] = tb::wrap<OT>(v);
    }

    hls::stream<typename T::in_word> in("in");
    hls::stream<typename T::out_word> out("out");
    for (unsigned g = 0; g < vecs / MMV; g++)
        for (unsigned sf = 0; sf < SF; sf++) {
            typename T::in_word word = 0;
            for (unsigned m = 0; m < MMV; m++)
                for (unsigned i = 0; i < SIMD; i++)
                    alveo::set_lane<IT>(word, m * SIMD + i,
                                        ap_int<64>(X[(g * MMV + m) * MW + sf * SIMD + i]));
            in.write(word);
        }
    Invoke<C, M>::run(in, out, wmem, thr, bias, vecs);

    const auto words = tb::take(out, vecs / MMV * NF, chk, "output too short");
    for (size_t k = 0; k < words.size(); k++) {
        const unsigned g = k / NF, nf = k % NF;
        for (unsigned m = 0; m < MMV; m++)
            for (unsigned pe = 0; pe < PE; pe++) {
                const unsigned idx = (g * MMV + m) * MH + nf * PE + pe;
                chk.eq(tb::unpack<OT>(words[k], m * PE + pe), want[idx], "output", idx);
            }
    }
    chk.drained(in, "in");
    chk.drained(out, "out");
    delete[] wmem;
    delete[] thr;
    delete[] bias;
    return chk.report();
}

typedef ap_uint<2> u2;
typedef ap_uint<8> u8;
typedef ap_int<8> s8;
typedef ap_int<16> a16;
typedef ap_int<32> a32;
const mul_style LUT = mul_style::lut, DSP = mul_style::dsp, PK2 = mul_style::dsp_packed2;
const mul_style MSK = mul_style::masked_sum;
typedef ap_uint<1> u1;
typedef ap_uint<4> u4;
typedef ap_int<11> a11;  // exactly wide enough for 36 x 15: 2*masked must not overflow into it

// The layer3_2 config above with the masked-sum datapath.
struct cfg_layer3_2_conv2_masked : cfg_layer3_2_conv2 {
    static constexpr alveo::mul_style MUL = alveo::mul_style::masked_sum;
};

int masked_sum_cases() {
    int fails = 0;
    // 2-bit inputs (w1a2), foldings of a 36 x 16 matrix, thresholds.
    fails += run<Cfg<36, 16, 36, 16, 1, u2, bipolar, u2, a16, MSK>, THR>("msk a2 full", 21, 5);
    fails += run<Cfg<36, 16, 1, 1, 1, u2, bipolar, u2, a16, MSK>, THR>("msk a2 pe1 simd1", 22, 5);
    fails += run<Cfg<36, 16, 12, 16, 1, u2, bipolar, u2, a16, MSK>, THR>("msk a2 pe=mh", 23, 5);
    fails += run<Cfg<36, 16, 36, 1, 1, u2, bipolar, u2, a16, MSK>, THR>("msk a2 simd=mw", 24, 5);
    fails += run<Cfg<36, 16, 4, 2, 1, u2, bipolar, u2, a16, MSK>, THR>("msk a2 pe2 simd4", 25, 5);
    fails += run<Cfg<36, 16, 9, 4, 2, u2, bipolar, u4, a16, MSK, 15>, THR>("msk a2 mmv2", 26, 6);
    fails += run<cfg_layer3_2_conv2_masked, THR>("msk codegen-style cfg", 27, 4);
    // 1-bit unsigned inputs.
    fails += run<Cfg<64, 8, 16, 8, 1, u1, bipolar, u2, a16, MSK>, THR>("msk a1 pe=mh", 28, 6);
    fails += run<Cfg<64, 8, 64, 2, 2, u1, bipolar, a16, a16, MSK>, RAW>("msk a1 simd=mw mmv2", 29, 6);
    fails += run<Cfg<64, 8, 1, 1, 1, u1, bipolar, a16, a16, MSK>, RAW>("msk a1 pe1 simd1", 30, 3);
    // 4-bit unsigned inputs, raw and bias; a tight accumulator (2*masked exceeds its range).
    fails += run<Cfg<36, 8, 36, 8, 1, u4, bipolar, a11, a11, MSK>, RAW>("msk a4 tight acc", 31, 6);
    fails += run<Cfg<36, 8, 6, 8, 2, u4, bipolar, a16, a16, MSK>, BIAS>("msk a4 mmv2 bias", 32, 6);
    fails += run<Cfg<36, 8, 1, 1, 2, u4, bipolar, u2, a16, MSK, 3>, THR>("msk a4 pe1 mmv2", 33, 4);
    // signed inputs (the identity holds for any x), and bipolar inputs (falls back to XNOR).
    fails += run<Cfg<24, 6, 6, 3, 1, ap_int<4>, bipolar, a16, a16, MSK>, RAW>("msk signed", 34, 5);
    fails += run<Cfg<64, 8, 16, 4, 1, bipolar, bipolar, bipolar, a16, MSK, 1>, THR>(
        "msk xnor", 35, 7);
    return fails;
}

int main() {
    int fails = 0;
    // bipolar weights x 2-bit activations, thresholds; foldings of a 36 x 16 matrix.
    fails += run<Cfg<36, 16, 36, 16, 1, u2, bipolar, u2, a16, LUT>, THR>("bin full", 1, 5);
    fails += run<Cfg<36, 16, 1, 1, 1, u2, bipolar, u2, a16, LUT>, THR>("bin pe1 simd1", 2, 5);
    fails += run<Cfg<36, 16, 4, 2, 1, u2, bipolar, u2, a16, LUT>, THR>("bin pe2 simd4", 3, 5);
    fails += run<Cfg<36, 16, 12, 16, 1, u2, bipolar, u2, a16, LUT>, THR>("bin pe=mh", 4, 5);
    fails += run<Cfg<36, 16, 36, 1, 1, u2, bipolar, u2, a16, LUT>, THR>("bin simd=mw", 5, 5);
    fails += run<Cfg<36, 16, 9, 4, 2, u2, bipolar, ap_uint<4>, a16, LUT, 15>, THR>("bin mmv2", 6, 6);
    fails += run<cfg_layer3_2_conv2, THR>("codegen-style cfg", 7, 4);
    // bipolar x bipolar (XNOR-popcount), one threshold, bipolar output.
    fails += run<Cfg<64, 8, 16, 4, 1, bipolar, bipolar, bipolar, a16, LUT, 1>, THR>("xnor", 8, 7);
    // bipolar weights, raw output without bias.
    fails += run<Cfg<32, 8, 8, 2, 1, ap_uint<4>, bipolar, a16, a16, LUT>, RAW>("bin raw", 9, 4);
    // int8 weights x uint8 activations on DSPs, raw + bias.
    fails += run<Cfg<27, 8, 3, 4, 1, u8, s8, a32, a32, DSP>, BIAS>("int8 bias", 10, 5);
    fails += run<Cfg<27, 8, 1, 1, 1, u8, s8, a32, a32, DSP>, BIAS>("int8 pe1 simd1", 11, 3);
    fails += run<Cfg<27, 8, 27, 8, 2, u8, s8, a32, a32, DSP>, RAW>("int8 mmv2 raw", 12, 4);
    // signed activations x signed 3-bit weights, signed thresholded output with an offset.
    fails += run<Cfg<24, 6, 6, 3, 1, ap_int<4>, ap_int<3>, ap_int<4>, a16, LUT, 7, -4>, THR>(
        "signed thr", 13, 6);
    // two 8-bit MACs per DSP: pixel pairs share multiplies.
    fails += run<Cfg<27, 8, 3, 4, 2, u8, s8, ap_int<24>, ap_int<24>, PK2>, RAW>("packed2", 14, 6);
    fails += run<Cfg<27, 8, 3, 2, 4, u8, s8, u2, ap_int<24>, PK2>, THR>("packed2 mmv4 thr", 15, 8);
    fails += masked_sum_cases();
    return fails ? 1 : 0;
}
