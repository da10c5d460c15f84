// tb_vvau.cpp -- depthwise convolution: sliding_window (DEPTHWISE order, SIMD = PE) -> dwc
// (SIMD kernel positions per word) -> vvau, against a naive depthwise conv on NHWC images.
// Foldings PE = 1 .. CH, SIMD = 1 / 3 / 9; thresholds, raw and bias outputs.
#include <algorithm>

#include "alveo_streams.hpp"
#include "alveo_swg.hpp"
#include "alveo_vvau.hpp"
#include "tb_common.hpp"

using alveo::mul_style;
using tb::vec;

enum Mode { THR, BIAS, RAW };

template <unsigned IH_, unsigned CH_, unsigned K_, unsigned S_, unsigned PE_, unsigned SIMD_,
          class I, class W, class O, mul_style MS, unsigned NT_ = 3>
struct Cfg {
    static constexpr unsigned IH = IH_, IW = IH_, CH = CH_, K = K_, S = S_, PE = PE_,
                              SIMD = SIMD_, NT = NT_, PAD = K_ / 2;
    static constexpr int OUT_OFFSET = 0;
    static constexpr mul_style MUL = MS;
    typedef I idt;
    typedef W wdt;
    typedef O odt;
    typedef ap_int<24> acc_t;
    typedef ap_int<24> tdt;
    typedef ap_int<16> bdt;
};

// Window generator feeding the vvau: PE channels per word, zero padding K/2 all round.
template <class C> struct Swg {
    static constexpr unsigned IH = C::IH, IW = C::IW, CH = C::CH, KH = C::K, KW = C::K;
    static constexpr unsigned SH = C::S, SW = C::S, PT = C::PAD, PL = C::PAD, PB = C::PAD,
                              PR = C::PAD, SIMD = C::PE;
    static constexpr int PAD_VALUE = 0;
    static constexpr bool DEPTHWISE = true;
    typedef typename C::idt dt;
};
template <class C> struct Dwc {
    static constexpr unsigned IB = alveo::elem<typename C::idt>::BITS;
    static constexpr unsigned IN_W = C::PE * IB, OUT_W = C::SIMD * C::PE * IB;
    static constexpr unsigned FRAME_BITS = C::K * C::K * C::CH * IB;  // one window
};

template <class C, Mode M> struct Invoke;
template <class C> struct Invoke<C, THR> {
    template <class I, class O, class Wt, class T, class B>
    static void run(I& in, O& out, Wt w, T thr, B, unsigned reps) {
        alveo::vvau<C>(in, out, w, thr, reps);
    }
};
template <class C> struct Invoke<C, BIAS> {
    template <class I, class O, class Wt, class T, class B>
    static void run(I& in, O& out, Wt w, T, B bias, unsigned reps) {
        alveo::vvau_bias<C>(in, out, w, bias, reps);
    }
};
template <class C> struct Invoke<C, RAW> {
    template <class I, class O, class Wt, class T, class B>
    static void run(I& in, O& out, Wt w, T, B, unsigned reps) {
        alveo::vvau_raw<C>(in, out, w, reps);
    }
};

