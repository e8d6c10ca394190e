// The everyday elementwise ops (elementary_ops.cpp, rounding_ops.cpp,
// binary_math_ops.cpp, hardswish, relu6 and selu) where the registry's
// generated tests do not reach: half-way values, signs, infinities and NaN,
// the corners of hardswish and logit's clamp, broadcasting gradients, and
// the exact error messages. Expected values are PyTorch's behaviour, written
// by hand or computed with the C library.
#include <cmath>
#include <limits>
#include <numbers>

#include "helpers.hpp"

using rg::Tensor;
using rg::TensorList;
using test::check_values;

namespace {

Tensor f64(std::initializer_list<double> values, bool requires_grad = false) {
    return rg::from_vector(std::vector<double>(values), {static_cast<std::int64_t>(values.size())},
                           {.dtype = rg::float64, .requires_grad = requires_grad});
}

// The gradient of sum(f(x)) at x.
Tensor gradient_of(const Tensor& y, const Tensor& x) {
    auto [g] = rg::grad(y.sum(), {x});
    return g;
}

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

}  // namespace

TEST_CASE("round: half-way values go to the even integer, as torch.round") {
    for (rg::Dtype dtype : {rg::float32, rg::float64, rg::bfloat16}) {
        CAPTURE(rg::dtype_name(dtype));
        const Tensor x = rg::tensor({0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, 0.25, -2.75}, {.dtype = dtype});
        const std::vector<double> y = rg::round(x).to_vector();
        CHECK(y == std::vector<double>{0.0, 2.0, 2.0, -0.0, -2.0, -2.0, 4.0, 0.0, -3.0});
        CHECK(std::signbit(y[3]));  // -0.5 -> -0, as PyTorch
        CHECK(rg::round(x).dtype() == dtype);
    }
    // The largest double below 0.5 is not a half-way value: it goes to 0, where floor(x + 0.5) would give 1.
    CHECK(rg::round(f64({0.49999999999999994})).item() == 0.0);
}

TEST_CASE("floor, ceil, trunc and frac on negative and positive values; the rounding ops' gradient is zeros") {
    const Tensor x = f64({-1.5, -0.25, 0.0, 0.75, 2.0, 2.5});
    CHECK(rg::floor(x).to_vector() == std::vector<double>{-2.0, -1.0, 0.0, 0.0, 2.0, 2.0});
    CHECK(rg::ceil(x).to_vector() == std::vector<double>{-1.0, -0.0, 0.0, 1.0, 2.0, 3.0});
    CHECK(rg::trunc(x).to_vector() == std::vector<double>{-1.0, -0.0, 0.0, 0.0, 2.0, 2.0});
    CHECK(rg::frac(x).to_vector() == std::vector<double>{-0.5, -0.25, 0.0, 0.75, 0.0, 0.5});  // x's sign
    CHECK(x.floor().to_vector() == rg::floor(x).to_vector());
    const Tensor w = rg::tensor({{-1.5, 0.5}, {2.5, 3.0}}, {.requires_grad = true});  // float32
    for (auto f : {+[](const Tensor& v) { return rg::floor(v); }, +[](const Tensor& v) { return rg::ceil(v); },
                   +[](const Tensor& v) { return rg::round(v); }, +[](const Tensor& v) { return rg::trunc(v); }}) {
        const Tensor g = gradient_of(f(w) * 3.0, w);
        CHECK(g.dtype() == rg::float32);
        CHECK(g.shape() == rg::Shape{2, 2});
        CHECK(g.to_vector() == std::vector<double>{0.0, 0.0, 0.0, 0.0});
        CHECK(f(w).grad_fn() != nullptr);  // recorded, as sign and step: the zeros flow on
    }
    // frac passes the gradient through.
    CHECK(gradient_of(rg::frac(w) * 3.0, w).to_vector() == std::vector<double>{3.0, 3.0, 3.0, 3.0});
    CHECK_THROWS_WITH_AS(rg::floor(rg::from_indices({1, 2})), "floor: expected a float32 or float64 tensor, got int64",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::round(rg::tensor({true})), "round: expected a float32 or float64 tensor, got bool",
                         rg::Error);
}

