// 1-D and adaptive max pooling, InstanceNorm, pixel (un)shuffle, Unflatten,
// channel dropout, Bilinear, the padding modules and EmbeddingBag: values by hand (or by
// PyTorch 1.13, saying so), gradients by gradcheck at first and second order,
// train against eval, unbatched inputs, and bad input by message. Their parity
// with PyTorch's state dicts, outputs and gradients is in nn_parity_test.cpp.
#include "helpers.hpp"

#include <cmath>

using namespace rg::nn;
using rg::Tensor;
using rg::TensorList;
using test::check_values;
using test::f64;

TEST_CASE("max_pool1d and avg_pool1d: windows along L, batched and unbatched") {
    auto x = rg::tensor({{1.0, 3.0, 2.0, 5.0, 4.0}, {0.0, -1.0, 7.0, 2.0, 2.0}}, f64());  // (C, L) = (2, 5)
    check_values(max_pool1d(x, 2), rg::tensor({{3.0, 5.0}, {0.0, 7.0}}, f64()), 0);
    check_values(max_pool1d(x, 2, {.ceil_mode = true}), rg::tensor({{3.0, 5.0, 4.0}, {0.0, 7.0, 2.0}}, f64()), 0);
    check_values(max_pool1d(x, 3, {.stride = 1, .padding = 1}),
                 rg::tensor({{3.0, 3.0, 5.0, 5.0, 5.0}, {0.0, 7.0, 7.0, 7.0, 2.0}}, f64()), 0);
    check_values(max_pool1d(x, 2, {.stride = 1, .dilation = 3}), rg::tensor({{5.0, 4.0}, {2.0, 2.0}}, f64()), 0);
    auto [values, indices] = max_pool1d_with_indices(rg::unsqueeze(x, 0), 2);
    CHECK(values.shape() == rg::Shape{1, 2, 2});
    CHECK(indices.to_vector() == std::vector<double>{1, 3, 0, 2});
    check_values(avg_pool1d(x, 2), rg::tensor({{2.0, 3.5}, {-0.5, 4.5}}, f64()), 1e-15);
    // Padding: counted as zeros by default, left out with count_include_pad = false.
    check_values(avg_pool1d(x, 2, {.padding = 1}), rg::tensor({{0.5, 2.5, 4.5}, {0.0, 3.0, 2.0}}, f64()), 1e-15);
    check_values(avg_pool1d(x, 2, {.padding = 1, .count_include_pad = false}),
                 rg::tensor({{1.0, 2.5, 4.5}, {0.0, 3.0, 2.0}}, f64()), 1e-15);
    // The modules are the functions; batched (N, C, L) gives the same rows.
    MaxPool1d pool(3, {.stride = 2, .padding = 1, .dilation = 1, .ceil_mode = true});
    auto batch = rg::stack({x, x * 2.0});
    check_values(pool(batch),
                 rg::stack({max_pool1d(x, 3, {.stride = 2, .padding = 1, .ceil_mode = true}),
                            max_pool1d(x * 2.0, 3, {.stride = 2, .padding = 1, .ceil_mode = true})}),
                 0);
    CHECK(pool.describe() == "MaxPool1d(3, stride=2, padding=1, ceil_mode=true)");
    CHECK(MaxPool1d(2, {.dilation = 2, .ceil_mode = true}).describe() == "MaxPool1d(2, dilation=2, ceil_mode=true)");
    CHECK(AvgPool1d(2, {.count_include_pad = false}).describe() == "AvgPool1d(2, count_include_pad=false)");
    check_values(AvgPool1d(2)(batch), avg_pool1d(batch, 2), 0);

    auto signals = test::rand64({2, 3, 7});
    test::check_gradients([](const TensorList& v) { return max_pool1d(v[0], 3, {.stride = 2, .padding = 1}); },
                          {signals});
    test::check_gradients(
        [](const TensorList& v) {
            return avg_pool1d(v[0], 3, {.stride = 2, .padding = 1, .ceil_mode = true, .count_include_pad = false});
        },
        {signals});
}

TEST_CASE("1-D pools refuse bad windows and inputs with messages in 1-D terms") {
    auto x = rg::zeros({2, 3, 4});
    CHECK_THROWS_WITH_AS(max_pool1d(x, 0),
                         "max_pool1d: kernel 0 and dilation 1 must be positive (stride 0 means the kernel)", rg::Error);
    CHECK_THROWS_WITH_AS(max_pool1d(x, 2, {.dilation = 0}),
                         "max_pool1d: kernel 2 and dilation 0 must be positive (stride 0 means the kernel)", rg::Error);
    CHECK_THROWS_WITH_AS(max_pool1d(x, 3, {.padding = 2}), "max_pool1d: padding 2 must be at most half the kernel 3",
                         rg::Error);
    CHECK_THROWS_WITH_AS(max_pool1d(x, 3, {.dilation = 2}),
                         "max_pool1d: the window spans 5 elements but the padded input has only 4 (input (2, 3, 4), "
                         "padding 0)",
                         rg::Error);
    CHECK_THROWS_AS(avg_pool1d(x, std::size_t{1} << 62), rg::Error);  // huge: refused, no overflow
    CHECK_THROWS_WITH_AS(avg_pool1d(rg::zeros({4}), 2),
                         "avg_pool1d: expected (N, C, L) or unbatched (C, L), got shape (4,)", rg::Error);
    CHECK_THROWS_WITH_AS(max_pool1d(rg::zeros({2, 2}, {.dtype = rg::int64}), 2),
                         "max_pool1d: expected a float32 or float64 tensor, got int64", rg::Error);
    CHECK_THROWS_WITH_AS(MaxPool1d(5)(x),
                         "max_pool1d: the window spans 5 elements but the padded input has only 4 (input (2, 3, 4), "
                         "padding 0)",
                         rg::Error);
}

