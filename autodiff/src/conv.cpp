// Convolution: conv2d and its two gradients (with respect to the input and
// to the weight) are three ops, each one's VJP made of the others. float32
// runs oneDNN's direct convolutions where they measure faster
// (docs/performance.md, "Convolutions"); float64, and the shapes where it
// does not, run image by image: patches gathered into a cached buffer, one
// GEMM. im2col and col2im (each the other's VJP) serve the course.
#include <retrograd/conv.hpp>
#include <retrograd/detail/conv_kernel.hpp>
#include <retrograd/threads.hpp>

#include "kernels/bf16.hpp"
#include "kernels/blocked_pool.hpp"
#include "kernels/copy.hpp"
#include "kernels/conv_patches.hpp"
#include "kernels/onednn.hpp"
#include "kernels/threads.hpp"
#include "conv_padding.hpp"
#include "op_defs.hpp"
#include "pool_options.hpp"
#include "window_geometry.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

namespace rg {

using detail::ConvShapes;
using detail::Geometry;
using detail::geometry;

using detail::gather_patches;

std::size_t conv_output_size(std::size_t input, std::size_t kernel, std::size_t stride, std::size_t padding,
                             std::size_t dilation, const char* op) {
    if (kernel == 0 || stride == 0 || dilation == 0)
        fail("{}: kernel {}, stride {} and dilation {}; expected each at least 1", op, kernel, stride, dilation);
    const long span = static_cast<long>(dilation * (kernel - 1) + 1);
    const long padded = static_cast<long>(input + 2 * padding);
    if (padded < span)
        fail("{}: the kernel spans {} pixels but the padded input has only {} (input {}, padding {})", op, span, padded,
             input, padding);
    return static_cast<std::size_t>((padded - span) / static_cast<long>(stride) + 1);
}

const OpDef& im2col_def = define_op({.name = "im2col",
                                     .signature = "im2col(x, kernel, options)",
                                     .doc = "the patches of NCHW images as columns (N, C*kh*kw, OH*OW)",
                                     .rule = "dx = col2im(g): each patch's gradient added back to its pixels",
                                     .kind = OpKind::nn,
                                     .call =
                                         [](const TensorList& v) {
                                             return im2col(v[0], {2, 2}, {.stride = {1, 1}, .padding = {1, 0}});
                                         },
                                     .samples = {{{Shape{1, 2, 3, 3}}, -2.0, 2.0}}});
Tensor im2col(const Tensor& x, Size2 kernel, Conv2dOptions options) {
    detail::defined_or_fail(x, "im2col");
    const Geometry g = geometry(x.shape(), kernel, options, "im2col");
    const Shape shape{g.n, g.c * g.kh * g.kw, g.oh * g.ow};
    Tensor out = detail::visit_float(x, "im2col", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        Tensor cols = detail::empty_dense<T>(shape, "im2col");
        gather_patches(g, a.data(), cols.data_ptr<T>());
        return cols;
    });
    return record(im2col_def, out, {x}, {}, [kernel, options](const OpContext& c, const Tensor& grad) {
        return GradList{col2im(grad, c.input_shape(0), kernel, options)};
    });
}

const OpDef& col2im_def = define_op({.name = "col2im",
                                     .signature = "col2im(columns, image_shape, kernel, options)",
                                     .doc = "patch columns summed back into images (im2col's VJP)",
                                     .rule = "dcols = im2col(g)",
                                     .kind = OpKind::nn,
                                     .call =
                                         [](const TensorList& v) {
                                             return col2im(v[0], Shape{1, 2, 3, 3}, {2, 2});
                                         },
                                     .samples = {{{Shape{1, 8, 4}}, -2.0, 2.0}}});
Tensor col2im(const Tensor& columns, const Shape& image_shape, Size2 kernel, Conv2dOptions options) {
    detail::defined_or_fail(columns, "col2im");
    const Geometry g = geometry(image_shape, kernel, options, "col2im");
    const Shape expected{g.n, g.c * g.kh * g.kw, g.oh * g.ow};
    if (columns.shape() != expected)
        fail("col2im: columns have shape {}, expected {} for image {}", shape_str(columns.shape()), shape_str(expected),
             shape_str(image_shape));
    Tensor out = detail::visit_float(columns, "col2im", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        Tensor image = detail::empty_dense<T>(image_shape, "col2im");
        detail::patches_to_images(g, a.data(), image.data_ptr<T>());
        return image;
    });
    return record(col2im_def, out, {columns}, {}, [kernel, options](const OpContext&, const Tensor& grad) {
        return GradList{im2col(grad, kernel, options)};
    });
}

