// tb_fastsim.cpp -- the C-simulation fast paths (alveo_fastsim.hpp) against the synthesisable
// code they replace: the same input words in, the same output words out, for every weight /
// input / output type family, foldings (SIMD, PE, MMV; words wider than 64 bits, rows across
// limb boundaries), accumulators that wrap, and the three activations (thresholds sorted,
// unsorted and many, bias, none). Also the limb helpers.
#include <algorithm>

#include "alveo_fastsim.hpp"
#include "alveo_mvau.hpp"
#include "tb_common.hpp"

using alveo::mul_style;
typedef alveo::bipolar bip;

template <unsigned MW_, unsigned MH_, unsigned SIMD_, unsigned PE_, unsigned MMV_, class I, class W,
          class O, class A, mul_style M, unsigned NT_ = 3, int OFF = 0>
struct Cfg {
    static constexpr unsigned MW = MW_, MH = MH_, SIMD = SIMD_, PE = PE_, MMV = MMV_, NT = NT_;
    static constexpr int OUT_OFFSET = OFF;
    typedef I idt;
    typedef W wdt;
    typedef O odt;
    typedef A acc_t;
    typedef ap_int<12> tdt;
    typedef ap_int<14> bdt;
    static constexpr mul_style MUL = M;
};

enum Act { THR, THR_UNSORTED, BIAS, RAW };

template <int W> ap_uint<W> random_word(tb::Rng& rng) {
    ap_uint<W> w = 0;
    for (int lo = 0; lo < W; lo += 32) {
        const int hi = lo + 31 < W - 1 ? lo + 31 : W - 1;
        w.range(hi, lo) = (unsigned long long)rng.between(0, 0xffffffffLL);
    }
    return w;
}

// The fast path or the synthesisable loop, with the parameters activation A reads.
template <class C, Act A> struct Call {
    typedef alveo::mvau_types<C> T;
    typedef typename T::w_word Ww;
    typedef typename C::tdt Thr[T::NF][C::NT];
    typedef typename C::bdt Bias[T::NF];
    template <class Policy, class P>
    static void go(bool fast, hls::stream<typename T::in_word>& in,
                   hls::stream<typename T::out_word>& out, const Ww (*w)[T::NF * T::SF], P p,
                   unsigned reps) {
        if (fast)
            alveo::fast::mvau<C, Policy>::run(in, out, w, p, reps);
        else
            alveo::mvau_core_hw<C, Policy>(in, out, w, p, reps);
    }
    static void both(bool fast, hls::stream<typename T::in_word>& in,
                     hls::stream<typename T::out_word>& out, const Ww (*w)[T::NF * T::SF],
                     const Thr* thr, const Bias* bias, unsigned reps) {
        if (A == BIAS)
            go<alveo::act_bias>(fast, in, out, w, bias, reps);
        else if (A == RAW)
            go<alveo::act_none>(fast, in, out, w, 0, reps);
        else
            go<alveo::act_thresholds>(fast, in, out, w, thr, reps);
    }
};

template <class C, Act A> int run(const char* name, unsigned long long seed, unsigned vecs) {
    typedef alveo::mvau_types<C> T;
    static_assert(alveo::fast::mvau_ok<C>::value, "config has no fast path");
    tb::Rng rng(seed);
    tb::Checker chk(name);
    const unsigned NF = T::NF, SF = T::SF, NT = C::NT;
    auto* w = new typename T::w_word[C::PE][NF * SF];
    auto* thr = new typename C::tdt[C::PE][NF][NT];
    auto* bias = new typename C::bdt[C::PE][NF];
    for (unsigned pe = 0; pe < C::PE; pe++)
        for (unsigned k = 0; k < NF * SF; k++) w[pe][k] = random_word<C::SIMD * T::WB>(rng);
    const long long span = (long long)C::MW * 3;  // thresholds around typical sums
    for (unsigned pe = 0; pe < C::PE; pe++)
        for (unsigned nf = 0; nf < NF; nf++) {
            std::vector<long long> t(NT);
            for (auto& v : t) v = rng.between(-span, span);
            if (A != THR_UNSORTED) std::sort(t.begin(), t.end());
            for (unsigned j = 0; j < NT; j++) thr[pe][nf][j] = t[j];
            bias[pe][nf] = rng.between(-4000, 4000);
        }
    std::vector<typename T::in_word> words(vecs / C::MMV * SF);
    for (auto& x : words) x = random_word<C::MMV * C::SIMD * T::IB>(rng);
    std::vector<typename T::out_word> result[2];
    for (int fast = 0; fast < 2; fast++) {
        for (int pass = 0; pass < 2; pass++) {  // twice: the second call uses the caches
            hls::stream<typename T::in_word> in("in");
            hls::stream<typename T::out_word> out("out");
            for (const auto& x : words) in.write(x);
            Call<C, A>::both(fast, in, out, w, thr, bias, vecs);
            std::vector<typename T::out_word> got;
            while (!out.empty()) got.push_back(out.read());
            chk.ok(in.empty(), "every input word read");
            if (pass == 0) result[fast] = got;
            else chk.ok(got == result[fast], "the second call gives the same words");
        }
    }
    chk.eq(long(result[1].size()), long(result[0].size()), "output words", 0);
    for (size_t k = 0; k < std::min(result[0].size(), result[1].size()); k++)
        for (unsigned l = 0; l < C::MMV * C::PE; l++)
            chk.eq(tb::unpack<typename C::odt>(result[1][k], l),
                   tb::unpack<typename C::odt>(result[0][k], l), "lane", long(k * 1000 + l));
    // changed weights at the same address must not reuse the cache
    w[0][0] = ~w[0][0];
    hls::stream<typename T::in_word> in("in");
    hls::stream<typename T::out_word> o_fast("o_fast"), o_hw("o_hw");
    for (const auto& x : words) in.write(x);
    for (const auto& x : words) in.write(x);
    Call<C, A>::both(true, in, o_fast, w, thr, bias, vecs);
    Call<C, A>::both(false, in, o_hw, w, thr, bias, vecs);
    bool same = true;
    while (!o_fast.empty() && !o_hw.empty()) {
        const bool eq = o_fast.read() == o_hw.read();
        same = same && eq;
    }
    chk.ok(same && o_fast.empty() && o_hw.empty(), "a changed weight is seen");
    delete[] w;
    delete[] thr;
    delete[] bias;
    return chk.report();
}