TEST_CASE("adaptive pools: PyTorch's windows, max_pool2d when the sizes divide, gathers otherwise") {
    // L = 5 into 3 windows: [0, 2), [1, 4), [3, 5).
    auto x = rg::tensor({{1.0, 4.0, 2.0, 0.0, 3.0}}, f64());
    check_values(adaptive_max_pool1d(x, 3), rg::tensor({{4.0, 4.0, 3.0}}, f64()), 0);
    check_values(adaptive_avg_pool1d(x, 3), rg::tensor({{2.5, 2.0, 1.5}}, f64()), 1e-15);
    // More windows than elements: each window one or two elements.
    check_values(adaptive_max_pool1d(rg::tensor({{1.0, 3.0}}, f64()), 3), rg::tensor({{1.0, 3.0, 3.0}}, f64()), 0);
    // Divisible sizes are max_pool2d itself, batched or not.
    auto images = test::rand64({2, 3, 6, 4});
    check_values(adaptive_max_pool2d(images, {3, 2}), rg::max_pool2d(images, {2, 2}), 0);
    check_values(adaptive_max_pool2d(rg::select(images, 0, 1), {3, 2}),
                 rg::select(rg::max_pool2d(images, {2, 2}), 0, 1), 0);
    // Uneven: each cell the maximum of its window.
    auto plane = rg::reshape(rg::arange(0.0, 12.0, 1.0, f64()), {1, 1, 3, 4});
    check_values(adaptive_max_pool2d(plane * -1.0, {2, 3}),
                 rg::tensor({{{{0.0, -1.0, -2.0}, {-4.0, -5.0, -6.0}}}}, f64()), 0);
    CHECK(AdaptiveMaxPool2d({2, 3}).describe() == "AdaptiveMaxPool2d(output_size=(2, 3))");
    CHECK(AdaptiveMaxPool1d(4).describe() == "AdaptiveMaxPool1d(output_size=4)");
    CHECK(AdaptiveAvgPool1d(4).describe() == "AdaptiveAvgPool1d(output_size=4)");

    // Overlapping windows (7 into 3) and more cells than rows (3 into 5): the
    // gradient of each cell reaches its maximum, once.
    test::check_gradients([](const TensorList& v) { return adaptive_max_pool2d(v[0], {3, 5}); },
                          {test::rand64({2, 2, 7, 3})});
    test::check_gradients([](const TensorList& v) { return adaptive_max_pool1d(v[0], 4); }, {test::rand64({3, 10})});
    test::check_gradients([](const TensorList& v) { return adaptive_avg_pool1d(v[0], 4); }, {test::rand64({2, 3, 10})});
    // A maximum two windows share gets both cells' gradients.
    auto shared = rg::tensor({{1.0, 4.0, 2.0, 0.0, 3.0}}, f64(true));
    rg::sum(adaptive_max_pool1d(shared, 3)).backward();
    check_values(shared.grad(), rg::tensor({{0.0, 2.0, 0.0, 0.0, 1.0}}, f64()), 0);

    CHECK_THROWS_WITH_AS(adaptive_max_pool2d(rg::zeros({2, 3}), {1, 1}),
                         "adaptive_max_pool2d: expected (N, C, H, W) or unbatched (C, H, W), got shape (2, 3)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(adaptive_max_pool2d(rg::zeros({1, 2, 3}), {0, 1}),
                         "adaptive_max_pool2d: output size (0, 1) must be positive and at most 2^24", rg::Error);
    CHECK_THROWS_WITH_AS(adaptive_max_pool2d(rg::zeros({1, 2, 3}), {1, std::size_t{1} << 40}),
                         "adaptive_max_pool2d: output size (1, 1099511627776) must be positive and at most 2^24",
                         rg::Error);
    CHECK_THROWS_WITH_AS(adaptive_max_pool2d(rg::zeros({1, 0, 3}), {1, 1}),
                         "adaptive_max_pool2d: input (1, 0, 3) has empty planes", rg::Error);
    CHECK_THROWS_WITH_AS(adaptive_max_pool1d(rg::zeros({2, 3}), 0),
                         "adaptive_max_pool1d: output_size must be in [1, 2^24], got 0", rg::Error);
    CHECK_THROWS_WITH_AS(adaptive_avg_pool1d(rg::zeros({2, 0}), 2),
                         "adaptive_avg_pool1d: input (2, 0) is empty along L", rg::Error);
}

