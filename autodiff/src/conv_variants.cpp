// conv1d and conv_transpose2d, composed from conv2d's ops so that they share
// its kernels and its gradients at every order: conv1d is conv2d on images of
// height 1, and a transposed convolution is conv2d's input gradient.
#include <retrograd/spatial.hpp>

#include "op_defs.hpp"
#include "op_references.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace rg {
namespace detail {
void link_conv_variants();
}  // namespace detail

namespace {

using detail::ref::Array;

void float_or_fail(const Tensor& t, const char* op) {
    detail::defined_or_fail(t, op);
    if (!t.is_floating()) fail("{}: expected a float32 or float64 tensor, got {}", op, dtype_name(t.dtype()));
}

// Naive loops over every output element and tap, zero padding, in float64.
Tensor conv1d_reference(const TensorList& v, std::size_t stride, std::size_t padding, std::size_t dilation) {
    const Array x(v[0]), w(v[1]), b(v[2]);
    const std::size_t n = x.shape[0], c = x.shape[1], len = x.shape[2], o = w.shape[0], cg = w.shape[1], k = w.shape[2],
                      groups = c / cg, og = o / groups;
    const std::size_t out_len = (len + 2 * padding - dilation * (k - 1) - 1) / stride + 1;
    Array y(Shape{n, o, out_len});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t oc = 0; oc < o; ++oc)
            for (std::size_t l = 0; l < out_len; ++l) {
                double s = b[{oc}];
                for (std::size_t ic = 0; ic < cg; ++ic)
                    for (std::size_t t = 0; t < k; ++t) {
                        const long at = static_cast<long>(l * stride + t * dilation) - static_cast<long>(padding);
                        if (at < 0 || at >= static_cast<long>(len)) continue;
                        s += w[{oc, ic, t}] * x[{i, (oc / og) * cg + ic, static_cast<std::size_t>(at)}];
                    }
                y[{i, oc, l}] = s;
            }
    return y.tensor();
}

// Every input element scattered through every tap onto the output, in float64.
Tensor conv_transpose2d_reference(const TensorList& v, const ConvTranspose2dOptions& o) {
    const Array x(v[0]), w(v[1]), b(v[2]);
    const std::size_t n = x.shape[0], cin = x.shape[1], h = x.shape[2], wd = x.shape[3], cog = w.shape[1],
                      kh = w.shape[2], kw = w.shape[3], groups = o.groups, cig = cin / groups, cout = cog * groups;
    const std::size_t oh =
        (h - 1) * o.stride[0] - 2 * o.padding[0] + o.dilation[0] * (kh - 1) + o.output_padding[0] + 1;
    const std::size_t ow =
        (wd - 1) * o.stride[1] - 2 * o.padding[1] + o.dilation[1] * (kw - 1) + o.output_padding[1] + 1;
    Array y(Shape{n, cout, oh, ow});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t oc = 0; oc < cout; ++oc)
            for (std::size_t r = 0; r < oh; ++r)
                for (std::size_t s = 0; s < ow; ++s) y[{i, oc, r, s}] = b[{oc}];
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t ic = 0; ic < cin; ++ic)
            for (std::size_t r = 0; r < h; ++r)
                for (std::size_t s = 0; s < wd; ++s)
                    for (std::size_t oc = 0; oc < cog; ++oc)
                        for (std::size_t p = 0; p < kh; ++p)
                            for (std::size_t q = 0; q < kw; ++q) {
                                const long yr = static_cast<long>(r * o.stride[0] + p * o.dilation[0]) -
                                                static_cast<long>(o.padding[0]);
                                const long yc = static_cast<long>(s * o.stride[1] + q * o.dilation[1]) -
                                                static_cast<long>(o.padding[1]);
                                if (yr < 0 || yc < 0 || yr >= static_cast<long>(oh) || yc >= static_cast<long>(ow))
                                    continue;
                                y[{i, (ic / cig) * cog + oc, static_cast<std::size_t>(yr),
                                   static_cast<std::size_t>(yc)}] += x[{i, ic, r, s}] * w[{ic, oc, p, q}];
                            }
    return y.tensor();
}

