// MT19937-64's state update and bulk tempering (kernels/mersenne_twister.hpp),
// compiled for the baseline instruction set and for AVX2 from one source.
#include "mersenne_twister.hpp"

#include <retrograd/detail/cpu.hpp>

#include <algorithm>

namespace rg::detail {
namespace {

constexpr std::size_t n = MersenneTwister64::state_size;
constexpr std::size_t shift = 156;  // MT19937-64's middle word offset
constexpr std::uint64_t upper_bits = ~std::uint64_t{0} << 31;
constexpr std::uint64_t lower_bits = ~upper_bits;
constexpr std::uint64_t twist_matrix = 0xb5026f5aa96619e9u;

// One word of the update. 0 - (y & 1) is all ones when y is odd: the matrix
// is added by a mask, not a branch, so the loops below vectorise.
[[gnu::always_inline]] inline std::uint64_t twisted(std::uint64_t word, std::uint64_t next, std::uint64_t far) {
    const std::uint64_t y = (word & upper_bits) | (next & lower_bits);
    return far ^ (y >> 1) ^ ((std::uint64_t{0} - (y & 1u)) & twist_matrix);
}

// The first loop reads words `shift` ahead that it has not yet rewritten, the
// second words `n - shift` behind that it has: both read only words at least
// 156 apart from the one they write, which the vectoriser sees.
struct RegenerateWords {
    [[gnu::always_inline]] void operator()(std::uint64_t* state) const {
        for (std::size_t k = 0; k < n - shift; ++k) state[k] = twisted(state[k], state[k + 1], state[k + shift]);
        for (std::size_t k = n - shift; k < n - 1; ++k)
            state[k] = twisted(state[k], state[k + 1], state[k + shift - n]);
        state[n - 1] = twisted(state[n - 1], state[0], state[shift - 1]);
    }
};

struct TemperWords {
    [[gnu::always_inline]] void operator()(const std::uint64_t* state, std::uint64_t* out, std::size_t count) const {
        for (std::size_t i = 0; i < count; ++i) out[i] = MersenneTwister64::temper(state[i]);
    }
};

}  // namespace

void MersenneTwister64::seed(result_type value) {
    state_[0] = value;
    for (std::size_t i = 1; i < n; ++i) state_[i] = 6364136223846793005u * (state_[i - 1] ^ (state_[i - 1] >> 62)) + i;
    next_ = n;
}

void MersenneTwister64::regenerate() {
    avx2_or_baseline<RegenerateWords>(state_);
    next_ = 0;
}

void MersenneTwister64::fill(result_type* out, std::size_t count) {
    while (count > 0) {
        if (next_ == n) regenerate();
        const std::size_t take = std::min(n - next_, count);
        avx2_or_baseline<TemperWords>(static_cast<const result_type*>(state_ + next_), out, take);
        next_ += take;
        out += take;
        count -= take;
    }
}

}  // namespace rg::detail