namespace {

ConvShapes conv_shapes(const Shape& image, const Shape& weight, Conv2dOptions options, const char* op) {
    if (image.size() != 4 || weight.size() != 4)
        fail("{}: expected input (N, C, H, W) and weight (O, C, kh, kw), got {} and {}", op, shape_str(image),
             shape_str(weight));
    const std::size_t groups = options.groups;
    if (groups == 0 || weight[0] % groups != 0)
        fail("{}: groups must be positive and divide the {} output channels of weight {}, got {}", op, weight[0],
             shape_str(weight), groups);
    if (weight[1] * groups != image[1]) {
        if (groups == 1)
            fail("{}: input has {} channels but weight {} expects {}", op, image[1], shape_str(weight), weight[1]);
        fail("{}: input has {} channels but weight {} in {} groups expects {} ({} per group)", op, image[1],
             shape_str(weight), groups, weight[1] * groups, weight[1]);
    }
    const Geometry g = geometry(Shape{image[0], weight[1], image[2], image[3]}, {weight[2], weight[3]}, options, op);
    return {g, groups, weight[0], g.c * g.kh * g.kw, g.oh * g.ow};
}

void check_output_grad(const Tensor& grad, const ConvShapes& s, const char* op) {
    const Shape expected{s.g.n, s.out_channels, s.g.oh, s.g.ow};
    if (grad.shape() != expected)
        fail("{}: output gradient has shape {}, expected {}", op, shape_str(grad.shape()), shape_str(expected));
}

// The im2col passes split their images into ranges run in parallel once the
// patches of all images reach detail::compute_parallel_threshold values (a GEMM per
// image follows each gather, so the work per value is larger than an
// elementwise op's). Forward and input gradient write each image's result
// alone, so any split gives the same bits; the weight gradient sums over
// images, in blocks fixed by the shape (weight_grad_blocks) and added in order.
std::size_t image_ranges(const ConvShapes& s) {
    if (detail::patch_values(s) < detail::compute_parallel_threshold) return std::min<std::size_t>(s.g.n, 1);
    return std::min<std::size_t>(s.g.n, static_cast<std::size_t>(std::max(1, get_num_threads())));
}

// ---- which kernel -------------------------------------------------------------

enum class Pass { forward, input_grad, weight_grad };

// Whether a float32 pass runs oneDNN's direct convolution rather than
// im2col + GEMM: the classes of shapes where it measured faster on one
// thread, reorders to and from its blocked layouts included, on an AVX-512
// CPU and on an AVX2 one (the tables are in docs/performance.md,
// "Convolutions"). Grouped convolutions always (the patches path multiplies
// group by group); a 1x1 kernel with unit stride never (it is one GEMM on the
// image itself). Forward: strided or large (5x5 and up) kernels, and inputs
// of 2 to 7 or of 64 and more channels. Input gradient: 16 channels and more,
// on AVX-512 only on small images (16x16 and under); with few channels
// oneDNN's backward-data kernels are several times slower. Weight gradient:
// fewer than 16 input channels, large kernels, or one image; but one input
// channel takes im2col on AVX2, where oneDNN's kernel for it is 3 to 4 times
// slower (on AVX-512 it is about twice as fast as im2col).
std::atomic<detail::ConvKernel> forced{detail::ConvKernel::automatic};

// Whether a float32 pass runs oneDNN's Winograd convolution (F(4x4, 3x3),
// which oneDNN has on AVX-512 CPUs only; elsewhere the rule below decides):
// forward and weight gradient of 3x3 kernels with unit stride and dilation,
// one group, and 32 input and output channels or more, where it measured 1.3
// to 2.9 times faster than im2col + GEMM, reorders included
// (docs/performance.md, "Convolutions"). With fewer channels it was as fast
// or several times slower; its input gradient was slower than the direct
// one. Not when a kernel is forced, which compares the direct convolution
// with im2col.
bool winograd_pays(const ConvShapes& s, Pass pass) {
    if (forced.load(std::memory_order_relaxed) != detail::ConvKernel::automatic || !detail::onednn_avx512())
        return false;
    const Geometry& g = s.g;
    return pass != Pass::input_grad && s.groups == 1 && g.kh == 3 && g.kw == 3 && g.o.stride == Size2{1, 1} &&
           g.o.dilation == Size2{1, 1} && g.c >= 32 && s.out_channels >= 32;
}

bool through_onednn(const ConvShapes& s, Pass pass) {
    if (s.g.n == 0 || s.out_channels == 0 || s.g.c == 0 || s.pixels == 0) return false;
    if (const auto kernel = forced.load(std::memory_order_relaxed); kernel != detail::ConvKernel::automatic)
        return kernel == detail::ConvKernel::onednn;
    // Under rg::Autocast's native kernel, oneDNN's bfloat16 convolution for
    // every shape: im2col would run one bfloat16 product per image, each
    // converting its operands.
    if (s.groups > 1 || winograd_pays(s, pass) || detail::product_mode() == detail::ProductMode::native) return true;
    const Geometry& g = s.g;
    const bool strided = g.o.stride != Size2{1, 1}, large = g.kh * g.kw >= 25, avx512 = detail::onednn_avx512();
    if (g.kh == 1 && g.kw == 1 && !strided) return false;
    switch (pass) {
        case Pass::forward: return strided || large || (g.c >= 2 && g.c < 8) || g.c >= 64;
        // Below AVX2 (SSE4.1) oneDNN's backward passes lost to im2col in 18 of the 22 ungrouped cases.
        case Pass::input_grad: return g.c >= 16 && (g.h * g.w <= 256 || !avx512) && detail::onednn_avx2();
        case Pass::weight_grad:
            return ((g.c < 16 && (g.c > 1 || avx512)) || large || g.n == 1) && detail::onednn_avx2();
    }
    return false;
}

detail::ConvSpec spec(const ConvShapes& s, Pass pass) {
    const auto i = [](std::size_t v) { return static_cast<std::int64_t>(v); };
    const Geometry& g = s.g;
    return {i(g.n),
            i(g.c * s.groups),
            i(g.h),
            i(g.w),
            i(s.out_channels),
            i(g.kh),
            i(g.kw),
            i(g.oh),
            i(g.ow),
            i(g.o.stride[0]),
            i(g.o.stride[1]),
            i(g.o.padding[0]),
            i(g.o.padding[1]),
            i(g.o.dilation[0]),
            i(g.o.dilation[1]),
            i(s.groups),
            winograd_pays(s, pass)};
}

// The weight gradient's sum over images runs in this many blocks of
// consecutive images, each summed apart and then added in order: a number
// fixed by the shape alone, so that the result does not depend on the
// thread count. At most 8, and their partial sums at most 16 MiB.
std::size_t weight_grad_blocks(const ConvShapes& s, std::size_t value_bytes) {
    if (detail::patch_values(s) < detail::compute_parallel_threshold) return std::min<std::size_t>(s.g.n, 1);
    const std::size_t partial = std::max<std::size_t>(1, s.out_channels * s.patch * value_bytes);
    return std::clamp<std::size_t>(std::min<std::size_t>(s.g.n, (std::size_t{16} << 20) / partial), 1, 8);
}

// ---- im2col + GEMM (kernels/conv_patches.hpp) ------------------------------------

// The patch buffers of `count` image ranges run at once, from the caching
// allocator (so a training step reuses the last step's pages).
template <class T> class PatchBuffers {
public:
    PatchBuffers(const Geometry& g, std::size_t count) : PatchBuffers(detail::ImagePatches<T>::size(g), count) {}
    // `each` values for each of `count` ranges.
    PatchBuffers(std::size_t each, std::size_t count) : each_(each) {
        if (each_ > 0) held_ = detail::empty_dense<T>(Shape{count * each_}, "conv2d");
    }
    detail::PatchSpace<T> space() { return {each_ > 0 ? held_.data_ptr<T>() : nullptr, each_}; }

private:
    std::size_t each_;
    Tensor held_;
};

template <class T>
void patches_forward(const ConvShapes& s, const T* x, const T* w, const T* b, T* y, bool relu = false) {
    const std::size_t ranges = image_ranges(s);
    PatchBuffers<T> buffers(s.g, ranges);
    detail::forward_by_patches(s, ranges, buffers.space(), x, w, b, y, relu);
}

template <class T> void patches_input_grad(const ConvShapes& s, const T* g, const T* w, T* dx) {
    const std::size_t ranges = image_ranges(s);
    PatchBuffers<T> buffers(s.g, ranges);
    detail::input_grad_by_patches(s, ranges, buffers.space(), g, w, dx);
}

template <class T> void patches_weight_grad(const ConvShapes& s, const T* g, const T* x, T* dw) {
    const std::size_t blocks = weight_grad_blocks(s, sizeof(T));
    const bool partial_sums = detail::weight_grad_partial_sums(s, blocks);
    Tensor partials;
    if (partial_sums) partials = detail::empty_dense<T>(Shape{blocks * s.out_channels * s.patch}, "conv2d_weight_grad");
    PatchBuffers<T> buffers(s.g, blocks);
    detail::weight_grad_by_patches(s, blocks, buffers.space(), partial_sums ? partials.data_ptr<T>() : nullptr, g, x,
                                   dw);
}

// That a bias has the weight's output channels, before an op hands its
// inputs to the ops it composes (whose messages would name them).
void check_bias(const Tensor& bias, const Tensor& weight, const char* op) {
    if (bias.defined() && weight.dim() == 4 && bias.shape() != Shape{weight.shape()[0]})
        fail("{}: bias has shape {}, expected ({},)", op, shape_str(bias.shape()), weight.shape()[0]);
}

// conv2d(x, weight, bias) for checked shapes, and with `relu` max(., 0) of
// it; `by_patches` says whether it ran im2col + GEMM (which conv2d_relu's
// fused backward pass needs) rather than oneDNN.
Tensor conv_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvShapes& s, const char* op,
                    bool relu, bool& by_patches) {
    check_bias(bias, weight, op);
    detail::check_same_dtype(x, weight, op);
    if (bias.defined()) detail::check_same_dtype(x, bias, op);
    const detail::RoundedOperands in(x, weight);  // rounded under rg::Autocast's rounded kernel (kernels/bf16.hpp)
    return detail::visit_float2(in.a(), in.b(), op, [&](const auto& xv, const auto& w) {
        using T = typename std::decay_t<decltype(xv)>::value_type;
        Tensor y = detail::empty_dense<T>(Shape{s.g.n, s.out_channels, s.g.oh, s.g.ow}, op);
        // Held for the call: for a strided bias, Dense is a copy that must outlive its pointer.
        std::optional<detail::Dense<T>> bias_values;
        if (bias.defined()) bias_values.emplace(bias.dtype() == Dtype::bfloat16 ? detail::bf16_as_float32(bias) : bias);
        const T* b = bias_values ? bias_values->data() : nullptr;
        if constexpr (std::is_same_v<T, float>)
            if (through_onednn(s, Pass::forward) &&
                detail::onednn_conv_forward(spec(s, Pass::forward), xv.data(), w.data(), b, y.data_ptr<T>())) {
                if (relu) detail::map_in_place<T>(y, detail::relu_value);
                return y;
            }
        patches_forward(s, xv.data(), w.data(), b, y.data_ptr<T>(), relu);
        by_patches = true;
        return y;
    });
}

