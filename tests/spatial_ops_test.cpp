// conv1d, conv_transpose2d, unfold, fold, interpolate, multinomial and
// bernoulli: what the registry's generated tests (values against plain
// loops, gradients at both orders, dtype errors) do not reach: properties
// that tie each op to another, PyTorch's option cases, exact error messages,
// and the sampling ops' statistics.
#include "helpers.hpp"

#include <cmath>
#include <set>

using rg::Tensor;
using test::check_gradients;
using test::check_values;
using test::rand64;

TEST_CASE("conv1d is conv2d on images of height 1, padding modes and same included") {
    const Tensor x = rand64({2, 4, 9}), w = rand64({6, 2, 3}), b = rand64({6});
    const rg::Conv1dOptions o{.stride = 2, .padding = 2, .dilation = 1, .groups = 2};
    const Tensor expected = rg::squeeze(rg::conv2d(rg::unsqueeze(x, 2), rg::unsqueeze(w, 2), b,
                                                   {.stride = {1, 2}, .padding = {0, 2}, .groups = 2}),
                                        2);
    check_values(rg::conv1d(x, w, b, o), expected, 1e-12);
    // padding "same" with an even kernel: the extra element goes right, as PyTorch.
    const Tensor w4 = rand64({3, 4, 4});
    const Tensor same = rg::conv1d(x, w4, {}, {.padding_rule = rg::Conv2dOptions::Rule::same});
    CHECK(same.shape() == rg::Shape{2, 3, 9});
    check_values(same, rg::conv1d(rg::pad(x, {1, 2}), w4), 1e-12);
    const Tensor reflect = rg::conv1d(x, w4, {}, {.padding = 2, .padding_mode = rg::PadMode::reflect});
    check_values(reflect, rg::conv1d(rg::pad(x, {2, 2}, rg::PadMode::reflect), w4), 1e-12);
    check_gradients(
        [&](const rg::TensorList& v) {
            return rg::conv1d(v[0], v[1], {}, {.padding = 1, .padding_mode = rg::PadMode::circular});
        },
        {rand64({1, 2, 5}), rand64({2, 2, 3})});
}

TEST_CASE("conv_transpose2d is the adjoint of conv2d and has PyTorch's output size") {
    // <conv2d(u), v> = <u, conv_transpose2d(v)> for the same weight and options.
    const Tensor u = rand64({2, 4, 7, 6}, false), w = rand64({6, 2, 3, 3}, false);
    const rg::Conv2dOptions forward{.stride = {2, 1}, .padding = {1, 1}, .dilation = {1, 2}, .groups = 2};
    const Tensor cu = rg::conv2d(u, w, {}, forward);
    const Tensor v = rand64(cu.shape(), false);
    // An output of 7 rows from a stride of 2 needs output_padding 0 (6 would need... ), computed by PyTorch's formula.
    const Tensor tv =
        rg::conv_transpose2d(v, w, {}, {.stride = {2, 1}, .padding = {1, 1}, .groups = 2, .dilation = {1, 2}});
    REQUIRE(tv.shape() == u.shape());
    CHECK(rg::sum(cu * v).item<double>() == doctest::Approx(rg::sum(u * tv).item<double>()).epsilon(1e-12));
    // output_padding picks the larger of the two sizes a stride of 2 maps to 4 rows.
    const Tensor x = rand64({1, 2, 4, 4}, false), w2 = rand64({2, 3, 3, 3}, false);
    CHECK(rg::conv_transpose2d(x, w2, {}, {.stride = {2, 2}, .padding = {1, 1}}).shape() == rg::Shape{1, 3, 7, 7});
    CHECK(rg::conv_transpose2d(x, w2, {}, {.stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 0}}).shape() ==
          rg::Shape{1, 3, 8, 7});
}