TEST_CASE("fmod keeps the sign of a, remainder the sign of b, as torch.fmod and torch.remainder") {
    const Tensor a = f64({-3.0, 3.0, -3.0, 3.0, 5.5, -5.5, 4.0});
    const Tensor b = f64({2.0, -2.0, -2.0, 2.0, 2.0, 2.0, 2.0});
    CHECK(rg::fmod(a, b).to_vector() == std::vector<double>{-1.0, 1.0, -1.0, 1.0, 1.5, -1.5, 0.0});
    CHECK(rg::remainder(a, b).to_vector() == std::vector<double>{1.0, -1.0, -1.0, 1.0, 1.5, 0.5, 0.0});
    for (std::size_t i = 0; i < 7; ++i) {
        const double u = a.to_vector()[i], v = b.to_vector()[i];
        CHECK(rg::fmod(a, b).to_vector()[i] == std::fmod(u, v));
    }
    // With a number divisor, the same signs.
    CHECK(rg::fmod(f64({-3.0, 3.0}), 2.0).to_vector() == std::vector<double>{-1.0, 1.0});
    CHECK(rg::remainder(f64({-3.0, 3.0}), 2.0).to_vector() == std::vector<double>{1.0, 1.0});
    CHECK(rg::remainder(f64({3.0, -3.0}), -2.0).to_vector() == std::vector<double>{-1.0, -1.0});
    CHECK(rg::fmod(rg::tensor({-3.0f}), 2.0).dtype() == rg::float32);
    // Broadcast: (2, 1) with (3,).
    const Tensor column = rg::tensor({{7.0}, {-7.0}}, {.dtype = rg::float64});
    const Tensor row = f64({2.0, -3.0, 4.0});
    CHECK(rg::remainder(column, row).to_vector() == std::vector<double>{1.0, -2.0, 3.0, 1.0, -1.0, 1.0});
    CHECK(rg::fmod(column, row).to_vector() == std::vector<double>{1.0, 1.0, 3.0, -1.0, -1.0, -3.0});
}

TEST_CASE("fmod and remainder: gradients with operands of opposite signs, summed to broadcast shapes") {
    // a / b = -1.75: trunc -1, floor -2.
    const Tensor a = rg::tensor({{-3.5}, {-3.5}}, {.dtype = rg::float64, .requires_grad = true});
    const Tensor b = f64({2.0}, true);
    auto [da, db] = rg::grad(rg::fmod(a, b).sum(), {a, b});
    CHECK(da.to_vector() == std::vector<double>{1.0, 1.0});
    CHECK(db.to_vector() == std::vector<double>{2.0});  // -g trunc(a / b), summed over the 2 rows
    auto [ra, rb] = rg::grad(rg::remainder(a, b).sum(), {a, b});
    CHECK(ra.to_vector() == std::vector<double>{1.0, 1.0});
    CHECK(rb.to_vector() == std::vector<double>{4.0});  // -g floor(a / b)
    auto [sa] = rg::grad(rg::remainder(a, -2.0).sum(), {a});
    CHECK(sa.to_vector() == std::vector<double>{1.0, 1.0});
    // First and second order at mixed signs, away from the jumps.
    const TensorList inputs{f64({-3.5, 2.3, 5.2}, true), f64({2.0, -1.5, -2.25}, true)};
    test::check_gradients([](const TensorList& v) { return rg::fmod(v[0], v[1]); }, inputs);
    test::check_gradients([](const TensorList& v) { return rg::remainder(v[0], v[1]); }, inputs);
}

