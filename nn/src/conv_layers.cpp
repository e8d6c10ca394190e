// Conv1d, ConvTranspose1d, ConvTranspose2d, Upsample, Unfold and Fold:
// parameters as PyTorch names, shapes and initialises them; forward is the
// matching op.
#include "argument_checks.hpp"
#include "conv_description.hpp"

#include <retrograd/composite.hpp>
#include <retrograd/nn/conv_layers.hpp>
#include <retrograd/nn/init.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace rg::nn {
namespace {

// PyTorch's default for convolutions (kaiming_uniform with a = √5): uniform in ±1/√fan_in.
Tensor uniform_fan_in(const Shape& shape, std::size_t fan_in) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    return uniform(shape, -bound, bound);
}

std::string size_list(const std::vector<std::size_t>& v) {
    return v.size() == 1 ? fmt::format("{}", v[0]) : fmt::format("({})", fmt::join(v, ", "));
}
std::string factor_list(const std::vector<double>& v) {
    std::vector<std::string> parts;
    parts.reserve(v.size());
    for (double f : v) parts.push_back(fmt::format("{:.1f}", f));
    return v.size() == 1 ? parts[0] : fmt::format("({})", fmt::join(parts, ", "));
}

// A transposed convolution layer's step (`layer` ConvTranspose1d or 2d):
// run(), the op, with the explanation of its gradients.
template <class Run>
Tensor transposed_step(const char* layer, const Tensor& input, const Tensor& weight, const Tensor& bias, Run run) {
    CompositeStep step(layer,
                       bias.defined() ? "{Z} = the gradient of a convolution with {W} with respect to its input, at "
                                        "{X}: d{X} = convolution of d{Z} with {W}, d{W} = correlation of d{Z} with "
                                        "{X}, d{b} = d{Z} summed"
                                      : "{Z} = the gradient of a convolution with {W} with respect to its input, at "
                                        "{X}: d{X} = convolution of d{Z} with {W}, d{W} = correlation of d{Z} with {X}",
                       {{"X", input}, {"W", weight}, {"b", bias}});
    return step.output(run(), "Z");
}

// The length of conv_transpose1d's output, negative when the padding removes it all.
std::int64_t transposed_length(std::size_t length, std::size_t kernel, const ConvTranspose1dOptions& o) {
    return (static_cast<std::int64_t>(length) - 1) * static_cast<std::int64_t>(o.stride) -
           2 * static_cast<std::int64_t>(o.padding) + static_cast<std::int64_t>(o.dilation * (kernel - 1)) +
           static_cast<std::int64_t>(o.output_padding) + 1;
}

std::string pair(Size2 s) { return fmt::format("({}, {})", s[0], s[1]); }

// Unfold's and Fold's options that differ from PyTorch's defaults, as ", dilation=(1, 2)".
std::string window_options(const FoldOptions& o) {
    std::string extra;
    if (o.dilation != Size2{1, 1}) extra += ", dilation=" + pair(o.dilation);
    if (o.padding != Size2{0, 0}) extra += ", padding=" + pair(o.padding);
    if (o.stride != Size2{1, 1}) extra += ", stride=" + pair(o.stride);
    return extra;
}

}  // namespace

Conv1d::Conv1d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel, Conv1dOptions opts)
    : options(opts) {
    if (in_channels == 0 || out_channels == 0 || kernel == 0)
        fail("Conv1d: channels and kernel must be positive, got in {}, out {}, kernel {}", in_channels, out_channels,
             kernel);
    if (opts.groups == 0 || in_channels % opts.groups != 0 || out_channels % opts.groups != 0)
        fail("Conv1d: groups must be positive and divide in ({}) and out ({}) channels, got {}", in_channels,
             out_channels, opts.groups);
    if (opts.padding_rule == Conv2dOptions::Rule::same && opts.stride != 1)
        fail("Conv1d: padding \"same\" needs stride 1, as PyTorch, got stride {}", opts.stride);
    const std::size_t group_in = in_channels / opts.groups, fan_in = group_in * kernel;
    weight = register_parameter("weight", uniform_fan_in({out_channels, group_in, kernel}, fan_in));
    if (opts.bias) bias = register_parameter("bias", uniform_fan_in({out_channels}, fan_in));
}

