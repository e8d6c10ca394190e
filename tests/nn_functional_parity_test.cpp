// Functions against PyTorch 1.13's torch.nn.functional: losses, pooling
// options, pad modes and conv2d's padding "same"/"valid". make_references.py
// (its "functional", "spatial", "margin" and "activations" groups) wrote one file per call and option set under
// tests/parity/data/functional/: the inputs (input.<name>, float32 values or
// int64 indices), constants that are not differentiated (const.<name>: class
// weights, float targets), the output, and the gradient of sum(output *
// cotangent) with respect to every floating input. Each case runs in float32
// (relative 1e-4) and again in float64 (relative 1e-9).
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "helpers.hpp"

using namespace rg::nn;
using rg::Tensor;

namespace {

using Tensors = std::map<std::string, Tensor>;

struct Case {
    std::string name;
    std::function<Tensors(const Tensors&)> run;  // inputs and constants by name -> the outputs by name
};

// A case with one output, named "output".
Case one(std::string name, std::function<Tensor(const Tensors&)> f) {
    return {std::move(name), [f = std::move(f)](const Tensors& in) { return Tensors{{"output", f(in)}}; }};
}

// F.interpolate(x, options) against rg::interpolate(x, options).
Case interpolation(std::string name, rg::InterpolateOptions options) {
    return one(std::move(name), [options](const Tensors& in) { return rg::interpolate(in.at("x"), options); });
}

Tensors values_and_indices(std::pair<Tensor, Tensor> pooled) {
    return {{"output", pooled.first}, {"indices", pooled.second}};
}

std::vector<Case> cases() {
    return {
        one("nll_loss_weight_ignore",
            [](const Tensors& in) {
                return nll_loss(rg::log_softmax(in.at("x"), 1), in.at("t"), {.weight = in.at("w")});
            }),
        one("nll_loss_spatial_none_ignore_1",
            [](const Tensors& in) {
                return nll_loss(in.at("x"), in.at("t"), {.reduction = Reduction::none, .ignore_index = 1});
            }),
        one("cross_entropy_weight_ignore",
            [](const Tensors& in) { return cross_entropy(in.at("x"), in.at("t"), {.weight = in.at("w")}); }),
        one("cross_entropy_smoothing_ignore",
            [](const Tensors& in) { return cross_entropy(in.at("x"), in.at("t"), {.label_smoothing = 0.2}); }),
        one("cross_entropy_smoothing_weight_ignore",
            [](const Tensors& in) {
                return CrossEntropyLoss{{.label_smoothing = 0.2, .weight = in.at("w")}}(in.at("x"), in.at("t"));
            }),
        one("cross_entropy_spatial_sum_smoothing_weight",
            [](const Tensors& in) {
                return cross_entropy(in.at("x"), in.at("t"),
                                     {.reduction = Reduction::sum, .label_smoothing = 0.1, .weight = in.at("w")});
            }),
        one("cross_entropy_3d_none_smoothing_weight",
            [](const Tensors& in) {
                return cross_entropy(in.at("x"), in.at("t"),
                                     {.reduction = Reduction::none, .label_smoothing = 0.3, .weight = in.at("w")});
            }),
        one("cross_entropy_unbatched", [](const Tensors& in) { return cross_entropy(in.at("x"), in.at("t")); }),
        one("cross_entropy_probabilities_weight_smoothing",
            [](const Tensors& in) {
                return cross_entropy(in.at("x"), in.at("p"), {.label_smoothing = 0.1, .weight = in.at("w")});
            }),
        one("bce_with_logits_pos_weight_weight",
            [](const Tensors& in) {
                return BCEWithLogitsLoss{{.weight = in.at("w"), .pos_weight = in.at("pw")}}(in.at("x"), in.at("t"));
            }),
        one("bce_with_logits_pos_weight_none",
            [](const Tensors& in) {
                return binary_cross_entropy_with_logits(in.at("x"), in.at("t"),
                                                        {.reduction = Reduction::none, .pos_weight = in.at("pw")});
            }),
        one("margin_ranking_loss_margin",
            [](const Tensors& in) {
                return margin_ranking_loss(in.at("x1"), in.at("x2"), in.at("y"), {.margin = 0.3});
            }),
        one("margin_ranking_loss_none",
            [](const Tensors& in) {
                return MarginRankingLoss{{.reduction = Reduction::none}}(in.at("x1"), in.at("x2"), in.at("y"));
            }),
        one("hinge_embedding_loss_margin_sum",
            [](const Tensors& in) {
                return hinge_embedding_loss(in.at("x"), in.at("y"), {.reduction = Reduction::sum, .margin = 1.5});
            }),
        one("soft_margin_loss", [](const Tensors& in) { return soft_margin_loss(in.at("x"), in.at("y")); }),
        one("cosine_embedding_loss_margin",
            [](const Tensors& in) {
                return cosine_embedding_loss(in.at("x1"), in.at("x2"), in.at("y"), {.margin = -0.2});
            }),
        one("cosine_embedding_loss_unbatched_none",
            [](const Tensors& in) {
                return cosine_embedding_loss(in.at("x1"), in.at("x2"), in.at("y"), {.reduction = Reduction::none});
            }),
        one("triplet_margin_loss",
            [](const Tensors& in) { return triplet_margin_loss(in.at("a"), in.at("p"), in.at("n")); }),
        one("triplet_margin_loss_p1_swap_none",
            [](const Tensors& in) {
                return TripletMarginLoss{
                    {.reduction = Reduction::none, .margin = 2.0, .p = 1.0, .swap = true}}(in.at("a"), in.at("p"),
                                                                                           in.at("n"));
            }),
        one("multi_margin_loss", [](const Tensors& in) { return multi_margin_loss(in.at("x"), in.at("t")); }),
        one("multi_margin_loss_p2_weight_none",
            [](const Tensors& in) {
                return multi_margin_loss(in.at("x"), in.at("t"),
                                         {.reduction = Reduction::none, .p = 2, .margin = 0.7, .weight = in.at("w")});
            }),
        one("multilabel_soft_margin_loss_weight",
            [](const Tensors& in) {
                return multilabel_soft_margin_loss(in.at("x"), in.at("y"), {.weight = in.at("w")});
            }),
        one("multilabel_margin_loss", [](const Tensors& in) { return multilabel_margin_loss(in.at("x"), in.at("t")); }),
        one("poisson_nll_loss", [](const Tensors& in) { return poisson_nll_loss(in.at("x"), in.at("t")); }),
        one("poisson_nll_loss_rate_full_sum",
            [](const Tensors& in) {
                return poisson_nll_loss(in.at("x"), in.at("t"),
                                        {.reduction = Reduction::sum, .log_input = false, .full = true});
            }),
        one("gaussian_nll_loss",
            [](const Tensors& in) { return gaussian_nll_loss(in.at("x"), in.at("t"), in.at("var")); }),
        one("gaussian_nll_loss_row_var_eps_full_sum",
            [](const Tensors& in) {
                return GaussianNLLLoss{{.reduction = Reduction::sum, .full = true, .eps = 0.1}}(in.at("x"), in.at("t"),
                                                                                                in.at("var"));
            }),
        {"max_pool2d_dilation_ceil_indices",
         [](const Tensors& in) {
             return values_and_indices(rg::max_pool2d_with_indices(in.at("x"), {3, 3},
                                                                   {.stride = {2, 2},
                                                                    .padding = {1, 1},
                                                                    .dilation = {2, 2},
                                                                    .ceil_mode = true}));
         }},
        {"max_pool2d_indices_rectangular",
         [](const Tensors& in) {
             return values_and_indices(
                 rg::max_pool2d_with_indices(in.at("x"), {2, 3}, {.stride = {1, 2}, .padding = {1, 0}}));
         }},
        one("avg_pool2d_ceil_exclude_pad",
            [](const Tensors& in) {
                return rg::avg_pool2d(in.at("x"), {3, 3},
                                      {.stride = {2, 2},
                                       .padding = {1, 1},
                                       .ceil_mode = true,
                                       .count_include_pad = false});
            }),
        one("avg_pool2d_ceil_include_pad",
            [](const Tensors& in) {
                return rg::avg_pool2d(in.at("x"), {3, 2}, {.stride = {2, 3}, .padding = {1, 1}, .ceil_mode = true});
            }),
        one("avg_pool2d_divisor_override",
            [](const Tensors& in) {
                return rg::avg_pool2d(in.at("x"), {2, 3}, {.stride = {2, 2}, .padding = {1, 1}, .divisor_override = 4});
            }),
        one("adaptive_avg_pool2d_uneven",
            [](const Tensors& in) {
                return rg::adaptive_avg_pool2d(in.at("x"), {3, 4});
            }),
        one("pad_reflect",
            [](const Tensors& in) {
                return rg::pad(in.at("x"), {2, 1, 3, 0}, rg::PadMode::reflect);
            }),
        one("pad_replicate",
            [](const Tensors& in) {
                return rg::pad(in.at("x"), {2, 1, 3, 0}, rg::PadMode::replicate);
            }),
        one("pad_circular",
            [](const Tensors& in) {
                return rg::pad(in.at("x"), {2, 1, 3, 0}, rg::PadMode::circular);
            }),
        one("conv2d_same_dilation_even_kernel",
            [](const Tensors& in) {
                return rg::conv2d(in.at("x"), in.at("w"), in.at("b"),
                                  {.dilation = {1, 2}, .padding_rule = rg::Conv2dOptions::Rule::same});
            }),
        one("conv2d_valid",
            [](const Tensors& in) {
                return rg::conv2d(in.at("x"), in.at("w"), {},
                                  {.stride = {2, 2}, .padding = {5, 5}, .padding_rule = rg::Conv2dOptions::Rule::valid});
            }),
        interpolation("interpolate_nearest_1d", {.size = {7}}),
        interpolation("interpolate_bilinear_scale_pair",
                      {.scale_factor = {1.5, 0.5}, .mode = rg::InterpolateMode::bilinear}),
        interpolation("interpolate_linear_scale", {.scale_factor = {1.7}, .mode = rg::InterpolateMode::linear}),
        interpolation("interpolate_linear_align_corners_down",
                      {.size = {4}, .mode = rg::InterpolateMode::linear, .align_corners = true}),
        interpolation("interpolate_trilinear_scale_triple",
                      {.scale_factor = {1.5, 0.5, 2.0}, .mode = rg::InterpolateMode::trilinear}),
        interpolation("interpolate_trilinear_align_corners_size",
                      {.size = {3, 5, 2}, .mode = rg::InterpolateMode::trilinear, .align_corners = true}),
        interpolation("interpolate_nearest_exact_2d", {.size = {5, 3}, .mode = rg::InterpolateMode::nearest_exact}),
        interpolation("interpolate_nearest_exact_scale_1d",
                      {.scale_factor = {1.7}, .mode = rg::InterpolateMode::nearest_exact}),
        interpolation("interpolate_nearest_3d", {.scale_factor = {2.0, 1.5, 0.5}}),
        interpolation("interpolate_nearest_float_index", {.scale_factor = {3.7}}),
        interpolation("interpolate_area_2d", {.size = {3, 5}, .mode = rg::InterpolateMode::area}),
        interpolation("interpolate_area_1d_scale", {.scale_factor = {0.6}, .mode = rg::InterpolateMode::area}),
        one("unfold_dilation_padding_stride",
            [](const Tensors& in) {
                return rg::unfold(in.at("x"), {2, 3}, {.dilation = {1, 2}, .padding = {1, 1}, .stride = {2, 1}});
            }),
        one("fold_dilation_padding_stride",
            [](const Tensors& in) {
                return rg::fold(in.at("x"), {5, 6}, {2, 3}, {.dilation = {1, 2}, .padding = {1, 1}, .stride = {2, 1}});
            }),
        one("celu_alpha", [](const Tensors& in) { return CELU(0.5)(in.at("x")); }),
        one("glu_dim1", [](const Tensors& in) { return glu(in.at("x"), 1); }),
        one("softmin", [](const Tensors& in) { return Softmin(-1)(in.at("x")); }),
        one("softshrink", [](const Tensors& in) { return softshrink(in.at("x"), 0.4); }),
        one("hardshrink", [](const Tensors& in) { return Hardshrink(0.3)(in.at("x")); }),
        one("tanhshrink", [](const Tensors& in) { return Tanhshrink()(in.at("x")); }),
        one("threshold", [](const Tensors& in) { return Threshold(0.2, -1.5)(in.at("x")); }),
        one("rrelu_eval",
            [](const Tensors& in) {
                RReLU layer(0.1, 0.3);
                layer.eval();
                return layer(in.at("x"));
            }),
        one("softmax2d", [](const Tensors& in) { return Softmax2d()(in.at("x")); }),
    };
}

std::string data_dir() { return std::string(RETROGRAD_SOURCE_DIR) + "/tests/parity/data/functional"; }

void check_close(const std::string& what, const Tensor& actual, const Tensor& expected, double rtol, double atol) {
    REQUIRE_MESSAGE(actual.defined(), what << ": no value");
    REQUIRE_MESSAGE(actual.shape() == expected.shape(), what << ": shape " << rg::shape_str(actual.shape())
                                                             << ", expected " << rg::shape_str(expected.shape()));
    CHECK_MESSAGE(rg::allclose(actual.to(rg::float64), expected.to(rg::float64), rtol, atol),
                  what << ":\ngot " << actual << "\nexpected " << expected);
}

void check_case(const Case& c, rg::Dtype dtype, double rtol, double atol) {
    std::map<std::string, Tensors> parts;  // input, const, output, cotangent, grad
    for (const auto& entry : load_tensors(data_dir() + "/" + c.name + ".safetensors")) {
        const auto dot = entry.first.find('.');
        parts[entry.first.substr(0, dot)][entry.first.substr(dot + 1)] = entry.second;
    }
    Tensors arguments, inputs;
    // No structured bindings below: doctest's messages capture in lambdas, which clang 14 refuses for them.
    for (const auto& entry : parts["input"])
        arguments[entry.first] = inputs[entry.first] =
            entry.second.is_floating() ? entry.second.to(dtype).detach().requires_grad_() : entry.second;
    for (const auto& entry : parts["const"]) arguments[entry.first] = entry.second.to(dtype);

    const Tensors outputs = c.run(arguments);
    REQUIRE(outputs.size() == parts["output"].size());
    Tensor scalar = rg::zeros({}, {.dtype = dtype});
    for (const auto& entry : parts["output"]) {
        const std::string& name = entry.first;
        const Tensor& expected = entry.second;
        REQUIRE_MESSAGE(outputs.count(name) == 1, "the call gives no output '" << name << "'");
        const Tensor& actual = outputs.at(name);
        if (!expected.is_floating()) {  // indices: equal, not close
            CHECK(actual.dtype() == expected.dtype());
            CHECK_MESSAGE(actual.to_vector() == expected.to_vector(),
                          name << ":\ngot " << actual << "\nexpected " << expected);
            continue;
        }
        check_close("output " + name, actual, expected, rtol, atol);
        scalar = scalar + rg::sum(actual * parts["cotangent"].at(name).to(dtype));
    }
    scalar.backward();
    CHECK(parts["grad"].size() ==
          static_cast<std::size_t>(
              std::count_if(inputs.begin(), inputs.end(), [](const auto& e) { return e.second.is_floating(); })));
    for (const auto& entry : parts["grad"]) {
        REQUIRE_MESSAGE(inputs.count(entry.first) == 1, "no input '" << entry.first << "' to compare the gradient of");
        check_close("gradient of " + entry.first, inputs.at(entry.first).grad(), entry.second, rtol, atol);
    }
}

}  // namespace

TEST_CASE("float32 losses, pooling, pad modes and conv padding match torch.nn.functional 1.13") {
    for (const Case& c : cases()) {
        CAPTURE(c.name);
        check_case(c, rg::float32, 1e-4, 1e-5);
    }
}

TEST_CASE("the same functions in float64 match torch.nn.functional 1.13 tightly") {
    for (const Case& c : cases()) {
        CAPTURE(c.name);
        check_case(c, rg::float64, 1e-9, 1e-12);
    }
}

TEST_CASE("every functional parity file has a case, and every case its file") {
    std::set<std::string> files, names;
    for (const auto& entry : std::filesystem::directory_iterator(data_dir()))
        if (entry.path().extension() == ".safetensors") files.insert(entry.path().stem().string());
    for (const Case& c : cases()) names.insert(c.name);
    CHECK(files == names);
}