// Whether the input and weight gradients c needs (one at least) would each
// run through oneDNN, in float32 or under rg::Autocast's native kernel, not
// recorded.
bool grads_through_onednn(const OpContext& c, const Tensor& grad, const ConvShapes& s) {
    const bool x_part = c.needs_grad(0), w_part = c.needs_grad(1);
    if (is_grad_enabled() || detail::product_mode() == detail::ProductMode::rounded || grad.dtype() != Dtype::float32 ||
        (!x_part && !w_part))
        return false;
    return !(x_part && (!through_onednn(s, Pass::input_grad) || c.input(1).dtype() != Dtype::float32)) &&
           !(w_part && (!through_onednn(s, Pass::weight_grad) || c.input(0).dtype() != Dtype::float32));
}

// A convolution's gradients from its output gradient `grad` in one oneDNN
// call (onednn_conv_backward: the output gradient reordered once, the bias
// gradient from the weight-gradient primitive, with_bias and when c needs
// it): when they are not recorded, in float32 or bfloat16 (above), and each
// of the input and weight gradients c needs would run through oneDNN on its
// own. Nothing otherwise, or when oneDNN has no primitive.
std::optional<GradList> onednn_grads(const OpContext& c, const Tensor& grad, const ConvShapes& s, bool with_bias) {
    const bool x_part = c.needs_grad(0), w_part = c.needs_grad(1), b_part = with_bias && c.needs_grad(2);
    if (!grads_through_onednn(c, grad, s)) return std::nullopt;
    // In bfloat16 the weight-gradient primitive would sum the rounded
    // gradient; the bias gradient is a float32 sum, as outside rg::Autocast.
    const bool bias_by_onednn = b_part && w_part && detail::product_mode() == detail::ProductMode::float32;
    const detail::Dense<float> g(grad);
    std::optional<detail::Dense<float>> x, w;
    if (w_part) x.emplace(c.input(0));
    if (x_part) w.emplace(c.input(1));
    Tensor dx = x_part ? detail::empty_dense<float>(c.input_shape(0), "conv2d_input_grad") : Tensor{};
    Tensor dw = w_part ? detail::empty_dense<float>(c.input_shape(1), "conv2d_weight_grad") : Tensor{};
    Tensor db = bias_by_onednn ? detail::empty_dense<float>(Shape{s.out_channels}, "conv2d") : Tensor{};
    const auto data = [](Tensor& t) { return t.defined() ? t.data_ptr<float>() : nullptr; };
    if (!detail::onednn_conv_backward(spec(s, Pass::input_grad), spec(s, Pass::weight_grad), g.data(),
                                      w ? w->data() : nullptr, x ? x->data() : nullptr, data(dx), data(dw), data(db)))
        return std::nullopt;
    if (b_part && !bias_by_onednn) db = sum(grad, {0, 2, 3});
    return GradList{std::move(dx), std::move(dw), std::move(db)};
}