TEST_CASE("InstanceNorm normalises each instance over its positions, in training and eval alike by default") {
    auto x = rg::tensor({{{1.0, 2.0, 4.0}, {0.0, -1.0, 3.0}}, {{2.0, 2.0, 5.0}, {1.0, 0.0, -2.0}}}, f64());
    InstanceNorm1d norm(2);
    norm.to(rg::float64);
    CHECK(norm.named_parameters().empty());
    CHECK(norm.named_buffers().empty());
    const Tensor mu = rg::mean(x, {2}, true);
    const Tensor expected = (x - mu) / rg::sqrt(rg::mean((x - mu) * (x - mu), {2}, true) + 1e-5);
    check_values(norm(x), expected, 1e-12);
    norm.eval();
    check_values(norm(x), expected, 1e-12);
    check_values(norm(rg::select(x, 0, 1)), rg::select(expected, 0, 1), 1e-12);  // unbatched (C, L)
    CHECK(norm.describe() == "InstanceNorm1d(2)");

    InstanceNorm2d affine(3, {.eps = 1e-3, .affine = true});
    affine.to(rg::float64);
    CHECK(affine.describe() == "InstanceNorm2d(3, eps=0.001, affine=true)");
    CHECK(affine.named_parameters().size() == 2);
    {
        rg::NoGrad off;
        affine.weight.copy_(rg::tensor({0.5, -1.0, 2.0}, f64()));
        affine.bias.copy_(rg::tensor({0.1, 0.2, -0.3}, f64()));
    }
    auto images = test::rand64({2, 3, 3, 2});
    test::check_gradients([&affine](const TensorList& v) { return affine(v[0]); }, {images});
    test::check_gradients([&affine](const TensorList& v) { return affine(v[0]); }, {test::rand64({3, 2, 4})});
    // The affine parameters' gradients too: a function of (x, weight, bias).
    test::check_gradients(
        [](const TensorList& v) {
            InstanceNorm1d layer(2, {.affine = true});
            layer.to(rg::float64);
            layer.weight = v[1];
            layer.bias = v[2];
            return layer(v[0]);
        },
        {test::rand64({2, 2, 4}), test::rand64({2}), test::rand64({2})});
}

TEST_CASE("InstanceNorm's running statistics: updated in training as PyTorch's, used in eval") {
    // Expected values from PyTorch 1.13: InstanceNorm1d(2, momentum=0.25, track_running_stats=True) in float64.
    auto x = rg::tensor({{{1.0, 2.0, 4.0}, {0.0, -1.0, 3.0}}, {{2.0, 2.0, 5.0}, {1.0, 0.0, -2.0}}}, f64());
    InstanceNorm1d norm(2, {.momentum = 0.25, .track_running_stats = true});
    norm.to(rg::float64);
    CHECK(norm.describe() == "InstanceNorm1d(2, momentum=0.25, track_running_stats=true)");
    const auto buffers = norm.named_buffers();
    REQUIRE(buffers.size() == 3);
    CHECK(buffers[2].first == "num_batches_tracked");
    CHECK(buffers[2].second.dtype() == rg::int64);
    const Tensor train_out = norm(x);
    check_values(norm.running_mean, rg::tensor({0.666666666667, 0.041666666667}, f64()), 1e-11);
    check_values(norm.running_var, rg::tensor({1.416666666667, 1.583333333333}, f64()), 1e-11);
    norm(rg::select(x, 0, 0));  // unbatched in training updates them too
    check_values(norm.running_mean, rg::tensor({1.083333333333, 0.197916666667}, f64()), 1e-11);
    check_values(norm.running_var, rg::tensor({1.645833333333, 2.270833333333}, f64()), 1e-11);
    CHECK(norm.num_batches_tracked.item() == 0);  // PyTorch's instance_norm leaves it
    // Training normalised with the instances' own statistics.
    InstanceNorm1d plain(2);
    plain.to(rg::float64);
    check_values(train_out, plain(x), 1e-12);
    // Eval: the running statistics, and the buffers stay.
    norm.eval();
    check_values(norm(rg::select(x, 0, 1)),
                 rg::tensor({{0.714524612003, 0.714524612003, 3.052968796742},
                             {0.532262544271, -0.131337510924, -1.458537621314}},
                            f64()),
                 1e-11);
    check_values(norm.running_mean, rg::tensor({1.083333333333, 0.197916666667}, f64()), 1e-11);
    // One position is enough in eval with running statistics, not in training.
    CHECK(norm(rg::ones({1, 2, 1}, f64())).shape() == rg::Shape{1, 2, 1});
    norm.train();
    CHECK_THROWS_WITH_AS(norm(rg::ones({1, 2, 1}, f64())),
                         "InstanceNorm1d: expected more than 1 position per channel to take statistics over, got "
                         "input (1, 2, 1)",
                         rg::Error);
    test::check_gradients([&norm](const TensorList& v) { return norm(v[0]); }, {test::rand64({2, 2, 5})});
}

TEST_CASE("InstanceNorm refuses bad sizes, options and inputs") {
    CHECK_THROWS_WITH_AS(InstanceNorm1d(0), "InstanceNorm1d: the number of features must be positive", rg::Error);
    CHECK_THROWS_WITH_AS(InstanceNorm2d(3, {.eps = -1.0}), "InstanceNorm2d: eps must be finite and >= 0, got -1",
                         rg::Error);
    CHECK_THROWS_WITH_AS(InstanceNorm2d(3, {.momentum = 1.5}), "InstanceNorm2d: momentum must be in [0, 1], got 1.5",
                         rg::Error);
    InstanceNorm2d norm(3);
    CHECK_THROWS_WITH_AS(norm(rg::zeros({2, 4, 3, 3})),
                         "InstanceNorm2d(3): input has shape (2, 4, 3, 3), expected (N, C, H, W) or (C, H, W) with 3 "
                         "channels",
                         rg::Error);
    CHECK_THROWS_WITH_AS(norm(rg::zeros({3, 3})),
                         "InstanceNorm2d(3): input has shape (3, 3), expected (N, C, H, W) or (C, H, W) with 3 "
                         "channels",
                         rg::Error);
    InstanceNorm1d affine(2, {.affine = true});
    CHECK_THROWS_WITH_AS(affine(rg::zeros({2, 2, 3}, f64())),
                         "InstanceNorm1d: input is float64 but the layer is float32; convert one with .to() or "
                         "module.to()",
                         rg::Error);
}

