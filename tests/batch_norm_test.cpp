// rg::batch_norm against its formula written with single ops in float64 (the
// way nn::BatchNorm computed it before the kernel), PyTorch's running
// statistics, evaluation mode, float32 on channels far from zero, bfloat16,
// and the errors.
#include "helpers.hpp"

#include <cmath>

namespace {

using test::check_values;

// The normalisation of x (N, C, ...) over every axis but 1, as single ops.
rg::Tensor composite(const rg::Tensor& x, const rg::Tensor& w, const rg::Tensor& b, double eps) {
    rg::Axes axes{0};
    for (std::size_t i = 2; i < x.dim(); ++i) axes.push_back(static_cast<int>(i));
    rg::Shape channel(x.dim(), 1);
    channel[1] = x.shape()[1];
    const rg::Tensor mean = rg::mean(x, axes, true);
    const rg::Tensor centred = x - mean;
    const rg::Tensor variance = rg::mean(centred * centred, axes, true);
    return centred / rg::sqrt(variance + eps) * rg::reshape(w, channel) + rg::reshape(b, channel);
}

}  // namespace

TEST_CASE("batch_norm in training equals its formula, gradients too, and updates the running statistics as PyTorch") {
    rg::manual_seed(31);
    for (const rg::Shape& shape : {rg::Shape{5, 3}, rg::Shape{4, 3, 6}, rg::Shape{3, 4, 5, 2}}) {
        CAPTURE(rg::shape_str(shape));
        const std::size_t channels = shape[1];
        const auto x = (test::rand64(shape, false) * 3.0 + 2.0).requires_grad_();
        const auto w = test::rand64({channels}), b = test::rand64({channels});
        const auto r = test::rand64(shape, false);
        auto running_mean = rg::from_vector(std::vector<double>(channels, 0.5), {static_cast<std::int64_t>(channels)});
        auto running_var = rg::ones({channels});
        const auto y = rg::batch_norm(x, running_mean, running_var, w, b, true, 0.25, 1e-3);
        const auto expected = composite(x, w, b, 1e-3);
        check_values(y, expected, 1e-10);
        const auto got = rg::grad(rg::sum(y * r), {x, w, b});
        const auto want = rg::grad(rg::sum(expected * r), {x, w, b});
        for (std::size_t i = 0; i < 3; ++i) check_values(got[i], want[i], 1e-10);
        // running = 0.75 running + 0.25 batch, the variance unbiased (float32 buffers, as nn's).
        rg::Axes axes{0};
        for (std::size_t i = 2; i < shape.size(); ++i) axes.push_back(static_cast<int>(i));
        const auto batch_mean = rg::mean(x.detach(), axes), batch_var = rg::var(x.detach(), axes, false, 1);
        check_values(running_mean.to(rg::float64), 0.75 * 0.5 + 0.25 * batch_mean, 1e-6);
        check_values(running_var.to(rg::float64), 0.75 + 0.25 * batch_var, 1e-6);
        CHECK(running_mean.dtype() == rg::float32);
        test::check_gradients([&](const rg::TensorList& v) { return rg::batch_norm(v[0], {}, {}, v[1], v[2], true); },
                              {x, w, b});
    }
}

TEST_CASE("batch_norm in evaluation normalises with the running statistics; weight and bias get gradients") {
    rg::manual_seed(32);
    const auto x = test::rand64({4, 3, 2, 2});
    const auto w = test::rand64({3}), b = test::rand64({3});
    const auto running_mean = rg::tensor({0.5, -1.0, 2.0}, {.dtype = rg::float64});
    const auto running_var = rg::tensor({1.0, 4.0, 0.25}, {.dtype = rg::float64});
    const auto y = rg::batch_norm(x, running_mean, running_var, w, b, false, 0.1, 1e-5);
    const rg::Shape channel{1, 3, 1, 1};
    const auto expected = (x - rg::reshape(running_mean, channel)) /
                              rg::sqrt(rg::reshape(running_var, channel) + 1e-5) * rg::reshape(w, channel) +
                          rg::reshape(b, channel);
    check_values(y, expected, 1e-12);
    check_values(running_mean, rg::tensor({0.5, -1.0, 2.0}, {.dtype = rg::float64}), 0.0);  // untouched
    test::check_gradients([&](const rg::TensorList&
                                  v) { return rg::batch_norm(v[0], running_mean, running_var, v[1], v[2]); },
                          {x, w, b});
}

