// LayerNorm, GroupNorm and RMSNorm: statistics over features, as tape ops.
#include <retrograd/composite.hpp>
#include <retrograd/nn/normalization.hpp>
#include <retrograd/ops.hpp>

#include <fmt/format.h>

#include <limits>

namespace rg::nn {
namespace {

Shape positive_shape(const char* layer, const IntList& sizes) {
    Shape shape;
    for (std::int64_t n : sizes) {
        if (n <= 0) fail("{}: normalized_shape must have positive sizes, got {}", layer, sizes.str());
        shape.push_back(static_cast<std::size_t>(n));
    }
    if (shape.empty()) fail("{}: normalized_shape must have at least one size", layer);
    return shape;
}

// The last `shape.size()` axes of `x` must be `shape`; returns them as axes.
Axes trailing_axes(const std::string& layer, const Tensor& x, const Shape& shape) {
    const std::size_t k = shape.size();
    bool ok = x.defined() && x.dim() >= k;
    for (std::size_t i = 0; ok && i < k; ++i) ok = x.shape()[x.dim() - k + i] == shape[i];
    if (!ok) {
        std::string expected = "(...";
        for (std::size_t n : shape) expected += fmt::format(", {}", n);
        fail("{}: input has shape {}, expected {})", layer, x.defined() ? shape_str(x.shape()) : "undefined", expected);
    }
    Axes axes;
    for (std::size_t i = 0; i < k; ++i) axes.push_back(-static_cast<int>(k - i));
    return axes;
}

void same_dtype(const std::string& layer, const Tensor& x, const Tensor& weight) {
    if (!x.is_floating()) fail("{}: input is {}, expected float32 or float64", layer, dtype_name(x.dtype()));
    if (weight.defined() && x.dtype() != weight.dtype())
        fail("{}: input is {} but the layer is {}; convert one with .to() or module.to()", layer, dtype_name(x.dtype()),
             dtype_name(weight.dtype()));
}

}  // namespace

LayerNorm::LayerNorm(IntList normalized_shape, LayerNormOptions options)
    : normalized_shape_(positive_shape("LayerNorm", normalized_shape)), options_(options) {
    if (!(options.eps >= 0.0)) fail("LayerNorm: eps must be >= 0, got {}", options.eps);
    if (options.elementwise_affine) {
        weight = register_parameter("weight", ones(normalized_shape_));
        bias = register_parameter("bias", zeros(normalized_shape_));
    }
}

Tensor LayerNorm::forward(const Tensor& x) {
    trailing_axes(describe(), x, normalized_shape_);
    same_dtype(describe(), x, weight);
    // One step of explain's output, with the textbook rule (X̂ = (X − μ) / σ over
    // the normalised axes, dX̂ = d{Z} ⊙ γ): the layer_norm op folds under it.
    CompositeStep step("LayerNorm",
                       weight.defined() ? "{Z} = X̂ ⊙ {γ} + {β}: d{γ} = Σ d{Z} ⊙ X̂, d{β} = Σ d{Z} (over the rows), "
                                          "d{X} = (dX̂ − mean(dX̂) − X̂ ⊙ mean(dX̂ ⊙ X̂)) / σ with dX̂ = d{Z} ⊙ {γ}"
                                        : "{Z} = X̂: d{X} = (d{Z} − mean(d{Z}) − X̂ ⊙ mean(d{Z} ⊙ X̂)) / σ",
                       {{"X", x}, {"γ", weight}, {"β", bias}});
    return step.output(layer_norm(x, normalized_shape_, weight, bias, options_.eps), "Z");
}

std::string LayerNorm::describe() const {
    return fmt::format("LayerNorm({}{}{})", shape_str(normalized_shape_),
                       options_.eps != 1e-5 ? fmt::format(", eps={}", options_.eps) : "",
                       options_.elementwise_affine ? "" : ", elementwise_affine=false");
}

GroupNorm::GroupNorm(std::size_t num_groups, std::size_t num_channels, GroupNormOptions options)
    : groups_(num_groups), channels_(num_channels), options_(options) {
    if (num_groups == 0 || num_channels == 0 || num_channels % num_groups != 0)
        fail("GroupNorm: num_channels ({}) must be a positive multiple of num_groups ({})", num_channels, num_groups);
    if (!(options.eps >= 0.0)) fail("GroupNorm: eps must be >= 0, got {}", options.eps);
    if (options.affine) {
        weight = register_parameter("weight", ones({num_channels}));
        bias = register_parameter("bias", zeros({num_channels}));
    }
}

Tensor GroupNorm::forward(const Tensor& x) {
    if (!x.defined() || x.dim() < 2 || x.shape()[1] != channels_)
        fail("{}: input has shape {}, expected (batch, {}, ...)", describe(),
             x.defined() ? shape_str(x.shape()) : "undefined", channels_);
    same_dtype(describe(), x, weight);
    const auto batch = static_cast<std::int64_t>(x.shape()[0]);
    // (N, G, C/G · positions): each group's values in one row, normalised by
    // layer_norm's row kernel.
    const Tensor grouped = reshape(x, {batch, static_cast<std::int64_t>(groups_), -1});
    const auto row = static_cast<std::int64_t>(grouped.shape()[2]);
    Tensor normalized = reshape(layer_norm(grouped, {row}, {}, {}, options_.eps), x.shape());
    if (!weight.defined()) return normalized;
    Shape per_channel(x.dim(), 1);
    per_channel[1] = channels_;
    return addcmul(reshape(bias, per_channel), normalized, reshape(weight, per_channel));
}

std::string GroupNorm::describe() const {
    return fmt::format("GroupNorm({}, {}{}{})", groups_, channels_,
                       options_.eps != 1e-5 ? fmt::format(", eps={}", options_.eps) : "",
                       options_.affine ? "" : ", affine=false");
}

RMSNorm::RMSNorm(IntList normalized_shape, RMSNormOptions options)
    : normalized_shape_(positive_shape("RMSNorm", normalized_shape)), options_(options) {
    if (options.eps && !(*options.eps >= 0.0)) fail("RMSNorm: eps must be >= 0, got {}", *options.eps);
    if (options.elementwise_affine) weight = register_parameter("weight", ones(normalized_shape_));
}

Tensor RMSNorm::forward(const Tensor& x) {
    const Axes axes = trailing_axes(describe(), x, normalized_shape_);
    same_dtype(describe(), x, weight);
    const double eps = options_.eps                  ? *options_.eps
                       : x.dtype() == Dtype::float64 ? std::numeric_limits<double>::epsilon()
                                                     : double{std::numeric_limits<float>::epsilon()};
    Tensor normalized = x / sqrt(mean(x * x, axes, true) + eps);
    return weight.defined() ? normalized * weight : normalized;
}

std::string RMSNorm::describe() const {
    return fmt::format("RMSNorm({}{}{})", shape_str(normalized_shape_),
                       options_.eps ? fmt::format(", eps={}", *options_.eps) : "",
                       options_.elementwise_affine ? "" : ", elementwise_affine=false");
}

}  // namespace rg::nn