// conv2d's three gradients from its output gradient, as the ops below.
GradList conv_grads(const OpContext& c, const Tensor& grad, const Conv2dOptions& options) {
    if (auto grads = onednn_grads(c, grad, conv_shapes(c.input_shape(0), c.input_shape(1), options, "conv2d"), true))
        return std::move(*grads);
    // The bias gradient first: G is still in cache from the op that wrote it.
    Tensor db = c.needs_grad(2) ? sum(grad, {0, 2, 3}) : Tensor{};
    return GradList{c.needs_grad(0) ? conv2d_input_grad(grad, c.input(1), c.input_shape(0), options) : Tensor{},
                    c.needs_grad(1) ? conv2d_weight_grad(grad, c.input(0), c.input_shape(1), options) : Tensor{},
                    std::move(db)};
}

// Whether a fused op's VJP computes its gradients in one pass over the
// images (conv_backward_by_patches): when the gradients are not themselves
// recorded, the output and its gradient are float32 or float64, and each
// gradient asked for would run im2col + GEMM on its own too.
bool fused_backward_applies(const OpContext& c, const Tensor& grad, const ConvShapes& s) {
    const Dtype dtype = c.output().dtype();
    if (is_grad_enabled() || (dtype != Dtype::float32 && dtype != Dtype::float64) || grad.dtype() != dtype)
        return false;
    return !detail::weight_grad_patches_left(s) &&
           !(c.needs_grad(0) && dtype == Dtype::float32 && through_onednn(s, Pass::input_grad));
}

// A convolution's three gradients (those c needs) in one pass over the
// images, fill(block, image, m) writing each image's output gradient dZ.
template <class T>
GradList conv_grads_by_patches(const OpContext& c, const ConvShapes& s, detail::OutputOrder order, std::size_t blocks,
                               detail::FunctionRef<bool(std::size_t, std::size_t, T*, T*)> fill, const char* op) {
    const bool x_part = c.needs_grad(0), w_part = c.needs_grad(1), b_part = c.needs_grad(2);
    std::optional<detail::Dense<T>> x, w;
    if (w_part) x.emplace(c.input(0));
    if (x_part) w.emplace(c.input(1));
    Tensor dx = x_part ? detail::empty_dense<T>(c.input_shape(0), op) : Tensor{};
    Tensor dw = w_part ? detail::empty_dense<T>(c.input_shape(1), op) : Tensor{};
    Tensor db = b_part ? detail::empty_dense<T>(Shape{s.out_channels}, op) : Tensor{};
    PatchBuffers<T> buffers(order.patch_buffer<T>(s), blocks);
    Tensor masked = detail::empty_dense<T>(Shape{blocks * s.out_channels * order.columns(s)}, op);
    Tensor partials;
    if (blocks > 1) partials = detail::empty_dense<T>(Shape{blocks * (s.out_channels * s.patch + s.out_channels)}, op);
    const auto data = [](Tensor& t) { return t.defined() ? t.data_ptr<T>() : nullptr; };
    detail::conv_backward_by_patches<T>(s, order, blocks, buffers.space(), masked.data_ptr<T>(), data(partials), fill,
                                        x ? x->data() : nullptr, w ? w->data() : nullptr, data(dx), data(dw), data(db));
    return GradList{std::move(dx), std::move(dw), std::move(db)};
}

}  // namespace

// ---- the ops --------------------------------------------------------------

const OpDef& conv2d_def =
    define_op({.name = "conv2d",
               .signature = "conv2d(x, weight, bias = {}, options)",
               .doc = "2-D cross-correlation of NCHW images with OIHW filters, bias optional, in groups",
               .rule = "dX = conv2d_input_grad(G, W) (the transposed convolution), dW = conv2d_weight_grad(G, X) (G "
                       "times the patches of X), db = G summed over images and pixels",
               .kind = OpKind::nn,
               .call =
                   [](const TensorList& v) {
                       const std::size_t groups = v[0].shape()[1] / v[1].shape()[1];
                       return conv2d(v[0], v[1], v[2], {.stride = {1, 2}, .padding = {1, 1}, .groups = groups});
                   },
               .samples = {{{Shape{2, 2, 4, 5}, Shape{3, 2, 3, 2}, Shape{3}}, -2.0, 2.0},
                           {{Shape{1, 4, 5, 4}, Shape{6, 2, 3, 3}, Shape{6}}, -2.0, 2.0}}});
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions options) {
    detail::defined_or_fail(x, "conv2d");
    detail::defined_or_fail(weight, "conv2d");
    if (options.padding_rule != Conv2dOptions::Rule::explicit_sizes || options.padding_mode != PadMode::constant)
        return detail::conv2d_padded_first(x, weight, bias, options);
    const ConvShapes s = conv_shapes(x.shape(), weight.shape(), options, "conv2d");
    bool by_patches = false;
    Tensor out = conv_forward(x, weight, bias, s, "conv2d", false, by_patches);
    // Each gradient is itself a convolution op with its own VJP, so second
    // order works; an input that needs no gradient costs nothing.
    const bool x_part = needs_grad(x), w_part = needs_grad(weight);
    // A convolution recorded inside rg::Autocast has its backward convolutions in bfloat16 too.
    return record(conv2d_def, out, {x, weight, bias}, {.inputs = {w_part, x_part}},
                  [options, bf16 = detail::autocast_products()](const OpContext& c, const Tensor& grad) {
                      const detail::AutocastProducts products(bf16);
                      return conv_grads(c, grad, options);
                  });
}

const OpDef& conv2d_relu_def = define_op(
    {.name = "conv2d_relu",
     .signature = "conv2d_relu(x, weight, bias = {}, options)",
     .doc = "relu(conv2d(x, weight, bias)) in one op: the ReLU applied to each image's output while it is in cache, "
            "its mask applied to the gradient the same way",
     .rule = "dZ = G where Y > 0, else 0; then conv2d's rule with dZ: dX = conv2d_input_grad(dZ, W), dW = "
             "conv2d_weight_grad(dZ, X), db = dZ summed over images and pixels",
     .kind = OpKind::nn,
     .call =
         [](const TensorList& v) {
             const std::size_t groups = v[0].shape()[1] / v[1].shape()[1];
             return conv2d_relu(v[0], v[1], v[2], {.stride = {1, 2}, .padding = {1, 1}, .groups = groups});
         },
     .samples = {{{Shape{2, 2, 4, 5}, Shape{3, 2, 3, 2}, Shape{3}}, -2.0, 2.0},
                 {{Shape{1, 4, 5, 4}, Shape{6, 2, 3, 3}, Shape{6}}, -2.0, 2.0}}});
