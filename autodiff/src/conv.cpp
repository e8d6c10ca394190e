// Convolution: conv2d and its two gradients (with respect to the input and
// to the weight) are three ops, each one's VJP made of the others. float32
// runs oneDNN's direct convolutions where they measure faster
// (docs/performance.md, "Convolutions"); float64, and the shapes where it
// does not, run image by image: patches gathered into a cached buffer, one
// GEMM. im2col and col2im (each the other's VJP) serve the course.
#include <retrograd/conv.hpp>
#include <retrograd/detail/conv_kernel.hpp>

#include "kernels/bf16.hpp"
#include "kernels/onednn.hpp"
#include "kernels/patches.hpp"
#include "conv_padding.hpp"
#include "window_geometry.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

namespace rg {

using detail::Geometry;
using detail::geometry;

using detail::gather_patches;
using detail::scatter_patches;

std::size_t conv_output_size(std::size_t input, std::size_t kernel, std::size_t stride, std::size_t padding,
                             std::size_t dilation, const char* op) {
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
        T* o = image.data_ptr<T>();
        std::fill_n(o, image.numel(), T{0});
        scatter_patches(g, a.data(), o);
        return image;
    });
    return record(col2im_def, out, {columns}, {}, [kernel, options](const OpContext&, const Tensor& grad) {
        return GradList{im2col(grad, kernel, options)};
    });
}

namespace {

// The shapes every convolution op agrees on, checked once. With groups, the
// channels split into `groups` independent convolutions: group k's output
// channels [k O/G, (k+1) O/G) see its input channels [k C/G, (k+1) C/G).
struct ConvShapes {
    Geometry g;  // of one group: g.c is C / groups
    std::size_t groups, out_channels, patch, pixels;  // patch: one group's (C / groups) * kh * kw
    std::size_t group_out() const { return out_channels / groups; }
    std::size_t group_block() const { return g.c * g.h * g.w; }  // one group of one image
};

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

// One image's patches as a (C*kh*kw, OH*OW) matrix in a buffer reused from
// image to image, so it stays in cache between im2col and the GEMM that
// reads it. A 1x1 kernel with unit stride and no padding needs no copy.
template <class T> class ImagePatches {
public:
    explicit ImagePatches(const Geometry& g) : single_(g) {
        single_.n = 1;
        identity_ = g.kh == 1 && g.kw == 1 && g.o.stride == Size2{1, 1} && g.o.padding == Size2{0, 0};
        if (!identity_) buffer_.resize(g.c * g.kh * g.kw * g.oh * g.ow);
    }
    // The patches of `image` (one image, C*H*W values).
    const T* gather(const T* image) {
        if (identity_) return image;
        gather_patches(single_, image, buffer_.data());
        return buffer_.data();
    }
    // Where the caller writes patch gradients before scatter_add_to.
    T* scratch(T* image) { return identity_ ? image : buffer_.data(); }
    // Adds the patch gradients in scratch() into `image` (zeroed by the caller).
    void scatter_add_to(T* image) {
        if (!identity_) scatter_patches(single_, buffer_.data(), image);
    }

private:
    Geometry single_;
    bool identity_ = false;
    std::vector<T> buffer_;
};

// ---- which kernel -------------------------------------------------------------

enum class Pass { forward, input_grad, weight_grad };

// Whether a float32 pass runs oneDNN's direct convolution rather than
// im2col + GEMM: the classes of shapes where it measured faster on one
// thread, reorders to and from its blocked layouts included (the table is in
// docs/performance.md, "Convolutions"). Grouped convolutions always (the
// patches path multiplies group by group); a 1x1 kernel with unit stride
// never (it is one GEMM on the image itself). Forward: strided or large
// (5x5 and up) kernels, and inputs of 2 to 7 or of 64 and more channels.
// Input gradient: 16 channels and more on small images (16x16 and under);
// with few channels oneDNN's backward-data kernels are several times slower.
// Weight gradient: fewer than 16 input channels, large kernels, or one image.
std::atomic<detail::ConvKernel> forced{detail::ConvKernel::automatic};

bool through_onednn(const ConvShapes& s, Pass pass) {
    if (s.g.n == 0 || s.out_channels == 0 || s.g.c == 0 || s.pixels == 0) return false;
    if (const auto kernel = forced.load(std::memory_order_relaxed); kernel != detail::ConvKernel::automatic)
        return kernel == detail::ConvKernel::onednn;
    if (s.groups > 1) return true;
    const Geometry& g = s.g;
    const bool strided = g.o.stride != Size2{1, 1}, large = g.kh * g.kw >= 25;
    if (g.kh == 1 && g.kw == 1 && !strided) return false;
    switch (pass) {
        case Pass::forward: return strided || large || (g.c >= 2 && g.c < 8) || g.c >= 64;
        case Pass::input_grad: return g.c >= 16 && g.h * g.w <= 256;
        case Pass::weight_grad: return g.c < 16 || large || g.n == 1;
    }
    return false;
}

detail::ConvSpec spec(const ConvShapes& s) {
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
            i(s.groups)};
}

// ---- im2col + GEMM, image by image and group by group ---------------------------

template <class T> void forward_by_patches(const ConvShapes& s, const T* x, const T* w, const T* b, T* y) {
    ImagePatches<T> patches(s.g);
    const std::size_t og = s.group_out();
    for (std::size_t n = 0; n < s.g.n; ++n) {
        for (std::size_t k = 0; k < s.groups; ++k) {
            // The output starts from the bias, so that the GEMM adds onto it.
            T* dst = y + (n * s.groups + k) * og * s.pixels;
            if (b)
                for (std::size_t o = 0; o < og; ++o) std::fill_n(dst + o * s.pixels, s.pixels, b[k * og + o]);
            detail::product(false, false, og, s.pixels, s.patch, w + k * og * s.patch, s.patch,
                            patches.gather(x + (n * s.groups + k) * s.group_block()), s.pixels, dst, b != nullptr);
        }
    }
}

