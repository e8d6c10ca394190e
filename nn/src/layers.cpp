// Layers, each a few tape ops in forward(); none has a backward.
#include "argument_checks.hpp"
#include "conv_description.hpp"

#include <retrograd/nn/init.hpp>
#include <retrograd/composite.hpp>
#include <retrograd/nn/layers.hpp>
#include <retrograd/ops.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace rg::nn {
namespace {

Tensor pytorch_default(const Shape& shape, std::size_t fan_in) {
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    return fan_in > 0 ? uniform(shape, -bound, bound) : zeros(shape);
}

}  // namespace

Linear::Linear(std::size_t in_features, std::size_t out_features, bool with_bias) {
    if (in_features == 0 || out_features == 0)
        fail("Linear: sizes must be positive, got in {} and out {}", in_features, out_features);
    weight = register_parameter("weight", pytorch_default({out_features, in_features}, in_features));
    if (with_bias) bias = register_parameter("bias", pytorch_default({out_features}, in_features));
}

Tensor Linear::forward(const Tensor& input) {
    const std::size_t in = weight.shape()[1];
    if (input.dim() == 0 || input.shape().back() != in)
        fail("Linear({}, {}): input has shape {}, expected (..., {})", in, weight.shape()[0], shape_str(input.shape()),
             in);
    if (input.dtype() != weight.dtype())
        fail("Linear: input is {} but the layer is {}; convert one with .to() or module.to()",
             dtype_name(input.dtype()), dtype_name(weight.dtype()));
    const bool with_bias = bias.defined();
    CompositeStep step("Linear",
                       with_bias ? "{Z} = {X} {W}ᵀ + {b}: d{X} = d{Z} {W}, d{W} = d{Z}ᵀ {X}, d{b} = d{Z} summed over "
                                   "the rows"
                                 : "{Z} = {X} {W}ᵀ: d{X} = d{Z} {W}, d{W} = d{Z}ᵀ {X}",
                       {{"X", input}, {"W", weight}, {"b", bias}});
    Tensor out = input.dim() == 1 ? matmul(input, transpose(weight)) : gemm(input, weight, false, true);
    return step.output(with_bias ? out + bias : out, "Z");
}

std::string Linear::describe() const {
    return fmt::format("Linear({}, {}{})", weight.shape()[1], weight.shape()[0], bias.defined() ? "" : ", bias=false");
}

Conv2d::Conv2d(std::size_t in_channels, std::size_t out_channels, Size2 kernel, Conv2dOptions opts) : options(opts) {
    if (in_channels == 0 || out_channels == 0 || kernel[0] == 0 || kernel[1] == 0)
        fail("Conv2d: channels and kernel must be positive, got in {}, out {}, kernel ({}, {})", in_channels,
             out_channels, kernel[0], kernel[1]);
    if (opts.groups == 0 || in_channels % opts.groups != 0 || out_channels % opts.groups != 0)
        fail("Conv2d: groups must be positive and divide in ({}) and out ({}) channels, got {}", in_channels,
             out_channels, opts.groups);
    const std::size_t group_in = in_channels / opts.groups, fan_in = group_in * kernel[0] * kernel[1];
    weight = register_parameter("weight", pytorch_default({out_channels, group_in, kernel[0], kernel[1]}, fan_in));
    if (opts.bias) bias = register_parameter("bias", pytorch_default({out_channels}, fan_in));
    conv2d_padding(kernel, opts, "Conv2d");  // padding "same" with a stride fails here, not at the first forward
}

Tensor Conv2d::forward(const Tensor& input) {
    // The course's convolution layer: the weight's gradient correlates the input with dZ, the input's is the
    // full convolution of dZ with the filter turned by 180°.
    CompositeStep step("Conv2d",
                       bias.defined() ? "d{W} = correlation of {X} with d{Z}, d{X} = full convolution of d{Z} with "
                                        "{W} turned by 180°, d{b} = d{Z} summed over images and pixels"
                                      : "d{W} = correlation of {X} with d{Z}, d{X} = full convolution of d{Z} with "
                                        "{W} turned by 180°",
                       {{"X", input}, {"W", weight}, {"b", bias}});
    return step.output(conv2d(input, weight, bias, options), "Z");
}

Tensor Conv2d::forward_relu(const Tensor& input) { return conv2d_relu(input, weight, bias, options); }

Tensor Conv2d::forward_relu_max_pool(const Tensor& input, const MaxPool2d& pool) {
    return conv2d_relu_max_pool2d(input, weight, bias, options, pool.kernel(), pool.options());
}

std::string Conv2d::describe() const {
    const std::string dilation = options.dilation != Size2{1, 1}
                                     ? fmt::format("({}, {})", options.dilation[0], options.dilation[1])
                                     : std::string();
    return fmt::format("Conv2d({}, {}, kernel=({}, {}), stride=({}, {}), padding={}{})",
                       weight.shape()[1] * options.groups, weight.shape()[0], weight.shape()[2], weight.shape()[3],
                       options.stride[0], options.stride[1],
                       detail::padding_text(options.padding_rule,
                                            fmt::format("({}, {})", options.padding[0], options.padding[1])),
                       detail::conv_options_tail(dilation, options.groups, bias.defined(), options.padding_mode));
}