int limb_cases() {
    tb::Checker chk("limbs");
    tb::Rng rng(3);
    for (int t = 0; t < 50; t++) {
        const ap_uint<200> x = random_word<200>(rng);
        uint64_t l[4];
        alveo::fast::to_limbs<200>(x, l);
        chk.ok(alveo::fast::from_limbs<200>(l) == x, "round trip");
        const unsigned pos = unsigned(rng.between(0, 136)), n = unsigned(rng.between(1, 64));
        chk.ok(alveo::fast::get_bits(l, pos, n) == x.range(pos + n - 1, pos).to_uint64(),
               "get_bits");
        uint64_t z[4] = {0, 0, 0, 0};
        alveo::fast::put_bits(z, pos, n, ~uint64_t(0));
        ap_uint<200> ones = 0;
        ones.range(pos + n - 1, pos) = ~ap_uint<64>(0) >> (64 - n);
        chk.ok(alveo::fast::from_limbs<200>(z) == ones, "put_bits");
    }
    return chk.report();
}

typedef ap_uint<2> u2;
typedef ap_uint<4> u4;
typedef ap_uint<8> u8;
typedef ap_int<4> s4;
typedef ap_int<8> s8;
const mul_style LUT = mul_style::lut, DSP = mul_style::dsp, PK2 = mul_style::dsp_packed2;
const mul_style MSK = mul_style::masked_sum;

int main() {
    int f = limb_cases();
    // bipolar weights x unsigned 2-bit inputs (ResNet-50's w1a2): wide words, MMV, 64-bit edges
    f += run<Cfg<576, 64, 192, 16, 1, u2, bip, u2, ap_int<12>, MSK>, THR>("w1a2 simd192", 1, 6);
    f += run<Cfg<128, 32, 64, 8, 7, u2, bip, u2, ap_int<10>, MSK>, THR>("w1a2 mmv7", 2, 14);
    f += run<Cfg<100, 12, 25, 4, 2, u2, bip, u4, ap_int<10>, LUT, 15>, THR>("w1a2 odd", 3, 8);
    f += run<Cfg<72, 8, 1, 1, 1, u2, bip, u2, ap_int<10>, LUT>, THR_UNSORTED>("w1a2 unsorted", 4,
                                                                                 5);
    // signed inputs, bipolar inputs, bipolar outputs
    f += run<Cfg<96, 8, 32, 4, 1, s4, bip, ap_int<16>, ap_int<16>, MSK>, RAW>("w1 signed x", 5, 5);
    f += run<Cfg<130, 8, 65, 8, 2, bip, bip, bip, ap_int<16>, LUT, 1>, THR>("xnor", 6, 6);
    f += run<Cfg<64, 8, 16, 2, 1, bip, s4, s8, ap_int<16>, LUT>, RAW>("int w x bipolar", 7, 5);
    // accumulators that wrap (the sums exceed acc_t), many thresholds (binary search)
    f += run<Cfg<256, 8, 64, 8, 1, u4, bip, ap_int<9>, ap_int<9>, MSK>, RAW>("w1 wrap", 8, 5);
    f += run<Cfg<64, 8, 8, 4, 1, u8, s8, u8, ap_int<24>, DSP, 255, -3>, THR>("nt255", 9, 5);
    // integer weights: DSP, packed pairs, LUT; bias
    f += run<Cfg<147, 16, 49, 8, 1, u8, s8, ap_int<24>, ap_int<24>, DSP>, BIAS>("int8 bias", 10, 4);
    f += run<Cfg<27, 8, 3, 4, 2, u8, s8, ap_int<24>, ap_int<24>, PK2>, RAW>("packed2", 11, 6);
    f += run<Cfg<24, 6, 6, 3, 1, s4, ap_int<3>, s4, ap_int<10>, LUT, 7, -4>, THR>("s3 x s4", 12, 6);
    f += run<Cfg<48, 8, 12, 8, 1, s8, s8, ap_int<11>, ap_int<11>, DSP>, RAW>("int wrap", 13, 6);
    return f ? 1 : 0;
}
