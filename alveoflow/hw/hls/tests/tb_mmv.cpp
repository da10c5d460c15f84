// tb_mmv.cpp -- alveo::sliding_window_mmv against the single-pixel generator regrouped by
// hand (MMV pixels side by side, word by word), and alveo::dwc_sliced against dwc applied to
// each slice on its own, up and down, for widths that do not divide each other.
#include "alveo_mmv.hpp"
#include "alveo_streams.hpp"
#include "tb_common.hpp"

using tb::vec;

template <unsigned IH_, unsigned IW_, unsigned CH_, unsigned K_, unsigned S_, unsigned P_,
          unsigned SIMD_, unsigned MMV_, class D>
struct Win {
    static constexpr unsigned IH = IH_, IW = IW_, CH = CH_, KH = K_, KW = K_, SH = S_, SW = S_;
    static constexpr unsigned PT = P_, PL = P_, PB = P_, PR = P_, SIMD = SIMD_, MMV = MMV_;
    static constexpr int PAD_VALUE = 0;
    static constexpr bool DEPTHWISE = false;
    typedef D dt;
};

template <class C> int run_window(const char* name, unsigned long long seed) {
    typedef alveo::swg_geom<C> G;
    typedef typename C::dt D;
    const unsigned IMGS = 2, B = alveo::elem<D>::BITS, W = C::SIMD * B;
    tb::Rng rng(seed);
    tb::Checker chk(name);
    hls::stream<typename G::word> in("in"), ref_in("ref_in"), single("single");
    hls::stream<ap_uint<C::MMV * W> > out("out");
    for (unsigned n = 0; n < IMGS; n++) {
        const vec img = tb::rand_vec<D>(rng, C::IH * C::IW * C::CH);
        for (unsigned i = 0; i < img.size(); i += C::SIMD) {
            in.write(tb::pack<D, W>(img, i, C::SIMD));
            ref_in.write(tb::pack<D, W>(img, i, C::SIMD));
        }
    }
    alveo::sliding_window<C>(ref_in, single, IMGS);  // tested on its own in tb_swg
    alveo::sliding_window_mmv<C>(in, out, IMGS);
    const unsigned groups = IMGS * G::OH * G::OW / C::MMV;
    for (unsigned g = 0; g < groups; g++) {
        std::vector<typename G::word> px(C::MMV * G::WINDOW_WORDS);
        for (auto& w : px) w = single.read();
        for (unsigned w = 0; w < G::WINDOW_WORDS; w++) {
            const ap_uint<C::MMV * W> word = out.read();
            for (unsigned m = 0; m < C::MMV; m++)
                chk.eq(word.range((m + 1) * W - 1, m * W).to_int64(),
                       px[m * G::WINDOW_WORDS + w].to_int64(), "slice", long(g) * 1000 + m);
        }
    }
    chk.drained(in, "in");
    chk.drained(out, "out");
    return chk.report();
}

template <unsigned IN_W_, unsigned OUT_W_, unsigned SLICES_, unsigned FRAME_BITS_>
struct Sliced {
    static constexpr unsigned IN_W = IN_W_, OUT_W = OUT_W_, SLICES = SLICES_;
    static constexpr unsigned FRAME_BITS = FRAME_BITS_;
};

template <unsigned IN_W_, unsigned OUT_W_, unsigned FRAME_BITS_> struct One {
    static constexpr unsigned IN_W = IN_W_, OUT_W = OUT_W_, FRAME_BITS = FRAME_BITS_;
};

template <class C> int run_sliced(const char* name, unsigned long long seed) {
    const unsigned IS = C::IN_W / C::SLICES, OS = C::OUT_W / C::SLICES, REPS = 3;
    tb::Rng rng(seed);
    tb::Checker chk(name);
    hls::stream<ap_uint<C::IN_W> > in("in");
    hls::stream<ap_uint<C::OUT_W> > out("out");
    hls::stream<ap_uint<IS> > part_in[C::SLICES];
    hls::stream<ap_uint<OS> > part_out[C::SLICES];
    for (unsigned i = 0; i < REPS * C::FRAME_BITS / IS; i++) {
        ap_uint<C::IN_W> word = 0;
        for (unsigned s = 0; s < C::SLICES; s++) {
            const ap_uint<IS> v = ap_uint<IS>(rng.between(0, (1LL << (IS > 62 ? 62 : IS)) - 1));
            word.range((s + 1) * IS - 1, s * IS) = v;
            part_in[s].write(v);
        }
        in.write(word);
    }
    alveo::dwc_sliced<C>(in, out, REPS);
    for (unsigned s = 0; s < C::SLICES; s++)
        alveo::dwc<One<IS, OS, C::FRAME_BITS> >(part_in[s], part_out[s], REPS);
    for (unsigned o = 0; o < REPS * C::FRAME_BITS / OS; o++) {
        const ap_uint<C::OUT_W> word = out.read();
        for (unsigned s = 0; s < C::SLICES; s++)
            chk.eq(word.range((s + 1) * OS - 1, s * OS).to_int64(), part_out[s].read().to_int64(),
                   "slice word", long(o) * 100 + s);
    }
    chk.drained(in, "in");
    chk.drained(out, "out");
    return chk.report();
}

int main() {
    int f = 0;
    f += run_window<Win<6, 6, 3, 3, 1, 1, 3, 2, ap_uint<8> > >("3x3 s1 MMV 2", 1);
    f += run_window<Win<12, 12, 3, 7, 2, 3, 3, 3, ap_uint<8> > >("7x7 s2 stem MMV 3", 2);
    f += run_window<Win<4, 8, 4, 1, 1, 0, 2, 4, ap_uint<2> > >("1x1 MMV 4", 3);
    f += run_sliced<Sliced<2 * 24, 2 * 56, 2, 168> >("sliced 24 -> 56 x2", 4);
    f += run_sliced<Sliced<3 * 16, 3 * 8, 3, 48> >("sliced 16 -> 8 x3", 5);
    return f ? 1 : 0;
}
