// PyTorch's pooling options, pad modes and conv2d padding: values by hand,
// gradients against finite differences at first and second order, errors by
// their exact message. tests/nn_functional_parity_test.cpp and
// tests/nn_parity_test.cpp compare the same functions and layers with PyTorch.
#include "helpers.hpp"

using namespace rg::nn;
using rg::Tensor;
using rg::TensorList;
using test::check_values;
using test::f64;

TEST_CASE("max_pool2d with dilation and ceil_mode: values, PyTorch's flat indices, gradients") {
    // One 3x4 plane, 2x2 windows of stride 2: ceil_mode adds a last row of windows over row 2 alone.
    auto x = rg::tensor({{{{1.0, 5.0, 2.0, 0.0}, {3.0, 4.0, 9.0, 1.0}, {7.0, 6.0, 8.0, 2.0}}}}, f64(true));
    const auto pooled = rg::max_pool2d_with_indices(x, {2, 2}, {.ceil_mode = true});
    const Tensor& values = pooled.first;
    const Tensor& indices = pooled.second;
    check_values(values, rg::tensor({{{{5.0, 9.0}, {7.0, 8.0}}}}, f64()), 0);
    CHECK(indices.dtype() == rg::int64);
    CHECK(indices.to_vector() == std::vector<double>{1, 6, 8, 10});
    // Without ceil_mode the last row has no window.
    CHECK(rg::max_pool2d(x, {2, 2}).shape() == rg::Shape{1, 1, 1, 2});
    // Dilation 2: the window (0, 0) reads rows 0, 2 and columns 0, 2.
    const auto dilated = rg::max_pool2d_with_indices(x, {2, 2}, {.stride = {1, 1}, .dilation = {2, 2}});
    check_values(dilated.first, rg::tensor({{{{8.0, 6.0}}}}, f64()), 0);
    CHECK(dilated.second.to_vector() == std::vector<double>{10, 9});
    auto y = rg::randn({1, 2, 5, 6}, f64(true));
    test::check_gradients(
        [](const TensorList& v) {
            return rg::max_pool2d(v[0], {3, 2},
                                  {.stride = {2, 1}, .padding = {1, 1}, .dilation = {1, 2}, .ceil_mode = true});
        },
        {y});
    MaxPool2d pool(3, {.stride = {2, 2}, .padding = {1, 1}, .dilation = {2, 2}, .ceil_mode = true});
    CHECK(pool.describe() == "MaxPool2d(3, 3, stride=(2, 2), padding=(1, 1), dilation=(2, 2), ceil_mode=true)");
    CHECK(pool.forward_with_indices(y).second.shape() == pool(y).shape());
    CHECK_THROWS_WITH_AS(rg::max_pool2d(y, {3, 3}, {.padding = {2, 2}, .ceil_mode = true}),
                         "max_pool2d: padding (2, 2) must be at most half the kernel (3, 3)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::max_pool2d(rg::zeros({1, 1, 3, 3}), {3, 3}, {.dilation = {2, 2}}),
                         "max_pool2d: the window spans 5 pixels but the padded input has only 3 (input 3, padding 0)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::max_pool2d_with_indices(rg::zeros({3, 3}), {2, 2}),
                         "max_pool2d: expected an NCHW tensor of rank 4, got shape (3, 3)", rg::Error);
}

