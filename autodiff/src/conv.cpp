// Convolution and pooling. conv2d and its two gradients (with respect to the
// input and to the weight) are three ops, each one's VJP made of the others;
// each runs image by image: patches gathered into a cached buffer, one GEMM.
// im2col and col2im (each the other's VJP) serve the pools and the course.
#include <retrograd/conv.hpp>

#include "op_defs.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

namespace rg {
namespace {

struct Geometry {
    std::size_t n, c, h, w, kh, kw, oh, ow;
    Conv2dOptions o;
};

// `take ? a : b` through bit masks: compilers turn the ternary on floats
// into a branch, which mispredicts half the time on max-pooled activations.
template <class T> T select(bool take, T a, T b) {
    using Bits = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;
    static_assert(sizeof(T) == sizeof(Bits));
    const Bits mask = Bits{0} - static_cast<Bits>(take);
    return std::bit_cast<T>(static_cast<Bits>((std::bit_cast<Bits>(a) & mask) | (std::bit_cast<Bits>(b) & ~mask)));
}

Geometry geometry(const Shape& image, Size2 kernel, const Conv2dOptions& o, const char* op) {
    if (image.size() != 4) fail("{}: expected an NCHW tensor of rank 4, got shape {}", op, shape_str(image));
    if (kernel[0] == 0 || kernel[1] == 0 || o.stride[0] == 0 || o.stride[1] == 0 || o.dilation[0] == 0 ||
        o.dilation[1] == 0)
        fail("{}: kernel ({}, {}), stride ({}, {}) and dilation ({}, {}) must be positive", op, kernel[0], kernel[1],
             o.stride[0], o.stride[1], o.dilation[0], o.dilation[1]);
    Geometry g{image[0], image[1], image[2], image[3], kernel[0], kernel[1], 0, 0, o};
    g.oh = conv_output_size(g.h, g.kh, o.stride[0], o.padding[0], o.dilation[0], op);
    g.ow = conv_output_size(g.w, g.kw, o.stride[1], o.padding[1], o.dilation[1], op);
    return g;
}

// Walks the (patch row, output pixel) pairs that fall inside the image as
// runs: f(column_offset, image_offset, count, image_step) covers `count`
// consecutive output pixels of one output row, reading the image every
// `image_step` elements. Positions in the padding are never visited.
template <class F> void for_each_run(const Geometry& g, F f) {
    const std::size_t rows = g.c * g.kh * g.kw, cols = g.oh * g.ow;
    const long w = static_cast<long>(g.w), sw = static_cast<long>(g.o.stride[1]);
    for (std::size_t n = 0; n < g.n; ++n) {
        for (std::size_t c = 0; c < g.c; ++c) {
            const std::size_t img_base = (n * g.c + c) * g.h * g.w;
            for (std::size_t i = 0; i < g.kh; ++i) {
                for (std::size_t j = 0; j < g.kw; ++j) {
                    const std::size_t col_base = (n * rows + (c * g.kh + i) * g.kw + j) * cols;
                    // ix = x * sw + shift lies in [0, w) for x in [x_lo, x_hi).
                    const long shift = static_cast<long>(j * g.o.dilation[1]) - static_cast<long>(g.o.padding[1]);
                    const long x_lo = shift >= 0 ? 0 : (-shift + sw - 1) / sw;
                    const long x_hi = std::min(static_cast<long>(g.ow), w - shift <= 0 ? 0 : (w - shift + sw - 1) / sw);
                    if (x_hi <= x_lo) continue;
                    for (std::size_t y = 0; y < g.oh; ++y) {
                        const long iy = static_cast<long>(y * g.o.stride[0] + i * g.o.dilation[0]) -
                                        static_cast<long>(g.o.padding[0]);
                        if (iy < 0 || iy >= static_cast<long>(g.h)) continue;
                        f(col_base + y * g.ow + static_cast<std::size_t>(x_lo),
                          img_base + static_cast<std::size_t>(iy * w + x_lo * sw + shift),
                          static_cast<std::size_t>(x_hi - x_lo), static_cast<std::size_t>(sw));
                    }
                }
            }
        }
    }
}

// One run of for_each_run, image to columns and back; unit steps (stride 1,
// the usual case) get their own loops, which vectorise.
template <class T>
void copy_run(const T* __restrict image, std::size_t step, T* __restrict columns, std::size_t count) {
    constexpr std::size_t block = 8;
    if (step == 1 && count >= block) {
        // Fixed-size copies compile to a few vector moves; a loop of `count`
        // becomes a call to memmove, which costs more than these short runs.
        // The last block may overlap the one before: it writes the same values.
        for (std::size_t k = 0; k + block < count; k += block) std::memcpy(columns + k, image + k, block * sizeof(T));
        std::memcpy(columns + count - block, image + count - block, block * sizeof(T));
    } else if (step == 1)
        for (std::size_t k = 0; k < count; ++k) columns[k] = image[k];
    else
        for (std::size_t k = 0; k < count; ++k) columns[k] = image[k * step];
}
template <class T> void add_run(const T* __restrict columns, T* __restrict image, std::size_t step, std::size_t count) {
    if (step == 1)
        for (std::size_t k = 0; k < count; ++k) image[k] += columns[k];
    else
        for (std::size_t k = 0; k < count; ++k) image[k * step] += columns[k];
}

// The patch columns of every image of `g` (each C*kh*kw rows of OH*OW), the
// entries that fall in the padding zero.
template <class T> void gather_patches(const Geometry& g, const T* images, T* columns) {
    if (g.o.padding != Size2{0, 0}) std::fill_n(columns, g.n * g.c * g.kh * g.kw * g.oh * g.ow, T{0});
    for_each_run(g, [&](std::size_t col, std::size_t img, std::size_t count, std::size_t step) {
        copy_run(images + img, step, columns + col, count);
    });
}

// The adjoint: adds patch columns back into `images` (zeroed by the caller).
template <class T> void scatter_patches(const Geometry& g, const T* columns, T* images) {
    for_each_run(g, [&](std::size_t col, std::size_t img, std::size_t count, std::size_t step) {
        add_run(columns + col, images + img, step, count);
    });
}

}  // namespace

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
    if (!needs_grad(x)) return out;
    return record(im2col_def, out, {x}, [image = x.shape(), kernel, options](const Tensor& grad) {
        return GradList{col2im(grad, image, kernel, options)};
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
    if (!needs_grad(columns)) return out;
    return record(col2im_def, out, {columns},
                  [kernel, options](const Tensor& grad) { return GradList{im2col(grad, kernel, options)}; });
}

namespace {

// The shapes every convolution op agrees on, checked once.
struct ConvShapes {
    Geometry g;
    std::size_t out_channels, patch, pixels;
};

ConvShapes conv_shapes(const Shape& image, const Shape& weight, Conv2dOptions options, const char* op) {
    if (image.size() != 4 || weight.size() != 4)
        fail("{}: expected input (N, C, H, W) and weight (O, C, kh, kw), got {} and {}", op, shape_str(image),
             shape_str(weight));
    if (weight[1] != image[1])
        fail("{}: input has {} channels but weight {} expects {}", op, image[1], shape_str(weight), weight[1]);
    const Geometry g = geometry(image, {weight[2], weight[3]}, options, op);
    return {g, weight[0], g.c * g.kh * g.kw, g.oh * g.ow};
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
    explicit ImagePatches(const Geometry& g) : g_(g), single_(g) {
        single_.n = 1;
        identity_ = g.kh == 1 && g.kw == 1 && g.o.stride == Size2{1, 1} && g.o.padding == Size2{0, 0};
        if (!identity_) buffer_.resize(g.c * g.kh * g.kw * g.oh * g.ow);
    }
    std::size_t image_size() const { return g_.c * g_.h * g_.w; }
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
    Geometry g_, single_;
    bool identity_ = false;
    std::vector<T> buffer_;
};

bool takes_part(const Tensor& t) { return t.defined() && needs_grad(t); }

}  // namespace

const OpDef& conv2d_def =
    define_op({.name = "conv2d",
               .signature = "conv2d(x, weight, bias = {}, options)",
               .doc = "2-D cross-correlation of NCHW images with OIHW filters, bias optional",
               .rule = "dX = conv2d_input_grad(G, W) (the transposed convolution), dW = conv2d_weight_grad(G, X) (G "
                       "times the patches of X), db = G summed over images and pixels",
               .kind = OpKind::nn,
               .call =
                   [](const TensorList& v) {
                       return conv2d(v[0], v[1], v[2], {.stride = {1, 2}, .padding = {1, 1}});
                   },
               .samples = {{{Shape{2, 2, 4, 5}, Shape{3, 2, 3, 2}, Shape{3}}, -2.0, 2.0}}});
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions options) {
    detail::defined_or_fail(x, "conv2d");
    detail::defined_or_fail(weight, "conv2d");
    const ConvShapes s = conv_shapes(x.shape(), weight.shape(), options, "conv2d");
    if (bias.defined() && bias.shape() != Shape{s.out_channels})
        fail("conv2d: bias has shape {}, expected ({},)", shape_str(bias.shape()), s.out_channels);
    detail::check_same_dtype(x, weight, "conv2d");
    if (bias.defined()) detail::check_same_dtype(x, bias, "conv2d");

    // Per image: its patches, then one GEMM into the NCHW output, which
    // starts from the bias so that the GEMM adds onto it.
    Tensor out = detail::visit_float2(x, weight, "conv2d", [&](const auto& xv, const auto& w) {
        using T = typename std::decay_t<decltype(xv)>::value_type;
        Tensor y = detail::empty_dense<T>(Shape{s.g.n, s.out_channels, s.g.oh, s.g.ow}, "conv2d");
        T* values = y.data_ptr<T>();
        ImagePatches<T> patches(s.g);
        // Held for the loop: for a strided bias, Dense is a copy that must outlive its pointer.
        std::optional<detail::Dense<T>> bias_values;
        if (bias.defined()) bias_values.emplace(bias);
        const T* b = bias_values ? bias_values->data() : nullptr;
        for (std::size_t n = 0; n < s.g.n; ++n) {
            T* dst = values + n * s.out_channels * s.pixels;
            if (b)
                for (std::size_t o = 0; o < s.out_channels; ++o) std::fill_n(dst + o * s.pixels, s.pixels, b[o]);
            detail::product(false, false, s.out_channels, s.pixels, s.patch, w.data(), s.patch,
                            patches.gather(xv.data() + n * patches.image_size()), s.pixels, dst, b != nullptr);
        }
        return y;
    });
    if (!needs_grad({x, weight, bias})) return out;
    // Each gradient is itself a convolution op with its own VJP, so second
    // order works; an input that needs no gradient costs nothing.
    return record(conv2d_def, out, {x, weight, bias},
                  [sx = SavedTensor(x, "conv2d"), sw = SavedTensor(weight, "conv2d"), options, x_part = takes_part(x),
                   w_part = takes_part(weight), b_part = takes_part(bias)](const Tensor& grad) {
                      const Tensor x = sx.unpack(), weight = sw.unpack();
                      return GradList{x_part ? conv2d_input_grad(grad, weight, x.shape(), options) : Tensor{},
                                      w_part ? conv2d_weight_grad(grad, x, weight.shape(), options) : Tensor{},
                                      b_part ? sum(grad, {0, 2, 3}) : Tensor{}};
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
    // Per image: the patch gradients Wᵀ G, summed back into the image while
    // they are still in cache.
    Tensor out = detail::visit_float2(grad, weight, "conv2d_input_grad", [&](const auto& gv, const auto& w) {
        using T = typename std::decay_t<decltype(gv)>::value_type;
        Tensor dx = detail::empty_dense<T>(input_shape, "conv2d_input_grad");
        T* o = dx.data_ptr<T>();
        ImagePatches<T> patches(s.g);
        for (std::size_t n = 0; n < s.g.n; ++n) {
            T* image = o + n * patches.image_size();
            std::fill_n(image, patches.image_size(), T{0});
            detail::product(true, false, s.patch, s.pixels, s.out_channels, w.data(), s.patch,
                            gv.data() + n * s.out_channels * s.pixels, s.pixels, patches.scratch(image), false);
            patches.scatter_add_to(image);
        }
        return dx;
    });
    if (!needs_grad(grad, weight)) return out;
    // dX = col2im(Wᵀ G) is linear in G and in W: for an incoming U, G gets
    // W im2col(U) = conv2d(U, W) and W gets G im2col(U)ᵀ.
    return record(conv2d_input_grad_def, out, {grad, weight},
                  [sg = SavedTensor(grad, "conv2d_input_grad"), sw = SavedTensor(weight, "conv2d_input_grad"), options,
                   g_part = takes_part(grad), w_part = takes_part(weight)](const Tensor& u) {
                      const Tensor grad = sg.unpack(), weight = sw.unpack();
                      return GradList{g_part ? conv2d(u, weight, {}, options) : Tensor{},
                                      w_part ? conv2d_weight_grad(grad, u, weight.shape(), options) : Tensor{}};
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
    // Σ over images of G im2col(X)ᵀ, each image's patches built in cache.
    // Both factors run along the pixels, so one of them is read transposed:
    // the smaller, G (O rows) or the patches (C*kh*kw rows). For G, the sum
    // is taken as dWᵀ = Σ im2col(X) Gᵀ and transposed at the end.
    Tensor out = detail::visit_float2(grad, x, "conv2d_weight_grad", [&](const auto& gv, const auto& xv) {
        using T = typename std::decay_t<decltype(gv)>::value_type;
        Tensor dw = detail::empty_dense<T>(weight_shape, "conv2d_weight_grad");
        T* o = dw.data_ptr<T>();
        if (s.g.n == 0) std::fill_n(o, dw.numel(), T{0});
        ImagePatches<T> patches(s.g);
        const bool transpose_grad = s.out_channels < s.patch;
        std::vector<T> dw_t(transpose_grad ? s.patch * s.out_channels : 0, T{0});
        for (std::size_t n = 0; n < s.g.n; ++n) {
            const T* g_n = gv.data() + n * s.out_channels * s.pixels;
            const T* cols = patches.gather(xv.data() + n * patches.image_size());
            if (transpose_grad)
                detail::product(false, true, s.patch, s.out_channels, s.pixels, cols, s.pixels, g_n, s.pixels,
                                dw_t.data(), n > 0);
            else
                detail::product(false, true, s.out_channels, s.patch, s.pixels, g_n, s.pixels, cols, s.pixels, o,
                                n > 0);
        }
        if (transpose_grad)
            for (std::size_t c = 0; c < s.out_channels; ++c)
                for (std::size_t r = 0; r < s.patch; ++r) o[c * s.patch + r] = dw_t[r * s.out_channels + c];
        return dw;
    });
    if (!needs_grad(grad, x)) return out;
    // dW = Σ G im2col(X)ᵀ, linear in G and in X: for an incoming V, G gets
    // V im2col(X) = conv2d(X, V) and X gets col2im(Vᵀ G).
    return record(conv2d_weight_grad_def, out, {grad, x},
                  [sg = SavedTensor(grad, "conv2d_weight_grad"), sx = SavedTensor(x, "conv2d_weight_grad"), options,
                   g_part = takes_part(grad), x_part = takes_part(x)](const Tensor& v) {
                      const Tensor grad = sg.unpack(), x = sx.unpack();
                      return GradList{g_part ? conv2d(x, v, {}, options) : Tensor{},
                                      x_part ? conv2d_input_grad(grad, v, x.shape(), options) : Tensor{}};
                  });
}

namespace {
// A pool's windows are a convolution's: the stride defaults to the kernel.
Conv2dOptions pool_as_conv(Size2 kernel, const Pool2dOptions& options) {
    return {{options.stride[0] ? options.stride[0] : kernel[0], options.stride[1] ? options.stride[1] : kernel[1]},
            options.padding,
            {1, 1}};
}
// Where each window's maximum sits in its image plane, one entry per output.
using PoolIndex = std::vector<std::int32_t>;

// The first NaN wins, as in PyTorch: it propagates.
template <class T> bool replaces(T candidate, T best) {
    return (candidate > best) | ((candidate != candidate) & (best == best));
}

// The common 2x2 window with stride 2 and no padding, one image plane: the
// four candidates of a window side by side, no loop over window offsets.
template <class T>
void max_pool_2x2(const T* image, std::int32_t w, std::int32_t oh, std::int32_t ow, T* out, std::int32_t* at_max) {
    for (std::int32_t y = 0; y < oh; ++y, out += ow, at_max += ow) {
        const T* top = image + 2 * y * w;
        const T* bottom = top + w;
        for (std::int32_t x = 0; x < ow; ++x) {
            const std::int32_t left = 2 * x;
            const std::int32_t at = 2 * y * w + left;
            T best = top[left];
            std::int32_t best_at = at;
            const T candidates[3] = {top[left + 1], bottom[left], bottom[left + 1]};
            const std::int32_t offsets[3] = {1, w, w + 1};
            for (int k = 0; k < 3; ++k) {
                const bool take = replaces(candidates[k], best);
                best = select(take, candidates[k], best);
                best_at = select(take, at + offsets[k], best_at);
            }
            out[x] = best;
            at_max[x] = best_at;
        }
    }
}

bool two_by_two(const Geometry& g) {
    return g.kh == 2 && g.kw == 2 && g.o.stride == Size2{2, 2} && g.o.padding == Size2{0, 0};
}

// The VJP of max_pool_2x2 where the windows tile the plane (even sides): each
// window gets its output's gradient at its maximum and zeros elsewhere.
template <class T>
void unpool_2x2(const T* grad, const std::int32_t* at_max, std::size_t oh, std::size_t ow, T* plane) {
    const auto w = static_cast<std::int32_t>(2 * ow);
    for (std::size_t y = 0; y < oh; ++y) {
        T* top = plane + 2 * y * w;
        T* bottom = top + w;
        for (std::size_t x = 0; x < ow; ++x, ++grad, ++at_max) {
            const auto at = static_cast<std::int32_t>(2 * y * w + 2 * x);
            top[2 * x] = select(*at_max == at, *grad, T{0});
            top[2 * x + 1] = select(*at_max == at + 1, *grad, T{0});
            bottom[2 * x] = select(*at_max == at + w, *grad, T{0});
            bottom[2 * x + 1] = select(*at_max == at + w + 1, *grad, T{0});
        }
    }
}

// Any window, stride and padding, one image plane.
template <class T> void max_pool_plane(const T* image, const Geometry& g, T* out, std::int32_t* at_max) {
    const long h = static_cast<long>(g.h), w = static_cast<long>(g.w);
    const long sy = static_cast<long>(g.o.stride[0]), sx = static_cast<long>(g.o.stride[1]);
    const long py = static_cast<long>(g.o.padding[0]), px = static_cast<long>(g.o.padding[1]);
    const long kh = static_cast<long>(g.kh), kw = static_cast<long>(g.kw);
    const long oh = static_cast<long>(g.oh), ow = static_cast<long>(g.ow);
    for (long y = 0; y < oh; ++y, out += ow, at_max += ow) {
        if (py == 0 && px == 0) {
            // Every window is inside the image: sweep the window's offsets
            // outermost, so the outputs of a row are independent updates the
            // CPU overlaps.
            for (long xo = 0; xo < ow; ++xo) {
                at_max[xo] = static_cast<std::int32_t>(y * sy * w + xo * sx);
                out[xo] = image[at_max[xo]];
            }
            for (long i = 0; i < kh; ++i) {
                for (long j = 0; j < kw; ++j) {
                    const long base = (y * sy + i) * w + j;
                    for (long xo = 0; xo < ow; ++xo) {
                        const auto at = static_cast<std::int32_t>(base + xo * sx);
                        const T v = image[at];
                        const bool take = replaces(v, out[xo]);
                        out[xo] = select(take, v, out[xo]);
                        at_max[xo] = select(take, at, at_max[xo]);
                    }
                }
            }
            continue;
        }
        const long top = y * sy - py;
        const long y0 = std::max(top, 0L), y1 = std::min(top + kh, h);
        for (long xo = 0; xo < ow; ++xo) {
            const long left = xo * sx - px;
            const long x0 = std::max(left, 0L), x1 = std::min(left + kw, w);
            auto best_at = static_cast<std::int32_t>(y0 * w + x0);  // padding is at most half the kernel: never empty
            T best = image[best_at];
            for (long iy = y0; iy < y1; ++iy) {
                for (long ix = x0; ix < x1; ++ix) {
                    const auto at = static_cast<std::int32_t>(iy * w + ix);
                    const bool take = replaces(image[at], best);
                    best = select(take, image[at], best);
                    best_at = select(take, at, best_at);
                }
            }
            out[xo] = best;
            at_max[xo] = best_at;
        }
    }
}

}  // namespace

const OpDef& max_pool2d_def = define_op({.name = "max_pool2d",
                                         .signature = "max_pool2d(x, kernel, options)",
                                         .doc = "maximum over each window of NCHW images",
                                         .rule = "dx = g routed to the largest element of each window, 0 elsewhere",
                                         .kind = OpKind::nn,
                                         .call =
                                             [](const TensorList& v) {
                                                 return max_pool2d(v[0], {2, 2});
                                             },
                                         .samples = {{{Shape{2, 2, 4, 6}}, -2.0, 2.0}}});
Tensor max_pool2d(const Tensor& x, Size2 kernel, Pool2dOptions options) {
    detail::defined_or_fail(x, "max_pool2d");
    const Conv2dOptions conv = pool_as_conv(kernel, options);
    const Geometry g = geometry(x.shape(), kernel, conv, "max_pool2d");
    if (2 * options.padding[0] > kernel[0] || 2 * options.padding[1] > kernel[1])
        fail("max_pool2d: padding ({}, {}) must be at most half the kernel ({}, {})", options.padding[0],
             options.padding[1], kernel[0], kernel[1]);
    if (g.h * g.w > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
        fail("max_pool2d: image planes of {}x{} pixels exceed the 2^31 positions the pool indexes", g.h, g.w);
    // One pass finds each window's maximum and its position; the VJP sends
    // the gradient to those positions. Comparisons are written as selects:
    // max-pooling random activations with branches mispredicts on every
    // other element.
    const std::size_t planes = g.n * g.c, plane_in = g.h * g.w, plane_out = g.oh * g.ow;
    auto where = std::make_shared<PoolIndex>(planes * plane_out);
    const bool windows_2x2 = two_by_two(g);
    Tensor out = detail::visit_float(x, "max_pool2d", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        Tensor pooled = detail::empty_dense<T>(Shape{g.n, g.c, g.oh, g.ow}, "max_pool2d");
        T* o = pooled.data_ptr<T>();
        for (std::size_t p = 0; p < planes; ++p) {
            const T* image = a.data() + p * plane_in;
            T* dst = o + p * plane_out;
            std::int32_t* at_max = where->data() + p * plane_out;
            if (windows_2x2)
                max_pool_2x2(image, static_cast<std::int32_t>(g.w), static_cast<std::int32_t>(g.oh),
                             static_cast<std::int32_t>(g.ow), dst, at_max);
            else
                max_pool_plane(image, g, dst, at_max);
        }
        return pooled;
    });
    if (!needs_grad(x)) return out;
    const bool tiles_plane = windows_2x2 && g.h % 2 == 0 && g.w % 2 == 0;
    return record(max_pool2d_def, out, {x},
                  [g, tiles_plane, planes, plane_in, plane_out,
                   where = std::shared_ptr<const PoolIndex>(std::move(where))](const Tensor& grad) {
                      const Shape image{g.n, g.c, g.h, g.w};
                      if (needs_grad(grad)) {
                          // Second order: scatter_add, whose VJP gathers from the same positions.
                          Tensor index = detail::empty_dense<std::int64_t>(Shape{g.n, g.c, plane_out}, "max_pool2d");
                          std::copy(where->begin(), where->end(), index.data_ptr<std::int64_t>());
                          Tensor flat = reshape(grad, Shape{g.n, g.c, plane_out});
                          return GradList{reshape(scatter_add(flat, Shape{g.n, g.c, plane_in}, 2, index), image)};
                      }
                      return GradList{detail::visit_float(grad, "max_pool2d", [&](const auto& gv) {
                          using T = typename std::decay_t<decltype(gv)>::value_type;
                          Tensor dx = detail::empty_dense<T>(image, "max_pool2d");
                          T* o = dx.data_ptr<T>();
                          if (tiles_plane) {
                              // The windows cover every input once: write each window whole.
                              for (std::size_t p = 0; p < planes; ++p)
                                  unpool_2x2(gv.data() + p * plane_out, where->data() + p * plane_out, g.oh, g.ow,
                                             o + p * plane_in);
                              return dx;
                          }
                          std::fill_n(o, dx.numel(), T{0});
                          for (std::size_t p = 0; p < planes; ++p) {
                              T* plane = o + p * plane_in;
                              const T* from = gv.data() + p * plane_out;
                              const std::int32_t* at = where->data() + p * plane_out;
                              for (std::size_t k = 0; k < plane_out; ++k) plane[at[k]] += from[k];
                          }
                          return dx;
                      })};
                  });
}

const OpDef& avg_pool2d_def = define_op({.name = "avg_pool2d",
                                         .signature = "avg_pool2d(x, kernel, options)",
                                         .doc = "mean over each window of NCHW images",
                                         .rule = "composite: mean of im2col",
                                         .kind = OpKind::nn,
                                         .call =
                                             [](const TensorList& v) {
                                                 return avg_pool2d(v[0], {2, 3}, {.stride = {1, 1}});
                                             },
                                         .samples = {{{Shape{2, 2, 4, 5}}, -2.0, 2.0}},
                                         .composite = true});
Tensor avg_pool2d(const Tensor& x, Size2 kernel, Pool2dOptions options) {
    detail::defined_or_fail(x, "avg_pool2d");
    const Conv2dOptions conv = pool_as_conv(kernel, options);
    const Geometry g = geometry(x.shape(), kernel, conv, "avg_pool2d");
    Tensor planes = reshape(x, Shape{g.n * g.c, 1, g.h, g.w});
    Tensor windows = mean(im2col(planes, kernel, conv), {1});  // (N*C, OH*OW)
    return reshape(windows, Shape{g.n, g.c, g.oh, g.ow});
}

void detail::link_conv() {}  // see registry.cpp

}  // namespace rg
