// tb_fc_dma.cpp -- mem2stream -> fc_external (int8 weights from a memory pointer, bias,
// raw 32-bit outputs) -> stream2mem, plus each DMA on its own, against naive loops.
#include "alveo_dma.hpp"
#include "alveo_fc_external.hpp"
#include "tb_common.hpp"

using tb::vec;

template <unsigned MW_, unsigned MH_, unsigned MEM, class I> struct FcCfg {
    static constexpr unsigned MW = MW_, MH = MH_, MEM_W = MEM;
    typedef I idt;
    typedef ap_int<32> acc_t;
};
struct InDma {
    static constexpr unsigned MEM_W = 512, FRAME_BYTES = 192;
};
struct OutDma {
    static constexpr unsigned K = 5;
};

template <class C> int run_fc(const char* name, unsigned long long seed) {
    typedef alveo::fc_types<C> T;
    typedef typename C::idt I;
    const unsigned IMGS = 2, SIMD = T::SIMD, SF = T::SF, IB = alveo::elem<I>::BITS;
    tb::Rng rng(seed);
    tb::Checker chk(name);
    const vec W = tb::rand_vec<ap_int<8> >(rng, C::MH * C::MW);  // (MH, MW) row-major
    std::vector<ap_uint<C::MEM_W> > wmem(C::MH * SF);
    for (unsigned r = 0; r < C::MH; r++)
        for (unsigned sf = 0; sf < SF; sf++)
            wmem[r * SF + sf] = tb::pack<ap_int<8>, C::MEM_W>(W, r * C::MW + sf * SIMD, SIMD);
    ap_int<32> bias[C::MH];
    vec B(C::MH);
    for (unsigned r = 0; r < C::MH; r++) bias[r] = B[r] = rng.between(-100000, 100000);

    hls::stream<typename T::in_word> in("in");
    hls::stream<ap_uint<32> > out("out");
    vec want;
    for (unsigned n = 0; n < IMGS; n++) {
        const vec X = tb::rand_vec<I>(rng, C::MW);
        for (unsigned sf = 0; sf < SF; sf++) in.write(tb::pack<I, SIMD * IB>(X, sf * SIMD, SIMD));
        for (unsigned r = 0; r < C::MH; r++) {
            long long acc = B[r];
            for (unsigned c = 0; c < C::MW; c++) acc += W[r * C::MW + c] * X[c];
            want.push_back(tb::wrap<ap_int<32> >(acc));
        }
    }
    alveo::fc_external<C>(in, out, wmem.data(), bias, IMGS);
    const auto words = tb::take(out, want.size(), chk, "output too short");
    for (size_t i = 0; i < words.size(); i++)
        chk.eq(tb::unpack<ap_int<32> >(words[i], 0), want[i], "accumulator", i);
    chk.drained(in, "in");
    chk.drained(out, "out");
    return chk.report();
}

int run_dma() {
    const unsigned FRAMES = 3, WORDS = InDma::FRAME_BYTES / 64;
    tb::Rng rng(7);
    tb::Checker chk("mem2stream/stream2mem");
    std::vector<ap_uint<512> > mem(FRAMES * WORDS);
    for (auto& w : mem)
        for (unsigned b = 0; b < 64; b++) w.range(8 * b + 7, 8 * b) = rng.between(0, 255);
    hls::stream<ap_uint<512> > s("s");
    alveo::mem2stream<InDma>(mem.data(), s, FRAMES);
    const auto words = tb::take(s, mem.size(), chk, "mem2stream output too short");
    for (size_t i = 0; i < words.size(); i++) chk.ok(words[i] == mem[i], "mem2stream word");
    chk.drained(s, "mem2stream out");

    hls::stream<ap_uint<32> > idx("idx");
    vec V(FRAMES * OutDma::K);
    for (auto& v : V) idx.write(ap_uint<32>(v = rng.between(0, 999)));
    std::vector<ap_uint<32> > outmem(V.size() + 1, ap_uint<32>(0xdeadbeef));
    alveo::stream2mem<OutDma>(idx, outmem.data(), FRAMES);
    for (size_t i = 0; i < V.size(); i++) chk.eq(outmem[i].to_int64(), V[i], "stream2mem", i);
    chk.eq(outmem[V.size()].to_int64(), 0xdeadbeef, "stream2mem wrote past the end", V.size());
    chk.drained(idx, "stream2mem in");
    return chk.report();
}

int main() {
    int f = 0;
    f += run_fc<FcCfg<256, 20, 512, ap_uint<16> > >("fc 256x20 512-bit", 1);
    f += run_fc<FcCfg<64, 7, 128, ap_int<8> > >("fc 64x7 128-bit signed in", 2);
    f += run_fc<FcCfg<2048, 3, 512, ap_uint<16> > >("fc 2048 wide", 3);
    f += run_dma();
    return f ? 1 : 0;
}