// The options of the samples: the second has an output_padding not smaller
// than its stride (allowed because the dilation is larger).
ConvTranspose2dOptions transpose_sample_options(const TensorList& v) {
    if (v[0].shape()[1] == 4)
        return {.stride = {2, 1}, .padding = {1, 0}, .output_padding = {1, 0}, .groups = 2, .dilation = {1, 2}};
    return {.stride = {1, 1}, .padding = {1, 1}, .output_padding = {1, 0}, .groups = 1, .dilation = {2, 1}};
}

}  // namespace

const OpDef& conv1d_def =
    define_op({.name = "conv1d",
               .signature = "conv1d(x, weight, bias = {}, options)",
               .doc = "1-D cross-correlation of (N, C, L) signals with (O, C / groups, k) filters, bias optional",
               .rule = "composite: conv2d on images of height 1 (dX = conv2d_input_grad, dW = conv2d_weight_grad)",
               .kind = OpKind::nn,
               .call =
                   [](const TensorList& v) {
                       return conv1d(v[0], v[1], v[2], {.stride = 2, .padding = 1, .dilation = 2, .groups = 2});
                   },
               .samples = {{{Shape{2, 4, 7}, Shape{6, 2, 3}, Shape{6}}, -2.0, 2.0}},
               .composite = true,
               .bad_shapes = {Shape{2, 3, 7}, Shape{6, 2, 3}, Shape{6}},
               .reference = [](const TensorList& v) { return conv1d_reference(v, 2, 1, 2); }});
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv1dOptions options) {
    float_or_fail(x, "conv1d");
    float_or_fail(weight, "conv1d");
    if (x.dim() != 3 || weight.dim() != 3)
        fail("conv1d: expected input (N, C, L) and weight (O, C / groups, k), got {} and {}", shape_str(x.shape()),
             shape_str(weight.shape()));
    const std::size_t groups = options.groups, out = weight.shape()[0];
    if (groups == 0 || out % groups != 0)
        fail("conv1d: groups must be positive and divide the {} output channels of weight {}, got {}", out,
             shape_str(weight.shape()), groups);
    if (weight.shape()[1] * groups != x.shape()[1])
        fail("conv1d: input {} has {} channels but weight {} in {} group(s) expects {}", shape_str(x.shape()),
             x.shape()[1], shape_str(weight.shape()), groups, weight.shape()[1] * groups);
    if (bias.defined() && bias.shape() != Shape{out})
        fail("conv1d: bias has shape {}, expected ({},)", shape_str(bias.shape()), out);
    detail::check_same_dtype(x, weight, "conv1d");
    if (bias.defined()) detail::check_same_dtype(x, bias, "conv1d");
    if (options.padding_rule == Conv2dOptions::Rule::same && options.stride != 1)
        fail("conv1d: padding \"same\" needs stride 1, as PyTorch, got stride {}", options.stride);
    if (options.stride == 0 || options.dilation == 0 || weight.shape()[2] == 0)
        fail("conv1d: kernel {}, stride {} and dilation {} must be positive", weight.shape()[2], options.stride,
             options.dilation);
    if (options.padding_rule == Conv2dOptions::Rule::explicit_sizes)
        conv_output_size(x.shape()[2], weight.shape()[2], options.stride, options.padding, options.dilation, "conv1d");
    const Conv2dOptions as_2d{.stride = {1, options.stride},
                              .padding = {0, options.padding},
                              .dilation = {1, options.dilation},
                              .groups = groups,
                              .padding_rule = options.padding_rule,
                              .padding_mode = options.padding_mode};
    const Tensor y = conv2d(unsqueeze(x, 2), unsqueeze(weight, 2), bias, as_2d);
    return squeeze(y, 2);
}