Tensor Conv1d::forward(const Tensor& input) {
    CompositeStep step("Conv1d",
                       bias.defined() ? "d{W} = correlation of {X} with d{Z}, d{X} = full convolution of d{Z} with "
                                        "{W} reversed, d{b} = d{Z} summed over signals and positions"
                                      : "d{W} = correlation of {X} with d{Z}, d{X} = full convolution of d{Z} with "
                                        "{W} reversed",
                       {{"X", input}, {"W", weight}, {"b", bias}});
    return step.output(conv1d(input, weight, bias, options), "Z");
}

std::string Conv1d::describe() const {
    const std::string dilation = options.dilation != 1 ? fmt::format("{}", options.dilation) : std::string();
    return fmt::format("Conv1d({}, {}, kernel={}, stride={}, padding={}{})", weight.shape()[1] * options.groups,
                       weight.shape()[0], weight.shape()[2], options.stride,
                       detail::padding_text(options.padding_rule, fmt::format("{}", options.padding)),
                       detail::conv_options_tail(dilation, options.groups, bias.defined(), options.padding_mode));
}

Tensor conv_transpose1d(const Tensor& x, const Tensor& weight, const Tensor& bias, ConvTranspose1dOptions options) {
    constexpr const char* op = "conv_transpose1d";
    detail::floating_or_fail(x, op);
    detail::floating_or_fail(weight, op);
    if ((x.dim() != 2 && x.dim() != 3) || weight.dim() != 3)
        fail("conv_transpose1d: expected input (N, C_in, L) or (C_in, L) and weight (C_in, C_out / groups, k), got {} "
             "and {}",
             shape_str(x.shape()), shape_str(weight.shape()));
    if (x.dim() == 2) return squeeze(conv_transpose1d(unsqueeze(x, 0), weight, bias, options), 0);
    // The checks whose messages would otherwise show conv_transpose2d's height-1 shapes.
    const Shape& ws = weight.shape();
    if (x.shape()[1] != ws[0])
        fail("conv_transpose1d: input {} has {} channels but weight {} expects {} (its first axis)",
             shape_str(x.shape()), x.shape()[1], shape_str(ws), ws[0]);
    if (options.groups == 0 || ws[0] % options.groups != 0)
        fail("conv_transpose1d: groups must be positive and divide the {} input channels of weight {}, got {}", ws[0],
             shape_str(ws), options.groups);
    if (ws[2] == 0 || options.stride == 0 || options.dilation == 0)
        fail("conv_transpose1d: kernel {}, stride {} and dilation {} must be positive", ws[2], options.stride,
             options.dilation);
    if (options.output_padding >= std::max(options.stride, options.dilation))
        fail("conv_transpose1d: output_padding {} must be smaller than the stride {} or the dilation {}",
             options.output_padding, options.stride, options.dilation);
    if (x.shape()[2] == 0 || transposed_length(x.shape()[2], ws[2], options) <= 0)
        fail("conv_transpose1d: input {} with kernel {}, stride {}, padding {} and dilation {} gives an empty output; "
             "use less padding",
             shape_str(x.shape()), ws[2], options.stride, options.padding, options.dilation);
    const ConvTranspose2dOptions as_2d{.stride = {1, options.stride},
                                       .padding = {0, options.padding},
                                       .output_padding = {0, options.output_padding},
                                       .groups = options.groups,
                                       .dilation = {1, options.dilation}};
    return squeeze(conv_transpose2d(unsqueeze(x, 2), unsqueeze(weight, 2), bias, as_2d), 2);
}

