// tb_pool.cpp -- maxpool (padding ignored, signed and unsigned), windowed sumpool and global
// sumpool against naive loops over NHWC images.
#include <algorithm>

#include "alveo_pool.hpp"
#include "tb_common.hpp"

using tb::vec;

template <unsigned IH_, unsigned IW_, unsigned CH_, unsigned K_, unsigned S_, unsigned PT_,
          unsigned PL_, unsigned PB_, unsigned PR_, unsigned PE_, class I, class O>
struct PoolCfg {
    static constexpr unsigned IH = IH_, IW = IW_, CH = CH_, K = K_, S = S_;
    static constexpr unsigned PT = PT_, PL = PL_, PB = PB_, PR = PR_, PE = PE_;
    typedef I dt;
    typedef I idt;
    typedef O odt;
};

template <unsigned PIX, unsigned CH_, unsigned PE_, class I, class O> struct GlobalCfg {
    static constexpr unsigned PIXELS = PIX, CH = CH_, PE = PE_;
    typedef I idt;
    typedef O odt;
};

// Naive pool of one image: max or sum over the in-image part of every window.
template <class C> vec golden(const vec& img, bool is_max) {
    const unsigned OH = (C::IH + C::PT + C::PB - C::K) / C::S + 1;
    const unsigned OW = (C::IW + C::PL + C::PR - C::K) / C::S + 1;
    vec out;
    for (unsigned oh = 0; oh < OH; oh++)
        for (unsigned ow = 0; ow < OW; ow++)
            for (unsigned c = 0; c < C::CH; c++) {
                long long acc = is_max ? -(1LL << 62) : 0;
                for (unsigned ky = 0; ky < C::K; ky++)
                    for (unsigned kx = 0; kx < C::K; kx++) {
                        const int r = int(oh * C::S + ky) - int(C::PT);
                        const int q = int(ow * C::S + kx) - int(C::PL);
                        if (r < 0 || r >= int(C::IH) || q < 0 || q >= int(C::IW)) continue;
                        const long long v = img[(r * C::IW + q) * C::CH + c];
                        acc = is_max ? std::max(acc, v) : acc + v;
                    }
                out.push_back(acc);
            }
    return out;
}

// Feed IMGS random images, run `fn`, compare with `want_of(img)` lane by lane.
template <class I, class O, unsigned PE, class Run, class Want>
int check(const char* name, unsigned long long seed, unsigned img_elems, Run fn, Want want_of) {
    const unsigned IMGS = 2, IB = alveo::elem<I>::BITS, OB = alveo::elem<O>::BITS;
    tb::Rng rng(seed);
    tb::Checker chk(name);
    hls::stream<ap_uint<PE * IB> > in("in");
    hls::stream<ap_uint<PE * OB> > out("out");
    vec want;
    for (unsigned n = 0; n < IMGS; n++) {
        const vec img = tb::rand_vec<I>(rng, img_elems);
        for (unsigned i = 0; i < img.size(); i += PE) in.write(tb::pack<I, PE * IB>(img, i, PE));
        const vec g = want_of(img);
        want.insert(want.end(), g.begin(), g.end());
    }
    fn(in, out, IMGS);
    const auto words = tb::take(out, want.size() / PE, chk, "output too short");
    for (size_t k = 0; k < words.size(); k++)
        for (unsigned p = 0; p < PE; p++)
            chk.eq(tb::unpack<O>(words[k], p), want[k * PE + p], "element", k * PE + p);
    chk.drained(in, "in");
    chk.drained(out, "out");
    return chk.report();
}

template <class C> int run_max(const char* name, unsigned long long seed) {
    typedef typename C::dt D;
    const unsigned B = C::PE * alveo::elem<D>::BITS;
    return check<D, D, C::PE>(
        name, seed, C::IH * C::IW * C::CH,
        [](hls::stream<ap_uint<B> >& i, hls::stream<ap_uint<B> >& o, unsigned r) {
            alveo::maxpool<C>(i, o, r);
        },
        [](const vec& img) { return golden<C>(img, true); });
}

template <class C> int run_sum(const char* name, unsigned long long seed) {
    const unsigned IB = C::PE * alveo::elem<typename C::idt>::BITS;
    const unsigned OB = C::PE * alveo::elem<typename C::odt>::BITS;
    return check<typename C::idt, typename C::odt, C::PE>(
        name, seed, C::IH * C::IW * C::CH,
        [](hls::stream<ap_uint<IB> >& i, hls::stream<ap_uint<OB> >& o, unsigned r) {
            alveo::sumpool<C>(i, o, r);
        },
        [](const vec& img) { return golden<C>(img, false); });
}

template <class C> int run_global(const char* name, unsigned long long seed) {
    const unsigned IB = C::PE * alveo::elem<typename C::idt>::BITS;
    const unsigned OB = C::PE * alveo::elem<typename C::odt>::BITS;
    return check<typename C::idt, typename C::odt, C::PE>(
        name, seed, C::PIXELS * C::CH,
        [](hls::stream<ap_uint<IB> >& i, hls::stream<ap_uint<OB> >& o, unsigned r) {
            alveo::sumpool_global<C>(i, o, r);
        },
        [](const vec& img) {
            vec s(C::CH, 0);
            for (size_t i = 0; i < img.size(); i++) s[i % C::CH] += img[i];
            return s;
        });
}

typedef ap_uint<2> u2;
typedef ap_uint<16> u16;

int main() {
    int f = 0;
    f += run_max<PoolCfg<8, 8, 4, 3, 2, 1, 1, 1, 1, 2, u2, u2> >("maxpool 3x3 s2 pad1", 1);
    f += run_max<PoolCfg<7, 7, 6, 3, 2, 1, 1, 1, 1, 3, u2, u2> >("maxpool odd 7x7", 2);
    f += run_max<PoolCfg<6, 4, 4, 2, 2, 0, 0, 0, 0, 4, ap_int<4>, ap_int<4> > >("maxpool signed 2x2", 3);
    f += run_max<PoolCfg<5, 5, 2, 3, 1, 0, 0, 2, 2, 1, ap_int<3>, ap_int<3> > >("maxpool pad br", 4);
    f += run_sum<PoolCfg<6, 6, 4, 2, 2, 0, 0, 0, 0, 2, ap_uint<4>, u16> >("sumpool 2x2", 5);
    f += run_sum<PoolCfg<5, 5, 2, 3, 2, 1, 1, 1, 1, 2, ap_int<4>, ap_int<12> > >("sumpool pad", 6);
    f += run_global<GlobalCfg<49, 8, 4, ap_uint<4>, u16> >("sumpool global 7x7", 7);
    f += run_global<GlobalCfg<9, 6, 1, ap_int<4>, ap_int<10> > >("sumpool global signed pe1", 8);
    return f ? 1 : 0;
}