const OpDef& conv_transpose2d_def = define_op(
    {.name = "conv_transpose2d",
     .signature = "conv_transpose2d(x, weight, bias = {}, options)",
     .doc = "2-D transposed convolution, weight (C_in, C_out / groups, kh, kw), bias optional, output_padding",
     .rule = "composite: conv2d_input_grad(X, W) + b (dX = conv2d(G, W), dW = conv2d_weight_grad(X, G))",
     .kind = OpKind::nn,
     .call = [](const TensorList& v) { return conv_transpose2d(v[0], v[1], v[2], transpose_sample_options(v)); },
     .samples = {{{Shape{2, 4, 3, 3}, Shape{4, 3, 3, 2}, Shape{6}}, -2.0, 2.0},
                 {{Shape{1, 2, 3, 4}, Shape{2, 3, 2, 2}, Shape{3}}, -2.0, 2.0}},
     .composite = true,
     .bad_shapes = {Shape{1, 3, 3, 3}, Shape{2, 3, 2, 2}, Shape{3}},
     .reference = [](const TensorList& v) { return conv_transpose2d_reference(v, transpose_sample_options(v)); }});
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, ConvTranspose2dOptions options) {
    constexpr const char* op = "conv_transpose2d";
    float_or_fail(x, op);
    float_or_fail(weight, op);
    if (x.dim() != 4 || weight.dim() != 4)
        fail("conv_transpose2d: expected input (N, C_in, H, W) and weight (C_in, C_out / groups, kh, kw), got {} and "
             "{}",
             shape_str(x.shape()), shape_str(weight.shape()));
    const Shape& xs = x.shape();
    const Shape& ws = weight.shape();
    const std::size_t groups = options.groups;
    if (groups == 0 || ws[0] % groups != 0)
        fail("conv_transpose2d: groups must be positive and divide the {} input channels of weight {}, got {}", ws[0],
             shape_str(ws), groups);
    if (xs[1] != ws[0])
        fail("conv_transpose2d: input {} has {} channels but weight {} expects {} (its first axis)", shape_str(xs),
             xs[1], shape_str(ws), ws[0]);
    const std::size_t out_channels = ws[1] * groups;
    if (bias.defined() && bias.shape() != Shape{out_channels})
        fail("conv_transpose2d: bias has shape {}, expected ({},)", shape_str(bias.shape()), out_channels);
    detail::check_same_dtype(x, weight, op);
    if (bias.defined()) detail::check_same_dtype(x, bias, op);
    const Size2 kernel{ws[2], ws[3]};
    Shape out_shape{xs[0], out_channels, 0, 0};
    std::array<std::int64_t, 2> extra{};  // input rows (columns) of zeros that reach the output_padding
    for (std::size_t a = 0; a < 2; ++a) {
        if (kernel[a] == 0 || options.stride[a] == 0 || options.dilation[a] == 0)
            fail("conv_transpose2d: kernel ({}, {}), stride ({}, {}) and dilation ({}, {}) must be positive", kernel[0],
                 kernel[1], options.stride[0], options.stride[1], options.dilation[0], options.dilation[1]);
        if (options.output_padding[a] >= std::max(options.stride[a], options.dilation[a]))
            fail("conv_transpose2d: output_padding ({}, {}) must be smaller than the stride ({}, {}) or the dilation "
                 "({}, {}) of its axis",
                 options.output_padding[0], options.output_padding[1], options.stride[0], options.stride[1],
                 options.dilation[0], options.dilation[1]);
        const auto size = (static_cast<std::int64_t>(xs[2 + a]) - 1) * static_cast<std::int64_t>(options.stride[a]) -
                          2 * static_cast<std::int64_t>(options.padding[a]) +
                          static_cast<std::int64_t>(options.dilation[a] * (kernel[a] - 1) + options.output_padding[a]) +
                          1;
        if (xs[2 + a] == 0 || size <= 0)
            fail("conv_transpose2d: input {} with kernel ({}, {}), stride ({}, {}), padding ({}, {}) and dilation "
                 "({}, {}) gives an empty output; use less padding",
                 shape_str(xs), kernel[0], kernel[1], options.stride[0], options.stride[1], options.padding[0],
                 options.padding[1], options.dilation[0], options.dilation[1]);
        out_shape[2 + a] = static_cast<std::size_t>(size);
        extra[a] = static_cast<std::int64_t>(options.output_padding[a] / options.stride[a]);
    }
    // The convolution of an (OH, OW) image has (H + extra, W + extra) outputs:
    // an output_padding of a stride or more (possible with a larger dilation)
    // reaches rows no input element feeds, which zero rows of input stand for.
    const Tensor input = extra == std::array<std::int64_t, 2>{0, 0} ? x : pad(x, {0, extra[1], 0, extra[0]});
    const Conv2dOptions forward{.stride = options.stride,
                                .padding = options.padding,
                                .dilation = options.dilation,
                                .groups = groups};
    Tensor y = conv2d_input_grad(input, weight, out_shape, forward);
    if (!bias.defined()) return y;
    return y + reshape(bias, {1, static_cast<std::int64_t>(out_channels), 1, 1});
}

void detail::link_conv_variants() {}  // see registry.cpp

}  // namespace rg
