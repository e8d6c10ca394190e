// Convolution and pooling: im2col and col2im are the primitives (each the
// other's VJP); conv2d and the pools are built from them, gemm and gather.
#include <bit>
#include <cstdint>
#include <retrograd/conv.hpp>

#include "kernels.hpp"

#include <limits>

namespace rg {
namespace {

struct Geometry {
    std::size_t n, c, h, w, kh, kw, oh, ow;
    Conv2dOptions o;
};

// `take ? a : b` through bit masks: compilers turn the ternary on floats
// into a branch, which mispredicts half the time on max-pooled activations.
template <class T>
T select(bool take, T a, T b) {
    using Bits = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;
    static_assert(sizeof(T) == sizeof(Bits));
    const Bits mask = Bits{0} - static_cast<Bits>(take);
    return std::bit_cast<T>(static_cast<Bits>((std::bit_cast<Bits>(a) & mask) | (std::bit_cast<Bits>(b) & ~mask)));
}

Geometry geometry(const Shape& image, Size2 kernel, const Conv2dOptions& o, const char* op) {
    if (image.size() != 4)
        fail("{}: expected an NCHW tensor of rank 4, got shape {}", op, shape_str(image));
    if (kernel[0] == 0 || kernel[1] == 0 || o.stride[0] == 0 || o.stride[1] == 0 || o.dilation[0] == 0 ||
        o.dilation[1] == 0)
        fail("{}: kernel ({}, {}), stride ({}, {}) and dilation ({}, {}) must be positive", op, kernel[0],
             kernel[1], o.stride[0], o.stride[1], o.dilation[0], o.dilation[1]);
    Geometry g{image[0], image[1], image[2], image[3], kernel[0], kernel[1], 0, 0, o};
    g.oh = conv_output_size(g.h, g.kh, o.stride[0], o.padding[0], o.dilation[0], op);
    g.ow = conv_output_size(g.w, g.kw, o.stride[1], o.padding[1], o.dilation[1], op);
    return g;
}

// Walks the (patch row, output pixel) pairs that fall inside the image as
// runs: f(column_offset, image_offset, count, image_step) covers `count`
// consecutive output pixels of one output row, reading the image every
// `image_step` elements. Positions in the padding are never visited.
template <class F>
void for_each_run(const Geometry& g, F f) {
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

}  // namespace

std::size_t conv_output_size(std::size_t input, std::size_t kernel, std::size_t stride, std::size_t padding,
                             std::size_t dilation, const char* op) {
    const long span = static_cast<long>(dilation * (kernel - 1) + 1);
    const long padded = static_cast<long>(input + 2 * padding);
    if (padded < span)
        fail("{}: the kernel spans {} pixels but the padded input has only {} (input {}, padding {})", op, span,
             padded, input, padding);
    return static_cast<std::size_t>((padded - span) / static_cast<long>(stride) + 1);
}

Tensor im2col(const Tensor& x, Size2 kernel, Conv2dOptions options) {
    detail::defined_or_fail(x, "im2col");
    const Geometry g = geometry(x.shape(), kernel, options, "im2col");
    const Shape shape{g.n, g.c * g.kh * g.kw, g.oh * g.ow};
    Tensor out = detail::visit_float(x, "im2col", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        xt::xarray<T> cols(shape);
        // Without padding every column entry is written below.
        if (options.padding[0] != 0 || options.padding[1] != 0) std::fill(cols.begin(), cols.end(), T{0});
        T* dst = cols.data();
        const T* src = a.data();
        for_each_run(g, [&](std::size_t col, std::size_t img, std::size_t count, std::size_t step) {
            for (std::size_t k = 0; k < count; ++k) dst[col + k] = src[img + k * step];
        });
        return Tensor(std::move(cols));
    });
    if (!needs_grad(x)) return out;
    return record("im2col", out, {x}, [image = x.shape(), kernel, options](const Tensor& grad) {
        return TensorList{col2im(grad, image, kernel, options)};
    });
}

Tensor col2im(const Tensor& columns, const Shape& image_shape, Size2 kernel, Conv2dOptions options) {
    detail::defined_or_fail(columns, "col2im");
    const Geometry g = geometry(image_shape, kernel, options, "col2im");
    const Shape expected{g.n, g.c * g.kh * g.kw, g.oh * g.ow};
    if (columns.shape() != expected)
        fail("col2im: columns have shape {}, expected {} for image {}", shape_str(columns.shape()),
             shape_str(expected), shape_str(image_shape));
    Tensor out = detail::visit_float(columns, "col2im", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        xt::xarray<T> image(image_shape);
        std::fill(image.begin(), image.end(), T{0});
        T* dst = image.data();
        const T* src = a.data();
        for_each_run(g, [&](std::size_t col, std::size_t img, std::size_t count, std::size_t step) {
            for (std::size_t k = 0; k < count; ++k) dst[img + k * step] += src[col + k];
        });
        return Tensor(std::move(image));
    });
    if (!needs_grad(columns)) return out;
    return record("col2im", out, {columns}, [kernel, options](const Tensor& grad) {
        return TensorList{im2col(grad, kernel, options)};
    });
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions options) {
    detail::defined_or_fail(x, "conv2d");
    detail::defined_or_fail(weight, "conv2d");
    if (x.dim() != 4 || weight.dim() != 4)
        fail("conv2d: expected input (N, C, H, W) and weight (O, C, kh, kw), got {} and {}", shape_str(x.shape()),
             shape_str(weight.shape()));
    const std::size_t out_channels = weight.shape()[0];
    if (weight.shape()[1] != x.shape()[1])
        fail("conv2d: input has {} channels but weight {} expects {}", x.shape()[1], shape_str(weight.shape()),
             weight.shape()[1]);
    if (bias.defined() && bias.shape() != Shape{out_channels})
        fail("conv2d: bias has shape {}, expected ({},)", shape_str(bias.shape()), out_channels);
    detail::check_same_dtype(x, weight, "conv2d");
    if (bias.defined()) detail::check_same_dtype(x, bias, "conv2d");
    const Size2 kernel{weight.shape()[2], weight.shape()[3]};
    const Geometry g = geometry(x.shape(), kernel, options, "conv2d");
    const std::size_t patch = g.c * g.kh * g.kw, pixels = g.oh * g.ow;

    // Forward: one GEMM per image, written straight into the NCHW output,
    // then the bias in the same buffer.
    Tensor cols = im2col(x, kernel, options);  // (N, C*kh*kw, L), recorded when x needs grad
    Tensor out = detail::visit_float2(cols, weight, "conv2d", [&](const auto& c, const auto& w) {
        using T = typename std::decay_t<decltype(c)>::value_type;
        xt::xarray<T> y(Shape{g.n, out_channels, g.oh, g.ow});
        for (std::size_t n = 0; n < g.n; ++n)
            detail::product(false, false, out_channels, pixels, patch, w.data(), patch, c.data() + n * patch * pixels, pixels,
                    y.data() + n * out_channels * pixels, false);
        if (bias.defined()) {
            const T* b = bias.value<T>().data();
            T* dst = y.data();
            for (std::size_t n = 0; n < g.n; ++n)
                for (std::size_t o = 0; o < out_channels; ++o, dst += pixels)
                    for (std::size_t i = 0; i < pixels; ++i) dst[i] += b[o];
        }
        return Tensor(std::move(y));
    });
    if (!needs_grad({x, weight, bias})) return out;
    // VJP: dX = col2im(Wᵀ G) (the full convolution with the rotated filter),
    // dW = G colsᵀ (the correlation of X with G), db = Σ G. All tape ops, and
    // cols carries x's history, so second order works.
    return record("conv2d", out, {x, weight, bias},
                  [cols, weight, x_shape = x.shape(), kernel, options, out_channels, patch, pixels,
                   has_bias = bias.defined()](Tensor grad) {
                      const Shape w_shape = weight.shape();
                      Tensor g3 = reshape(std::move(grad), Shape{x_shape[0], out_channels, pixels});
                      Tensor gb = has_bias ? sum(g3, {0, 2}) : Tensor{};
                      Tensor gw = reshape(gemm_sum(g3, cols, false, true), w_shape);
                      Tensor w2d = reshape(weight, Shape{out_channels, patch});
                      Tensor gx = col2im(gemm(w2d, g3, true, false), x_shape, kernel, options);
                      return TensorList{gx, gw, gb};
                  });
}

