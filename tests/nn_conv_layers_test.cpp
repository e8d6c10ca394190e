// Conv1d, ConvTranspose1d, ConvTranspose2d, Upsample, Unfold, Fold and
// TransformerDecoder as modules: their PyTorch names and shapes, init bounds,
// forward equal to the op it calls, gradients in float64, descriptions and
// errors. Their values against PyTorch are in nn_parity_test.cpp.
#include "helpers.hpp"

#include <algorithm>
#include <cmath>
#include <set>

using namespace rg::nn;
using rg::Tensor;
using rg::TensorList;
using test::check_values;

namespace {
std::vector<std::string> names_and_shapes(const Module& m) {
    std::vector<std::string> out;
    for (const auto& entry : m.named_parameters()) out.push_back(entry.first + rg::shape_str(entry.second.shape()));
    return out;
}
double largest(const Tensor& t) { return rg::max(rg::abs(t)).item(); }
}  // namespace

TEST_CASE("Conv1d: PyTorch's parameters, init bound and forward") {
    Conv1d conv(4, 6, 3, {.stride = 2, .padding = 1, .groups = 2});
    CHECK(names_and_shapes(conv) == std::vector<std::string>{"weight(6, 2, 3)", "bias(6,)"});
    CHECK(largest(conv.weight) <= 1 / std::sqrt(6.0));
    CHECK(largest(conv.bias) <= 1 / std::sqrt(6.0));
    CHECK(conv.describe() == "Conv1d(4, 6, kernel=3, stride=2, padding=1, groups=2)");
    conv.to(rg::float64);
    const Tensor x = test::rand64({2, 4, 9});
    check_values(conv(x), rg::conv1d(x, conv.weight, conv.bias, conv.options), 0);
    const auto result = rg::gradcheck([&conv](const TensorList& v) { return conv(v[0]); }, {x});
    CHECK_MESSAGE(result.ok, result.report);
    Conv1d same(3, 3, 4,
                {.bias = false, .padding_rule = rg::Conv2dOptions::Rule::same, .padding_mode = rg::PadMode::replicate});
    CHECK(names_and_shapes(same) == std::vector<std::string>{"weight(3, 3, 4)"});
    CHECK(same(rg::randn({1, 3, 10})).shape() == rg::Shape{1, 3, 10});
    CHECK(same.describe() == "Conv1d(3, 3, kernel=4, stride=1, padding=\"same\", bias=false, padding_mode=replicate)");
    CHECK(Conv1d(2, 4, 3, {.dilation = 2, .padding_rule = rg::Conv2dOptions::Rule::valid}).describe() ==
          "Conv1d(2, 4, kernel=3, stride=1, padding=\"valid\", dilation=2)");
    CHECK(Conv2d(2, 4, 3, {.dilation = {2, 1}, .bias = false}).describe() ==
          "Conv2d(2, 4, kernel=(3, 3), stride=(1, 1), padding=(0, 0), dilation=(2, 1), bias=false)");
    CHECK(Conv2d(2, 4, 3, {.padding_rule = rg::Conv2dOptions::Rule::valid}).describe() ==
          "Conv2d(2, 4, kernel=(3, 3), stride=(1, 1), padding=\"valid\")");
    CHECK_THROWS_WITH_AS(Conv1d(4, 6, 3, {.groups = 4}),
                         "Conv1d: groups must be positive and divide in (4) and out (6) channels, got 4", rg::Error);
    CHECK_THROWS_WITH_AS(Conv1d(4, 6, 0), "Conv1d: channels and kernel must be positive, got in 4, out 6, kernel 0",
                         rg::Error);
    CHECK_THROWS_WITH_AS(Conv1d(4, 6, 3, {.stride = 2, .padding_rule = rg::Conv2dOptions::Rule::same}),
                         "Conv1d: padding \"same\" needs stride 1, as PyTorch, got stride 2", rg::Error);
}

