// The rounding of rg::Autocast's "rounded" kernel (bf16.hpp): float32 values
// to the nearest bfloat16, kept in float32, in a loop the compiler vectorises
// (compiled for the baseline instruction set and for AVX2, chosen at run
// time as retrograd/detail/cpu.hpp says).
#include "bf16.hpp"

#include <retrograd/detail/cpu.hpp>

#include <bit>

namespace rg::detail {
namespace {

struct RoundRows {
    [[gnu::always_inline]] void operator()(const float* src, std::size_t rows, std::size_t cols, std::size_t ld,
                                           float* dst) const {
        for (std::size_t r = 0; r < rows; ++r) {
            const float* in = src + r * ld;
            float* out = dst + r * cols;
            for (std::size_t c = 0; c < cols; ++c)
                out[c] = std::bit_cast<float>(bf16_bits(std::bit_cast<std::uint32_t>(in[c])));
        }
    }
};

}  // namespace

void round_to_bf16_values(const float* src, std::size_t rows, std::size_t cols, std::size_t ld, float* dst) {
    avx2_or_baseline<RoundRows>(src, rows, cols, ld, dst);
}

}  // namespace rg::detail