TEST_CASE("conv1d and conv_transpose2d refuse bad arguments with messages naming what was wrong") {
    const Tensor x = rand64({2, 4, 9}, false);
    CHECK_THROWS_WITH_AS(rg::conv1d(x, rand64({6, 3, 3}, false)),
                         "conv1d: input (2, 4, 9) has 4 channels but weight (6, 3, 3) in 1 group(s) expects 3",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv1d(x, rand64({6, 4, 3}, false), rand64({5}, false)),
                         "conv1d: bias has shape (5,), expected (6,)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv1d(rand64({4, 9}, false), rand64({6, 4, 3}, false)),
                         "conv1d: expected input (N, C, L) and weight (O, C / groups, k), got (4, 9) and (6, 4, 3)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv1d(x, rand64({6, 2, 3}, false), {}, {.groups = 4}),
                         "conv1d: groups must be positive and divide the 6 output channels of weight (6, 2, 3), got 4",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv1d(x, rand64({6, 4, 3}, false), {},
                                    {.stride = 2, .padding_rule = rg::Conv2dOptions::Rule::same}),
                         "conv1d: padding \"same\" needs stride 1, as PyTorch, got stride 2", rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv1d(x, rand64({6, 4, 12}, false)),
                         "conv1d: the kernel spans 12 pixels but the padded input has only 9 (input 9, padding 0)",
                         rg::Error);
    const Tensor y = rand64({1, 4, 3, 3}, false);
    CHECK_THROWS_WITH_AS(rg::conv_transpose2d(y, rand64({3, 2, 3, 3}, false)),
                         "conv_transpose2d: input (1, 4, 3, 3) has 4 channels but weight (3, 2, 3, 3) expects 3 (its "
                         "first axis)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv_transpose2d(y, rand64({4, 2, 3, 3}, false), {}, {.groups = 3}),
                         "conv_transpose2d: groups must be positive and divide the 4 input channels of weight (4, 2, "
                         "3, 3), got 3",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv_transpose2d(y, rand64({4, 2, 3, 3}, false), rand64({3}, false), {.groups = 2}),
                         "conv_transpose2d: bias has shape (3,), expected (4,)" /* C_out = 2 x 2 */, rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv_transpose2d(y, rand64({4, 2, 3, 3}, false), {}, {.output_padding = {1, 0}}),
                         "conv_transpose2d: output_padding (1, 0) must be smaller than the stride (1, 1) or the "
                         "dilation (1, 1) of its axis",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::conv_transpose2d(y, rand64({4, 2, 1, 1}, false), {}, {.padding = {2, 2}}),
                         "conv_transpose2d: input (1, 4, 3, 3) with kernel (1, 1), stride (1, 1), padding (2, 2) and "
                         "dilation (1, 1) gives an empty output; use less padding",
                         rg::Error);
}

TEST_CASE("unfold and fold are PyTorch's im2col and col2im, batched or not") {
    const Tensor x = rand64({2, 3, 5, 4});
    const rg::FoldOptions o{.dilation = {2, 1}, .padding = {1, 1}, .stride = {1, 2}};
    const Tensor cols = rg::unfold(x, {2, 3}, o);
    check_values(cols, rg::im2col(x, {2, 3}, {.stride = {1, 2}, .padding = {1, 1}, .dilation = {2, 1}}), 0);
    check_values(rg::fold(cols, {5, 4}, {2, 3}, o),
                 rg::col2im(cols, x.shape(), {2, 3}, {.stride = {1, 2}, .padding = {1, 1}, .dilation = {2, 1}}), 0);
    // Unbatched: the batched result without its batch axis.
    const Tensor one = rg::select(x, 0, 0);
    check_values(rg::unfold(one, {2, 3}, o), rg::select(cols, 0, 0), 0);
    check_values(rg::fold(rg::select(cols, 0, 0), {5, 4}, {2, 3}, o),
                 rg::select(rg::fold(cols, {5, 4}, {2, 3}, o), 0, 0), 0);
    // fold(unfold(ones)) counts how many windows cover each pixel.
    const Tensor counts = rg::fold(rg::unfold(rg::ones({1, 1, 3, 3}), {2, 2}), {3, 3}, {2, 2});
    check_values(counts, rg::tensor({{{{1.0, 2.0, 1.0}, {2.0, 4.0, 2.0}, {1.0, 2.0, 1.0}}}}).to(rg::float32), 0);
}