TEST_CASE("nan_to_num: NaN to 0 and infinities to the dtype's largest and lowest finite values by default") {
    const std::vector<double> hostile{not_a_number, inf, -inf, 1.5, -0.0};
    const auto replaced = [&](rg::Dtype dtype, auto&&... options) {
        return rg::nan_to_num(rg::from_vector(hostile, {5}, {.dtype = dtype}), options...).to_vector();
    };
    CHECK(replaced(rg::float64) == std::vector<double>{0.0, std::numeric_limits<double>::max(),
                                                       std::numeric_limits<double>::lowest(), 1.5, -0.0});
    CHECK(replaced(rg::float32) ==
          std::vector<double>{0.0, std::numeric_limits<float>::max(), std::numeric_limits<float>::lowest(), 1.5, -0.0});
    const double bf16_max = static_cast<float>(std::numeric_limits<rg::BFloat16>::max());
    CHECK(replaced(rg::bfloat16) == std::vector<double>{0.0, bf16_max, -bf16_max, 1.5, -0.0});
    CHECK(replaced(rg::float32, -1.0, 100.0, -200.0) == std::vector<double>{-1.0, 100.0, -200.0, 1.5, -0.0});
    CHECK(replaced(rg::float64, 2.0, std::nullopt, -7.0) ==
          std::vector<double>{2.0, std::numeric_limits<double>::max(), -7.0, 1.5, -0.0});
    // The gradient passes where x is finite only (PyTorch: grad * isfinite(x)).
    const Tensor x = rg::from_vector(hostile, {5}, {.dtype = rg::float64, .requires_grad = true});
    CHECK(gradient_of(rg::nan_to_num(x) * 2.0, x).to_vector() == std::vector<double>{0.0, 0.0, 0.0, 2.0, 2.0});
    // Integers and bools are copied unchanged, as torch.nan_to_num: a copy, not a view.
    const Tensor indices = rg::from_indices({3, -4});
    const Tensor copied = rg::nan_to_num(indices, 1.0, 2.0, -2.0);
    CHECK(copied.dtype() == rg::int64);
    CHECK(copied.to_vector() == std::vector<double>{3.0, -4.0});
    CHECK(copied.data_ptr<std::int64_t>() != indices.data_ptr<std::int64_t>());
    const Tensor flags = rg::nan_to_num(rg::isnan(rg::tensor({not_a_number, 1.0})));
    CHECK(flags.dtype() == rg::bool_);
    CHECK(flags.to_vector() == std::vector<double>{1.0, 0.0});
}

TEST_CASE("isnan, isinf and isfinite give bool tensors, never recorded") {
    const Tensor x = rg::tensor({not_a_number, inf, -inf, 0.0, -1.5}, {.dtype = rg::float64, .requires_grad = true});
    for (rg::Dtype dtype : {rg::float32, rg::float64, rg::bfloat16}) {
        CAPTURE(rg::dtype_name(dtype));
        const Tensor v = x.detach().to(dtype);
        CHECK(rg::isnan(v).dtype() == rg::bool_);
        CHECK(rg::isnan(v).to_vector() == std::vector<double>{1, 0, 0, 0, 0});
        CHECK(rg::isinf(v).to_vector() == std::vector<double>{0, 1, 1, 0, 0});
        CHECK(rg::isfinite(v).to_vector() == std::vector<double>{0, 0, 0, 1, 1});
    }
    CHECK(rg::isnan(x).grad_fn() == nullptr);
    CHECK_FALSE(rg::isfinite(x).requires_grad());
    CHECK(x.isinf().to_vector() == std::vector<double>{0, 1, 1, 0, 0});
    // Integers are always finite, as in PyTorch.
    CHECK(rg::isfinite(rg::from_indices({3, -4})).to_vector() == std::vector<double>{1, 1});
    CHECK(rg::isnan(rg::tensor({true, false})).to_vector() == std::vector<double>{0, 0});
    // A strided view is read in place.
    const Tensor grid = rg::tensor({{not_a_number, 1.0}, {2.0, inf}}, {.dtype = rg::float64});
    CHECK(rg::isfinite(rg::transpose(grid)).to_vector() == std::vector<double>{0, 1, 1, 0});
}

