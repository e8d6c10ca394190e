// The activations of activation_ops.cpp at points computed independently (by
// hand and with Python's math module, PyTorch's formulas), their stability
// for large |x|, and their argument errors. Values, gradcheck and
// gradgradcheck on random inputs are the registry's generated tests.
#include <cmath>
#include <limits>

#include "helpers.hpp"

using rg::Tensor;
using rg::TensorList;
using test::check_values;

namespace {
Tensor f64(std::initializer_list<double> values) {
    return rg::from_vector(std::vector<double>(values), {static_cast<std::int64_t>(values.size())},
                           {.dtype = rg::float64});
}
}  // namespace

TEST_CASE("activations: values at known points") {
    const Tensor one = f64({1.0});
    check_values(rg::erf(f64({0.5})), f64({0.5204998778130465}), 1e-14);
    check_values(rg::gelu(one), f64({0.8413447460685429}), 1e-14);
    check_values(rg::gelu(one, "tanh"), f64({0.8411919906082768}), 1e-14);
    check_values(rg::gelu(f64({-2.0}), "none"), f64({-0.04550026389635842}), 1e-14);
    check_values(rg::gelu(f64({-2.0}), "tanh"), f64({-0.04540230591222494}), 1e-14);
    check_values(rg::silu(one), f64({0.7310585786300049}), 1e-14);
    check_values(rg::mish(one), f64({0.8650983882673103}), 1e-14);
    check_values(rg::hardtanh(f64({-3.0, 0.25, 3.0})), f64({-1.0, 0.25, 1.0}));
    check_values(rg::hardtanh(f64({-3.0, 0.25, 3.0}), 0.0, 6.0), f64({0.0, 0.25, 3.0}));  // relu6
    check_values(rg::hardsigmoid(f64({-4.0, 1.0, 4.0})), f64({0.0, 0.6666666666666666, 1.0}), 1e-14);
    check_values(rg::logsigmoid(one), f64({-0.31326168751822286}), 1e-14);
    check_values(rg::softsign(f64({1.0, -3.0})), f64({0.5, -0.75}));
    // The method forms.
    check_values(one.erf(), rg::erf(one));
    check_values(one.silu(), rg::silu(one));
    check_values(one.softsign(), rg::softsign(one));
}

TEST_CASE("activations stay finite and exact for large |x|, in float32 and float64") {
    for (rg::Dtype dtype : {rg::float32, rg::float64}) {
        CAPTURE(rg::dtype_name(dtype));
        const Tensor x = rg::tensor({-1000.0, -100.0, 100.0, 1000.0}, {.dtype = dtype, .requires_grad = true});
        // log σ(x) = x for x << 0 and -e^-x -> 0 for x >> 0; a naive log(sigmoid(x)) gives -inf.
        check_values(rg::logsigmoid(x), rg::tensor({-1000.0, -100.0, 0.0, 0.0}, {.dtype = dtype}), 1e-6);
        check_values(rg::silu(x), rg::tensor({0.0, 0.0, 100.0, 1000.0}, {.dtype = dtype}), 1e-6);
        check_values(rg::mish(x), rg::tensor({0.0, 0.0, 100.0, 1000.0}, {.dtype = dtype}), 1e-6);
        check_values(rg::gelu(x), rg::tensor({0.0, 0.0, 100.0, 1000.0}, {.dtype = dtype}), 1e-6);
        check_values(rg::gelu(x, "tanh"), rg::tensor({0.0, 0.0, 100.0, 1000.0}, {.dtype = dtype}), 1e-6);
        check_values(rg::softsign(x),
                     rg::tensor({-1000.0 / 1001, -100.0 / 101, 100.0 / 101, 1000.0 / 1001}, {.dtype = dtype}), 1e-6);
        for (auto f :
             {+[](const Tensor& v) { return rg::logsigmoid(v); }, +[](const Tensor& v) { return rg::silu(v); },
              +[](const Tensor& v) { return rg::mish(v); }, +[](const Tensor& v) { return rg::gelu(v); },
              +[](const Tensor& v) { return rg::gelu(v, "tanh"); }, +[](const Tensor& v) { return rg::softsign(v); }}) {
            auto [g] = rg::grad(f(x).sum(), {x});
            for (double d : g.to_vector()) CHECK(std::isfinite(d));
        }
        // logsigmoid's gradient is σ(-x): 1 far left, 0 far right.
        auto [g] = rg::grad(rg::logsigmoid(x).sum(), {x});
        check_values(g, rg::tensor({1.0, 1.0, 0.0, 0.0}, {.dtype = dtype}), 1e-6);
    }
}

TEST_CASE("gelu's tanh form is within 1e-3 of the exact one, and both gradients agree with finite differences") {
    rg::manual_seed(3);
    const Tensor x = test::uniform64({50}, -4.0, 4.0);
    CHECK(rg::allclose(rg::gelu(x, "tanh"), rg::gelu(x), 0.0, 1e-3));
    test::check_gradients([](const TensorList& v) { return rg::gelu(v[0] * v[0] - 1.0, "tanh"); }, {x});
}

TEST_CASE("hardtanh and hardsigmoid pass no gradient at their corners, as PyTorch") {
    const Tensor x = rg::tensor({-1.0, 0.0, 1.0, -3.0, 3.0}, {.dtype = rg::float64, .requires_grad = true});
    auto [gt] = rg::grad(rg::hardtanh(x).sum(), {x});
    check_values(gt, rg::tensor({0.0, 1.0, 0.0, 0.0, 0.0}, {.dtype = rg::float64}));
    auto [gs] = rg::grad(rg::hardsigmoid(x).sum(), {x});
    check_values(gs, rg::tensor({1.0 / 6, 1.0 / 6, 1.0 / 6, 0.0, 0.0}, {.dtype = rg::float64}));
}

TEST_CASE("activations: bad arguments are rg::Errors") {
    const Tensor x = rg::tensor({1.0});
    CHECK_THROWS_WITH_AS(rg::gelu(x, "erf"), "gelu: approximate must be \"none\" or \"tanh\", got \"erf\"", rg::Error);
    CHECK_THROWS_WITH_AS(rg::hardtanh(x, 1.0, -1.0), "hardtanh: min_val 1 must not exceed max_val -1", rg::Error);
    CHECK_THROWS_WITH_AS(rg::silu(rg::from_indices({1})), "silu: expected a float32 or float64 tensor, got int64",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::mish(rg::tensor({true})), "mish: expected a float32 or float64 tensor, got bool",
                         rg::Error);
}
