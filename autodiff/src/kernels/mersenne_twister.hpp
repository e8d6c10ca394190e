#pragma once
// The 64-bit Mersenne Twister (MT19937-64) behind rand, randn and dropout:
// the same sequence as std::mt19937_64 for every seed, draw for draw, but with
// a state update written without a data-dependent branch (std::mt19937_64's
// branches on a random bit per word, mispredicted half the time) and a bulk
// fill whose update and tempering loops vectorise.
#include <cstddef>
#include <cstdint>
#include <limits>

namespace rg::detail {

class MersenneTwister64 {
public:
    using result_type = std::uint64_t;
    static constexpr std::size_t state_size = 312;

    explicit MersenneTwister64(result_type seed_value = 5489u) { seed(seed_value); }

    // As std::mt19937_64::seed: the state from Knuth's linear recurrence.
    void seed(result_type value);

    // The next draw.
    result_type operator()() {
        if (next_ == state_size) regenerate();
        return temper(state_[next_++]);
    }

    // out[0, n) = the next n draws, as n calls of operator() would give.
    void fill(result_type* out, std::size_t n);

    static constexpr result_type min() { return 0; }
    static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }

    // MT19937-64's output transformation of one state word.
    static constexpr result_type temper(result_type z) {
        z ^= (z >> 29) & 0x5555555555555555u;
        z ^= (z << 17) & 0x71d67fffeda60000u;
        z ^= (z << 37) & 0xfff7eee000000000u;
        return z ^ (z >> 43);
    }

private:
    // The next state_size words of state from the current ones.
    void regenerate();

    result_type state_[state_size];
    std::size_t next_ = state_size;
};

}  // namespace rg::detail