Tensor conv2d_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions options) {
    detail::defined_or_fail(x, "conv2d_relu");
    detail::defined_or_fail(weight, "conv2d_relu");
    check_bias(bias, weight, "conv2d_relu");
    if (options.padding_rule != Conv2dOptions::Rule::explicit_sizes || options.padding_mode != PadMode::constant)
        return relu(detail::conv2d_padded_first(x, weight, bias, options));
    const ConvShapes s = conv_shapes(x.shape(), weight.shape(), options, "conv2d_relu");
    bool by_patches = false;
    Tensor out = conv_forward(x, weight, bias, s, "conv2d_relu", true, by_patches);
    const bool x_part = needs_grad(x), w_part = needs_grad(weight);
    return record(conv2d_relu_def, out, {x, weight, bias}, {.inputs = {w_part, x_part}, .output = true},
                  [options, by_patches, bf16 = detail::autocast_products()](const OpContext& c, const Tensor& grad) {
                      const detail::AutocastProducts products(bf16);
                      if (by_patches && !bf16) {
                          const ConvShapes s = conv_shapes(c.input_shape(0), c.input_shape(1), options, "conv2d_relu");
                          if (fused_backward_applies(c, grad, s))
                              return detail::visit_float_dtype(grad.dtype(), "conv2d_relu", [&](auto zero) {
                                  using T = decltype(zero);
                                  const detail::Dense<T> g(grad), y(c.output());
                                  const std::size_t outputs = s.out_channels * s.pixels;
                                  return conv_grads_by_patches<T>(
                                      c, s, {}, weight_grad_blocks(s, sizeof(T)),
                                      [&](std::size_t, std::size_t n, T* m, T*) {
                                          detail::keep_where_positive(g.data() + n * outputs, y.data() + n * outputs, m,
                                                                      outputs);
                                          return false;
                                      },
                                      "conv2d_relu");
                              });
                      }
                      return conv_grads(c, detail::relu_grad(grad, c.output()), options);
                  });
}

const OpDef& conv2d_relu_max_pool2d_def = define_op(
    {.name = "conv2d_relu_max_pool2d",
     .signature = "conv2d_relu_max_pool2d(x, weight, bias, conv, kernel, pool)",
     .doc = "max_pool2d(relu(conv2d(x, weight, bias))) in one op: on the im2col path each image's convolution "
            "pooled while it is in cache, the activation never written",
     .rule = "dZ = G where Y > 0, routed to each window's maximum, 0 elsewhere; then conv2d's rule with dZ",
     .kind = OpKind::nn,
     .call =
         [](const TensorList& v) {
             const std::size_t groups = v[0].shape()[1] / v[1].shape()[1];
             return conv2d_relu_max_pool2d(v[0], v[1], v[2], {.padding = {1, 1}, .groups = groups}, {2, 2});
         },
     .samples = {{{Shape{2, 2, 6, 7}, Shape{3, 2, 3, 2}, Shape{3}}, -2.0, 2.0},
                 {{Shape{1, 4, 5, 6}, Shape{6, 2, 3, 3}, Shape{6}}, -2.0, 2.0}}});