TEST_CASE("ConvTranspose1d: PyTorch's (in, out / groups, k) weight, init bound, unbatched input and gradients") {
    ConvTranspose1d up(4, 6, 3, {.stride = 2, .padding = 1, .output_padding = 1, .groups = 2, .dilation = 2});
    CHECK(names_and_shapes(up) == std::vector<std::string>{"weight(4, 3, 3)", "bias(6,)"});
    CHECK(largest(up.weight) <= 1 / std::sqrt(9.0));  // fan-in: out / groups x k, as PyTorch
    CHECK(largest(up.bias) <= 1 / std::sqrt(9.0));
    CHECK(up.describe() == "ConvTranspose1d(4, 6, kernel=3, stride=2, padding=1, output_padding=1, groups=2, "
                           "dilation=2)");
    CHECK(ConvTranspose1d(3, 2, 4, {.bias = false}).describe() ==
          "ConvTranspose1d(3, 2, kernel=4, stride=1, bias=false)");
    up.to(rg::float64);
    const Tensor x = test::rand64({2, 4, 5});
    // (5 - 1) 2 - 2 + 2 (3 - 1) + 1 + 1 = 12
    const Tensor y = up(x);
    CHECK(y.shape() == rg::Shape{2, 6, 12});
    const Tensor as_image = rg::conv_transpose2d(rg::unsqueeze(x, 2), rg::unsqueeze(up.weight, 2), up.bias,
                                                 {.stride = {1, 2},
                                                  .padding = {0, 1},
                                                  .output_padding = {0, 1},
                                                  .groups = 2,
                                                  .dilation = {1, 2}});
    check_values(y, rg::squeeze(as_image, 2), 0);
    check_values(up(rg::select(x, 0, 1)), rg::select(y, 0, 1), 0);  // unbatched (C, L), as PyTorch
    test::check_gradients([&up](const TensorList& v) { return up(v[0]); }, {test::rand64({1, 4, 3})});
    test::check_gradients(
        [](const TensorList& v) {
            return conv_transpose1d(v[0], v[1], v[2], {.stride = 3, .padding = 1, .output_padding = 2});
        },
        {test::rand64({4, 2}), test::rand64({4, 3, 2}), test::rand64({3})});
}

TEST_CASE("ConvTranspose1d: forward(input, output_size) picks the output_padding, as PyTorch's") {
    ConvTranspose1d up(2, 3, 3, {.stride = 3, .padding = 1, .output_padding = 1});
    up.to(rg::float64);
    const Tensor x = test::rand64({2, 2, 5});
    // Output padding 0 gives (5 - 1) 3 - 2 + 2 + 1 = 13; the stride allows two more.
    CHECK(up.forward(x, 13).shape() == rg::Shape{2, 3, 13});
    const Tensor y = up.forward(x, 15);
    CHECK(y.shape() == rg::Shape{2, 3, 15});
    rg::nn::ConvTranspose1dOptions padded = up.options;
    padded.output_padding = 2;
    check_values(y, rg::nn::conv_transpose1d(x, up.weight, up.bias, padded), 0);
    CHECK(up.options.output_padding == 1);  // the layer's own is kept
    CHECK(up(x).shape() == rg::Shape{2, 3, 14});
    check_values(up.forward(rg::select(x, 0, 1), 15), rg::select(y, 0, 1), 0);  // unbatched (C, L)
    const auto result = rg::gradcheck([&up](const TensorList& v) { return up.forward(v[0], 15); }, {x});
    CHECK_MESSAGE(result.ok, result.report);
    CHECK_THROWS_WITH_AS(up.forward(x, 16),
                         "ConvTranspose1d: output_size 16 cannot be reached from an input of length 5; valid sizes "
                         "range from 13 to 15",
                         rg::Error);
    CHECK_THROWS_WITH_AS(up.forward(x, 12),
                         "ConvTranspose1d: output_size 12 cannot be reached from an input of length 5; valid sizes "
                         "range from 13 to 15",
                         rg::Error);
    CHECK_THROWS_AS(up.forward(test::rand64({1, 1, 2, 5}), 13), rg::Error);  // forward(input)'s shape error
}