TEST_CASE("unfold and fold refuse bad arguments") {
    CHECK_THROWS_WITH_AS(rg::unfold(rand64({4, 3}, false), {2, 2}),
                         "unfold: expected images (N, C, H, W) or (C, H, W), got shape (4, 3)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::unfold(rand64({1, 1, 3, 3}, false), {4, 1}),
                         "unfold: the kernel spans 4 pixels but the padded input has only 3 (input 3, padding 0)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::fold(rand64({1, 7, 4}, false), {3, 3}, {2, 2}),
                         "fold: columns (1, 7, 4) have 7 rows, expected a multiple of the kernel's 2 x 2 = 4 elements",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::fold(rand64({1, 8, 5}, false), {3, 3}, {2, 2}),
                         "fold: columns (1, 8, 5) have 5 windows, but an output of (3, 3) holds 2 x 2 = 4 windows of "
                         "(2, 2)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::fold(rand64({8}, false), {3, 3}, {2, 2}),
                         "fold: expected columns (N, C*kh*kw, L) or (C*kh*kw, L), got shape (8,)", rg::Error);
    // Sizes whose window count wraps around 2^64 (2^32 x 2^32 is 0) are refused before anything is allocated.
    const std::size_t p = (std::size_t{1} << 31) - 1, big = std::size_t{1} << 32;
    CHECK_THROWS_WITH_AS(rg::unfold(rand64({1, 1, 2, 2}, false), {1, 1}, {.padding = {p, p}}),
                         "unfold: shape (1, 1, 1, 1, 4294967296, 4294967296) has too many elements for memory (more "
                         "than 2^62 bytes of float64)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::fold(rg::zeros({1, 1, 0}), {big, big}, {1, 1}),
                         "fold: shape (1, 1, 4294967296, 4294967296) has too many elements for memory (more than 2^62 "
                         "bytes of float32)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::fold(rg::zeros({1, 1, 0}), {2, 2}, {1, 1}, {.padding = {p, p}}),
                         "fold: shape (4294967296, 4294967296) has too many elements for memory (more than 2^62 bytes "
                         "of float32)",
                         rg::Error);
}

TEST_CASE("interpolate: PyTorch 1.13's nearest indices and bilinear weights on small cases") {
    const Tensor x = rg::tensor({{{{1.0, 2.0}, {3.0, 4.0}}}}).to(rg::float64);
    // nearest, doubling: each pixel becomes a 2 x 2 block.
    check_values(rg::interpolate(x, {.scale_factor = {2.0}}),
                 rg::tensor(
                     {{{{1.0, 1.0, 2.0, 2.0}, {1.0, 1.0, 2.0, 2.0}, {3.0, 3.0, 4.0, 4.0}, {3.0, 3.0, 4.0, 4.0}}}})
                     .to(rg::float64),
                 0);
    // nearest to 3 from 2: floor(i * 2 / 3) = 0, 0, 1.
    check_values(rg::interpolate(x, {.size = {1, 3}}), rg::tensor({{{{1.0, 1.0, 2.0}}}}).to(rg::float64), 0);
    // bilinear, align_corners: the corners stay, the middle is the mean.
    check_values(rg::interpolate(x, {.size = {3, 3}, .mode = rg::InterpolateMode::bilinear, .align_corners = true}),
                 rg::tensor({{{{1.0, 1.5, 2.0}, {2.0, 2.5, 3.0}, {3.0, 3.5, 4.0}}}}).to(rg::float64), 1e-12);
    // bilinear without align_corners (torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear")).
    check_values(rg::interpolate(x, {.scale_factor = {2.0}, .mode = rg::InterpolateMode::bilinear}),
                 rg::tensor({{{{1.0, 1.25, 1.75, 2.0},
                               {1.5, 1.75, 2.25, 2.5},
                               {2.5, 2.75, 3.25, 3.5},
                               {3.0, 3.25, 3.75, 4.0}}}})
                     .to(rg::float64),
                 1e-12);
    // scale_factor sets the sampling step, not in / out: 1.7 gives 6 from 4 and samples floor(i / 1.7) =
    // 0, 0, 1, 1, 2, 2, where floor(i · 4 / 6) would give 0, 0, 1, 2, 2, 3 (torch 1.13 gives the first).
    check_values(rg::interpolate(rg::tensor({{{1.0, 2.0, 3.0, 4.0}}}), {.scale_factor = {1.7}}),
                 rg::tensor({{{1.0, 1.0, 2.0, 2.0, 3.0, 3.0}}}), 0);
}