ConvTranspose1d::ConvTranspose1d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel,
                                 ConvTranspose1dOptions opts)
    : options(opts) {
    if (in_channels == 0 || out_channels == 0 || kernel == 0)
        fail("ConvTranspose1d: channels and kernel must be positive, got in {}, out {}, kernel {}", in_channels,
             out_channels, kernel);
    if (opts.groups == 0 || in_channels % opts.groups != 0 || out_channels % opts.groups != 0)
        fail("ConvTranspose1d: groups must be positive and divide in ({}) and out ({}) channels, got {}", in_channels,
             out_channels, opts.groups);
    if (opts.output_padding >= std::max(opts.stride, opts.dilation))
        fail("ConvTranspose1d: output_padding {} must be smaller than the stride {} or the dilation {}",
             opts.output_padding, opts.stride, opts.dilation);
    const std::size_t group_out = out_channels / opts.groups, fan_in = group_out * kernel;
    weight = register_parameter("weight", uniform_fan_in({in_channels, group_out, kernel}, fan_in));
    if (opts.bias) bias = register_parameter("bias", uniform_fan_in({out_channels}, fan_in));
}

Tensor ConvTranspose1d::forward(const Tensor& input) {
    return transposed_step("ConvTranspose1d", input, weight, bias,
                           [&] { return conv_transpose1d(input, weight, bias, options); });
}

Tensor ConvTranspose1d::forward(const Tensor& input, std::size_t output_size) {
    if (input.dim() != 2 && input.dim() != 3) return forward(input);  // its error names the shapes expected
    // As PyTorch's _output_padding: the shortest output (output_padding 0)
    // and the stride - 1 lengths above it are those this layer can produce.
    const auto length = static_cast<std::int64_t>(input.shape().back());
    const auto stride = static_cast<std::int64_t>(options.stride);
    const std::int64_t shortest = (length - 1) * stride - 2 * static_cast<std::int64_t>(options.padding) +
                                  static_cast<std::int64_t>(options.dilation * (weight.shape()[2] - 1)) + 1;
    const std::int64_t longest = shortest + stride - 1;
    const auto want = static_cast<std::int64_t>(output_size);
    if (want < shortest || want > longest)
        fail("ConvTranspose1d: output_size {} cannot be reached from an input of length {}; valid sizes range from "
             "{} to {}",
             output_size, length, shortest, longest);
    ConvTranspose1dOptions asked = options;
    asked.output_padding = static_cast<std::size_t>(want - shortest);
    return transposed_step("ConvTranspose1d", input, weight, bias,
                           [&] { return conv_transpose1d(input, weight, bias, asked); });
}

std::string ConvTranspose1d::describe() const {
    std::string extra;
    if (options.padding != 0) extra += fmt::format(", padding={}", options.padding);
    if (options.output_padding != 0) extra += fmt::format(", output_padding={}", options.output_padding);
    if (options.groups != 1) extra += fmt::format(", groups={}", options.groups);
    if (options.dilation != 1) extra += fmt::format(", dilation={}", options.dilation);
    if (!bias.defined()) extra += ", bias=false";
    return fmt::format("ConvTranspose1d({}, {}, kernel={}, stride={}{})", weight.shape()[0],
                       weight.shape()[1] * options.groups, weight.shape()[2], options.stride, extra);
}

ConvTranspose2d::ConvTranspose2d(std::size_t in_channels, std::size_t out_channels, Size2 kernel,
                                 ConvTranspose2dOptions opts)
    : options(opts) {
    if (in_channels == 0 || out_channels == 0 || kernel[0] == 0 || kernel[1] == 0)
        fail("ConvTranspose2d: channels and kernel must be positive, got in {}, out {}, kernel ({}, {})", in_channels,
             out_channels, kernel[0], kernel[1]);
    if (opts.groups == 0 || in_channels % opts.groups != 0 || out_channels % opts.groups != 0)
        fail("ConvTranspose2d: groups must be positive and divide in ({}) and out ({}) channels, got {}", in_channels,
             out_channels, opts.groups);
    for (std::size_t a = 0; a < 2; ++a)
        if (opts.output_padding[a] >= std::max(opts.stride[a], opts.dilation[a]))
            fail("ConvTranspose2d: output_padding ({}, {}) must be smaller than the stride ({}, {}) or the dilation "
                 "({}, {}) of its axis",
                 opts.output_padding[0], opts.output_padding[1], opts.stride[0], opts.stride[1], opts.dilation[0],
                 opts.dilation[1]);
    const std::size_t group_out = out_channels / opts.groups, fan_in = group_out * kernel[0] * kernel[1];
    weight = register_parameter("weight", uniform_fan_in({in_channels, group_out, kernel[0], kernel[1]}, fan_in));
    if (opts.bias) bias = register_parameter("bias", uniform_fan_in({out_channels}, fan_in));
}