TEST_CASE("logit: log(x / (1 - x)); with eps, x clamped to eps and 1 - eps first and no gradient outside") {
    check_values(rg::logit(f64({0.5, 0.25, 0.9})), f64({0.0, std::log(1.0 / 3.0), std::log(9.0)}), 1e-14);
    const std::vector<double> at_ends = rg::logit(f64({0.0, 1.0})).to_vector();
    CHECK(at_ends == std::vector<double>{-inf, inf});
    const double low = std::log(0.2 / 0.8), high = std::log(0.8 / 0.2);
    const Tensor x = f64({-0.5, 0.0, 0.1, 0.2, 0.5, 0.8, 0.95, 1.0, 1.5}, true);
    check_values(rg::logit(x, 0.2), f64({low, low, low, low, 0.0, high, high, high, high}), 1e-14);
    // At eps and 1 - eps the gradient is 1 / (x (1 - x)), as PyTorch's logit_backward (inclusive bounds).
    check_values(gradient_of(rg::logit(x, 0.2), x), f64({0.0, 0.0, 0.0, 6.25, 4.0, 6.25, 0.0, 0.0, 0.0}), 1e-12);
    check_values(gradient_of(rg::logit(x.slice(0, 2, 7)), x), f64({0, 0, 1 / 0.09, 6.25, 4.0, 6.25, 1 / 0.0475, 0, 0}),
                 1e-12);
    CHECK(rg::logit(x, 0.0).to_vector()[1] == -inf);  // eps = 0 clamps to [0, 1]
    test::check_gradients([](const TensorList& v) { return rg::logit(v[0], 0.2); },
                          {f64({0.05, 0.3, 0.6, 0.7, 0.9, 1.2}, true)});
    CHECK_THROWS_WITH_AS(rg::logit(x, 0.7), "logit: eps must be in [0, 0.5], got 0.7", rg::Error);
    CHECK_THROWS_WITH_AS(rg::logit(x, -0.1), "logit: eps must be in [0, 0.5], got -0.1", rg::Error);
    CHECK_THROWS_WITH_AS(rg::logit(x, not_a_number), "logit: eps must be in [0, 0.5], got nan", rg::Error);
}

TEST_CASE("hardswish: values and PyTorch's gradient at -4, -3, 0, 3, 4 and between") {
    const Tensor x = f64({-4.0, -3.0, 0.0, 3.0, 4.0, -1.5, 1.0}, true);
    check_values(rg::hardswish(x), f64({0.0, 0.0, 0.0, 3.0, 4.0, -0.375, 4.0 / 6.0}), 1e-15);
    // 0 below -3, x/3 + 1/2 on [-3, 3] (so -1/2 at -3 and 3/2 at 3), 1 above (hardswish_backward).
    check_values(gradient_of(rg::hardswish(x), x), f64({0.0, -0.5, 0.5, 1.5, 1.0, 0.0, 5.0 / 6.0}), 1e-15);
    // The second derivative is 1/3 between the corners.
    test::check_gradients([](const TensorList& v) { return rg::hardswish(v[0]); },
                          {f64({-3.5, -2.0, -0.5, 0.7, 2.9, 3.4}, true)});
    CHECK(x.hardswish().to_vector() == rg::hardswish(x).to_vector());
}

TEST_CASE("relu6 and selu against their closed forms") {
    const Tensor x = f64({-1.0, 0.0, 0.5, 6.0, 6.5}, true);
    check_values(rg::relu6(x), f64({0.0, 0.0, 0.5, 6.0, 6.0}), 0.0);
    check_values(gradient_of(rg::relu6(x), x), f64({0.0, 0.0, 1.0, 0.0, 0.0}), 0.0);  // none at 0 and 6, as PyTorch
    const double alpha = 1.6732632423543772848170429916717, scale = 1.0507009873554804934193349852946;
    const Tensor z = f64({-2.0, -0.5, 0.5, 3.0}, true);
    check_values(rg::selu(z),
                 f64({scale * alpha * std::expm1(-2.0), scale * alpha * std::expm1(-0.5), scale * 0.5, scale * 3.0}),
                 1e-15);
    check_values(gradient_of(rg::selu(z), z),
                 f64({scale * alpha * std::exp(-2.0), scale * alpha * std::exp(-0.5), scale, scale}), 1e-15);
    // selu(-inf) is -scale alpha, the value the SELU paper's fixed point needs.
    CHECK(rg::selu(f64({-inf})).item() == doctest::Approx(-scale * alpha).epsilon(1e-15));
}

