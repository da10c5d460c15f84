// alveo_label_select.hpp -- top-K class selection (LabelSelect).
//
// label_select<C>(in, out, reps): per image, NL class scores arrive PE per word (score i in
// lane i % PE of word i / PE, lane 0 at the LSB, sdt elements, e.g. ap_int<32> accumulators);
// K class indices leave as ap_uint<32> words, best score first. Equal scores keep the LOWER
// index first. reps = images.
// Config: NL, K, PE, sdt.
//
// Hardware: a K-entry sorted list updated by a parallel insertion (K comparators + a shift)
// for every score; the PE scores of a word are inserted one after the other in the same cycle.
#ifndef ALVEO_LABEL_SELECT_HPP
#define ALVEO_LABEL_SELECT_HPP

#include "alveo_common.hpp"

namespace alveo {

// Insert (score, index) into the list sorted by descending score. A new entry goes below all
// entries with an equal score, since it always has a higher index than those already seen.
template <unsigned K, class S>
inline void topk_insert(S best[K], ap_uint<32> idx[K], bool valid[K], const S& score,
                        const ap_uint<32>& index) {
#pragma HLS INLINE
    bool below[K];  // below[k]: the new entry ranks above the current entry k
    for (unsigned k = 0; k < K; k++) {
#pragma HLS UNROLL
        below[k] = !valid[k] || score > best[k];
    }
    for (unsigned k = K; k-- > 0;) {  // from the bottom so entry k-1 is still the old one
#pragma HLS UNROLL
        if (below[k]) {
            const bool shift = k > 0 && below[k - 1];
            best[k] = shift ? best[k - 1] : score;
            idx[k] = shift ? idx[k - 1] : index;
            valid[k] = shift ? valid[k - 1] : true;
        }
    }
}

template <class C>
void label_select(hls::stream<ap_uint<C::PE * elem<typename C::sdt>::BITS> >& in,
                  hls::stream<ap_uint<32> >& out, unsigned reps) {
    typedef typename elem<typename C::sdt>::value_t S;
    static_assert(C::NL % C::PE == 0, "label_select: NL must be a multiple of PE");
    static_assert(C::K >= 1 && C::K <= C::NL, "label_select: need 1 <= K <= NL");
    S best[C::K];
    ap_uint<32> idx[C::K];
    bool valid[C::K];
#pragma HLS ARRAY_PARTITION variable = best complete dim = 0
#pragma HLS ARRAY_PARTITION variable = idx complete dim = 0
#pragma HLS ARRAY_PARTITION variable = valid complete dim = 0
    for (unsigned rep = 0; rep < reps; rep++) {
        for (unsigned k = 0; k < C::K; k++) {
#pragma HLS UNROLL
            valid[k] = false;
        }
        for (unsigned i = 0; i < C::NL / C::PE; i++) {
#pragma HLS PIPELINE II = 1
            const ap_uint<C::PE * elem<typename C::sdt>::BITS> x = in.read();
            for (unsigned pe = 0; pe < C::PE; pe++) {
#pragma HLS UNROLL
                topk_insert<C::K>(best, idx, valid, lane<typename C::sdt>(x, pe),
                                  ap_uint<32>(i * C::PE + pe));
            }
        }
        for (unsigned k = 0; k < C::K; k++) {
#pragma HLS PIPELINE II = 1
            out.write(idx[k]);
        }
    }
}

}  // namespace alveo

#endif  // ALVEO_LABEL_SELECT_HPP