TEST_CASE("avg_pool2d: ceil_mode, count_include_pad = false and divisor_override as PyTorch divides") {
    auto x = rg::tensor({{{{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}, {7.0, 8.0, 9.0}}}}, f64(true));
    // 2x2 windows, stride 2, padding 1: the corner window holds 1 pixel and 3 padded zeros.
    check_values(rg::avg_pool2d(x, {2, 2}, {.padding = {1, 1}}), rg::tensor({{{{0.25, 1.25}, {2.75, 7.0}}}}, f64()),
                 1e-15);
    check_values(rg::avg_pool2d(x, {2, 2}, {.padding = {1, 1}, .count_include_pad = false}),
                 rg::tensor({{{{1.0, 2.5}, {5.5, 7.0}}}}, f64()), 1e-15);
    check_values(rg::avg_pool2d(x, {2, 2}, {.padding = {1, 1}, .divisor_override = 2}),
                 rg::tensor({{{{0.5, 2.5}, {5.5, 14.0}}}}, f64()), 1e-15);
    // ceil_mode: a last window over the last row and column alone.
    check_values(rg::avg_pool2d(x, {2, 2}, {.ceil_mode = true}), rg::tensor({{{{3.0, 4.5}, {7.5, 9.0}}}}, f64()),
                 1e-15);
    auto y = rg::randn({2, 1, 5, 4}, f64(true));
    test::check_gradients(
        [](const TensorList& v) {
            return rg::avg_pool2d(v[0], {3, 2},
                                  {.stride = {2, 3}, .padding = {1, 1}, .ceil_mode = true, .count_include_pad = false});
        },
        {y});
    AvgPool2d pool(2, {.ceil_mode = true, .count_include_pad = false, .divisor_override = 3});
    CHECK(pool.describe() == "AvgPool2d(2, 2, ceil_mode=true, count_include_pad=false, divisor_override=3)");
    CHECK_THROWS_WITH_AS(rg::avg_pool2d_backward(rg::zeros({1, 1, 2, 2}), {1, 1, 3, 3}, {2, 2}, {.ceil_mode = true}),
                         "avg_pool2d_backward: ceil_mode, count_include_pad = false and divisor_override are composed "
                         "by avg_pool2d, whose gradient is that composition's",
                         rg::Error);
}

TEST_CASE("adaptive_avg_pool2d: PyTorch's overlapping windows for sizes that do not divide") {
    // 5 columns into 3: windows [0, 2), [1, 4), [3, 5).
    auto x = rg::tensor({{{1.0, 2.0, 3.0, 4.0, 5.0}}}, f64(true));
    check_values(rg::adaptive_avg_pool2d(x, {1, 3}), rg::tensor({{{1.5, 3.0, 4.5}}}, f64()), 1e-15);
    auto y = rg::randn({2, 3, 7, 5}, f64(true));
    CHECK(AdaptiveAvgPool2d(2)(y).shape() == rg::Shape{2, 3, 2, 2});
    check_values(rg::adaptive_avg_pool2d(y, {1, 1}), rg::mean(y.detach(), {2, 3}, true), 1e-12);
    test::check_gradients([](const TensorList& v) { return rg::adaptive_avg_pool2d(v[0], {3, 4}); }, {y});
    CHECK(AdaptiveAvgPool2d({4, 3}).describe() == "AdaptiveAvgPool2d(output_size=(4, 3))");
    CHECK_THROWS_WITH_AS(rg::adaptive_avg_pool2d(y, {0, 2}), "adaptive_avg_pool2d: output size (0, 2) must be positive",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::adaptive_avg_pool2d(rg::zeros({4, 4}), {2, 2}),
                         "adaptive_avg_pool2d: expected (N, C, H, W) or (C, H, W), got shape (4, 4)", rg::Error);
}