TEST_CASE("interpolate refuses bad options with messages naming them") {
    const Tensor x = rand64({1, 1, 2, 2}, false);
    CHECK_THROWS_WITH_AS(rg::interpolate(x, {}), "interpolate: give exactly one of size and scale_factor, got neither",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::interpolate(x, {.size = {3}, .scale_factor = {2.0}}),
                         "interpolate: give exactly one of size and scale_factor, got both", rg::Error);
    CHECK_THROWS_WITH_AS(rg::interpolate(x, {.size = {3, 3, 3}}),
                         "interpolate: size has 3 values, expected 1 or 2 for input (1, 1, 2, 2)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::interpolate(x, {.scale_factor = {-1.0}}),
                         "interpolate: scale_factor must be positive and finite, got -1", rg::Error);
    CHECK_THROWS_WITH_AS(rg::interpolate(x, {.scale_factor = {0.25}}),
                         "interpolate: input (1, 1, 2, 2) would give an axis of 0 elements from 2; sizes must be "
                         "positive",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::interpolate(x, {.size = {3}, .align_corners = true}),
                         "interpolate: align_corners applies to linear, bilinear and trilinear only, as in PyTorch; "
                         "leave it false with nearest",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::interpolate(x, {.size = {3}, .mode = rg::InterpolateMode::area, .align_corners = true}),
                         "interpolate: align_corners applies to linear, bilinear and trilinear only, as in PyTorch; "
                         "leave it false with area",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::interpolate(rand64({1, 2, 3}, false),
                                         {.size = {3}, .mode = rg::InterpolateMode::bilinear}),
                         "interpolate: bilinear expects a 4-D input (N, C, H, W), got shape (1, 2, 3)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::interpolate(x, {.size = {3}, .mode = rg::InterpolateMode::linear}),
                         "interpolate: linear expects a 3-D input (N, C, L), got shape (1, 1, 2, 2)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::interpolate(x, {.size = {3}, .mode = rg::InterpolateMode::trilinear}),
                         "interpolate: trilinear expects a 5-D input (N, C, D, H, W), got shape (1, 1, 2, 2)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::interpolate(rand64({1, 1, 2, 2, 2}, false),
                                         {.size = {3}, .mode = rg::InterpolateMode::area}),
                         "interpolate: area expects a 3-D (N, C, L) or 4-D (N, C, H, W) input, got shape (1, 1, 2, 2, "
                         "2)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::interpolate(rand64({2, 3}, false),
                                         {.size = {3}, .mode = rg::InterpolateMode::nearest_exact}),
                         "interpolate: nearest-exact expects a 3-D (N, C, L), 4-D (N, C, H, W) or 5-D (N, C, D, H, W) "
                         "input, got shape (2, 3)",
                         rg::Error);
    const auto unknown = static_cast<rg::InterpolateMode>(99);  // a value outside the enumeration
    CHECK_THROWS_WITH_AS(rg::interpolate_mode_name(unknown), "interpolate: unknown mode 99", rg::Error);
    CHECK_THROWS_WITH_AS(rg::interpolate(x, {.size = {3}, .mode = unknown}), "interpolate: unknown mode 99", rg::Error);
}