TEST_CASE("ConvTranspose1d and conv_transpose1d: bad arguments and inputs by message") {
    CHECK_THROWS_WITH_AS(ConvTranspose1d(4, 6, 3, {.groups = 4}),
                         "ConvTranspose1d: groups must be positive and divide in (4) and out (6) channels, got 4",
                         rg::Error);
    CHECK_THROWS_WITH_AS(ConvTranspose1d(4, 0, 3),
                         "ConvTranspose1d: channels and kernel must be positive, got in 4, out 0, kernel 3", rg::Error);
    CHECK_THROWS_WITH_AS(ConvTranspose1d(4, 6, 3, {.stride = 2, .output_padding = 2}),
                         "ConvTranspose1d: output_padding 2 must be smaller than the stride 2 or the dilation 1",
                         rg::Error);
    ConvTranspose1d up(4, 6, 3);
    CHECK_THROWS_WITH_AS(up(rg::randn({1, 1, 4, 5})),
                         "conv_transpose1d: expected input (N, C_in, L) or (C_in, L) and weight (C_in, C_out / "
                         "groups, k), got (1, 1, 4, 5) and (4, 6, 3)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(up(rg::randn({2, 3, 5})),
                         "conv_transpose1d: input (2, 3, 5) has 3 channels but weight (4, 6, 3) expects 4 (its first "
                         "axis)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(up(rg::from_indices({1, 2, 3, 4}, {4, 1})),
                         "conv_transpose1d: expected a float32 or float64 tensor, got int64", rg::Error);
    const Tensor w = rg::randn({4, 3, 3});
    CHECK_THROWS_WITH_AS(conv_transpose1d(rg::randn({4, 1}), w, {}, {.padding = 2}),
                         "conv_transpose1d: input (1, 4, 1) with kernel 3, stride 1, padding 2 and dilation 1 gives "
                         "an empty output; use less padding",
                         rg::Error);
    CHECK_THROWS_WITH_AS(conv_transpose1d(rg::randn({4, 5}), w, {}, {.groups = 3}),
                         "conv_transpose1d: groups must be positive and divide the 4 input channels of weight "
                         "(4, 3, 3), got 3",
                         rg::Error);
    CHECK_THROWS_WITH_AS(conv_transpose1d(rg::randn({4, 5}), w, {}, {.stride = 0}),
                         "conv_transpose1d: kernel 3, stride 0 and dilation 1 must be positive", rg::Error);
    CHECK_THROWS_WITH_AS(conv_transpose1d(rg::randn({4, 5}), w, {}, {.output_padding = 1}),
                         "conv_transpose1d: output_padding 1 must be smaller than the stride 1 or the dilation 1",
                         rg::Error);
    CHECK_THROWS_WITH_AS(conv_transpose1d(rg::randn({4, 5}), w, rg::randn({4})),
                         "conv_transpose2d: bias has shape (4,), expected (3,)", rg::Error);
}

TEST_CASE("ConvTranspose2d: PyTorch's (in, out / groups, kh, kw) weight, init bound and forward") {
    ConvTranspose2d up(4, 6, {3, 2}, {.stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 0}, .groups = 2});
    CHECK(names_and_shapes(up) == std::vector<std::string>{"weight(4, 3, 3, 2)", "bias(6,)"});
    CHECK(largest(up.weight) <= 1 / std::sqrt(18.0));  // fan-in: out / groups x kh x kw, as PyTorch
    CHECK(up.describe() == "ConvTranspose2d(4, 6, kernel=(3, 2), stride=(2, 2), padding=(1, 1), "
                           "output_padding=(1, 0), groups=2)");
    up.to(rg::float64);
    const Tensor x = test::rand64({1, 4, 3, 3});
    const Tensor y = up(x);
    CHECK(y.shape() == rg::Shape{1, 6, 6, 4});
    check_values(y, rg::conv_transpose2d(x, up.weight, up.bias, up.options), 0);
    const auto result = rg::gradcheck([&up](const TensorList& v) { return up(v[0]); }, {x});
    CHECK_MESSAGE(result.ok, result.report);
    CHECK_THROWS_WITH_AS(ConvTranspose2d(4, 6, 3, {.output_padding = {0, 1}}),
                         "ConvTranspose2d: output_padding (0, 1) must be smaller than the stride (1, 1) or the "
                         "dilation (1, 1) of its axis",
                         rg::Error);
    CHECK_THROWS_WITH_AS(ConvTranspose2d(4, 6, 3, {.groups = 4}),
                         "ConvTranspose2d: groups must be positive and divide in (4) and out (6) channels, got 4",
                         rg::Error);
}