// Per image and group: the patch gradients Wᵀ G, summed back into the image
// while they are still in cache.
template <class T> void input_grad_by_patches(const ConvShapes& s, const T* g, const T* w, T* dx) {
    ImagePatches<T> patches(s.g);
    const std::size_t og = s.group_out();
    std::fill_n(dx, s.g.n * s.groups * s.group_block(), T{0});
    for (std::size_t n = 0; n < s.g.n; ++n) {
        for (std::size_t k = 0; k < s.groups; ++k) {
            T* image = dx + (n * s.groups + k) * s.group_block();
            detail::product(true, false, s.patch, s.pixels, og, w + k * og * s.patch, s.patch,
                            g + (n * s.groups + k) * og * s.pixels, s.pixels, patches.scratch(image), false);
            patches.scatter_add_to(image);
        }
    }
}

// Per group, Σ over images of G im2col(X)ᵀ, each image's patches built in
// cache. Both factors run along the pixels, so one of them is read
// transposed: the smaller, G (O rows) or the patches (C*kh*kw rows). For G,
// the sum is taken as dWᵀ = Σ im2col(X) Gᵀ and transposed at the end.
template <class T> void weight_grad_by_patches(const ConvShapes& s, const T* g, const T* x, T* dw) {
    ImagePatches<T> patches(s.g);
    const std::size_t og = s.group_out();
    if (s.g.n == 0) std::fill_n(dw, s.out_channels * s.patch, T{0});
    const bool transpose_grad = og < s.patch;
    std::vector<T> dw_t(transpose_grad ? s.patch * og : 0);
    for (std::size_t k = 0; k < s.groups; ++k) {
        T* dw_k = dw + k * og * s.patch;
        for (std::size_t n = 0; n < s.g.n; ++n) {
            const T* g_n = g + (n * s.groups + k) * og * s.pixels;
            const T* cols = patches.gather(x + (n * s.groups + k) * s.group_block());
            if (transpose_grad)
                detail::product(false, true, s.patch, og, s.pixels, cols, s.pixels, g_n, s.pixels, dw_t.data(), n > 0);
            else
                detail::product(false, true, og, s.patch, s.pixels, g_n, s.pixels, cols, s.pixels, dw_k, n > 0);
        }
        if (transpose_grad && s.g.n > 0)
            for (std::size_t c = 0; c < og; ++c)
                for (std::size_t r = 0; r < s.patch; ++r) dw_k[c * s.patch + r] = dw_t[r * og + c];
    }
}

}  // namespace

// ---- the three ops --------------------------------------------------------------

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
    if (bias.defined() && bias.shape() != Shape{s.out_channels})
        fail("conv2d: bias has shape {}, expected ({},)", shape_str(bias.shape()), s.out_channels);
    detail::check_same_dtype(x, weight, "conv2d");
    if (bias.defined()) detail::check_same_dtype(x, bias, "conv2d");

    const detail::RoundedOperands in(x, weight);  // rounded under rg::Autocast's rounded kernel (kernels/bf16.hpp)
    Tensor out = detail::visit_float2(in.a(), in.b(), "conv2d", [&](const auto& xv, const auto& w) {
        using T = typename std::decay_t<decltype(xv)>::value_type;
        Tensor y = detail::empty_dense<T>(Shape{s.g.n, s.out_channels, s.g.oh, s.g.ow}, "conv2d");
        // Held for the call: for a strided bias, Dense is a copy that must outlive its pointer.
        std::optional<detail::Dense<T>> bias_values;
        if (bias.defined()) bias_values.emplace(bias.dtype() == Dtype::bfloat16 ? detail::bf16_as_float32(bias) : bias);
        const T* b = bias_values ? bias_values->data() : nullptr;
        if constexpr (std::is_same_v<T, float>)
            if (through_onednn(s, Pass::forward) &&
                detail::onednn_conv_forward(spec(s), xv.data(), w.data(), b, y.data_ptr<T>()))
                return y;
        forward_by_patches(s, xv.data(), w.data(), b, y.data_ptr<T>());
        return y;
    });
    // Each gradient is itself a convolution op with its own VJP, so second
    // order works; an input that needs no gradient costs nothing.
    const bool x_part = needs_grad(x), w_part = needs_grad(weight);
    // A convolution recorded inside rg::Autocast has its backward convolutions in bfloat16 too.
    return record(conv2d_def, out, {x, weight, bias}, {.inputs = {w_part, x_part}},
                  [options, bf16 = detail::autocast_products()](const OpContext& c, const Tensor& grad) {
                      const detail::AutocastProducts products(bf16);
                      return GradList{c.needs_grad(0) ? conv2d_input_grad(grad, c.input(1), c.input_shape(0), options)
                                                      : Tensor{},
                                      c.needs_grad(1) ? conv2d_weight_grad(grad, c.input(0), c.input_shape(1), options)
                                                      : Tensor{},
                                      c.needs_grad(2) ? sum(grad, {0, 2, 3}) : Tensor{}};
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
                detail::onednn_conv_backward_data(spec(s), gv.data(), w.data(), dx.data_ptr<T>()))
                return dx;
        input_grad_by_patches(s, gv.data(), w.data(), dx.data_ptr<T>());
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
                detail::onednn_conv_backward_weights(spec(s), gv.data(), xv.data(), dw.data_ptr<T>()))
                return dw;
        weight_grad_by_patches(s, gv.data(), xv.data(), dw.data_ptr<T>());
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
