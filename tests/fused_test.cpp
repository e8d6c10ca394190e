// Fused elementwise ops against the unfused expression they replace.
#include "helpers.hpp"
#include "thread_count.hpp"

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

namespace {

// An LSTM cell's pointwise part written with single ops, as the nn layers
// wrote it before lstm_pointwise: h' and c' stacked.
Tensor lstm_by_single_ops(const Tensor& gates, const Tensor& c) {
    const auto h = static_cast<std::int64_t>(c.shape().back());
    const Tensor i = rg::sigmoid(rg::narrow(gates, -1, 0, h)), f = rg::sigmoid(rg::narrow(gates, -1, h, h));
    const Tensor g = rg::tanh(rg::narrow(gates, -1, 2 * h, h)), o = rg::sigmoid(rg::narrow(gates, -1, 3 * h, h));
    const Tensor c_next = f * c + i * g;
    return rg::stack({o * rg::tanh(c_next), c_next}, 0);
}

}  // namespace

TEST_CASE("lstm_pointwise equals the cell written with single ops, values and gradients, float32 and float64") {
    // 64 rows of 4 x 128 gates: several threads' pieces and the vector
    // kernels' full width; 37 columns leave a remainder in every row.
    rg::manual_seed(44);
    for (auto dtype : {rg::float32, rg::float64}) {
        for (std::size_t hidden : {128, 37}) {
            CAPTURE(hidden);
            const auto gates = rg::randn({64, 4 * hidden}, {.dtype = dtype, .requires_grad = true});
            const auto c = rg::randn({64, hidden}, {.dtype = dtype, .requires_grad = true});
            const auto v = rg::randn({2, 64, hidden}, {.dtype = dtype});
            const Tensor fused = rg::lstm_pointwise(gates, c), single = lstm_by_single_ops(gates, c);
            const double tol = dtype == rg::float32 ? 1e-5 : 1e-12;
            check_values(fused, single, tol);
            const auto [dg, dc] = rg::grad({rg::sum(fused * v)}, {gates, c});
            const auto [dg_single, dc_single] = rg::grad({rg::sum(single * v)}, {gates, c});
            check_values(dg, dg_single, tol);
            check_values(dc, dc_single, tol);
        }
    }
}

TEST_CASE("lstm_pointwise: bfloat16 is computed in float32 and rounded once; results do not depend on the threads") {
    rg::manual_seed(45);
    const auto gates = rg::randn({64, 512}), c = rg::randn({64, 128});
    const Tensor wide = rg::lstm_pointwise(gates.to(rg::bfloat16).to(rg::float32), c.to(rg::bfloat16).to(rg::float32));
    const Tensor narrow = rg::lstm_pointwise(gates.to(rg::bfloat16), c.to(rg::bfloat16));
    CHECK(narrow.dtype() == rg::bfloat16);
    CHECK(narrow.to_vector() == wide.to(rg::bfloat16).to_vector());
    const auto gb = gates.to(rg::bfloat16).requires_grad_(), cb = c.to(rg::bfloat16).requires_grad_();
    const auto [dg, dc] = rg::grad({rg::sum(rg::lstm_pointwise(gb, cb))}, {gb, cb});
    CHECK(dg.dtype() == rg::bfloat16);
    CHECK(dc.dtype() == rg::bfloat16);
    const auto gw = gates.to(rg::bfloat16).to(rg::float32).requires_grad_();
    const auto cw = c.to(rg::bfloat16).to(rg::float32).requires_grad_();
    const auto [dg_wide, dc_wide] = rg::grad({rg::sum(rg::lstm_pointwise(gw, cw))}, {gw, cw});
    CHECK(dg.to_vector() == dg_wide.to(rg::bfloat16).to_vector());
    CHECK(dc.to_vector() == dc_wide.to(rg::bfloat16).to_vector());

    const auto run = [&] {
        const auto g = gates.detach().requires_grad_();
        const Tensor out = rg::lstm_pointwise(g, c);
        return TensorList{out, rg::grad({rg::sum(out * out)}, {g})[0]};
    };
    const auto [one, two] = test::on_one_and_two_threads(run);
    CHECK(one[0].to_vector() == two[0].to_vector());
    CHECK(one[1].to_vector() == two[1].to_vector());
}