TEST_CASE("ConvTranspose2d: forward(input, output_size) picks the output_padding, as PyTorch's") {
    ConvTranspose2d up(2, 3, 3, {.stride = {2, 3}, .padding = {1, 1}});
    up.to(rg::float64);
    const Tensor x = test::rand64({2, 2, 4, 5});
    // Output padding 0 gives (4 - 1) 2 - 2 + 2 + 1 = 7 rows and (5 - 1) 3 - 2 + 2 + 1 = 13 columns;
    // the strides allow one more row and two more columns.
    CHECK(up(x).shape() == rg::Shape{2, 3, 7, 13});
    const Tensor y = up.forward(x, {8, 15});
    CHECK(y.shape() == rg::Shape{2, 3, 8, 15});
    rg::ConvTranspose2dOptions padded = up.options;
    padded.output_padding = {1, 2};
    check_values(y, rg::conv_transpose2d(x, up.weight, up.bias, padded), 0);
    CHECK(up.options.output_padding == rg::Size2{0, 0});  // the layer's own are kept
    const auto result = rg::gradcheck([&up](const TensorList& v) { return up.forward(v[0], {7, 14}); }, {x});
    CHECK_MESSAGE(result.ok, result.report);
    CHECK_THROWS_WITH_AS(up.forward(x, {9, 13}),
                         "ConvTranspose2d: output_size (9, 13) cannot be reached from an input of (4, 5); valid sizes "
                         "range from (7, 13) to (8, 15)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(up.forward(x, {7, 12}),
                         "ConvTranspose2d: output_size (7, 12) cannot be reached from an input of (4, 5); valid sizes "
                         "range from (7, 13) to (8, 15)",
                         rg::Error);
}

TEST_CASE("Upsample is interpolate with fixed options and no parameters") {
    Upsample nearest({.scale_factor = {2.0}});
    CHECK(nearest.named_parameters().empty());
    CHECK(nearest.describe() == "Upsample(scale_factor=2.0, mode=\"nearest\")");
    const Tensor x = test::rand64({1, 2, 3, 4});
    check_values(nearest(x), rg::interpolate(x, {.scale_factor = {2.0}}), 0);
    Upsample bilinear({.size = {5, 6}, .mode = rg::InterpolateMode::bilinear, .align_corners = true});
    CHECK(bilinear.describe() == "Upsample(size=(5, 6), mode=\"bilinear\", align_corners=true)");
    CHECK(bilinear(x).shape() == rg::Shape{1, 2, 5, 6});
    const auto result = rg::gradcheck([&bilinear](const TensorList& v) { return bilinear(v[0]); }, {x});
    CHECK_MESSAGE(result.ok, result.report);
    CHECK_THROWS_WITH_AS(Upsample({.size = {2}, .mode = rg::InterpolateMode::bilinear})(rg::randn({1, 2, 3})),
                         "interpolate: bilinear expects a 4-D input (N, C, H, W), got shape (1, 2, 3)", rg::Error);
    // Every mode by PyTorch's name.
    CHECK(Upsample({.size = {4}, .mode = rg::InterpolateMode::nearest_exact}).describe() ==
          "Upsample(size=4, mode=\"nearest-exact\")");
    CHECK(Upsample({.scale_factor = {2.0}, .mode = rg::InterpolateMode::trilinear}).describe() ==
          "Upsample(scale_factor=2.0, mode=\"trilinear\")");
    CHECK(std::string(rg::interpolate_mode_name(rg::InterpolateMode::linear)) == "linear");
    CHECK(std::string(rg::interpolate_mode_name(rg::InterpolateMode::area)) == "area");
    const Tensor volume = test::rand64({1, 1, 2, 3, 2});
    check_values(Upsample({.scale_factor = {2.0}, .mode = rg::InterpolateMode::trilinear})(volume),
                 rg::interpolate(volume, {.scale_factor = {2.0}, .mode = rg::InterpolateMode::trilinear}), 0);
}