template <class C, Mode M> int run(const char* name, unsigned long long seed) {
    typedef alveo::vvau_types<C> T;
    typedef alveo::swg_geom<Swg<C> > G;
    typedef typename C::idt I;
    typedef typename C::odt O;
    const unsigned IMGS = 2, KK = C::K * C::K, CF = T::CF, KF = T::KF, NT = C::NT;
    const unsigned PIX = G::OH * G::OW;
    tb::Rng rng(seed);
    tb::Checker chk(name);
    const vec W = tb::rand_vec<typename C::wdt>(rng, C::CH * KK);  // W[c][k]
    typename T::w_word(*wmem)[CF * KF] = new typename T::w_word[C::PE][CF * KF];
    for (unsigned pe = 0; pe < C::PE; pe++)
        for (unsigned cf = 0; cf < CF; cf++)
            for (unsigned kf = 0; kf < KF; kf++)
                wmem[pe][cf * KF + kf] = tb::pack<typename C::wdt, C::SIMD * T::WB>(
                    W, (cf * C::PE + pe) * KK + kf * C::SIMD, C::SIMD);

    // naive depthwise conv
    vec acc;
    hls::stream<typename G::word> img_s("img");
    for (unsigned n = 0; n < IMGS; n++) {
        const vec img = tb::rand_vec<I>(rng, C::IH * C::IW * C::CH);
        for (unsigned i = 0; i < img.size(); i += C::PE)
            img_s.write(tb::pack<I, C::PE * T::IB>(img, i, C::PE));
        for (unsigned p = 0; p < PIX; p++)
            for (unsigned c = 0; c < C::CH; c++) {
                long long a = 0;
                for (unsigned k = 0; k < KK; k++) {
                    const int r = int((p / G::OW) * C::S + k / C::K) - int(C::PAD);
                    const int q = int((p % G::OW) * C::S + k % C::K) - int(C::PAD);
                    if (r >= 0 && r < int(C::IH) && q >= 0 && q < int(C::IW))
                        a += W[c * KK + k] * img[(r * C::IW + q) * C::CH + c];
                }
                acc.push_back(a);
            }
    }
    const long long lo = *std::min_element(acc.begin(), acc.end()) - 1;
    const long long hi = *std::max_element(acc.begin(), acc.end()) + 1;
    typename C::tdt(*thr)[CF][NT] = new typename C::tdt[C::PE][CF][NT];
    typename C::bdt(*bias)[CF] = new typename C::bdt[C::PE][CF];
    vec TH(C::CH * NT), BI(C::CH);
    for (unsigned c = 0; c < C::CH; c++) {
        vec t(NT);
        for (auto& v : t) v = rng.between(lo, hi);
        std::sort(t.begin(), t.end());
        for (unsigned j = 0; j < NT; j++) TH[c * NT + j] = thr[c % C::PE][c / C::PE][j] = t[j];
        BI[c] = bias[c % C::PE][c / C::PE] = rng.between(-500, 500);
    }

    hls::stream<typename G::word> win("windows");
    hls::stream<typename T::in_word> in("in");
    hls::stream<typename T::out_word> out("out");
    alveo::sliding_window<Swg<C> >(img_s, win, IMGS);
    alveo::dwc<Dwc<C> >(win, in, IMGS * PIX);
    Invoke<C, M>::run(in, out, wmem, thr, bias, IMGS * PIX);

    const auto words = tb::take(out, acc.size() / C::PE, chk, "output too short");
    for (size_t k = 0; k < words.size(); k++)
        for (unsigned pe = 0; pe < C::PE; pe++) {
            const size_t i = k * C::PE + pe;
            const unsigned c = i % C::CH;
            long long v = acc[i];
            if (M == THR) {
                v = C::OUT_OFFSET;
                for (unsigned j = 0; j < NT; j++) v += TH[c * NT + j] <= acc[i];
            } else if (M == BIAS) {
                v += BI[c];
            }
            chk.eq(tb::unpack<O>(words[k], pe), tb::wrap<O>(v), "output", i);
        }
    for (auto* s : {&img_s, &win}) chk.drained(*s, "window chain");
    chk.drained(in, "in");
    chk.drained(out, "out");
    delete[] wmem;
    delete[] thr;
    delete[] bias;
    return chk.report();
}

typedef ap_uint<2> u2;
typedef ap_uint<4> u4;
typedef ap_int<4> s4;
typedef ap_int<8> s8;
const mul_style LUT = mul_style::lut, DSP = mul_style::dsp;

int main() {
    int f = 0;
    f += run<Cfg<5, 8, 3, 1, 2, 1, u2, s4, u2, LUT>, THR>("dw 3x3 pe2 simd1", 1);
    f += run<Cfg<5, 8, 3, 1, 8, 9, u2, s4, u2, LUT>, THR>("dw pe=ch simd=kk", 2);
    f += run<Cfg<6, 6, 3, 2, 1, 3, u4, s8, ap_int<24>, DSP>, RAW>("dw s2 pe1 simd3 raw", 3);
    f += run<Cfg<5, 4, 3, 1, 4, 3, u4, alveo::bipolar, ap_int<16>, LUT>, BIAS>("dw bin bias", 4);
    f += run<Cfg<7, 4, 5, 1, 2, 5, s4, s4, ap_uint<4>, LUT, 15>, THR>("dw 5x5 signed", 5);
    return f ? 1 : 0;
}