TEST_CASE("lstm_pointwise errors name the op, the shapes and what was expected") {
    CHECK_THROWS_WITH_AS(rg::lstm_pointwise(rg::zeros({2, 6}), rg::zeros({2, 1})),
                         "lstm_pointwise: gates of shape (2, 6) has a last axis of 6; expected 4 * hidden_size, the "
                         "gates i, f, g, o side by side",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::lstm_pointwise(rg::zeros({2, 8}), rg::zeros({2, 3})),
                         "lstm_pointwise: c of shape (2, 3) for gates of shape (2, 8); expected (2, 2), the gates' "
                         "shape with a quarter of the last axis",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::lstm_pointwise(rg::zeros({}), rg::zeros({})),
                         "lstm_pointwise: gates is 0-D; expected (..., 4 * hidden_size), the gates i, f, g, o side by "
                         "side",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::lstm_pointwise(rg::zeros({2, 8}), rg::zeros({2, 2}, {.dtype = rg::float64})),
                         doctest::Contains("lstm_pointwise: dtype mismatch, float32 and float64"), rg::Error);
    CHECK_THROWS_WITH_AS(rg::lstm_pointwise(rg::zeros({2, 8}, {.dtype = rg::int64}),
                                            rg::zeros({2, 2}, {.dtype = rg::int64})),
                         doctest::Contains("lstm_pointwise"), rg::Error);
}

namespace {

// A GRU cell's pointwise part written with single ops, as the nn layers wrote
// it before gru_pointwise.
Tensor gru_by_single_ops(const Tensor& xw, const Tensor& hw, const Tensor& h) {
    const auto k = static_cast<std::int64_t>(h.shape().back());
    const Tensor r = rg::sigmoid(rg::narrow(xw, -1, 0, k) + rg::narrow(hw, -1, 0, k));
    const Tensor z = rg::sigmoid(rg::narrow(xw, -1, k, k) + rg::narrow(hw, -1, k, k));
    const Tensor n = rg::tanh(rg::narrow(xw, -1, 2 * k, k) + r * rg::narrow(hw, -1, 2 * k, k));
    return (1.0 - z) * n + z * h;
}

}  // namespace

TEST_CASE("gru_pointwise equals the cell written with single ops, values and gradients, float32 and float64") {
    rg::manual_seed(46);
    for (auto dtype : {rg::float32, rg::float64}) {
        for (std::size_t hidden : {128, 37}) {
            CAPTURE(hidden);
            const auto options = rg::TensorOptions{.dtype = dtype, .requires_grad = true};
            const auto xw = rg::randn({64, 3 * hidden}, options), hw = rg::randn({64, 3 * hidden}, options);
            const auto h = rg::randn({64, hidden}, options);
            const auto v = rg::randn({64, hidden}, {.dtype = dtype});
            const Tensor fused = rg::gru_pointwise(xw, hw, h), single = gru_by_single_ops(xw, hw, h);
            const double tol = dtype == rg::float32 ? 1e-5 : 1e-12;
            check_values(fused, single, tol);
            const auto grads = rg::grad({rg::sum(fused * v)}, {xw, hw, h});
            const auto expected = rg::grad({rg::sum(single * v)}, {xw, hw, h});
            for (std::size_t i = 0; i < 3; ++i) check_values(grads[i], expected[i], tol);
        }
    }
}

