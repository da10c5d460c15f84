// tb_merge.cpp -- concat_streams (mixed input types, PE 1 and > 1), upsample (square and
// rectangular factors, several images), channel_mul (signed and unsigned, several images) and
// scale_stream (per-channel factors, PE 2 and full), each against a naive model on random
// inputs.
#include "alveo_merge.hpp"
#include "tb_common.hpp"

using tb::vec;

template <unsigned CA_, unsigned CB_, unsigned PE_, class A, class B, class O> struct CatCfg {
    static constexpr unsigned CA = CA_, CB = CB_, PE = PE_;
    typedef A adt;
    typedef B bdt;
    typedef O odt;
};

template <class C> int run_concat(const char* name, unsigned long long seed) {
    const unsigned PIX = 9;
    const unsigned AB = alveo::elem<typename C::adt>::BITS, BB = alveo::elem<typename C::bdt>::BITS;
    const unsigned OB = alveo::elem<typename C::odt>::BITS;
    tb::Rng rng(seed);
    tb::Checker chk(name);
    const vec A = tb::rand_vec<typename C::adt>(rng, PIX * C::CA);
    const vec B = tb::rand_vec<typename C::bdt>(rng, PIX * C::CB);
    hls::stream<ap_uint<C::PE * AB> > a("a");
    hls::stream<ap_uint<C::PE * BB> > b("b");
    hls::stream<ap_uint<C::PE * OB> > out("out");
    for (size_t i = 0; i < A.size(); i += C::PE) a.write(tb::pack<typename C::adt, C::PE * AB>(A, i, C::PE));
    for (size_t i = 0; i < B.size(); i += C::PE) b.write(tb::pack<typename C::bdt, C::PE * BB>(B, i, C::PE));
    alveo::concat_streams<C>(a, b, out, PIX);
    const unsigned CO = C::CA + C::CB;
    const auto words = tb::take(out, PIX * CO / C::PE, chk, "output too short");
    for (size_t k = 0; k < words.size(); k++)
        for (unsigned p = 0; p < C::PE; p++) {
            const size_t i = k * C::PE + p, pix = i / CO, c = i % CO;
            const long long want = c < C::CA ? A[pix * C::CA + c] : B[pix * C::CB + c - C::CA];
            chk.eq(tb::unpack<typename C::odt>(words[k], p), want, "element", i);
        }
    chk.drained(a, "a");
    chk.drained(b, "b");
    chk.drained(out, "out");
    return chk.report();
}

template <unsigned H_, unsigned W_, unsigned CH_, unsigned PE_, unsigned FY_, unsigned FX_, class T>
struct UpCfg {
    static constexpr unsigned H = H_, W = W_, CH = CH_, PE = PE_, FY = FY_, FX = FX_;
    typedef T dt;
};

template <class C> int run_upsample(const char* name, unsigned long long seed) {
    const unsigned IMGS = 2, B = alveo::elem<typename C::dt>::BITS;
    tb::Rng rng(seed);
    tb::Checker chk(name);
    const vec X = tb::rand_vec<typename C::dt>(rng, IMGS * C::H * C::W * C::CH);
    hls::stream<ap_uint<C::PE * B> > in("in"), out("out");
    for (size_t i = 0; i < X.size(); i += C::PE) in.write(tb::pack<typename C::dt, C::PE * B>(X, i, C::PE));
    alveo::upsample<C>(in, out, IMGS);
    const unsigned OH = C::H * C::FY, OW = C::W * C::FX;
    const auto words = tb::take(out, IMGS * OH * OW * C::CH / C::PE, chk, "output too short");
    for (size_t k = 0; k < words.size(); k++)
        for (unsigned p = 0; p < C::PE; p++) {
            const size_t i = k * C::PE + p, c = i % C::CH, x = i / C::CH % OW;
            const size_t y = i / C::CH / OW % OH, n = i / C::CH / OW / OH;
            const size_t src = ((n * C::H + y / C::FY) * C::W + x / C::FX) * C::CH + c;
            chk.eq(tb::unpack<typename C::dt>(words[k], p), X[src], "element", i);
        }
    chk.drained(in, "in");
    chk.drained(out, "out");
    return chk.report();
}

template <unsigned CH_, unsigned PE_, unsigned PIX_, class I, class G, class O> struct MulCfg {
    static constexpr unsigned CH = CH_, PE = PE_, PIXELS = PIX_;
    typedef I idt;
    typedef G gdt;
    typedef O odt;
};

