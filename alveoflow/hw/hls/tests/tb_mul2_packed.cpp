// tb_mul2_packed.cpp -- alveo::mul2_packed against plain multiplication, exhaustively over
// every signed 8-bit weight and every pair of unsigned 8-bit activations (2^24 cases).
#include "alveo_mac.hpp"
#include "tb_common.hpp"

int main() {
    tb::Checker chk("mul2_packed exhaustive");
    long index = 0;
    for (int w = -128; w < 128; w++)
        for (int a0 = 0; a0 < 256; a0++)
            for (int a1 = 0; a1 < 256; a1++, index++) {
                ap_int<16> p0, p1;
                alveo::mul2_packed(ap_int<8>(w), ap_uint<8>(a0), ap_uint<8>(a1), &p0, &p1);
                chk.eq(p0.to_int64(), (long long)w * a0, "p0 = w*a0", index);
                chk.eq(p1.to_int64(), (long long)w * a1, "p1 = w*a1", index);
                if (chk.errors) return chk.report();
            }
    return chk.report();
}