TEST_CASE("batch_norm's float32 statistics hold for channels far from zero, and bfloat16 computes in float32") {
    rg::manual_seed(33);
    const auto x64 = rg::randn({16, 4, 8, 8}, {.dtype = rg::float64}) * 0.01 + 1000.0;
    const auto g64 = rg::randn({16, 4, 8, 8}, {.dtype = rg::float64});
    const auto y64 = rg::batch_norm(x64, {}, {}, {}, {}, true);
    const auto x32 = x64.to(rg::float32), g32 = g64.to(rg::float32);
    // The float32 input is x64 rounded: compare with float64 on the rounded values.
    const auto reference = rg::batch_norm(x32.to(rg::float64), {}, {}, {}, {}, true);
    check_values(rg::batch_norm(x32, {}, {}, {}, {}, true).to(rg::float64), reference, 2e-3);
    check_values(rg::batch_norm_backward(g32, x32, {}).to(rg::float64),
                 rg::batch_norm_backward(g64, x32.to(rg::float64), {}), 2e-2);
    const auto bf = rg::batch_norm(x32.to(rg::bfloat16), {}, {}, {}, {}, true);
    CHECK(bf.dtype() == rg::bfloat16);
    check_values(bf.to(rg::float64),
                 rg::batch_norm(x32.to(rg::bfloat16).to(rg::float32), {}, {}, {}, {}, true)
                     .to(rg::bfloat16)
                     .to(rg::float64),
                 0.0);
}

TEST_CASE("batch_norm: bad inputs are rg::Errors naming the op, what it got and what it expected") {
    const auto x = rg::zeros({2, 3, 4});
    const auto c3 = rg::ones({3});
    CHECK_THROWS_WITH_AS(rg::batch_norm(rg::zeros({3}), {}, {}, {}, {}, true),
                         "batch_norm: input of shape (3,); expected (N, C, ...) with the channels on axis 1",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::batch_norm(x, {}, {}, rg::ones({4}), {}, true),
                         "batch_norm: weight of shape (4,); expected (3,), one value per channel of the input (2, 3, "
                         "4)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::batch_norm(x, {}, {}, c3, rg::ones({3}, {.dtype = rg::float64}), true),
                         "batch_norm: bias is float64 but the input is float32; expected one dtype", rg::Error);
    CHECK_THROWS_WITH_AS(rg::batch_norm(x, {}, {}, {}, {}, false),
                         "batch_norm: evaluation (training = false) normalises with running_mean and running_var; got "
                         "both undefined",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::batch_norm(x, c3, {}, {}, {}, false),
                         "batch_norm: evaluation (training = false) normalises with running_mean and running_var; got "
                         "running_var undefined",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::batch_norm(rg::zeros({1, 3}), {}, {}, {}, {}, true),
                         "batch_norm: training needs more than one value per channel, got input (1, 3)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::batch_norm(x, {}, {}, {}, {}, true, 0.1, -1.0),
                         "batch_norm: eps must be finite and >= 0, got -1", rg::Error);
    CHECK_THROWS_WITH_AS(rg::batch_norm(x, {}, {}, {}, {}, true, std::nan(""), 1e-5),
                         "batch_norm: momentum must be finite, got nan", rg::Error);
    CHECK_THROWS_WITH_AS(rg::batch_norm(rg::zeros({2, 3}, {.dtype = rg::int64}), {}, {}, {}, {}, true),
                         "batch_norm: the input is int64; expected a float tensor", rg::Error);
    CHECK_THROWS_WITH_AS(rg::batch_norm_backward(rg::zeros({2, 3}), x, {}), doctest::Contains("batch_norm_backward"),
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::batch_norm_weight_grad(x, rg::zeros({2, 3, 4}, {.dtype = rg::float64})),
                         doctest::Contains("batch_norm_weight_grad"), rg::Error);
}
