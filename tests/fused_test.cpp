// Fused elementwise ops against the unfused expression they replace.
#include "helpers.hpp"

#include <retrograd/detail/cpu.hpp>

#include <cstdlib>
#include <string_view>

using rg::Tensor;
using rg::TensorList;
using test::check_gradients;
using test::check_values;
using test::rand64;

TEST_CASE("addcmul equals input + value * t1 * t2, broadcasting all three") {
    rg::manual_seed(41);
    auto input = rg::randn({3, 1, 5}, {.dtype = rg::float64});
    auto t1 = rg::randn({4, 5}, {.dtype = rg::float64});
    auto t2 = rg::randn({3, 4, 1}, {.dtype = rg::float64});
    auto fused = rg::addcmul(input, t1, t2, 0.5);
    CHECK(fused.shape() == rg::Shape{3, 4, 5});
    check_values(fused, input + t1 * t2 * 0.5, 1e-12);
    check_values(rg::addcmul(rg::ones({}), rg::full({2}, 3.0), rg::full({2}, 4.0)), rg::full({2}, 13.0));
}

TEST_CASE("addcmul on tensors large enough for streaming stores, float32 and float64") {
    // 8 MiB and more of output goes through the streaming path; odd row
    // lengths start rows at every alignment, so its unaligned head is taken.
    rg::manual_seed(42);
    for (auto dtype : {rg::float32, rg::float64}) {
        const std::size_t rows = dtype == rg::float32 ? 1031 : 521;
        auto x = rg::randn({rows, 2049}, {.dtype = dtype});
        auto scale = rg::randn({2049}, {.dtype = dtype});
        auto shift = rg::randn({rows, 1}, {.dtype = dtype});
        CHECK(x.numel() * (dtype == rg::float32 ? 4 : 8) >= std::size_t{8} << 20);
        check_values(rg::addcmul(shift, x, scale, -2.0), shift + x * scale * -2.0, 1e-5);
        check_values(rg::addcmul(x, x, x), x + x * x, 1e-5);
    }
}

TEST_CASE("gradcheck: addcmul at first and second order, each input broadcast") {
    rg::manual_seed(43);
    check_gradients([](const TensorList& v) { return rg::addcmul(v[0], v[1], v[2], 1.5); },
                    {rand64({2, 1}), rand64({2, 3}), rand64({3})});
    check_gradients([](const TensorList& v) { return rg::addcmul(v[0], v[1], v[2]); },
                    {rand64({2, 3}), rand64({1, 3}), rand64({2, 1})});
    // Only the inputs that need a gradient get one.
    auto a = rg::ones({2}), b = rg::ones({2}, {.requires_grad = true});
    rg::sum(rg::addcmul(a, b, rg::full({2}, 3.0))).backward();
    check_values(b.grad(), rg::full({2}, 3.0));
    CHECK_FALSE(a.grad().defined());
}

TEST_CASE("addcmul errors name the op, the shapes and the dtypes") {
    CHECK_THROWS_WITH_AS(rg::addcmul(rg::zeros({2}), rg::zeros({3}), rg::zeros({2})), doctest::Contains("addcmul"),
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::addcmul(rg::zeros({2}), rg::zeros({2}, {.dtype = rg::float64}), rg::zeros({2})),
                         doctest::Contains("addcmul: dtype mismatch"), rg::Error);
    CHECK_THROWS_WITH_AS(rg::addcmul(rg::zeros({2}), Tensor{}, rg::zeros({2})), doctest::Contains("undefined tensor"),
                         rg::Error);
}

TEST_CASE("addcmul's instruction set: RETROGRAD_NO_AVX2 turns every AVX2 version off") {
    // ctest runs this case again with RETROGRAD_NO_AVX2=1 (tests/CMakeLists.txt).
    const char* off = std::getenv("RETROGRAD_NO_AVX2");
    const bool refused = off && *off && std::string_view(off) != "0";
#if RETROGRAD_AVX2_CODE
    __builtin_cpu_init();
    CHECK(rg::detail::use_avx2() == (!refused && __builtin_cpu_supports("avx2") != 0));
#else
    (void)refused;
    CHECK_FALSE(rg::detail::use_avx2());
#endif
}