TEST_CASE("pad modes reflect, replicate and circular, last axis first") {
    auto x = rg::tensor({{{1.0, 2.0, 3.0}}}, f64(true));  // (1, 1, 3)
    check_values(rg::pad(x, {2, 1}, rg::PadMode::reflect), rg::tensor({{{3.0, 2.0, 1.0, 2.0, 3.0, 2.0}}}, f64()), 0);
    check_values(rg::pad(x, {2, 1}, rg::PadMode::replicate), rg::tensor({{{1.0, 1.0, 1.0, 2.0, 3.0, 3.0}}}, f64()), 0);
    check_values(rg::pad(x, {2, 1}, rg::PadMode::circular), rg::tensor({{{2.0, 3.0, 1.0, 2.0, 3.0, 1.0}}}, f64()), 0);
    auto image = rg::randn({1, 2, 3, 4}, f64(true));
    for (auto mode : {rg::PadMode::reflect, rg::PadMode::replicate, rg::PadMode::circular}) {
        CAPTURE(rg::pad_mode_name(mode));
        CHECK(rg::pad(image, {1, 2, 2, 0}, mode).shape() == rg::Shape{1, 2, 5, 7});
        test::check_gradients([mode](const TensorList& v) { return rg::pad(v[0], {1, 2, 2, 0}, mode); }, {image});
    }
    CHECK_THROWS_WITH_AS(rg::pad(x, {3, 0}, rg::PadMode::reflect),
                         "pad: reflect padding (3, 0) of axis 2 (size 3) must be non-negative and less than the size",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::pad(x, {4, 0}, rg::PadMode::circular),
                         "pad: circular padding (4, 0) of axis 2 (size 3) must be non-negative and at most the size",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::pad(x, {1}, rg::PadMode::replicate),
                         "pad: replicate mode needs pairs (before, after) for at most 3 axes, got 1 values", rg::Error);
    CHECK_THROWS_WITH_AS(rg::pad(rg::zeros({3, 4}), {1, 1, 1, 1}, rg::PadMode::reflect),
                         "pad: reflect mode pads the last 2 axes of a batched (N, C, ...) or (C, ...) input, got shape "
                         "(3, 4); expected rank 3 or 4",
                         rg::Error);
}

TEST_CASE("conv2d padding same and valid, and Conv2d's padding modes") {
    auto x = rg::randn({1, 2, 5, 6}, f64(true));
    auto w = rg::randn({3, 2, 2, 4}, f64(true));
    using Rule = rg::Conv2dOptions::Rule;
    // "same" with an even kernel: the extra pixel goes after (right, bottom), as PyTorch.
    auto same = rg::conv2d(x, w, {}, {.padding_rule = Rule::same});
    CHECK(same.shape() == rg::Shape{1, 3, 5, 6});
    check_values(same, rg::conv2d(rg::pad(x.detach(), {1, 2, 0, 1}), w.detach()), 1e-12);
    CHECK(rg::conv2d(x, w, {}, {.padding = {3, 3}, .padding_rule = Rule::valid}).shape() == rg::Shape{1, 3, 4, 3});
    test::check_gradients(
        [](const TensorList& v) {
            return rg::conv2d(v[0], v[1], {}, {.padding_rule = Rule::same, .padding_mode = rg::PadMode::reflect});
        },
        {x, w});
    Conv2d layer(2, 3, 3, {.padding = {1, 2}, .padding_mode = rg::PadMode::circular});
    CHECK(layer(x.detach().to(rg::float32)).shape() == rg::Shape{1, 3, 5, 8});
    CHECK(layer.describe() == "Conv2d(2, 3, kernel=(3, 3), stride=(1, 1), padding=(1, 2), padding_mode=circular)");
    CHECK(Conv2d(2, 3, 3, {.padding_rule = Rule::same}).describe() ==
          "Conv2d(2, 3, kernel=(3, 3), stride=(1, 1), padding=\"same\")");
    CHECK(Conv2d(4, 2, 3, {.stride = {2, 1}, .dilation = {2, 2}, .bias = false, .groups = 2}).describe() ==
          "Conv2d(4, 2, kernel=(3, 3), stride=(2, 1), padding=(0, 0), dilation=(2, 2), groups=2, bias=false)");
    CHECK_THROWS_WITH_AS(Conv2d(2, 3, 3, {.stride = {2, 1}, .padding_rule = Rule::same}),
                         "Conv2d: padding \"same\" needs stride 1, as PyTorch, got stride (2, 1)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv2d(x, w, {}, {.stride = {1, 2}, .padding_rule = Rule::same}),
                         "conv2d: padding \"same\" needs stride 1, as PyTorch, got stride (1, 2)", rg::Error);
}
