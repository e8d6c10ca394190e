// The generator behind rand, randn and dropout (autodiff/src/kernels/
// mersenne_twister.hpp) gives std::mt19937_64's sequence, draw for draw,
// whether drawn one at a time or in bulk by dropout's masks. The cases'
// names start with "float32" so that ctest runs them again on the baseline
// instruction set (RETROGRAD_NO_AVX2=1).
#include <retrograd/random_state.hpp>
#include <retrograd/retrograd.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <vector>

TEST_CASE("float32 random generator: random_u64 is std::mt19937_64's sequence for every seed") {
    for (const std::uint64_t seed : {std::uint64_t{0}, std::uint64_t{5}, std::uint64_t{5489}, ~std::uint64_t{0}}) {
        rg::manual_seed(seed);
        std::mt19937_64 reference(seed);
        // Past three regenerations of the 312-word state.
        for (int i = 0; i < 1000; ++i) REQUIRE(rg::random_u64() == reference());
    }
}

TEST_CASE("float32 random generator: dropout's bulk draws are the next draws, at any length") {
    // Lengths that end inside a state block, on its boundary, and past the
    // bulk fill's chunk of 1248 draws; odd lengths draw one half unused.
    for (const std::size_t n : {std::size_t{1}, std::size_t{623}, std::size_t{624}, std::size_t{5001}}) {
        CAPTURE(n);
        rg::manual_seed(11);
        std::mt19937_64 reference(11);
        REQUIRE(rg::random_u64() == reference());  // the bulk fill starts mid-block
        const rg::Tensor x = rg::ones({static_cast<std::int64_t>(n)});
        const std::vector<double> kept = rg::dropout(x, 0.5, true).to_vector();
        for (std::size_t i = 0; i < n; i += 2) {
            const std::uint64_t draw = reference();
            for (std::size_t half = 0; half < 2 && i + half < n; ++half) {
                const auto bits = static_cast<std::uint32_t>(draw >> (32 * half));
                REQUIRE(kept[i + half] == (bits < 0x80000000u ? 0.0 : 2.0));
            }
        }
        REQUIRE(rg::random_u64() == reference());
    }
}

TEST_CASE("float32 random generator: a saved state replays bulk and single draws alike") {
    rg::manual_seed(3);
    (void)rg::random_u64();
    const rg::RngState state = rg::get_rng_state();
    const std::vector<double> first = rg::dropout(rg::ones({777}), 0.3, true).to_vector();
    const std::uint64_t after = rg::random_u64();
    rg::set_rng_state(state);
    CHECK(rg::dropout(rg::ones({777}), 0.3, true).to_vector() == first);
    CHECK(rg::random_u64() == after);
}