namespace {
// A pool's windows are a convolution's: the stride defaults to the kernel.
Conv2dOptions pool_as_conv(Size2 kernel, const Pool2dOptions& options) {
    return {{options.stride[0] ? options.stride[0] : kernel[0], options.stride[1] ? options.stride[1] : kernel[1]},
            options.padding,
            {1, 1}};
}
}  // namespace

Tensor max_pool2d(const Tensor& x, Size2 kernel, Pool2dOptions options) {
    detail::defined_or_fail(x, "max_pool2d");
    const Conv2dOptions conv = pool_as_conv(kernel, options);
    const Geometry g = geometry(x.shape(), kernel, conv, "max_pool2d");
    if (2 * options.padding[0] > kernel[0] || 2 * options.padding[1] > kernel[1])
        fail("max_pool2d: padding ({}, {}) must be at most half the kernel ({}, {})", options.padding[0],
             options.padding[1], kernel[0], kernel[1]);
    // One pass finds each window's maximum and its position; the VJP sends the
    // gradient to those positions (a scatter_add, itself differentiable).
    // The comparisons are written as selects: max-pooling random activations
    // with branches mispredicts on every other element.
    xt::xarray<std::int64_t> where(Shape{g.n, g.c, g.oh * g.ow});
    Tensor out = detail::visit_float(x, "max_pool2d", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        xt::xarray<T> pooled(Shape{g.n, g.c, g.oh, g.ow});
        const T* src = a.data();
        T* dst = pooled.data();
        std::int64_t* at_max = where.data();
        const Geometry geo = g;  // a local copy: the stores below cannot alias it
        const long h = static_cast<long>(geo.h), w = static_cast<long>(geo.w);
        const long sy = static_cast<long>(conv.stride[0]), sx = static_cast<long>(conv.stride[1]);
        const long py = static_cast<long>(conv.padding[0]), px = static_cast<long>(conv.padding[1]);
        const long kh = static_cast<long>(geo.kh), kw = static_cast<long>(geo.kw);
        const long oh = static_cast<long>(geo.oh), ow = static_cast<long>(geo.ow);
        for (std::size_t plane = 0; plane < geo.n * geo.c; ++plane) {
            const T* image = src + plane * geo.h * geo.w;
            for (long y = 0; y < oh; ++y, dst += ow, at_max += ow) {
                if (py == 0 && px == 0) {
                    // Every window is inside the image: sweep the window's
                    // offsets outermost, so the outputs of a row are
                    // independent updates the CPU overlaps.
                    for (long xo = 0; xo < ow; ++xo) {
                        at_max[xo] = y * sy * w + xo * sx;
                        dst[xo] = image[at_max[xo]];
                    }
                    for (long i = 0; i < kh; ++i) {
                        for (long j = 0; j < kw; ++j) {
                            const long base = (y * sy + i) * w + j;
                            for (long xo = 0; xo < ow; ++xo) {
                                const long at = base + xo * sx;
                                const T v = image[at], best = dst[xo];
                                // The first NaN wins, as in PyTorch: it propagates.
                                const bool take = (v > best) | ((v != v) & (best == best));
                                dst[xo] = select(take, v, best);
                                at_max[xo] = select<std::int64_t>(take, at, at_max[xo]);
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
                    long best_at = y0 * w + x0;  // padding is at most half the kernel: never empty
                    T best = image[best_at];
                    for (long iy = y0; iy < y1; ++iy) {
                        for (long ix = x0; ix < x1; ++ix) {
                            const long at = iy * w + ix;
                            const T v = image[at];
                            const bool take = (v > best) | ((v != v) & (best == best));
                            best = select(take, v, best);
                            best_at = select(take, at, best_at);
                        }
                    }
                    dst[xo] = best;
                    at_max[xo] = best_at;
                }
            }
        }
        return Tensor(std::move(pooled));
    });
    if (!needs_grad(x)) return out;
    return record("max_pool2d", out, {x}, [g, index = Tensor(std::move(where))](const Tensor& grad) {
        Tensor flat = reshape(grad, Shape{g.n, g.c, g.oh * g.ow});
        return TensorList{reshape(scatter_add(flat, Shape{g.n, g.c, g.h * g.w}, 2, index), Shape{g.n, g.c, g.h, g.w})};
    });
}

Tensor avg_pool2d(const Tensor& x, Size2 kernel, Pool2dOptions options) {
    detail::defined_or_fail(x, "avg_pool2d");
    const Conv2dOptions conv = pool_as_conv(kernel, options);
    const Geometry g = geometry(x.shape(), kernel, conv, "avg_pool2d");
    Tensor planes = reshape(x, Shape{g.n * g.c, 1, g.h, g.w});
    Tensor windows = mean(im2col(planes, kernel, conv), {1});  // (N*C, OH*OW)
    return reshape(windows, Shape{g.n, g.c, g.oh, g.ow});
}

}  // namespace rg