TEST_CASE("gru_pointwise: bfloat16 is computed in float32 and rounded once; results do not depend on the threads") {
    rg::manual_seed(47);
    const auto xw = rg::randn({64, 384}), hw = rg::randn({64, 384}), h = rg::randn({64, 128});
    const auto bf = [](const Tensor& t) { return t.to(rg::bfloat16); };
    const auto rounded = [](const Tensor& t) { return t.to(rg::bfloat16).to(rg::float32); };
    const Tensor narrow = rg::gru_pointwise(bf(xw), bf(hw), bf(h));
    CHECK(narrow.dtype() == rg::bfloat16);
    CHECK(narrow.to_vector() == rg::gru_pointwise(rounded(xw), rounded(hw), rounded(h)).to(rg::bfloat16).to_vector());
    const TensorList narrow_in{bf(xw).requires_grad_(), bf(hw).requires_grad_(), bf(h).requires_grad_()};
    const TensorList wide_in{rounded(xw).requires_grad_(), rounded(hw).requires_grad_(), rounded(h).requires_grad_()};
    const TensorList narrow_grads =
        rg::grad({rg::sum(rg::gru_pointwise(narrow_in[0], narrow_in[1], narrow_in[2]))}, narrow_in);
    const TensorList wide_grads = rg::grad({rg::sum(rg::gru_pointwise(wide_in[0], wide_in[1], wide_in[2]))}, wide_in);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(narrow_grads[i].dtype() == rg::bfloat16);
        CHECK(narrow_grads[i].to_vector() == wide_grads[i].to(rg::bfloat16).to_vector());
    }

    const auto run = [&] {
        const auto x = xw.detach().requires_grad_();
        const Tensor out = rg::gru_pointwise(x, hw, h);
        return TensorList{out, rg::grad({rg::sum(out * out)}, {x})[0]};
    };
    const auto [one, two] = test::on_one_and_two_threads(run);
    CHECK(one[0].to_vector() == two[0].to_vector());
    CHECK(one[1].to_vector() == two[1].to_vector());
}

TEST_CASE("gru_pointwise errors name the op, the shapes and what was expected") {
    CHECK_THROWS_WITH_AS(rg::gru_pointwise(rg::zeros({2, 6}), rg::zeros({2, 3}), rg::zeros({2, 2})),
                         "gru_pointwise: xw of shape (2, 6) and hw of shape (2, 3); expected equal shapes (..., 3 * "
                         "hidden_size)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::gru_pointwise(rg::zeros({2, 4}), rg::zeros({2, 4}), rg::zeros({2, 1})),
                         "gru_pointwise: xw of shape (2, 4) has a last axis of 4; expected 3 * hidden_size, the thirds "
                         "r, z, n side by side",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::gru_pointwise(rg::zeros({2, 6}), rg::zeros({2, 6}), rg::zeros({2, 3})),
                         "gru_pointwise: h of shape (2, 3) for xw of shape (2, 6); expected (2, 2), xw's shape with a "
                         "third of the last axis",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::gru_pointwise(rg::zeros({}), rg::zeros({}), rg::zeros({})),
                         "gru_pointwise: xw is 0-D; expected (..., 3 * hidden_size), the thirds r, z, n side by side",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::gru_pointwise(rg::zeros({2, 6}), rg::zeros({2, 6}),
                                           rg::zeros({2, 2}, {.dtype = rg::float64})),
                         doctest::Contains("gru_pointwise: dtype mismatch, float32 and float64"), rg::Error);
}

TEST_CASE("retrograd's instruction sets: RETROGRAD_NO_AVX512 turns the AVX-512 versions off") {
    // ctest runs this case again with RETROGRAD_NO_AVX512=1 and with RETROGRAD_NO_AVX2=1.
    const char* off = std::getenv("RETROGRAD_NO_AVX512");
    const bool refused = off && *off && std::string_view(off) != "0";
#if RETROGRAD_AVX2_CODE
    __builtin_cpu_init();
    CHECK(rg::detail::use_avx512() == (!refused && rg::detail::use_avx2() && __builtin_cpu_supports("avx512f") != 0));
#else
    (void)refused;
    CHECK_FALSE(rg::detail::use_avx512());
#endif
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
