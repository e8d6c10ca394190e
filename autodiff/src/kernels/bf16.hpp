#pragma once
// rg::Autocast's two kernels (autocast.hpp, AutocastKernel): what a float32
// product does on the calling thread, and the rounding the "rounded" kernel
// applies to the operands before the float32 kernels multiply them.
#include <retrograd/autocast.hpp>

#include "../kernels.hpp"

#include <cstdint>

namespace rg::detail {

// What the calling thread's float32 products run now: plain float32 outside
// rg::Autocast (or on operands RoundedOperands has already rounded), else
// the process's autocast kernel.
enum class ProductMode { float32, native, rounded };
ProductMode product_mode();

// BFloat16::round_bits without branches: ties to even, and NaN made quiet
// (its payload may sit in the dropped bits, which would leave an infinity).
// The result's upper 16 bits are the bfloat16; the lower are zero.
[[gnu::always_inline]] inline std::uint32_t bf16_bits(std::uint32_t u) {
    const std::uint32_t nan = (u & 0x7fffffffu) > 0x7f800000u ? ~0u : 0u;
    const std::uint32_t nearest = u + 0x7fffu + ((u >> 16) & 1u);
    return ((nearest & ~nan) | ((u | 0x00400000u) & nan)) & 0xffff0000u;
}

// dst = the values of `rows` rows of `cols` floats, `ld` apart in src, rounded
// to bfloat16 (to nearest even, NaN kept and made quiet, as BFloat16), packed
// row after row. Memory-bound: one read and one write of each value.
void round_to_bf16_values(const float* src, std::size_t rows, std::size_t cols, std::size_t ld, float* dst);

// For the convolutions' rounded kernel: when product_mode() is rounded and
// the operands are float32, a() and b() are dense copies of them rounded to
// bfloat16 values (not recorded), and while the object lives the calling
// thread's products run plain float32 on them (no second rounding; the
// autocast flag a VJP records is left as it was). Otherwise a() and b() are
// the operands themselves.
class RoundedOperands {
public:
    RoundedOperands(const Tensor& a, const Tensor& b);
    ~RoundedOperands();
    RoundedOperands(const RoundedOperands&) = delete;
    RoundedOperands& operator=(const RoundedOperands&) = delete;
    const Tensor& a() const { return a_; }
    const Tensor& b() const { return b_; }

private:
    bool rounding_;
    bool previous_;
    Tensor a_, b_;
};

}  // namespace rg::detail
