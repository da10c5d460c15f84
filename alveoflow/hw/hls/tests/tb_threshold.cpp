// tb_threshold.cpp -- standalone alveo::thresholding against counting thresholds <= x:
// unsigned and signed inputs, PE = 1 .. CH, offsets, signed outputs.
#include <algorithm>

#include "alveo_threshold.hpp"
#include "tb_common.hpp"

using tb::vec;

template <unsigned CH_, unsigned PE_, unsigned NT_, class I, class T, class O, int OFF>
struct Cfg {
    static constexpr unsigned CH = CH_, PE = PE_, NT = NT_;
    static constexpr int OUT_OFFSET = OFF;
    typedef I idt;
    typedef T tdt;
    typedef O odt;
};

template <class C> int run(const char* name, unsigned long long seed) {
    typedef typename C::idt I;
    typedef typename C::odt O;
    const unsigned PIX = 9, CF = C::CH / C::PE, IB = alveo::elem<I>::BITS;
    const unsigned OB = alveo::elem<O>::BITS;
    tb::Rng rng(seed);
    tb::Checker chk(name);
    typename C::tdt(*thr)[CF][C::NT] = new typename C::tdt[C::PE][CF][C::NT];
    vec T(C::CH * C::NT);
    for (unsigned c = 0; c < C::CH; c++) {
        vec t = tb::rand_vec<I>(rng, C::NT);  // thresholds drawn from the input range
        std::sort(t.begin(), t.end());
        for (unsigned j = 0; j < C::NT; j++) T[c * C::NT + j] = thr[c % C::PE][c / C::PE][j] = t[j];
    }
    const vec X = tb::rand_vec<I>(rng, PIX * C::CH);
    hls::stream<ap_uint<C::PE * IB> > in("in");
    hls::stream<ap_uint<C::PE * OB> > out("out");
    for (unsigned i = 0; i < X.size(); i += C::PE) in.write(tb::pack<I, C::PE * IB>(X, i, C::PE));
    alveo::thresholding<C>(in, out, thr, PIX);
    const auto words = tb::take(out, X.size() / C::PE, chk, "output too short");
    for (size_t k = 0; k < words.size(); k++)
        for (unsigned p = 0; p < C::PE; p++) {
            const size_t i = k * C::PE + p;
            const unsigned c = i % C::CH;
            long long n = 0;
            for (unsigned j = 0; j < C::NT; j++) n += T[c * C::NT + j] <= X[i];
            chk.eq(tb::unpack<O>(words[k], p), tb::wrap<O>(n + C::OUT_OFFSET), "output", i);
        }
    chk.drained(in, "in");
    chk.drained(out, "out");
    delete[] thr;
    return chk.report();
}

int main() {
    int f = 0;
    // 4-bit residual codes -> 2-bit block input (3 thresholds)
    f += run<Cfg<8, 4, 3, ap_uint<4>, ap_int<16>, ap_uint<2>, 0> >("u4->u2 pe4", 1);
    f += run<Cfg<8, 1, 3, ap_uint<4>, ap_int<16>, ap_uint<2>, 0> >("u4->u2 pe1", 2);
    f += run<Cfg<6, 6, 15, ap_int<16>, ap_int<16>, ap_uint<4>, 0> >("i16->u4 pe=ch", 3);
    f += run<Cfg<6, 3, 7, ap_int<8>, ap_int<9>, ap_int<4>, -4> >("signed out offset", 4);
    return f ? 1 : 0;
}