TEST_CASE("lerp with a number and with a tensor weight: values, broadcasting and gradients") {
    const Tensor start = rg::tensor({{1.0}, {-2.0}}, {.dtype = rg::float64, .requires_grad = true});  // (2, 1)
    const Tensor end = f64({3.0, 5.0, -1.0}, true);  // (3,)
    check_values(rg::lerp(start, end, 0.25),
                 rg::tensor({{1.5, 2.0, 0.5}, {-0.75, -0.25, -1.75}}, {.dtype = rg::float64}), 1e-15);
    auto [ds, de] = rg::grad(rg::lerp(start, end, 0.25).sum(), {start, end});
    check_values(ds, rg::tensor({{2.25}, {2.25}}, {.dtype = rg::float64}), 1e-15);  // 3 columns of 1 - w
    check_values(de, f64({0.5, 0.5, 0.5}), 1e-15);  // 2 rows of w
    const Tensor weight = f64({0.0, 0.5, 2.0}, true);  // (3,): extrapolates at 2
    check_values(rg::lerp(start, end, weight), rg::tensor({{1.0, 3.0, -3.0}, {-2.0, 1.5, 0.0}}, {.dtype = rg::float64}),
                 1e-15);
    auto [ts, te, tw] = rg::grad(rg::lerp(start, end, weight).sum(), {start, end, weight});
    check_values(ts, rg::tensor({{0.5}, {0.5}}, {.dtype = rg::float64}), 1e-15);  // Σ (1 - w) = 1 + 0.5 - 1
    check_values(te, f64({0.0, 1.0, 4.0}), 1e-15);  // 2 rows of w
    check_values(tw, f64({2.0 + 5.0, 4.0 + 7.0, -2.0 + 1.0}), 1e-15);  // Σ over rows of end - start
    test::check_gradients([](const TensorList& v) { return rg::lerp(v[0], v[1], v[2]); },
                          {test::rand64({2, 1}), test::rand64({3}), test::rand64({2, 3})});
    // Weights 0 and 1 give start and end exactly (start + 1 * (end - start) rounds off end).
    rg::manual_seed(5);
    const Tensor a = rg::randn({1000}), b = rg::randn({1000}) * 100.0;
    CHECK(rg::lerp(a, b, 1.0).to_vector() == b.to_vector());
    CHECK(rg::lerp(a, b, 0.0).to_vector() == a.to_vector());
    CHECK(rg::lerp(a, b, rg::ones({1000})).to_vector() == b.to_vector());
    CHECK(rg::lerp(a, b, rg::zeros({1000})).to_vector() == a.to_vector());
    CHECK_THROWS_WITH_AS(rg::lerp(rg::zeros({2, 3}), rg::zeros({4}), rg::zeros({4})),
                         "lerp: cannot broadcast (2, 3) with (4,): sizes 3 and 4 differ at axis -1", rg::Error);
    CHECK_THROWS_WITH_AS(rg::lerp(rg::zeros({2, 3}), rg::zeros({3}), rg::zeros({2, 3}, {.dtype = rg::float64})),
                         "lerp: dtype mismatch, float32 and float64; convert one side with .to(rg::float32)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::lerp(rg::from_indices({1}), rg::from_indices({2}), rg::from_indices({0})),
                         "lerp: expected float32 or float64 tensors, got int64", rg::Error);
    CHECK_THROWS_WITH_AS(rg::lerp(rg::zeros({2, 3}), rg::zeros({4}), 0.5),
                         "lerp: cannot broadcast (2, 3) with (4,): sizes 3 and 4 differ at axis -1", rg::Error);
}