template <class C> int run_mul(const char* name, unsigned long long seed) {
    const unsigned IMGS = 3, IB = alveo::elem<typename C::idt>::BITS;
    const unsigned GB = alveo::elem<typename C::gdt>::BITS, OB = alveo::elem<typename C::odt>::BITS;
    tb::Rng rng(seed);
    tb::Checker chk(name);
    const vec X = tb::rand_vec<typename C::idt>(rng, IMGS * C::PIXELS * C::CH);
    const vec G = tb::rand_vec<typename C::gdt>(rng, IMGS * C::CH);
    hls::stream<ap_uint<C::PE * IB> > x("x");
    hls::stream<ap_uint<C::PE * GB> > g("g");
    hls::stream<ap_uint<C::PE * OB> > out("out");
    for (size_t i = 0; i < X.size(); i += C::PE) x.write(tb::pack<typename C::idt, C::PE * IB>(X, i, C::PE));
    for (size_t i = 0; i < G.size(); i += C::PE) g.write(tb::pack<typename C::gdt, C::PE * GB>(G, i, C::PE));
    alveo::channel_mul<C>(x, g, out, IMGS);
    const auto words = tb::take(out, X.size() / C::PE, chk, "output too short");
    for (size_t k = 0; k < words.size(); k++)
        for (unsigned p = 0; p < C::PE; p++) {
            const size_t i = k * C::PE + p, c = i % C::CH, n = i / C::CH / C::PIXELS;
            chk.eq(tb::unpack<typename C::odt>(words[k], p), X[i] * G[n * C::CH + c], "product", i);
        }
    chk.drained(x, "x");
    chk.drained(g, "g");
    chk.drained(out, "out");
    return chk.report();
}

template <unsigned CH_, unsigned PE_, class I, class F, class O> struct ScaleCfg {
    static constexpr unsigned CH = CH_, PE = PE_;
    typedef I idt;
    typedef F fdt;
    typedef O odt;
};

template <class C> int run_scale(const char* name, unsigned long long seed) {
    const unsigned PIX = 5, IB = alveo::elem<typename C::idt>::BITS;
    const unsigned OB = alveo::elem<typename C::odt>::BITS;
    tb::Rng rng(seed);
    tb::Checker chk(name);
    const vec X = tb::rand_vec<typename C::idt>(rng, PIX * C::CH);
    typename C::fdt factors[C::PE][C::CH / C::PE];
    vec F(C::CH);
    for (unsigned c = 0; c < C::CH; c++) {
        F[c] = rng.between(1, alveo::elem<typename C::fdt>::MAX);
        factors[c % C::PE][c / C::PE] = F[c];
    }
    hls::stream<ap_uint<C::PE * IB> > in("in");
    hls::stream<ap_uint<C::PE * OB> > out("out");
    for (size_t i = 0; i < X.size(); i += C::PE)
        in.write(tb::pack<typename C::idt, C::PE * IB>(X, i, C::PE));
    alveo::scale_stream<C>(in, out, factors, PIX);
    const auto words = tb::take(out, X.size() / C::PE, chk, "output too short");
    for (size_t k = 0; k < words.size(); k++)
        for (unsigned p = 0; p < C::PE; p++) {
            const size_t i = k * C::PE + p;
            chk.eq(tb::unpack<typename C::odt>(words[k], p), X[i] * F[i % C::CH], "product", i);
        }
    chk.drained(in, "in");
    chk.drained(out, "out");
    return chk.report();
}

int main() {
    int f = 0;
    f += run_concat<CatCfg<4, 6, 2, ap_uint<4>, ap_int<3>, ap_int<5> > >("concat u4+i3 pe2", 1);
    f += run_concat<CatCfg<3, 5, 1, ap_int<8>, ap_uint<2>, ap_int<8> > >("concat i8+u2 pe1", 2);
    f += run_upsample<UpCfg<3, 4, 4, 2, 2, 2, ap_uint<4> > >("upsample 2x2 pe2", 3);
    f += run_upsample<UpCfg<2, 3, 3, 1, 3, 1, ap_int<6> > >("upsample 3x1 pe1", 4);
    f += run_mul<MulCfg<8, 4, 5, ap_uint<4>, ap_uint<4>, ap_uint<8> > >("mul u4*u4 pe4", 5);
    f += run_mul<MulCfg<6, 3, 4, ap_int<4>, ap_uint<3>, ap_int<7> > >("mul i4*u3 pe3", 6);
    f += run_scale<ScaleCfg<8, 2, ap_int<8>, ap_uint<9>, ap_int<17> > >("scale i8*u9 pe2", 7);
    f += run_scale<ScaleCfg<6, 6, ap_uint<4>, ap_uint<5>, ap_uint<9> > >("scale u4*u5 pe6", 8);
    return f ? 1 : 0;
}