TEST_CASE("pixel_shuffle and pixel_unshuffle move channels into blocks of pixels and back") {
    // One image of 4 channels, 1 pixel each -> one channel, a 2x2 block: channel k at (k / 2, k % 2).
    auto x = rg::reshape(rg::arange(0.0, 8.0, 1.0, f64()), {1, 4, 1, 2});
    check_values(pixel_shuffle(x, 2), rg::tensor({{{{0.0, 2.0, 1.0, 3.0}, {4.0, 6.0, 5.0, 7.0}}}}, f64()), 0);
    check_values(pixel_unshuffle(pixel_shuffle(x, 2), 2), x, 0);
    auto images = test::rand64({2, 3, 18, 2, 3});  // an extra batch axis
    CHECK(PixelShuffle(3)(images).shape() == rg::Shape{2, 3, 2, 6, 9});
    check_values(PixelUnshuffle(3)(PixelShuffle(3)(images)), images, 0);
    CHECK(PixelShuffle(3).describe() == "PixelShuffle(upscale_factor=3)");
    CHECK(PixelUnshuffle(2).describe() == "PixelUnshuffle(downscale_factor=2)");
    test::check_gradients([](const TensorList& v) { return pixel_shuffle(v[0], 2); }, {test::rand64({2, 8, 2, 3})});
    test::check_gradients([](const TensorList& v) { return pixel_unshuffle(v[0], 2); }, {test::rand64({3, 4, 2})});

    CHECK_THROWS_WITH_AS(PixelShuffle(3)(rg::zeros({2, 12, 4, 4})),
                         "PixelShuffle: channels 12 not divisible by upscale_factor² = 9 (input (2, 12, 4, 4))",
                         rg::Error);
    CHECK_THROWS_WITH_AS(pixel_shuffle(rg::zeros({1, 4, 1, 1}), std::size_t{1} << 33),
                         "pixel_shuffle: channels 4 not divisible by upscale_factor² = 8589934592² (input (1, 4, 1, "
                         "1))",
                         rg::Error);
    CHECK_THROWS_WITH_AS(PixelShuffle(0), "PixelShuffle: upscale_factor must be positive, got 0", rg::Error);
    CHECK_THROWS_WITH_AS(pixel_shuffle(rg::zeros({4, 4}), 2), "pixel_shuffle: expected (*, C, H, W), got shape (4, 4)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(PixelUnshuffle(2)(rg::zeros({1, 1, 4, 5})),
                         "PixelUnshuffle: height 4 and width 5 must be divisible by downscale_factor 2 (input (1, 1, "
                         "4, 5))",
                         rg::Error);
    CHECK_THROWS_WITH_AS(PixelUnshuffle(0), "PixelUnshuffle: downscale_factor must be positive, got 0", rg::Error);
}