namespace {

// What conv2d_relu_max_pool2d's forward pass chose and its VJP reads: the
// pool's geometry on one image, where each maximum is, and whether each
// image ran whole (im2col + GEMM into a buffer of one image's outputs, in
// window order or not) or the batch at once (the convolution through oneDNN).
struct ReluPool {
    Geometry one_image;
    detail::OutputOrder order;
    bool per_image = false;
    std::shared_ptr<const std::vector<std::int32_t>> where, corner;
    // The input as oneDNN's forward convolution read it, for the weight gradient's.
    std::shared_ptr<const detail::ConvInputCopy> input_copy;
    std::size_t pooled() const { return one_image.c * one_image.oh * one_image.ow; }  // per image
};

// Whether conv2d_relu_max_pool2d runs its float32 convolution through
// oneDNN where conv2d alone would not: on CPUs with AVX2 but not AVX-512 (no
// Winograd; on SSE4.1 oneDNN's direct convolution lost to the per-image path
// even so), for 16 input channels and more before a 2x2 pool. oneDNN's direct
// convolution writes its channel-blocked layout, which the pool reads; the
// reorder back to NCHW that makes conv2d's forward lose there is saved, and
// the fused forward measured 1.2 to 1.9 times faster than the per-image path
// (docs/performance.md, "Conv, ReLU and max pool as one op").
bool blocked_forward_pays(const ConvShapes& s, const Geometry& pool) {
    return forced.load(std::memory_order_relaxed) == detail::ConvKernel::automatic && !detail::onednn_avx512() &&
           detail::onednn_avx2() && s.groups == 1 && s.g.c >= 16 && detail::two_by_two(pool);
}

// conv2d_relu_max_pool2d's forward pass over the whole batch (its float32
// convolution runs through oneDNN): the activation lives until the pool has
// read it, in oneDNN's blocked layout where the pool can read that
// (kernels/blocked_pool.hpp); the pooled values, their maxima in at_max.
// With keep_input, the input as the convolution read it (in oneDNN's layout,
// in bfloat16 under rg::Autocast) is kept there for the weight gradient.
Tensor relu_pool_whole_batch(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvShapes& s,
                             const Geometry& one_image, std::int32_t* at_max,
                             std::shared_ptr<const detail::ConvInputCopy>* keep_input) {
    const char* op = "conv2d_relu_max_pool2d";
    Tensor y = detail::empty_dense<float>(Shape{s.g.n, s.out_channels, one_image.oh, one_image.ow}, op);
    const detail::ConvSpec forward = spec(s, Pass::forward);
    if (detail::two_by_two(one_image))
        if (const std::int64_t block = detail::onednn_conv_forward_block(forward, bias.defined())) {
            const detail::BlockedPlanes planes{s.g.n,       s.out_channels, static_cast<std::size_t>(block),
                                               s.g.oh,      s.g.ow,         one_image.oh,
                                               one_image.ow};
            Tensor z = detail::empty_dense<float>(Shape{planes.values()}, op);
            const detail::Dense<float> xv(x), w(weight);
            std::optional<detail::Dense<float>> bias_values;
            if (bias.defined()) bias_values.emplace(bias);
            if (detail::onednn_conv_forward_blocked(forward, xv.data(), w.data(),
                                                    bias_values ? bias_values->data() : nullptr, z.data_ptr<float>(),
                                                    keep_input)) {
                detail::relu_max_pool_2x2_blocked(z.data_ptr<float>(), planes, y.data_ptr<float>(), at_max);
                return y;
            }
        }
    bool by_patches = false;
    const Tensor z = conv_forward(x, weight, bias, s, op, true, by_patches);
    Geometry batch = one_image;
    batch.n = s.g.n;
    detail::max_pool(z.data_ptr<float>(), batch, y.data_ptr<float>(), at_max);
    return y;
}

// Its gradients image by image (conv_backward_by_patches).
GradList relu_pool_grads_per_image(const OpContext& c, const Tensor& grad, const ConvShapes& s, const ReluPool& p) {
    return detail::visit_float_dtype(grad.dtype(), "conv2d_relu_max_pool2d", [&](auto zero) {
        using T = decltype(zero);
        const detail::Dense<T> g(grad), y(c.output());
        const std::size_t blocks = weight_grad_blocks(s, sizeof(T)), pooled = p.pooled();
        Tensor kept = detail::empty_dense<T>(Shape{blocks * pooled}, "conv2d_relu_max_pool2d");
        T* kept_values = kept.data_ptr<T>();
        return conv_grads_by_patches<T>(
            c, s, p.order, blocks,
            [&](std::size_t r, std::size_t n, T* m, T* sums) {
                T* mine = kept_values + r * pooled;
                const std::int32_t* at = p.where->data() + n * pooled;
                const std::size_t windows = pooled / s.out_channels;
                detail::keep_where_positive(g.data() + n * pooled, y.data() + n * pooled, mine, pooled);
                if (p.order.windows())
                    detail::unpool_window_order(mine, at, s.out_channels, windows, p.corner->data(),
                                                static_cast<std::int32_t>(s.g.ow), m);
                else
                    detail::max_unpool(mine, at, p.one_image, m);
                // The bias gradient from the kept gradient: the zeros around each maximum add nothing.
                if (sums) detail::sum_channels(mine, 1, s.out_channels, windows, sums);
                return sums != nullptr;
            },
            "conv2d_relu_max_pool2d");
    });
}

// Its gradients over the whole batch: the convolution's output gradient
// written in one pass (the kept gradient at the maxima), the bias gradient
// summed from the kept gradient (the zeros add nothing), then
// conv2d_input_grad and conv2d_weight_grad, which pick their kernels.
// Its gradients through oneDNN with the convolution's output gradient
// written straight into the channel-blocked layout its backward passes read
// (kernels/blocked_pool.hpp): for 2x2 pools where that layout is blocked.
std::optional<GradList> relu_pool_grads_blocked(const OpContext& c, const Tensor& grad, const ConvShapes& s,
                                                const ReluPool& p) {
    if (!detail::two_by_two(p.one_image) || !grads_through_onednn(c, grad, s)) return std::nullopt;
    const bool x_part = c.needs_grad(0), w_part = c.needs_grad(1);
    const detail::ConvSpec data = spec(s, Pass::input_grad), weights = spec(s, Pass::weight_grad);
    const std::int64_t block = detail::onednn_conv_backward_block(data, weights, x_part, w_part);
    if (block == 0) return std::nullopt;
    const char* op = "conv2d_relu_max_pool2d";
    const detail::BlockedPlanes planes{s.g.n,          s.out_channels, static_cast<std::size_t>(block), s.g.oh, s.g.ow,
                                       p.one_image.oh, p.one_image.ow};
    const detail::Dense<float> g(grad), y(c.output());
    const std::size_t total = s.g.n * p.pooled();
    Tensor kept = detail::empty_dense<float>(Shape{total}, op);
    detail::keep_where_positive(g.data(), y.data(), kept.data_ptr<float>(), total);
    // Under rg::Autocast's native kernel the backward passes read it in
    // bfloat16: written so, each value rounded once as a conversion would.
    const auto unpooled = [&](auto zero) {
        using D = decltype(zero);
        Tensor dz = detail::empty_dense<D>(Shape{planes.values()}, op);
        detail::unpool_2x2_blocked(kept.data_ptr<float>(), p.where->data(), planes, dz.data_ptr<D>());
        return dz;
    };
    const Tensor dz = detail::product_mode() == detail::ProductMode::native ? unpooled(BFloat16{}) : unpooled(0.0f);
    std::optional<detail::Dense<float>> x, w;
    if (w_part) x.emplace(c.input(0));
    if (x_part) w.emplace(c.input(1));
    Tensor dx = x_part ? detail::empty_dense<float>(c.input_shape(0), "conv2d_input_grad") : Tensor{};
    Tensor dw = w_part ? detail::empty_dense<float>(c.input_shape(1), "conv2d_weight_grad") : Tensor{};
    const auto data_of = [](Tensor& t) { return t.defined() ? t.data_ptr<float>() : nullptr; };
    if (!detail::onednn_conv_backward(data, weights, dz.data_ptr(), w ? w->data() : nullptr, x ? x->data() : nullptr,
                                      data_of(dx), data_of(dw), nullptr, block, p.input_copy.get()))
        return std::nullopt;
    Tensor db;
    if (c.needs_grad(2)) {
        db = detail::empty_dense<float>(Shape{s.out_channels}, op);
        detail::sum_channels(kept.data_ptr<float>(), s.g.n, s.out_channels, p.one_image.oh * p.one_image.ow,
                             db.data_ptr<float>());
    }
    return GradList{std::move(dx), std::move(dw), std::move(db)};
}

GradList relu_pool_grads_whole(const OpContext& c, const Tensor& grad, const ConvShapes& s, const ReluPool& p,
                               const Conv2dOptions& conv) {
    if (auto grads = relu_pool_grads_blocked(c, grad, s, p)) return std::move(*grads);
    Tensor db;
    Tensor dz = detail::visit_float_dtype(grad.dtype(), "conv2d_relu_max_pool2d", [&](auto zero) {
        using T = decltype(zero);
        const detail::Dense<T> g(grad), y(c.output());
        const std::size_t total = s.g.n * p.pooled(), windows = p.one_image.oh * p.one_image.ow;
        Tensor kept = detail::empty_dense<T>(Shape{total}, "conv2d_relu_max_pool2d");
        detail::keep_where_positive(g.data(), y.data(), kept.data_ptr<T>(), total);
        Geometry batch = p.one_image;
        batch.n = s.g.n;
        Tensor out = detail::empty_dense<T>(Shape{s.g.n, s.out_channels, s.g.oh, s.g.ow}, "conv2d_relu_max_pool2d");
        detail::max_unpool(kept.data_ptr<T>(), p.where->data(), batch, out.data_ptr<T>());
        if (c.needs_grad(2)) {
            db = detail::empty_dense<T>(Shape{s.out_channels}, "conv2d_relu_max_pool2d");
            detail::sum_channels(kept.data_ptr<T>(), s.g.n, s.out_channels, windows, db.data_ptr<T>());
        }
        return out;
    });
    if (auto grads = onednn_grads(c, dz, s, false)) {
        (*grads)[2] = std::move(db);
        return std::move(*grads);
    }
    return GradList{c.needs_grad(0) ? conv2d_input_grad(dz, c.input(1), c.input_shape(0), conv) : Tensor{},
                    c.needs_grad(1) ? conv2d_weight_grad(dz, c.input(0), c.input_shape(1), conv) : Tensor{},
                    std::move(db)};
}

// Its gradients as ops, so that they are recorded (create_graph): the kept
// gradient scattered to the maxima by scatter_add, whose VJP gathers them back.
GradList relu_pool_grads_recorded(const OpContext& c, const Tensor& grad, const ConvShapes& s, const ReluPool& p,
                                  const Conv2dOptions& conv) {
    const std::size_t planes = s.g.n * s.out_channels, plane_out = p.one_image.oh * p.one_image.ow;
    Tensor index = detail::empty_dense<std::int64_t>(Shape{planes, plane_out}, "conv2d_relu_max_pool2d");
    detail::values_from(p.where->data(), p.where->size(), index.data_ptr<std::int64_t>());
    Tensor kept = reshape(detail::relu_grad(grad, c.output()), Shape{planes, plane_out});
    Tensor dz =
        reshape(scatter_add(kept, Shape{planes, s.pixels}, 1, index), Shape{s.g.n, s.out_channels, s.g.oh, s.g.ow});
    return conv_grads(c, dz, conv);
}

}  // namespace