TEST_CASE("Unfold and Fold are unfold and fold with fixed options, batched or not, and no parameters") {
    const rg::FoldOptions options{.dilation = {1, 2}, .padding = {1, 1}, .stride = {2, 1}};
    Unfold windows({2, 3}, options);
    CHECK(windows.named_parameters().empty());
    CHECK(windows.describe() == "Unfold(kernel=(2, 3), dilation=(1, 2), padding=(1, 1), stride=(2, 1))");
    CHECK(Unfold(2).describe() == "Unfold(kernel=(2, 2))");
    const Tensor x = test::rand64({2, 3, 5, 6});
    const Tensor columns = windows(x);
    CHECK(columns.shape() == rg::Shape{2, 18, 12});
    check_values(columns, rg::unfold(x, {2, 3}, options), 0);
    check_values(windows(rg::select(x, 0, 1)), rg::select(columns, 0, 1), 0);
    Fold images({5, 6}, {2, 3}, options);
    CHECK(images.named_parameters().empty());
    CHECK(images.describe() ==
          "Fold(output_size=(5, 6), kernel=(2, 3), dilation=(1, 2), padding=(1, 1), stride=(2, 1))");
    CHECK(Fold({4, 4}, {2, 2}).describe() == "Fold(output_size=(4, 4), kernel=(2, 2))");
    const Tensor back = images(columns);
    check_values(back, rg::fold(columns, {5, 6}, {2, 3}, options), 0);
    check_values(images(rg::select(columns, 0, 0)), rg::select(back, 0, 0), 0);  // (C kh kw, L) -> (C, H, W)
    test::check_gradients([&](const TensorList& v) { return images(windows(v[0])); }, {test::rand64({1, 2, 5, 6})});

    CHECK_THROWS_WITH_AS(windows(rg::randn({5, 6})),
                         "unfold: expected images (N, C, H, W) or (C, H, W), got shape (5, 6)", rg::Error);
    CHECK_THROWS_WITH_AS(images(rg::randn({2, 18, 11})),
                         "fold: columns (2, 18, 11) have 11 windows, but an output of (5, 6) holds 3 x 4 = 12 "
                         "windows of (2, 3)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(images(rg::randn({18})),
                         "fold: expected columns (N, C*kh*kw, L) or (C*kh*kw, L), got shape (18,)", rg::Error);
    // A huge output_size is refused before anything is allocated (spatial_ops_test.cpp has the op's cases).
    Fold huge({std::size_t{1} << 40, std::size_t{1} << 40}, {2, 3});
    CHECK_THROWS_WITH_AS(huge(rg::randn({1, 6, 4})),
                         "fold: shape (1, 1, 1099511627776, 1099511627776) has too many elements for memory (more "
                         "than 2^62 bytes of float32)",
                         rg::Error);
}