Tensor ConvTranspose2d::forward(const Tensor& input) {
    return transposed_step("ConvTranspose2d", input, weight, bias,
                           [&] { return conv_transpose2d(input, weight, bias, options); });
}

Tensor ConvTranspose2d::forward(const Tensor& input, Size2 output_size) {
    if (input.dim() != 4) return forward(input);  // its error names the shape expected
    // As PyTorch's _output_padding: the smallest output (output_padding 0)
    // and the stride - 1 sizes above it are those this layer can produce.
    std::int64_t smallest[2], largest[2];
    for (std::size_t a = 0; a < 2; ++a) {
        const auto in = static_cast<std::int64_t>(input.shape()[2 + a]);
        const auto stride = static_cast<std::int64_t>(options.stride[a]);
        smallest[a] = (in - 1) * stride - 2 * static_cast<std::int64_t>(options.padding[a]) +
                      static_cast<std::int64_t>(options.dilation[a] * (weight.shape()[2 + a] - 1)) + 1;
        largest[a] = smallest[a] + stride - 1;
    }
    ConvTranspose2dOptions asked = options;
    for (std::size_t a = 0; a < 2; ++a) {
        const auto want = static_cast<std::int64_t>(output_size[a]);
        if (want < smallest[a] || want > largest[a])
            fail("ConvTranspose2d: output_size ({}, {}) cannot be reached from an input of ({}, {}); valid sizes "
                 "range from ({}, {}) to ({}, {})",
                 output_size[0], output_size[1], input.shape()[2], input.shape()[3], smallest[0], smallest[1],
                 largest[0], largest[1]);
        asked.output_padding[a] = static_cast<std::size_t>(want - smallest[a]);
    }
    return transposed_step("ConvTranspose2d", input, weight, bias,
                           [&] { return conv_transpose2d(input, weight, bias, asked); });
}

std::string ConvTranspose2d::describe() const {
    std::string extra;
    if (options.padding != Size2{0, 0})
        extra += fmt::format(", padding=({}, {})", options.padding[0], options.padding[1]);
    if (options.output_padding != Size2{0, 0})
        extra += fmt::format(", output_padding=({}, {})", options.output_padding[0], options.output_padding[1]);
    if (options.groups != 1) extra += fmt::format(", groups={}", options.groups);
    if (options.dilation != Size2{1, 1})
        extra += fmt::format(", dilation=({}, {})", options.dilation[0], options.dilation[1]);
    if (!bias.defined()) extra += ", bias=false";
    return fmt::format("ConvTranspose2d({}, {}, kernel=({}, {}), stride=({}, {}){})", weight.shape()[0],
                       weight.shape()[1] * options.groups, weight.shape()[2], weight.shape()[3], options.stride[0],
                       options.stride[1], extra);
}

std::string Upsample::describe() const {
    const std::string mode = interpolate_mode_name(options_.mode);
    const std::string sizing = options_.size.empty() ? "scale_factor=" + factor_list(options_.scale_factor)
                                                     : "size=" + size_list(options_.size);
    return fmt::format("Upsample({}, mode=\"{}\"{})", sizing, mode,
                       options_.align_corners ? ", align_corners=true" : "");
}

std::string Unfold::describe() const {
    return fmt::format("Unfold(kernel={}{})", pair(kernel_), window_options(options_));
}

std::string Fold::describe() const {
    return fmt::format("Fold(output_size={}, kernel={}{})", pair(output_size_), pair(kernel_),
                       window_options(options_));
}

}  // namespace rg::nn