namespace {

// PyTorch's options that differ from their defaults, ", name=value" each.
std::string pool_options(const Pool2dOptions& o, bool max) {
    std::string out;
    if (o.stride != Size2{0, 0}) out += fmt::format(", stride=({}, {})", o.stride[0], o.stride[1]);
    if (o.padding != Size2{0, 0}) out += fmt::format(", padding=({}, {})", o.padding[0], o.padding[1]);
    if (max && o.dilation != Size2{1, 1}) out += fmt::format(", dilation=({}, {})", o.dilation[0], o.dilation[1]);
    if (o.ceil_mode) out += ", ceil_mode=true";
    if (!max && !o.count_include_pad) out += ", count_include_pad=false";
    if (!max && o.divisor_override != 0) out += fmt::format(", divisor_override={}", o.divisor_override);
    return out;
}

}  // namespace

std::string MaxPool2d::describe() const {
    return fmt::format("MaxPool2d({}, {}{})", kernel_[0], kernel_[1], pool_options(options_, true));
}
std::string AvgPool2d::describe() const {
    return fmt::format("AvgPool2d({}, {}{})", kernel_[0], kernel_[1], pool_options(options_, false));
}
std::string AdaptiveAvgPool2d::describe() const {
    return fmt::format("AdaptiveAvgPool2d(output_size=({}, {}))", output_size_[0], output_size_[1]);
}

Dropout::Dropout(double p) : p_(p) {
    if (!(p >= 0.0 && p <= 1.0)) fail("Dropout: p must be in [0, 1], got {}", p);
}

Tensor Dropout::forward(const Tensor& input) { return dropout(input, p_, is_training()); }

std::string Dropout::describe() const { return fmt::format("Dropout(p={})", p_); }

BatchNorm::BatchNorm(std::size_t features, BatchNormOptions opts, std::vector<std::size_t> ranks, const char* kind)
    : features_(features), options_(opts), ranks_(std::move(ranks)), kind_(kind) {
    if (features == 0) fail("{}: the number of features must be positive", kind);
    if (opts.affine) {
        weight = register_parameter("weight", ones({features}));
        bias = register_parameter("bias", zeros({features}));
    }
    if (opts.track_running_stats) {
        running_mean = register_buffer("running_mean", zeros({features}));
        running_var = register_buffer("running_var", ones({features}));
        // Files written before it existed (PyTorch's before 0.4.1, retrograd's before this buffer) lack it.
        num_batches_tracked =
            register_buffer("num_batches_tracked", zeros({}, {.dtype = Dtype::int64}), /*required_in_files=*/false);
    }
}

Tensor BatchNorm::forward(const Tensor& x) {
    if (std::find(ranks_.begin(), ranks_.end(), x.dim()) == ranks_.end() || x.shape()[1] != features_)
        fail("{}({}): input has shape {}, expected rank {} with {} features on axis 1", kind_, features_,
             shape_str(x.shape()), fmt::join(ranks_, " or "), features_);
    // As PyTorch: without running statistics, evaluation normalises with the batch's too.
    const bool batch_statistics = is_training() || !options_.track_running_stats;
    if (batch_statistics && x.numel() / features_ < 2)
        fail("{}: {} needs more than one value per feature, got input {}", kind_,
             is_training() ? "training" : "evaluation without running statistics", shape_str(x.shape()));
    double momentum = options_.momentum.value_or(0.0);
    if (is_training() && options_.track_running_stats) {
        NoGrad off;
        const double batches = num_batches_tracked.item() + 1;  // exact: an int64 count below 2^53
        num_batches_tracked.fill_(batches);
        if (!options_.momentum) momentum = 1.0 / batches;
    }
    return batch_norm(x, running_mean, running_var, weight, bias, batch_statistics, momentum, options_.eps);
}

// The options that differ from PyTorch's defaults, as InstanceNorm's.
std::string BatchNorm::describe() const {
    const auto& o = options_;
    std::string momentum;
    if (!o.momentum)
        momentum = ", momentum=nullopt";
    else if (*o.momentum != 0.1)
        momentum = fmt::format(", momentum={}", *o.momentum);
    return fmt::format("{}({}{}{}{}{})", kind_, features_, o.eps != 1e-5 ? fmt::format(", eps={}", o.eps) : "",
                       momentum, o.affine ? "" : ", affine=false",
                       o.track_running_stats ? "" : ", track_running_stats=false");
}

Embedding::Embedding(std::size_t count, std::size_t dim, EmbeddingOptions options) {
    if (count == 0 || dim == 0) fail("Embedding: count and dim must be positive, got {} and {}", count, dim);
    if (options.padding_idx)
        padding_idx_ = detail::row_or_fail(*options.padding_idx, count, "Embedding", "padding_idx");
    Tensor table = randn({count, dim});
    if (padding_idx_) select(table, 0, *padding_idx_).fill_(0.0);
    weight = register_parameter("weight", table);
}

Tensor Embedding::forward(const Tensor& indices) {
    if (!indices.defined() || indices.dtype() != Dtype::int64)
        fail("Embedding: expected int64 indices, got {}",
             indices.defined() ? std::string(dtype_name(indices.dtype())) : "an undefined tensor");
    const Tensor flat = reshape(indices, Shape{indices.numel()});
    Tensor rows = index_select(weight, 0, flat);
    if (padding_idx_) {
        // The padding row's value, but no gradient to it: its lookups read a
        // detached copy.
        const Tensor mask = unsqueeze(ne(flat, static_cast<double>(*padding_idx_)), 1);
        rows = where(mask, rows, index_select(weight.detach(), 0, flat));
    }
    Shape shape = indices.shape();
    shape.push_back(weight.shape()[1]);
    return reshape(rows, shape);
}

std::string Embedding::describe() const {
    return fmt::format("Embedding({}, {}{})", weight.shape()[0], weight.shape()[1],
                       padding_idx_ ? fmt::format(", padding_idx={}", *padding_idx_) : "");
}

}  // namespace rg::nn