TEST_CASE("Unflatten splits one axis, inferring one -1") {
    auto x = test::rand64({2, 6, 2}, false);
    CHECK(unflatten(x, 1, {2, 3}).shape() == rg::Shape{2, 2, 3, 2});
    CHECK(Unflatten(-1, {1, -1})(x).shape() == rg::Shape{2, 6, 1, 2});
    check_values(unflatten(x, 1, {3, -1}), rg::reshape(x, {2, 3, 2, 2}), 0);
    CHECK(Unflatten(1, {2, 3}).describe() == "Unflatten(dim=1, unflattened_size=(2, 3))");
    test::check_gradients([](const TensorList& v) { return unflatten(v[0], 0, {2, 2}); }, {test::rand64({4, 3})});
    CHECK_THROWS_WITH_AS(Unflatten(1, {2, 4})(x),
                         "Unflatten: sizes (2, 4) do not multiply to 6, the size of axis 1 of input (2, 6, 2)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(unflatten(x, 1, {4, -1}),
                         "unflatten: sizes (4, -1) do not multiply to 6, the size of axis 1 of input (2, 6, 2)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(unflatten(x, 1, {std::int64_t{1} << 62, std::int64_t{1} << 62}),
                         "unflatten: sizes (4611686018427387904, 4611686018427387904) do not multiply to 6, the size "
                         "of axis 1 of input (2, 6, 2)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(Unflatten(1, {-1, -1}), "Unflatten: sizes (-1, -1) may hold -1 only once", rg::Error);
    CHECK_THROWS_WITH_AS(Unflatten(1, {2, -3}), "Unflatten: sizes (2, -3) must be >= 0, or -1 once to infer one",
                         rg::Error);
    CHECK_THROWS_WITH_AS(Unflatten(1, {}), "Unflatten: sizes must not be empty", rg::Error);
    CHECK_THROWS_WITH_AS(unflatten(x, 3, {1}), "unflatten: dim 3 is out of range for input (2, 6, 2), expected [-3, 3)",
                         rg::Error);
}

TEST_CASE("Dropout1d and Dropout2d zero whole channels in training and are the identity in eval") {
    rg::manual_seed(11);
    auto x = rg::ones({8, 16, 3, 4}, f64());
    Dropout2d drop(0.5);
    const Tensor y = drop(x);
    // Every channel all zeros or all 2 = 1 / (1 - p).
    const Tensor per_channel_min = rg::min(y, {2, 3}), per_channel_max = rg::max(y, {2, 3});
    check_values(per_channel_min, per_channel_max, 0);
    std::size_t dropped = 0;
    for (double v : per_channel_max.to_vector()) {
        CHECK((v == 0.0 || v == 2.0));
        dropped += v == 0.0 ? 1 : 0;
    }
    CHECK(dropped > 32);  // of 128 channels, about 64
    CHECK(dropped < 96);
    drop.eval();
    CHECK(drop(x).same(x));
    CHECK(drop.describe() == "Dropout2d(p=0.5)");

    // Dropout1d: (N, C, L) and unbatched (C, L), one draw per channel.
    Dropout1d drop1(0.25);
    const Tensor z = drop1(rg::ones({4, 8, 5}, f64()));
    check_values(rg::min(z, {2}), rg::max(z, {2}), 0);
    const Tensor u = drop1(rg::ones({8, 5}, f64()));
    check_values(rg::min(u, {1}), rg::max(u, {1}), 0);
    for (double v : rg::max(u, {1}).to_vector()) CHECK((v == 0.0 || std::abs(v - 4.0 / 3.0) < 1e-15));
    drop1.eval();
    CHECK(drop1(u).same(u));
    // p = 0 keeps everything, p = 1 drops everything; the seed makes the masks repeat.
    check_values(dropout1d(u, 0.0, true), u, 0);
    check_values(dropout2d(x, 1.0, true), rg::zeros({8, 16, 3, 4}, f64()), 0);
    rg::manual_seed(3);
    const Tensor first = dropout2d(x, 0.5, true);
    rg::manual_seed(3);
    check_values(dropout2d(x, 0.5, true), first, 0);
    // The gradient is the same mask: gradcheck with the generator reseeded at each call.
    test::check_gradients(
        [](const TensorList& v) {
            rg::manual_seed(5);
            return dropout2d(v[0], 0.4, true);
        },
        {test::rand64({2, 3, 2, 2})});

    CHECK_THROWS_WITH_AS(Dropout2d(1.5), "Dropout2d: p must be in [0, 1], got 1.5", rg::Error);
    CHECK_THROWS_WITH_AS(Dropout1d(-0.1), "Dropout1d: p must be in [0, 1], got -0.1", rg::Error);
    CHECK_THROWS_WITH_AS(dropout1d(u, std::nan(""), true), "dropout1d: p must be in [0, 1], got nan", rg::Error);
    CHECK_THROWS_WITH_AS(Dropout2d()(rg::ones({3, 4, 5})),
                         "dropout2d: a 3-D input (3, 4, 5) is ambiguous (PyTorch 1.13 reads it as (N, C, L), later "
                         "versions as (C, H, W)); use dropout1d for (N, C, L), or unsqueeze(x, 0) for one (C, H, W) "
                         "image",
                         rg::Error);
    CHECK_THROWS_WITH_AS(dropout2d(rg::ones({3, 4}), 0.5, false), "dropout2d: expected (N, C, H, W), got shape (3, 4)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(Dropout1d()(rg::ones({2, 3, 4, 5})),
                         "dropout1d: expected (N, C, L) or unbatched (C, L), got shape (2, 3, 4, 5)", rg::Error);
}

TEST_CASE("Bilinear: y = x1ᵀ A x2 + b per output, PyTorch's init and parameter names") {
    Bilinear layer(2, 3, 2);
    const auto named = layer.named_parameters();
    REQUIRE(named.size() == 2);
    CHECK(named[0].first == "weight");
    CHECK(named[0].second.shape() == rg::Shape{2, 2, 3});
    CHECK(named[1].first == "bias");
    const double bound = 1.0 / std::sqrt(2.0);
    CHECK(rg::max(rg::abs(layer.weight)).item() <= bound);
    CHECK(rg::max(rg::abs(layer.bias)).item() <= bound);
    CHECK(layer.describe() == "Bilinear(in1_features=2, in2_features=3, out_features=2)");
    CHECK(Bilinear(2, 3, 4, false).describe() ==
          "Bilinear(in1_features=2, in2_features=3, out_features=4, bias=false)");

    // By hand: A_0 = [[1, 0, 0], [0, 1, 0]], A_1 = [[0, 0, 1], [1, 1, 1]], b = (0.5, -1).
    auto w = rg::tensor({{{1.0, 0.0, 0.0}, {0.0, 1.0, 0.0}}, {{0.0, 0.0, 1.0}, {1.0, 1.0, 1.0}}}, f64());
    auto b = rg::tensor({0.5, -1.0}, f64());
    auto x1 = rg::tensor({2.0, 3.0}, f64());  // unbatched
    auto x2 = rg::tensor({1.0, -1.0, 4.0}, f64());
    // y_0 = 2·1 + 3·(-1) + 0.5 = -0.5; y_1 = 2·4 + 3·(1 - 1 + 4) - 1 = 19.
    check_values(bilinear(x1, x2, w, b), rg::tensor({-0.5, 19.0}, f64()), 1e-14);
    check_values(bilinear(rg::stack({x1, x1}), rg::stack({x2, x2 * 0.0}), w),
                 rg::tensor({{-1.0, 20.0}, {0.0, 0.0}}, f64()), 1e-14);

    test::check_gradients([](const TensorList& v) { return bilinear(v[0], v[1], v[2], v[3]); },
                          {test::rand64({2, 3, 2}), test::rand64({2, 3, 3}), test::rand64({4, 2, 3}),
                           test::rand64({4})});
    layer.to(rg::float64);
    CHECK(layer(test::rand64({5, 2}), test::rand64({5, 3})).shape() == rg::Shape{5, 2});

    CHECK_THROWS_WITH_AS(Bilinear(0, 3, 2), "Bilinear: sizes must be positive, got in1 0, in2 3 and out 2", rg::Error);
    CHECK_THROWS_WITH_AS(layer(test::rand64({5, 2}), test::rand64({4, 3})),
                         "bilinear: inputs (5, 2) and (4, 3) do not fit weight (2, 2, 3): expected (*, 2) and (*, 3) "
                         "with the same *",
                         rg::Error);
    CHECK_THROWS_WITH_AS(layer(test::rand64({5, 3}), test::rand64({5, 3})),
                         "bilinear: inputs (5, 3) and (5, 3) do not fit weight (2, 2, 3): expected (*, 2) and (*, 3) "
                         "with the same *",
                         rg::Error);
    CHECK_THROWS_WITH_AS(bilinear(x1, x2, w, rg::zeros({3}, f64())), "bilinear: bias has shape (3,), expected (2,)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(bilinear(x1, x2.to(rg::float32), w),
                         "bilinear: x1 is float64, x2 float32 and weight float64; they must have one dtype", rg::Error);
    CHECK_THROWS_WITH_AS(bilinear(x1, x2, rg::zeros({2, 3}, f64())),
                         "bilinear: weight has shape (2, 3), expected (out, in1, in2)", rg::Error);
}

TEST_CASE("padding modules: rg::pad in PyTorch's order, errors naming the module") {
    auto x = rg::tensor({{1.0, 2.0, 3.0}}, f64());  // unbatched (C, L)
    check_values(ReflectionPad1d({2, 1})(x), rg::tensor({{3.0, 2.0, 1.0, 2.0, 3.0, 2.0}}, f64()), 0);
    check_values(ReplicationPad1d(2)(x), rg::tensor({{1.0, 1.0, 1.0, 2.0, 3.0, 3.0, 3.0}}, f64()), 0);
    check_values(CircularPad1d({1, 2})(x), rg::tensor({{3.0, 1.0, 2.0, 3.0, 1.0, 2.0}}, f64()), 0);
    check_values(ConstantPad1d({1, -1}, 9.0)(x), rg::tensor({{9.0, 1.0, 2.0}}, f64()), 0);  // negative crops
    auto image = rg::tensor({{{1.0, 2.0}, {3.0, 4.0}}}, f64());  // (C, H, W)
    check_values(ZeroPad2d({1, 0, 0, 1})(image),
                 rg::tensor({{{0.0, 1.0, 2.0}, {0.0, 3.0, 4.0}, {0.0, 0.0, 0.0}}}, f64()), 0);
    check_values(ConstantPad2d(1, 5.0)(image),
                 rg::tensor({{{5.0, 5.0, 5.0, 5.0}, {5.0, 1.0, 2.0, 5.0}, {5.0, 3.0, 4.0, 5.0}, {5.0, 5.0, 5.0, 5.0}}},
                            f64()),
                 0);
    check_values(ReflectionPad2d({1, 0, 1, 0})(image),
                 rg::tensor({{{4.0, 3.0, 4.0}, {2.0, 1.0, 2.0}, {4.0, 3.0, 4.0}}}, f64()), 0);
    check_values(ReplicationPad2d({0, 1, 0, 0})(image), rg::tensor({{{1.0, 2.0, 2.0}, {3.0, 4.0, 4.0}}}, f64()), 0);
    check_values(CircularPad2d({0, 0, 1, 0})(image), rg::tensor({{{3.0, 4.0}, {1.0, 2.0}, {3.0, 4.0}}}, f64()), 0);
    CHECK(ReflectionPad2d({1, 0, 1, 0}).describe() == "ReflectionPad2d((1, 0, 1, 0))");
    CHECK(ConstantPad1d(2, 1.5).describe() == "ConstantPad1d((2, 2), value=1.5)");
    CHECK(ZeroPad2d(1).padding() == std::vector<std::int64_t>{1, 1, 1, 1});
    test::check_gradients([](const TensorList& v) { return ReflectionPad2d({2, 1, 0, 1})(v[0]); },
                          {test::rand64({2, 2, 3, 4})});
    test::check_gradients([](const TensorList& v) { return CircularPad1d(2)(v[0]); }, {test::rand64({2, 3})});

    CHECK_THROWS_WITH_AS(ReflectionPad1d(-1), "ReflectionPad1d: padding (-1, -1) must be non-negative", rg::Error);
    CHECK_THROWS_WITH_AS(ReflectionPad1d(3)(x),
                         "ReflectionPad1d((3, 3)): pad: reflect padding (3, 3) of axis 1 (size 3) must be "
                         "non-negative and less than the size",
                         rg::Error);
    CHECK_THROWS_WITH_AS(ReplicationPad2d(1)(rg::zeros({4, 4})),
                         "ReplicationPad2d((1, 1, 1, 1)): pad: replicate mode pads the last 2 axes of a batched (N, C, "
                         "...) or (C, ...) input, got shape (4, 4); expected rank 3 or 4",
                         rg::Error);
}

namespace {
// Rows (0, 1), (2, 3), ..., (8, 9) of a 5-row table.
Tensor counting_table() { return rg::from_vector({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {5, 2}, f64(true)); }
}  // namespace

TEST_CASE("embedding_bag: sums, means and maxima of bags given by offsets or rows, empty bags zeros") {
    const Tensor table = counting_table();
    const Tensor input = rg::from_indices({1, 3, 0, 4, 2});
    const Tensor offsets = rg::from_indices({0, 2, 2, 4});  // bags {1, 3}, {}, {0, 4}, {2}
    using Mode = EmbeddingBagMode;
    check_values(embedding_bag(input, table, offsets, {.mode = Mode::sum}),
                 rg::tensor({{8.0, 10.0}, {0.0, 0.0}, {8.0, 10.0}, {4.0, 5.0}}, f64()), 0);
    check_values(embedding_bag(input, table, offsets),
                 rg::tensor({{4.0, 5.0}, {0.0, 0.0}, {4.0, 5.0}, {4.0, 5.0}}, f64()), 0);
    check_values(embedding_bag(input, table, offsets, {.mode = Mode::max}),
                 rg::tensor({{6.0, 7.0}, {0.0, 0.0}, {8.0, 9.0}, {4.0, 5.0}}, f64()), 0);
    // padding_idx lookups leave their bag and the mean's count.
    check_values(embedding_bag(input, table, offsets, {.padding_idx = 3}),
                 rg::tensor({{2.0, 3.0}, {0.0, 0.0}, {4.0, 5.0}, {4.0, 5.0}}, f64()), 0);
    check_values(embedding_bag(input, table, offsets, {.mode = Mode::max, .padding_idx = -1}),
                 rg::tensor({{6.0, 7.0}, {0.0, 0.0}, {0.0, 1.0}, {4.0, 5.0}}, f64()), 0);
    // include_last_offset: the last offset ends the last bag, and what follows it is no bag's.
    check_values(embedding_bag(input, table, offsets, {.mode = Mode::sum, .include_last_offset = true}),
                 rg::tensor({{8.0, 10.0}, {0.0, 0.0}, {8.0, 10.0}}, f64()), 0);
    check_values(embedding_bag(input, table, rg::from_indices({0, 2, 4}), {.mode = Mode::sum},
                               rg::tensor({1.0, -1.0, 2.0, 0.5, 3.0}, f64())),
                 rg::tensor({{-4.0, -4.0}, {4.0, 6.5}, {12.0, 15.0}}, f64()), 0);
    // A 2-D input is one bag per row.
    check_values(embedding_bag(rg::from_indices({1, 3, 0, 4}, {2, 2}), table, {}, {.mode = Mode::sum}),
                 rg::tensor({{8.0, 10.0}, {8.0, 10.0}}, f64()), 0);
    CHECK(embedding_bag(input, table, rg::from_indices(std::vector<std::int64_t>{})).shape() == rg::Shape{0, 2});
    // max: the gradient goes to the row holding each maximum.
    rg::sum(embedding_bag(input, table, offsets, {.mode = Mode::max})).backward();
    check_values(table.grad(), rg::tensor({{0.0, 0.0}, {0.0, 0.0}, {1.0, 1.0}, {1.0, 1.0}, {1.0, 1.0}}, f64()), 0);
}

TEST_CASE("embedding_bag: gradients of weight and per_sample_weights at first and second order") {
    const Tensor input = rg::from_indices({1, 3, 3, 0, 4, 2, 1});
    const Tensor offsets = rg::from_indices({0, 3, 3, 5});
    using Mode = EmbeddingBagMode;
    test::check_gradients([&](const TensorList&
                                  v) { return embedding_bag(input, v[0], offsets, {.mode = Mode::sum}, v[1]); },
                          {test::rand64({5, 3}), test::rand64({7})});
    test::check_gradients([&](const TensorList& v) { return embedding_bag(input, v[0], offsets, {.padding_idx = 1}); },
                          {test::rand64({5, 3})});
    test::check_gradients(
        [&](const TensorList& v) {
            return embedding_bag(input, v[0], offsets, {.mode = Mode::max, .include_last_offset = true});
        },
        {test::rand64({5, 3})});
    test::check_gradients(
        [](const TensorList& v) {
            return embedding_bag(rg::from_indices({2, 0, 2, 1, 1, 4}, {2, 3}), v[0], {}, {.mode = Mode::max});
        },
        {test::rand64({5, 3})});
}

TEST_CASE("EmbeddingBag: PyTorch's weight, N(0, 1) with the padding row zeros, and forward") {
    EmbeddingBag bags(6, 4, {.mode = EmbeddingBagMode::max, .padding_idx = -2, .include_last_offset = true});
    CHECK(bags.describe() == "EmbeddingBag(6, 4, mode=\"max\", padding_idx=4, include_last_offset=true)");
    CHECK(EmbeddingBag(3, 2).describe() == "EmbeddingBag(3, 2, mode=\"mean\")");
    const auto named = bags.named_parameters();
    REQUIRE(named.size() == 1);
    CHECK(named[0].first == "weight");
    CHECK(bags.weight.shape() == rg::Shape{6, 4});
    check_values(rg::select(bags.weight, 0, 4), rg::zeros({4}), 0);
    CHECK(rg::sum(rg::abs(bags.weight)).item() > 0.0);
    const Tensor input = rg::from_indices({4, 1, 2, 4, 5});
    const Tensor offsets = rg::from_indices({0, 2, 5});
    check_values(bags.forward(input, offsets), embedding_bag(input, bags.weight, offsets, bags.options), 0);
    rg::sum(bags.forward(input, offsets)).backward();
    check_values(rg::select(bags.weight.grad(), 0, 4), rg::zeros({4}), 0);  // the padding row gets none
    EmbeddingBag rows(6, 4);
    check_values(rows(rg::from_indices({1, 2}, {1, 2})),
                 rg::unsqueeze((rg::select(rows.weight, 0, 1) + rg::select(rows.weight, 0, 2)) / 2.0, 0), 1e-6);
    CHECK_THROWS_WITH_AS(EmbeddingBag(6, 4, {.padding_idx = 6}),
                         "EmbeddingBag: padding_idx 6 is out of range for 6 rows, expected [-6, 6)", rg::Error);
    // docs/nn.md's example.
    EmbeddingBag sums(1000, 16, {.mode = EmbeddingBagMode::sum});
    CHECK(sums(rg::from_indices({4, 7, 7, 1}, {2, 2})).shape() == rg::Shape{2, 16});
    CHECK(sums.forward(rg::from_indices({4, 7, 1, 9, 9}), rg::from_indices({0, 2, 2}), rg::randn({5})).shape() ==
          rg::Shape{3, 16});
    CHECK_THROWS_WITH_AS(EmbeddingBag(0, 4),
                         "EmbeddingBag: num_embeddings and embedding_dim must be positive, got 0 "
                         "and 4",
                         rg::Error);
}

TEST_CASE("embedding_bag: bad inputs, offsets and per_sample_weights by message, checked before allocating") {
    const Tensor table = counting_table();
    const Tensor input = rg::from_indices({1, 3, 0, 4, 2});
    const Tensor offsets = rg::from_indices({0, 2});
    auto message = [&](const Tensor& in, const Tensor& offs, EmbeddingBagOptions options = {},
                       const Tensor& weights = {}) {
        try {
            embedding_bag(in, table, offs, options, weights);
        } catch (const rg::Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(message(rg::randn({5}), offsets) == "embedding_bag: expected int64 indices, got float32");
    CHECK(message(rg::from_indices({1, 2, 3, 4}, {1, 2, 2}), {}) ==
          "embedding_bag: expected input (B, N), or (N,) with offsets, got (1, 2, 2)");
    CHECK(message(input, {}) == "embedding_bag: a 1-D input (5,) needs offsets, the int64 start of each bag");
    CHECK(message(rg::from_indices({1, 2, 3, 4}, {2, 2}), offsets) ==
          "embedding_bag: a 2-D input (2, 2) holds one bag per row, so offsets must be undefined, got (2,)");
    CHECK(message(rg::from_indices({}, {3, 0}), {}) ==
          "embedding_bag: a 2-D input (3, 0) must have at least one index per bag");
    CHECK(message(input, rg::tensor({0.0, 2.0})) ==
          "embedding_bag: offsets must be a 1-D int64 tensor, got float32 (2,)");
    CHECK(message(input, rg::from_indices({0, 2}, {1, 2})) ==
          "embedding_bag: offsets must be a 1-D int64 tensor, got int64 (1, 2)");
    CHECK(message(input, rg::from_indices({1, 2})) ==
          "embedding_bag: offsets[0] must be 0, the start of the first bag, got 1");
    CHECK(message(input, rg::from_indices({0, 3, 2})) ==
          "embedding_bag: offsets must not decrease, got offsets[2] = 2 after offsets[1] = 3");
    CHECK(message(input, rg::from_indices({0, -1})) ==
          "embedding_bag: offsets must not decrease, got offsets[1] = -1 after offsets[0] = 0");
    CHECK(message(input, rg::from_indices({0, std::int64_t{1} << 62})) ==
          "embedding_bag: offsets[1] = 4611686018427387904 is beyond the input's 5 indices");
    CHECK(message(input, rg::from_indices(std::vector<std::int64_t>{}), {.include_last_offset = true}) ==
          "embedding_bag: with include_last_offset, offsets needs at least one entry, the end of the last bag");
    CHECK(message(rg::from_indices({1, 5}), rg::from_indices({0})) ==
          "embedding_bag: index 5 at position 1 is out of range for a table of 5 rows, expected [0, 5)");
    CHECK(message(rg::from_indices({-1, 2}), rg::from_indices({0})) ==
          "embedding_bag: index -1 at position 0 is out of range for a table of 5 rows, expected [0, 5)");
    CHECK(message(input, offsets, {.padding_idx = 5}) ==
          "embedding_bag: padding_idx 5 is out of range for 5 rows, expected [-5, 5)");
    const Tensor weights = rg::ones({5}, f64());
    CHECK(message(input, offsets, {}, weights) ==
          "embedding_bag: per_sample_weights is only supported for mode \"sum\", as PyTorch, got mode \"mean\"");
    CHECK(message(input, offsets, {.mode = EmbeddingBagMode::max}, weights) ==
          "embedding_bag: per_sample_weights is only supported for mode \"sum\", as PyTorch, got mode \"max\"");
    CHECK(message(input, offsets, {.mode = EmbeddingBagMode::sum}, rg::ones({4}, f64())) ==
          "embedding_bag: per_sample_weights (4,) must have the input's shape (5,)");
    CHECK(message(input, offsets, {.mode = EmbeddingBagMode::sum}, rg::ones({5})) ==
          "embedding_bag: per_sample_weights is float32 but weight is float64; they must match");
    CHECK(message(input, offsets, {.mode = EmbeddingBagMode::sum}, rg::from_indices({1, 1, 1, 1, 1})) ==
          "embedding_bag: per_sample_weights must be float32 or float64, got int64; convert it with .to(rg::float32)");
    CHECK_THROWS_WITH_AS(embedding_bag(input, rg::randn({5}), offsets),
                         "embedding_bag: weight must be a table (num_embeddings, dim), got (5,)", rg::Error);
}
