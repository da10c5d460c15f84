// tb_streams.cpp -- add_streams (saturating, signed and unsigned outputs, offsets),
// duplicate / duplicate_n and dwc (up, down, non-dividing widths, equal widths).
#include <algorithm>

#include "alveo_streams.hpp"
#include "tb_common.hpp"

using tb::vec;

template <unsigned CH_, unsigned PE_, class A, class B, class O, int OFF> struct AddCfg {
    static constexpr unsigned CH = CH_, PE = PE_;
    static constexpr int OFFSET = OFF;
    typedef A adt;
    typedef B bdt;
    typedef O odt;
};

template <class C> int run_add(const char* name, unsigned long long seed) {
    typedef alveo::elem<typename C::odt> E;
    const unsigned PIX = 7, AB = alveo::elem<typename C::adt>::BITS;
    const unsigned BB = alveo::elem<typename C::bdt>::BITS;
    tb::Rng rng(seed);
    tb::Checker chk(name);
    const vec A = tb::rand_vec<typename C::adt>(rng, PIX * C::CH);
    const vec B = tb::rand_vec<typename C::bdt>(rng, PIX * C::CH);
    hls::stream<ap_uint<C::PE * AB> > a("a");
    hls::stream<ap_uint<C::PE * BB> > b("b");
    hls::stream<ap_uint<C::PE * E::BITS> > out("out");
    for (unsigned i = 0; i < A.size(); i += C::PE) {
        a.write(tb::pack<typename C::adt, C::PE * AB>(A, i, C::PE));
        b.write(tb::pack<typename C::bdt, C::PE * BB>(B, i, C::PE));
    }
    alveo::add_streams<C>(a, b, out, PIX);
    const auto words = tb::take(out, A.size() / C::PE, chk, "output too short");
    for (size_t k = 0; k < words.size(); k++)
        for (unsigned p = 0; p < C::PE; p++) {
            const size_t i = k * C::PE + p;
            const long long want = std::min(E::MAX, std::max(E::MIN, A[i] + B[i] + C::OFFSET));
            chk.eq(tb::unpack<typename C::odt>(words[k], p), want, "sum", i);
        }
    chk.drained(a, "a");
    chk.drained(b, "b");
    chk.drained(out, "out");
    return chk.report();
}

struct DupCfg {
    static constexpr unsigned W = 24, WORDS = 5;
};

int run_dup() {
    tb::Checker chk("duplicate");
    tb::Rng rng(11);
    const unsigned REPS = 3, N = 3;
    vec X(REPS * DupCfg::WORDS);
    hls::stream<ap_uint<24> > in("in"), o0("o0"), o1("o1"), in2("in2"), outs[N];
    for (auto& x : X) {
        x = rng.between(0, (1 << 24) - 1);
        in.write(ap_uint<24>(x));
        in2.write(ap_uint<24>(x));
    }
    alveo::duplicate<DupCfg>(in, o0, o1, REPS);
    alveo::duplicate_n<DupCfg, N>(in2, outs, REPS);
    hls::stream<ap_uint<24> >* all[] = {&o0, &o1, &outs[0], &outs[1], &outs[2]};
    for (auto* s : all) {
        const auto words = tb::take(*s, X.size(), chk, "output too short");
        for (size_t i = 0; i < words.size(); i++) chk.eq(words[i].to_int64(), X[i], "word", i);
        chk.drained(*s, "out");
    }
    chk.drained(in, "in");
    chk.drained(in2, "in2");
    return chk.report();
}

template <unsigned IN, unsigned OUT, unsigned FRAME> struct DwcCfg {
    static constexpr unsigned IN_W = IN, OUT_W = OUT, FRAME_BITS = FRAME;
};

// Bits are streamed LSB first: build the frame as a bit vector and cut it both ways.
template <class C> int run_dwc(const char* name, unsigned long long seed) {
    const unsigned REPS = 3, NB = REPS * C::FRAME_BITS;
    tb::Rng rng(seed);
    tb::Checker chk(name);
    std::vector<int> bits(NB);
    for (auto& b : bits) b = int(rng.between(0, 1));
    hls::stream<ap_uint<C::IN_W> > in("in");
    hls::stream<ap_uint<C::OUT_W> > out("out");
    for (unsigned w = 0; w < NB / C::IN_W; w++) {
        ap_uint<C::IN_W> word = 0;
        for (unsigned i = 0; i < C::IN_W; i++) word[i] = bits[w * C::IN_W + i];
        in.write(word);
    }
    alveo::dwc<C>(in, out, REPS);
    const auto words = tb::take(out, NB / C::OUT_W, chk, "output too short");
    for (size_t w = 0; w < words.size(); w++)
        for (unsigned i = 0; i < C::OUT_W; i++)
            chk.eq(int(words[w][i]), bits[w * C::OUT_W + i], "bit", long(w * C::OUT_W + i));
    chk.drained(in, "in");
    chk.drained(out, "out");
    return chk.report();
}

int main() {
    int f = 0;
    // residual add: 4-bit codes with zero at 8, offset -8, saturating unsigned 4-bit output
    f += run_add<AddCfg<8, 4, ap_uint<4>, ap_uint<4>, ap_uint<4>, -8> >("add u4 off-8", 1);
    f += run_add<AddCfg<6, 6, ap_int<4>, ap_uint<2>, ap_int<4>, 0> >("add signed out", 2);
    f += run_add<AddCfg<4, 1, ap_uint<8>, ap_int<8>, ap_int<6>, 5> >("add mixed pe1", 3);
    f += run_dup();
    f += run_dwc<DwcCfg<8, 32, 256> >("dwc 8->32", 4);
    f += run_dwc<DwcCfg<64, 16, 256> >("dwc 64->16", 5);
    f += run_dwc<DwcCfg<24, 64, 384> >("dwc 24->64", 6);
    f += run_dwc<DwcCfg<64, 24, 384> >("dwc 64->24", 7);
    f += run_dwc<DwcCfg<128, 128, 512> >("dwc 128->128", 8);
    f += run_dwc<DwcCfg<512, 1024, 2048> >("dwc 512->1024", 9);
    return f ? 1 : 0;
}