TEST_CASE("atan2 in all four quadrants and on the axes agrees with std::atan2") {
    const std::vector<double> ys{1.0, 1.0, -1.0, -1.0, 0.5, -2.0, 0.0, 0.0, 3.0, -3.0};
    const std::vector<double> xs{1.0, -1.0, -1.0, 1.0, -2.0, 0.25, 1.0, -1.0, 0.0, 0.0};
    const Tensor y = rg::from_vector(ys, {10}, {.dtype = rg::float64, .requires_grad = true});
    const Tensor x = rg::from_vector(xs, {10}, {.dtype = rg::float64, .requires_grad = true});
    const std::vector<double> angles = rg::atan2(y, x).to_vector();
    for (std::size_t i = 0; i < ys.size(); ++i) {
        CAPTURE(i);
        CHECK(angles[i] == std::atan2(ys[i], xs[i]));
    }
    CHECK(angles[1] == doctest::Approx(3 * std::numbers::pi / 4));
    CHECK(angles[2] == doctest::Approx(-3 * std::numbers::pi / 4));
    auto [dy, dx] = rg::grad(rg::atan2(y, x).sum(), {y, x});
    for (std::size_t i = 0; i < ys.size(); ++i) {
        CAPTURE(i);
        const double r2 = xs[i] * xs[i] + ys[i] * ys[i];
        CHECK(dy.to_vector()[i] == doctest::Approx(xs[i] / r2).epsilon(1e-15));
        CHECK(dx.to_vector()[i] == doctest::Approx(-ys[i] / r2).epsilon(1e-15));
    }
    // Quadrants II and IV, which the generated samples (both signs equal) do not reach.
    test::check_gradients([](const TensorList& v) { return rg::atan2(v[0], v[1]); },
                          {f64({0.7, -1.2, 2.0}, true), f64({-1.5, 0.4, -0.3}, true)});
    CHECK_THROWS_WITH_AS(rg::atan2(rg::zeros({2, 3}), rg::zeros({4})),
                         "atan2: cannot broadcast (2, 3) with (4,): sizes 3 and 4 differ at axis -1", rg::Error);
    CHECK_THROWS_WITH_AS(rg::atan2(rg::zeros({2}), rg::zeros({2}, {.dtype = rg::float64})),
                         "atan2: dtype mismatch, float32 and float64; convert one side with .to(rg::float32)",
                         rg::Error);
}

TEST_CASE("reciprocal, rsqrt, tan, asin, acos, sinh, cosh, log2, log10, exp2 at exact points; NaN outside a domain") {
    const double pi = std::numbers::pi;
    check_values(rg::reciprocal(f64({4.0, -0.5})), f64({0.25, -2.0}), 0.0);
    check_values(rg::rsqrt(f64({4.0, 0.25})), f64({0.5, 2.0}), 0.0);
    check_values(rg::tan(f64({pi / 4})), f64({1.0}), 1e-15);
    check_values(rg::asin(f64({0.5, -1.0})), f64({pi / 6, -pi / 2}), 1e-15);
    check_values(rg::acos(f64({0.5, -1.0})), f64({pi / 3, pi}), 1e-15);
    check_values(rg::sinh(f64({std::log(2.0)})), f64({0.75}), 1e-15);
    check_values(rg::cosh(f64({std::log(2.0)})), f64({1.25}), 1e-15);
    check_values(rg::log2(f64({8.0, 0.5})), f64({3.0, -1.0}), 0.0);
    check_values(rg::log10(f64({1000.0, 0.01})), f64({3.0, -2.0}), 1e-15);
    check_values(rg::exp2(f64({3.0, -1.0})), f64({8.0, 0.5}), 0.0);
    CHECK(std::isnan(rg::asin(f64({1.5})).item()));  // as PyTorch
    CHECK(std::isnan(rg::rsqrt(f64({-1.0})).item()));
    CHECK(rg::reciprocal(f64({0.0})).item() == inf);
    // Gradients from the saved output: reciprocal -g y², rsqrt -g y³ / 2, tan g (1 + y²), exp2 g y ln 2.
    const Tensor x = f64({2.0}, true);
    CHECK(gradient_of(rg::reciprocal(x), x).item() == -0.25);
    CHECK(gradient_of(rg::rsqrt(x * 2.0), x).item() == doctest::Approx(-0.125).epsilon(1e-15));  // 2 * -y³/2, y = 1/2
    CHECK(gradient_of(rg::exp2(x), x).item() == doctest::Approx(4.0 * std::numbers::ln2).epsilon(1e-15));
    CHECK(gradient_of(rg::log10(x), x).item() == doctest::Approx(1.0 / (2.0 * std::numbers::ln10)).epsilon(1e-15));
}
