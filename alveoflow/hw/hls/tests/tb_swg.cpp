// tb_swg.cpp -- alveo::sliding_window against a naive window extraction: several kernels,
// strides (including stride > kernel and the 1x1 downsampler), symmetric and asymmetric
// padding, non-square shapes, SIMD < CH, both output orders, two images per run.
#include "alveo_swg.hpp"
#include "tb_common.hpp"

using tb::vec;

template <unsigned IH_, unsigned IW_, unsigned CH_, unsigned KH_, unsigned KW_, unsigned SH_,
          unsigned SW_, unsigned PT_, unsigned PL_, unsigned PB_, unsigned PR_, unsigned SIMD_,
          class D, int PAD, bool DW = false>
struct Cfg {
    static constexpr unsigned IH = IH_, IW = IW_, CH = CH_, KH = KH_, KW = KW_, SH = SH_, SW = SW_;
    static constexpr unsigned PT = PT_, PL = PL_, PB = PB_, PR = PR_, SIMD = SIMD_;
    static constexpr int PAD_VALUE = PAD;
    static constexpr bool DEPTHWISE = DW;
    typedef D dt;
};

// Value of input element (r, c, ch) of the padded image.
template <class C> long long at(const vec& img, int r, int c, unsigned ch) {
    const bool in = r >= 0 && r < int(C::IH) && c >= 0 && c < int(C::IW);
    return in ? img[(r * C::IW + c) * C::CH + ch] : tb::wrap<typename C::dt>(C::PAD_VALUE);
}

// Expected output elements, in stream order, for one image (img[(h*IW + w)*CH + c]).
template <class C> vec golden(const vec& img) {
    typedef alveo::swg_geom<C> G;
    vec out;
    for (unsigned oh = 0; oh < G::OH; oh++)
        for (unsigned ow = 0; ow < G::OW; ow++) {
            const int r0 = int(oh * C::SH) - int(C::PT), c0 = int(ow * C::SW) - int(C::PL);
            if (!C::DEPTHWISE) {  // (ky, kx, c)
                for (unsigned ky = 0; ky < C::KH; ky++)
                    for (unsigned kx = 0; kx < C::KW; kx++)
                        for (unsigned ch = 0; ch < C::CH; ch++)
                            out.push_back(at<C>(img, r0 + ky, c0 + kx, ch));
            } else {  // (cf, ky, kx, c in word)
                for (unsigned cf = 0; cf < G::CF; cf++)
                    for (unsigned ky = 0; ky < C::KH; ky++)
                        for (unsigned kx = 0; kx < C::KW; kx++)
                            for (unsigned s = 0; s < C::SIMD; s++)
                                out.push_back(at<C>(img, r0 + ky, c0 + kx, cf * C::SIMD + s));
            }
        }
    return out;
}

template <class C> int run(const char* name, unsigned long long seed) {
    typedef alveo::swg_geom<C> G;
    typedef typename C::dt D;
    const unsigned IMGS = 2, B = alveo::elem<D>::BITS;
    tb::Rng rng(seed);
    tb::Checker chk(name);
    hls::stream<typename G::word> in("in"), out("out");
    vec want;
    for (unsigned n = 0; n < IMGS; n++) {
        const vec img = tb::rand_vec<D>(rng, C::IH * C::IW * C::CH);
        for (unsigned i = 0; i < img.size(); i += C::SIMD)
            in.write(tb::pack<D, C::SIMD * B>(img, i, C::SIMD));
        const vec g = golden<C>(img);
        want.insert(want.end(), g.begin(), g.end());
    }
    alveo::sliding_window<C>(in, out, IMGS);
    const auto words = tb::take(out, want.size() / C::SIMD, chk, "output too short");
    for (size_t k = 0; k < words.size(); k++)
        for (unsigned s = 0; s < C::SIMD; s++)
            chk.eq(tb::unpack<D>(words[k], s), want[k * C::SIMD + s], "element", k * C::SIMD + s);
    chk.drained(in, "in");
    chk.drained(out, "out");
    return chk.report();
}

typedef ap_uint<2> u2;
typedef ap_uint<8> u8;

int main() {
    int f = 0;
    f += run<Cfg<5, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2, u2, 0> >("3x3 s1 pad1", 1);
    f += run<Cfg<6, 6, 4, 3, 3, 2, 2, 0, 0, 1, 1, 4, u2, 3> >("3x3 s2 pad(0,0,1,1)", 2);
    f += run<Cfg<7, 7, 6, 1, 1, 2, 2, 0, 0, 0, 0, 3, ap_uint<4>, 0> >("1x1 s2 downsample odd", 3);
    f += run<Cfg<8, 6, 4, 1, 1, 2, 2, 0, 0, 0, 0, 1, u2, 0> >("1x1 s2 downsample even", 4);
    f += run<Cfg<12, 12, 3, 7, 7, 2, 2, 3, 3, 3, 3, 3, u8, 0> >("7x7 s2 pad3 stem", 5);
    f += run<Cfg<5, 7, 2, 3, 2, 1, 2, 0, 1, 0, 0, 1, u2, 1> >("3x2 s(1,2) non-square", 6);
    f += run<Cfg<9, 9, 2, 3, 3, 4, 4, 0, 0, 0, 0, 2, u2, 0> >("3x3 s4 (skips rows)", 7);
    f += run<Cfg<6, 5, 8, 3, 3, 1, 1, 1, 1, 1, 1, 2, ap_int<4>, -8, true> >("depthwise 3x3", 8);
    f += run<Cfg<4, 4, 4, 4, 4, 1, 1, 0, 0, 0, 0, 4, u2, 0> >("global 4x4 window", 9);
    return f ? 1 : 0;
}
