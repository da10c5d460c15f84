// tb_conv.cpp -- a convolution as sliding_window -> mvau (the way generated code chains them),
// against a naive NHWC convolution. Checks that the window order (ky, kx, c) and the weight
// column order agree. Cases: binary 3x3 pad 1, stem-like 7x7 stride 2 int8 on DSPs.
#include <algorithm>

#include "alveo.hpp"
#include "tb_common.hpp"

using alveo::mul_style;
using tb::vec;

template <unsigned IH_, unsigned CH_, unsigned OC, unsigned K_, unsigned S_, unsigned P_,
          unsigned SIMD_, unsigned PE_, class I, class W, class A, mul_style MS>
struct Conv {
    static constexpr unsigned IH = IH_, CH = CH_, K = K_, S = S_, P = P_;
    struct swg {
        static constexpr unsigned IH = IH_, IW = IH_, CH = CH_, KH = K_, KW = K_, SH = S_, SW = S_;
        static constexpr unsigned PT = P_, PL = P_, PB = P_, PR = P_, SIMD = SIMD_;
        static constexpr int PAD_VALUE = 0;
        static constexpr bool DEPTHWISE = false;
        typedef I dt;
    };
    struct mvau {
        static constexpr unsigned MW = K_ * K_ * CH_, MH = OC, SIMD = SIMD_, PE = PE_, MMV = 1;
        static constexpr mul_style MUL = MS;
        typedef I idt;
        typedef W wdt;
        typedef A odt;
        typedef A acc_t;
    };
};

template <class C> int run(const char* name, unsigned long long seed) {
    typedef typename C::mvau M;
    typedef alveo::mvau_types<M> T;
    typedef alveo::swg_geom<typename C::swg> G;
    typedef typename M::idt I;
    const unsigned IMGS = 2, NF = T::NF, SF = T::SF, PIX = G::OH * G::OW;
    tb::Rng rng(seed);
    tb::Checker chk(name);
    // PyTorch-style weights Wt[oc][c][ky][kx], reordered to MVAU columns (ky, kx, c).
    const vec Wt = tb::rand_vec<typename M::wdt>(rng, M::MH * C::CH * C::K * C::K);
    vec W(M::MH * M::MW);
    for (unsigned oc = 0; oc < M::MH; oc++)
        for (unsigned c = 0; c < C::CH; c++)
            for (unsigned ky = 0; ky < C::K; ky++)
                for (unsigned kx = 0; kx < C::K; kx++)
                    W[oc * M::MW + (ky * C::K + kx) * C::CH + c] =
                        Wt[((oc * C::CH + c) * C::K + ky) * C::K + kx];
    typename T::w_word(*wmem)[NF * SF] = new typename T::w_word[M::PE][NF * SF];
    for (unsigned pe = 0; pe < M::PE; pe++)
        for (unsigned nf = 0; nf < NF; nf++)
            for (unsigned sf = 0; sf < SF; sf++)
                wmem[pe][nf * SF + sf] = tb::pack<typename M::wdt, M::SIMD * T::WB>(
                    W, (nf * M::PE + pe) * M::MW + sf * M::SIMD, M::SIMD);

    hls::stream<typename G::word> img_s("img"), win("win");
    hls::stream<typename T::out_word> out("out");
    vec want;
    for (unsigned n = 0; n < IMGS; n++) {
        const vec img = tb::rand_vec<I>(rng, C::IH * C::IH * C::CH);
        for (unsigned i = 0; i < img.size(); i += M::SIMD)
            img_s.write(tb::pack<I, M::SIMD * T::IB>(img, i, M::SIMD));
        for (unsigned p = 0; p < PIX; p++)
            for (unsigned oc = 0; oc < M::MH; oc++) {
                long long a = 0;
                for (unsigned c = 0; c < C::CH; c++)
                    for (unsigned ky = 0; ky < C::K; ky++)
                        for (unsigned kx = 0; kx < C::K; kx++) {
                            const int r = int((p / G::OW) * C::S + ky) - int(C::P);
                            const int q = int((p % G::OW) * C::S + kx) - int(C::P);
                            if (r < 0 || r >= int(C::IH) || q < 0 || q >= int(C::IH)) continue;
                            a += Wt[((oc * C::CH + c) * C::K + ky) * C::K + kx] *
                                 img[(r * C::IH + q) * C::CH + c];
                        }
                want.push_back(tb::wrap<typename M::odt>(a));
            }
    }
    alveo::sliding_window<typename C::swg>(img_s, win, IMGS);
    alveo::mvau_raw<M>(win, out, wmem, IMGS * PIX);
    const auto words = tb::take(out, want.size() / M::PE, chk, "output too short");
    for (size_t k = 0; k < words.size(); k++)
        for (unsigned pe = 0; pe < M::PE; pe++)
            chk.eq(tb::unpack<typename M::odt>(words[k], pe), want[k * M::PE + pe], "output",
                   k * M::PE + pe);
    chk.drained(img_s, "img");
    chk.drained(win, "win");
    chk.drained(out, "out");
    delete[] wmem;
    return chk.report();
}

int main() {
    int f = 0;
    f += run<Conv<6, 4, 8, 3, 1, 1, 2, 4, ap_uint<2>, alveo::bipolar, ap_int<16>,
                  mul_style::lut> >("binary 3x3 conv", 1);
    f += run<Conv<13, 3, 4, 7, 2, 3, 3, 2, ap_uint<8>, ap_int<8>, ap_int<24>,
                  mul_style::dsp> >("stem 7x7 s2 int8", 2);
    f += run<Conv<5, 6, 6, 1, 2, 0, 3, 6, ap_uint<4>, alveo::bipolar, ap_int<16>,
                  mul_style::lut> >("1x1 s2 shortcut", 3);
    return f ? 1 : 0;
}