Tensor conv2d_relu_max_pool2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions conv,
                              Size2 kernel, Pool2dOptions pool) {
    const char* op = "conv2d_relu_max_pool2d";
    detail::defined_or_fail(x, op);
    detail::defined_or_fail(weight, op);
    check_bias(bias, weight, op);
    // Checked here, before an unfused input goes to the ops this one composes (whose messages would name them).
    if (!x.is_floating()) fail("{}: expected a float32 or float64 tensor, got {}", op, dtype_name(x.dtype()));
    if (conv.padding_rule != Conv2dOptions::Rule::explicit_sizes || conv.padding_mode != PadMode::constant ||
        detail::max_pool_needs_composition(pool) || (x.dtype() != Dtype::float32 && x.dtype() != Dtype::float64) ||
        detail::product_mode() == detail::ProductMode::rounded)
        return max_pool2d(conv2d_relu(x, weight, bias, conv), kernel, pool);
    const ConvShapes s = conv_shapes(x.shape(), weight.shape(), conv, op);
    detail::check_same_dtype(x, weight, op);
    if (bias.defined()) detail::check_same_dtype(x, bias, op);
    const Conv2dOptions windows{{pool.stride[0] ? pool.stride[0] : kernel[0],
                                 pool.stride[1] ? pool.stride[1] : kernel[1]},
                                pool.padding,
                                {1, 1}};
    ReluPool p;
    p.one_image = geometry(Shape{1, s.out_channels, s.g.oh, s.g.ow}, kernel, windows, "max_pool2d");
    if (2 * pool.padding[0] > kernel[0] || 2 * pool.padding[1] > kernel[1])
        fail("max_pool2d: padding ({}, {}) must be at most half the kernel ({}, {})", pool.padding[0], pool.padding[1],
             kernel[0], kernel[1]);
    if (s.g.oh * s.g.ow > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
        fail("max_pool2d: image planes of {}x{} pixels exceed the 2^31 positions the pool indexes", s.g.oh, s.g.ow);
    p.per_image =
        !(x.dtype() == Dtype::float32 && (through_onednn(s, Pass::forward) || blocked_forward_pays(s, p.one_image)));
    const std::size_t windows_per_plane = p.one_image.oh * p.one_image.ow;
    auto where = std::make_shared<std::vector<std::int32_t>>(s.g.n * p.pooled());
    auto corner = std::make_shared<std::vector<std::int32_t>>();
    if (p.per_image && detail::window_order_applies(s.g, p.one_image)) {  // kernels/window_patches.hpp
        p.order = {p.one_image.oh, p.one_image.ow};
        corner->resize(windows_per_plane);
        for (std::size_t y = 0; y < p.one_image.oh; ++y)
            for (std::size_t x = 0; x < p.one_image.ow; ++x)
                (*corner)[y * p.one_image.ow + x] = static_cast<std::int32_t>(2 * y * s.g.ow + 2 * x);
    }
    Tensor out;
    if (!p.per_image)
        out = relu_pool_whole_batch(x, weight, bias, s, p.one_image, where->data(),
                                    needs_grad(weight) ? &p.input_copy : nullptr);
    else
        out = detail::visit_float2(x, weight, op, [&](const auto& xv, const auto& w) {
            using T = typename std::decay_t<decltype(xv)>::value_type;
            Tensor y = detail::empty_dense<T>(Shape{s.g.n, s.out_channels, p.one_image.oh, p.one_image.ow}, op);
            std::optional<detail::Dense<T>> bias_values;
            if (bias.defined()) bias_values.emplace(bias);
            const std::size_t ranges = image_ranges(s);
            PatchBuffers<T> buffers(p.order.patch_buffer<T>(s), ranges);
            Tensor scratch = detail::empty_dense<T>(Shape{ranges * s.out_channels * p.order.columns(s)}, op);
            detail::relu_pool_forward_by_patches(s, p.order, ranges, buffers.space(), scratch.data_ptr<T>(),
                                                 p.one_image, corner->data(), xv.data(), w.data(),
                                                 bias_values ? bias_values->data() : nullptr, y.data_ptr<T>(),
                                                 where->data());
            return y;
        });
    p.where = std::move(where);
    p.corner = std::move(corner);
    const bool x_part = needs_grad(x), w_part = needs_grad(weight);
    // Recorded inside rg::Autocast (its native kernel), the backward convolutions run in bfloat16 too.
    return record(conv2d_relu_max_pool2d_def, out, {x, weight, bias}, {.inputs = {w_part, x_part}, .output = true},
                  [conv, p, bf16 = detail::autocast_products()](const OpContext& c, const Tensor& grad) {
                      const detail::AutocastProducts products(bf16);
                      const ConvShapes s =
                          conv_shapes(c.input_shape(0), c.input_shape(1), conv, "conv2d_relu_max_pool2d");
                      const Dtype dtype = c.output().dtype();
                      if (is_grad_enabled() || grad.dtype() != dtype)
                          return relu_pool_grads_recorded(c, grad, s, p, conv);
                      if (p.per_image && fused_backward_applies(c, grad, s))
                          return relu_pool_grads_per_image(c, grad, s, p);
                      return relu_pool_grads_whole(c, grad, s, p, conv);
                  });
}

const OpDef& conv2d_input_grad_def =
    define_op({.name = "conv2d_input_grad",
               .signature = "conv2d_input_grad(grad, weight, input_shape, options)",
               .doc = "the gradient of conv2d with respect to its input (torch.nn.grad.conv2d_input)",
               .rule = "y = conv2d_input_grad(u, W): du = conv2d(g, W), dW = conv2d_weight_grad(u, g)",
               .kind = OpKind::nn,
               .call =
                   [](const TensorList& v) {
                       return conv2d_input_grad(v[0], v[1], Shape{2, 2, 4, 4}, {.padding = {1, 1}});
                   },
               .samples = {{{Shape{2, 3, 4, 4}, Shape{3, 2, 3, 3}}, -2.0, 2.0}}});
Tensor conv2d_input_grad(const Tensor& grad, const Tensor& weight, const Shape& input_shape, Conv2dOptions options) {
    detail::defined_or_fail(grad, "conv2d_input_grad");
    detail::defined_or_fail(weight, "conv2d_input_grad");
    const ConvShapes s = conv_shapes(input_shape, weight.shape(), options, "conv2d_input_grad");
    check_output_grad(grad, s, "conv2d_input_grad");
    const detail::RoundedOperands in(grad, weight);  // as conv2d's
    Tensor out = detail::visit_float2(in.a(), in.b(), "conv2d_input_grad", [&](const auto& gv, const auto& w) {
        using T = typename std::decay_t<decltype(gv)>::value_type;
        Tensor dx = detail::empty_dense<T>(input_shape, "conv2d_input_grad");
        if constexpr (std::is_same_v<T, float>)
            if (through_onednn(s, Pass::input_grad) &&
                detail::onednn_conv_backward_data(spec(s, Pass::input_grad), gv.data(), w.data(), dx.data_ptr<T>()))
                return dx;
        patches_input_grad(s, gv.data(), w.data(), dx.data_ptr<T>());
        return dx;
    });
    // dX = col2im(Wᵀ G) is linear in G and in W: for an incoming U, G gets
    // W im2col(U) = conv2d(U, W) and W gets G im2col(U)ᵀ.
    const bool g_part = needs_grad(grad), w_part = needs_grad(weight);
    return record(conv2d_input_grad_def, out, {grad, weight}, {.inputs = {w_part, g_part}},
                  [options](const OpContext& c, const Tensor& u) {
                      return GradList{c.needs_grad(0) ? conv2d(u, c.input(1), {}, options) : Tensor{},
                                      c.needs_grad(1) ? conv2d_weight_grad(c.input(0), u, c.input_shape(1), options)
                                                      : Tensor{}};
                  });
}

const OpDef& conv2d_weight_grad_def =
    define_op({.name = "conv2d_weight_grad",
               .signature = "conv2d_weight_grad(grad, x, weight_shape, options)",
               .doc = "the gradient of conv2d with respect to its weight (torch.nn.grad.conv2d_weight)",
               .rule = "y = conv2d_weight_grad(u, X): du = conv2d(X, g), dX = conv2d_input_grad(u, g)",
               .kind = OpKind::nn,
               .call =
                   [](const TensorList& v) {
                       return conv2d_weight_grad(v[0], v[1], Shape{3, 2, 3, 3}, {.padding = {1, 1}});
                   },
               .samples = {{{Shape{2, 3, 4, 4}, Shape{2, 2, 4, 4}}, -2.0, 2.0}}});
Tensor conv2d_weight_grad(const Tensor& grad, const Tensor& x, const Shape& weight_shape, Conv2dOptions options) {
    detail::defined_or_fail(grad, "conv2d_weight_grad");
    detail::defined_or_fail(x, "conv2d_weight_grad");
    const ConvShapes s = conv_shapes(x.shape(), weight_shape, options, "conv2d_weight_grad");
    check_output_grad(grad, s, "conv2d_weight_grad");
    const detail::RoundedOperands in(grad, x);  // as conv2d's
    Tensor out = detail::visit_float2(in.a(), in.b(), "conv2d_weight_grad", [&](const auto& gv, const auto& xv) {
        using T = typename std::decay_t<decltype(gv)>::value_type;
        Tensor dw = detail::empty_dense<T>(weight_shape, "conv2d_weight_grad");
        if constexpr (std::is_same_v<T, float>)
            if (through_onednn(s, Pass::weight_grad) &&
                detail::onednn_conv_backward_weights(spec(s, Pass::weight_grad), gv.data(), xv.data(),
                                                     dw.data_ptr<T>()))
                return dw;
        patches_weight_grad(s, gv.data(), xv.data(), dw.data_ptr<T>());
        return dw;
    });
    // dW = Σ G im2col(X)ᵀ, linear in G and in X: for an incoming V, G gets
    // V im2col(X) = conv2d(X, V) and X gets col2im(Vᵀ G).
    const bool g_part = needs_grad(grad), x_part = needs_grad(x);
    return record(conv2d_weight_grad_def, out, {grad, x}, {.inputs = {x_part, g_part}},
                  [options](const OpContext& c, const Tensor& v) {
                      return GradList{c.needs_grad(0) ? conv2d(c.input(1), v, {}, options) : Tensor{},
                                      c.needs_grad(1) ? conv2d_input_grad(c.input(0), v, c.input_shape(1), options)
                                                      : Tensor{}};
                  });
}

void detail::force_conv_kernel(ConvKernel kernel) { forced.store(kernel); }
detail::ConvKernel detail::forced_conv_kernel() { return forced.load(); }

void detail::link_conv() {}  // see registry.cpp

}  // namespace rg
