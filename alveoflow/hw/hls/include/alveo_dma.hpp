// alveo_dma.hpp -- memory <-> stream movers for the kernel's AXI master ports.
//
// mem2stream<C>(mem, out, frames): reads frames * FRAME_BYTES bytes from mem (MEM_W-bit words,
//   byte i of a word at bits [8i, 8i+8)) and writes them as MEM_W-bit stream words, in order.
//   Config: MEM_W, FRAME_BYTES (a multiple of MEM_W/8). E.g. 224*224*3 uint8 NHWC pixels in
//   2352 words of 512 bits per image.
// stream2mem<C>(in, mem, frames): writes K ap_uint<32> per frame (e.g. the top-5 class indices)
//   to consecutive 32-bit words of mem. Config: K.
//
// Kernel-top interface pragmas (the generated top adds them):
//   #pragma HLS INTERFACE m_axi port=in_mem  offset=slave bundle=gmem0
//   #pragma HLS INTERFACE m_axi port=out_mem offset=slave bundle=gmem1
//   #pragma HLS INTERFACE s_axilite port=frames bundle=control
#ifndef ALVEO_DMA_HPP
#define ALVEO_DMA_HPP

#include "alveo_common.hpp"

namespace alveo {

template <class C>
void mem2stream(const ap_uint<C::MEM_W>* mem, hls::stream<ap_uint<C::MEM_W> >& out,
                unsigned frames) {
    static_assert(C::FRAME_BYTES % (C::MEM_W / 8) == 0,
                  "mem2stream: FRAME_BYTES must be a multiple of the memory word size");
    const unsigned WORDS = C::FRAME_BYTES / (C::MEM_W / 8);
    for (unsigned i = 0; i < frames * WORDS; i++) {
#pragma HLS PIPELINE II = 1
        out.write(mem[i]);
    }
}

template <class C>
void stream2mem(hls::stream<ap_uint<32> >& in, ap_uint<32>* mem, unsigned frames) {
    for (unsigned i = 0; i < frames * C::K; i++) {
#pragma HLS PIPELINE II = 1
        mem[i] = in.read();
    }
}

}  // namespace alveo

#endif  // ALVEO_DMA_HPP