TEST_CASE("interpolate: nearest-exact, linear, trilinear, area and 5-D nearest on small cases, as PyTorch 1.13") {
    using enum rg::InterpolateMode;
    const Tensor row = rg::tensor({{{1.0, 2.0, 3.0, 4.0}}}).to(rg::float64);  // (1, 1, 4)
    // nearest reads floor(i 4 / 3) = 0, 1, 2; nearest-exact floor((i + 1/2) 4 / 3) = 0, 2, 3.
    check_values(rg::interpolate(row, {.size = {3}}), rg::tensor({{{1.0, 2.0, 3.0}}}).to(rg::float64), 0);
    check_values(rg::interpolate(row, {.size = {3}, .mode = nearest_exact}),
                 rg::tensor({{{1.0, 3.0, 4.0}}}).to(rg::float64), 0);
    // linear, doubling without align_corners: source (i + 1/2) / 2 - 1/2, clamped at 0.
    check_values(rg::interpolate(rg::tensor({{{1.0, 2.0}}}).to(rg::float64), {.scale_factor = {2.0}, .mode = linear}),
                 rg::tensor({{{1.0, 1.25, 1.75, 2.0}}}).to(rg::float64), 1e-12);
    check_values(rg::interpolate(row, {.size = {7}, .mode = linear, .align_corners = true}),
                 rg::tensor({{{1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0}}}).to(rg::float64), 1e-12);
    // area: window means, [floor(i in / out), ceil((i + 1) in / out)).
    check_values(rg::interpolate(row, {.size = {2}, .mode = area}), rg::tensor({{{1.5, 3.5}}}).to(rg::float64), 1e-12);
    check_values(rg::interpolate(row, {.size = {3}, .mode = area}), rg::tensor({{{1.5, 2.5, 3.5}}}).to(rg::float64),
                 1e-12);
    const Tensor image = rg::reshape(rg::arange(0.0, 16.0), {1, 1, 4, 4}).to(rg::float64);
    check_values(rg::interpolate(image, {.scale_factor = {0.5}, .mode = area}),
                 rg::tensor({{{{2.5, 4.5}, {10.5, 12.5}}}}).to(rg::float64), 1e-12);
    // A 2 x 2 x 2 volume: trilinear with align_corners keeps the corners and puts the mean at the centre.
    const Tensor cube = rg::reshape(rg::arange(0.0, 8.0), {1, 1, 2, 2, 2}).to(rg::float64);
    const Tensor grown = rg::interpolate(cube, {.size = {3}, .mode = trilinear, .align_corners = true});
    CHECK(grown.shape() == rg::Shape{1, 1, 3, 3, 3});
    const std::vector<double> values = grown.to_vector();  // (d, h, w) at 9 d + 3 h + w
    CHECK(values[0] == 0.0);
    CHECK(values[13] == doctest::Approx(3.5));
    CHECK(values[26] == 7.0);
    // trilinear is linear along each axis in turn.
    const Tensor volume = rand64({2, 3, 3, 4, 2}, false);
    Tensor by_axes = volume;
    for (int axis = 2; axis < 5; ++axis) {
        const Tensor moved = rg::transpose(by_axes, axis, 4);  // the axis last
        const rg::Shape s = moved.shape();
        const Tensor rows = rg::interpolate(rg::reshape(moved, {s[0] * s[1], s[2] * s[3], s[4]}),
                                            {.scale_factor = {1.5}, .mode = linear});
        by_axes = rg::transpose(rg::reshape(rows, {s[0], s[1], s[2], s[3], rows.shape()[2]}), axis, 4);
    }
    check_values(rg::interpolate(volume, {.scale_factor = {1.5}, .mode = trilinear}), by_axes, 1e-12);
    // 5-D nearest, doubling: each voxel becomes a 2 x 2 x 2 block.
    const Tensor doubled = rg::interpolate(cube, {.scale_factor = {2.0}});
    CHECK(doubled.shape() == rg::Shape{1, 1, 4, 4, 4});
    check_values(rg::interpolate(doubled, {.scale_factor = {0.5}}), cube, 0);
}

