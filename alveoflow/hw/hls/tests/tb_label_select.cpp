// tb_label_select.cpp -- alveo::label_select against a stable sort (descending score, lower
// index first on ties); includes many ties, all-equal scores and K = NL.
#include <algorithm>
#include <numeric>

#include "alveo_label_select.hpp"
#include "tb_common.hpp"

using tb::vec;

template <unsigned NL_, unsigned K_, unsigned PE_, class S> struct Cfg {
    static constexpr unsigned NL = NL_, K = K_, PE = PE_;
    typedef S sdt;
};

template <class C> int run(const char* name, unsigned long long seed, long long lo, long long hi) {
    const unsigned IMGS = 4, B = alveo::elem<typename C::sdt>::BITS;
    tb::Rng rng(seed);
    tb::Checker chk(name);
    hls::stream<ap_uint<C::PE * B> > in("in");
    hls::stream<ap_uint<32> > out("out");
    vec want;
    for (unsigned n = 0; n < IMGS; n++) {
        vec s(C::NL);
        for (auto& v : s) v = rng.between(lo, hi);  // narrow ranges force ties
        for (unsigned i = 0; i < C::NL; i += C::PE)
            in.write(tb::pack<typename C::sdt, C::PE * B>(s, i, C::PE));
        std::vector<unsigned> order(C::NL);
        std::iota(order.begin(), order.end(), 0u);
        std::stable_sort(order.begin(), order.end(),
                         [&](unsigned a, unsigned b) { return s[a] > s[b]; });
        for (unsigned k = 0; k < C::K; k++) want.push_back(order[k]);
    }
    alveo::label_select<C>(in, out, IMGS);
    const auto words = tb::take(out, want.size(), chk, "output too short");
    for (size_t i = 0; i < words.size(); i++) chk.eq(words[i].to_int64(), want[i], "index", i);
    chk.drained(in, "in");
    chk.drained(out, "out");
    return chk.report();
}

typedef ap_int<32> s32;

int main() {
    int f = 0;
    f += run<Cfg<1000, 5, 1, s32> >("top5 of 1000", 1, -(1LL << 31), (1LL << 31) - 1);
    f += run<Cfg<1000, 5, 1, s32> >("top5 ties", 2, -3, 3);
    f += run<Cfg<64, 5, 4, s32> >("top5 pe4 ties", 3, 0, 2);
    f += run<Cfg<16, 16, 2, ap_int<8> > >("k=nl", 4, -5, 5);
    f += run<Cfg<10, 3, 5, s32> >("all equal min", 5, -(1LL << 31), -(1LL << 31));
    return f ? 1 : 0;
}