TEST_CASE("TransformerDecoder stacks copies of its layer under PyTorch's names, then the norm") {
    TransformerDecoderLayer layer(8, 2, {.dim_feedforward = 16, .dropout = 0.0});
    TransformerDecoder decoder(layer, 2, {.norm = std::make_shared<LayerNorm>(8)});
    const auto named = decoder.named_parameters();
    std::set<std::string> names;
    for (const auto& entry : named) names.insert(entry.first);
    CHECK(names.count("layers.0.self_attn.in_proj_weight") == 1);
    CHECK(names.count("layers.1.multihead_attn.out_proj.bias") == 1);
    CHECK(names.count("layers.1.norm3.weight") == 1);
    CHECK(names.count("norm.weight") == 1);
    CHECK(named.size() == 2 * layer.named_parameters().size() + 2);
    // Copies, not shared: the same values, separate tensors.
    check_values(decoder.layers[1]->linear1->weight, layer.linear1->weight, 0);
    CHECK(decoder.layers[0]->linear1->weight.data_ptr<float>() != decoder.layers[1]->linear1->weight.data_ptr<float>());
    // forward = the layers in turn, then the norm.
    decoder.eval();
    const Tensor tgt = rg::randn({5, 2, 8}), memory = rg::randn({4, 2, 8});
    const DecoderMasks masks{.tgt_is_causal = true};
    const Tensor by_hand =
        (*decoder.norm)((*decoder.layers[1])((*decoder.layers[0])(tgt, memory, masks), memory, masks));
    check_values(decoder(tgt, memory, masks), by_hand, 0);
    CHECK(TransformerDecoder(layer, 1).named_parameters().size() == layer.named_parameters().size());
    CHECK_THROWS_WITH_AS(TransformerDecoder(layer, 0), "TransformerDecoder: num_layers must be positive, got 0",
                         rg::Error);
}

TEST_CASE(
    "the examples of docs/nn.md (1-D and transposed convolutions) and docs/autodiff.md (sampling) run as they say") {
    rg::nn::Conv1d conv(16, 32, 5,
                        {.padding_rule = rg::Conv2dOptions::Rule::same, .padding_mode = rg::PadMode::reflect});
    auto signal = rg::randn({8, 16, 100});
    CHECK(conv(signal).shape() == rg::Shape{8, 32, 100});
    rg::nn::ConvTranspose2d up(32, 16, 3, {.stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 1}});
    auto image = up(rg::randn({8, 32, 14, 14}));
    CHECK(image.shape() == rg::Shape{8, 16, 28, 28});
    rg::nn::Upsample twice({.scale_factor = {2.0}, .mode = rg::InterpolateMode::bilinear});
    CHECK(twice(image).shape() == rg::Shape{8, 16, 56, 56});
    CHECK(rg::interpolate(image, {.size = {20, 30}}).shape() == rg::Shape{8, 16, 20, 30});
    auto windows = rg::unfold(image, {3, 3}, {.padding = {1, 1}});
    CHECK(windows.shape() == rg::Shape{8, 144, 784});
    auto back = rg::fold(windows, {28, 28}, {3, 3}, {.padding = {1, 1}});
    const Tensor covering = rg::fold(rg::unfold(rg::ones({1, 1, 28, 28}), {3, 3}, {.padding = {1, 1}}), {28, 28},
                                     {3, 3}, {.padding = {1, 1}});
    check_values(back, image * covering, 1e-4);

    TransformerDecoderLayer decoder(64, 8, {.batch_first = true});
    rg::nn::TransformerDecoder stack(decoder, 6, {.norm = std::make_shared<rg::nn::LayerNorm>(64)});
    auto tgt = rg::randn({4, 7, 64}), h = rg::randn({4, 10, 64});
    CHECK(stack(tgt, h, {.tgt_is_causal = true}).shape() == rg::Shape{4, 7, 64});

    auto logits = rg::randn({3, 10});
    rg::manual_seed(0);
    CHECK(rg::multinomial(rg::softmax(logits, -1), 1).shape() == rg::Shape{3, 1});
    auto order = rg::multinomial(rg::ones({5}), 5).to_vector();
    std::sort(order.begin(), order.end());
    CHECK(order == std::vector<double>{0, 1, 2, 3, 4});
    CHECK(rg::bernoulli(rg::full({3, 4}, 0.8)).shape() == rg::Shape{3, 4});
}