TEST_CASE("multinomial: shapes, seeds, distinct draws without replacement, frequencies") {
    const Tensor p = rg::tensor({{0.1, 0.2, 0.3, 0.4}, {0.0, 0.0, 5.0, 0.0}});
    rg::manual_seed(3);
    const Tensor a = rg::multinomial(p, 20000, true);
    CHECK(a.dtype() == rg::int64);
    CHECK(a.shape() == rg::Shape{2, 20000});
    rg::manual_seed(3);
    CHECK(rg::multinomial(p, 20000, true).to_vector() == a.to_vector());
    // Row 0's frequencies within 5 standard deviations of the probabilities;
    // row 1 only ever draws its one non-zero weight.
    const auto values = a.to_vector();
    std::vector<double> counts(4, 0.0);
    for (std::size_t i = 0; i < 20000; ++i) counts[static_cast<std::size_t>(values[i])] += 1;
    for (std::size_t k = 0; k < 4; ++k) {
        const double q = 0.1 * static_cast<double>(k + 1), sd = std::sqrt(q * (1 - q) / 20000);
        CHECK(std::abs(counts[k] / 20000 - q) < 5 * sd);
    }
    for (std::size_t i = 20000; i < 40000; ++i) CHECK(values[i] == 2.0);
    // Without replacement: every row a permutation of the categories.
    const Tensor perm = rg::multinomial(rg::ones({50, 6}), 6);
    const auto pv = perm.to_vector();
    for (std::size_t r = 0; r < 50; ++r) {
        const std::set<double> seen(pv.begin() + static_cast<std::ptrdiff_t>(r * 6),
                                    pv.begin() + static_cast<std::ptrdiff_t>((r + 1) * 6));
        CHECK(seen.size() == 6);
    }
    CHECK(rg::multinomial(rg::tensor({0.5, 0.5}), 3, true).shape() == rg::Shape{3});
}

TEST_CASE("multinomial refuses what torch.multinomial refuses") {
    CHECK_THROWS_WITH_AS(rg::multinomial(rg::tensor({0.5, -0.5}), 1),
                         "multinomial: probabilities must be finite and non-negative, got -0.5 in row 0", rg::Error);
    CHECK_THROWS_WITH_AS(rg::multinomial(rg::tensor({{0.5, 0.5}, {0.0, 0.0}}), 1),
                         "multinomial: row 1 of probabilities (2, 2) sums to 0", rg::Error);
    CHECK_THROWS_WITH_AS(rg::multinomial(rg::tensor({0.5, 0.5}), 3),
                         "multinomial: cannot draw 3 samples without replacement from 2 categories", rg::Error);
    CHECK_THROWS_WITH_AS(rg::multinomial(rg::tensor({0.5, 0.0, 0.5}), 3),
                         "multinomial: row 0 has 2 non-zero probabilities, fewer than the 3 samples to draw without "
                         "replacement",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::multinomial(rg::tensor({0.5, 0.5}), 0), "multinomial: num_samples must be positive, got 0",
                         rg::Error);
}

TEST_CASE("bernoulli: values 0 or 1 with mean p, repeatable by seed, bad probabilities refused") {
    const Tensor p = rg::full({4, 5000}, 0.3, {.dtype = rg::float64});
    rg::manual_seed(8);
    const Tensor b = rg::bernoulli(p);
    CHECK(b.dtype() == rg::float64);
    CHECK(b.shape() == p.shape());
    rg::manual_seed(8);
    CHECK(rg::bernoulli(p).to_vector() == b.to_vector());
    double ones = 0;
    for (double v : b.to_vector()) {
        CHECK((v == 0.0 || v == 1.0));
        ones += v;
    }
    CHECK(std::abs(ones / 20000 - 0.3) < 5 * std::sqrt(0.3 * 0.7 / 20000));
    CHECK(rg::bernoulli(rg::tensor({0.0, 1.0})).to_vector() == std::vector<double>{0.0, 1.0});
    CHECK_THROWS_WITH_AS(rg::bernoulli(rg::tensor({0.5, 1.5})), "bernoulli: probabilities must be in [0, 1], got 1.5",
                         rg::Error);
}
