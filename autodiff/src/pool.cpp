// Pooling over NCHW images. max_pool2d finds each window's maximum and its
// position in one pass of retrograd's loops (kernels/pool_planes.hpp) and
// keeps the positions for its VJP, or runs oneDNN's pooling, whose workspace
// its VJP keeps instead. avg_pool2d and its gradient, avg_pool2d_backward,
// are each other's VJP (both are linear); float32 runs oneDNN's pooling,
// float64 retrograd's loops.
#include <retrograd/conv.hpp>
#include <retrograd/detail/conv_kernel.hpp>

#include "kernels/copy.hpp"
#include "kernels/onednn.hpp"
#include "kernels/pool_planes.hpp"
#include "kernels/reduce.hpp"
#include "pool_options.hpp"
#include "window_geometry.hpp"

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

namespace rg {

using detail::Geometry;
using detail::geometry;

namespace {
// A pool's windows are a convolution's: the stride defaults to the kernel.
Conv2dOptions pool_as_conv(Size2 kernel, const Pool2dOptions& options) {
    return {{options.stride[0] ? options.stride[0] : kernel[0], options.stride[1] ? options.stride[1] : kernel[1]},
            options.padding,
            {1, 1}};
}
// Where each window's maximum sits in its image plane, one entry per output.
using PoolIndex = std::vector<std::int32_t>;

detail::PoolSpec pool_spec(const Geometry& g) {
    const auto i = [](std::size_t v) { return static_cast<std::int64_t>(v); };
    return {i(g.n),  i(g.c),  i(g.h),           i(g.w),           i(g.kh),           i(g.kw),
            i(g.oh), i(g.ow), i(g.o.stride[0]), i(g.o.stride[1]), i(g.o.padding[0]), i(g.o.padding[1])};
}

// float32 max pooling runs oneDNN's only when forced (conv_kernel.hpp): on
// every shape measured, retrograd's loops were faster, oneDNN's reorders
// and its separate backward pass included (docs/performance.md, "Which
// kernel runs"). A NaN must propagate as in PyTorch, which oneDNN's does not
// do, so inputs holding one take retrograd's loops.
bool max_pool_through_onednn(const Geometry& g, const float* x) {
    if (g.n * g.c * g.oh * g.ow == 0 || g.h * g.w == 0) return false;
    if (detail::forced_conv_kernel() != detail::ConvKernel::onednn) return false;
    return !detail::contains_nan(x, g.n * g.c * g.h * g.w);
}

// The gradient of a max pool to the input positions `where` (one per
// output, within its plane): written directly, or at second order through
// scatter_add, whose VJP gathers from the same positions.
Tensor unpool_at(const Tensor& grad, const Geometry& g, const PoolIndex& where) {
    const Shape image{g.n, g.c, g.h, g.w};
    if (needs_grad(grad)) {
        const std::size_t plane_in = g.h * g.w, plane_out = g.oh * g.ow;
        Tensor index = detail::empty_dense<std::int64_t>(Shape{g.n, g.c, plane_out}, "max_pool2d");
        detail::values_from(where.data(), where.size(), index.data_ptr<std::int64_t>());
        Tensor flat = reshape(grad, Shape{g.n, g.c, plane_out});
        return reshape(scatter_add(flat, Shape{g.n, g.c, plane_in}, 2, index), image);
    }
    return detail::visit_float(grad, "max_pool2d", [&](const auto& gv) {
        using T = typename std::decay_t<decltype(gv)>::value_type;
        Tensor dx = detail::empty_dense<T>(image, "max_pool2d");
        detail::max_unpool(gv.data(), where.data(), g, dx.data_ptr<T>());
        return dx;
    });
}

// max_pool2d through oneDNN: its workspace, kept by the VJP, says where each
// maximum is. At second order the positions are found again from the saved
// input with retrograd's loops.
Tensor max_pool_onednn(const Tensor& x, const float* values, const Geometry& g, std::size_t workspace_bytes);

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
    if (detail::max_pool_needs_composition(options)) return detail::max_pool2d_composed(x, kernel, options);
    const Conv2dOptions conv = pool_as_conv(kernel, options);
    const Geometry g = geometry(x.shape(), kernel, conv, "max_pool2d");
    if (2 * options.padding[0] > kernel[0] || 2 * options.padding[1] > kernel[1])
        fail("max_pool2d: padding ({}, {}) must be at most half the kernel ({}, {})", options.padding[0],
             options.padding[1], kernel[0], kernel[1]);
    if (g.h * g.w > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
        fail("max_pool2d: image planes of {}x{} pixels exceed the 2^31 positions the pool indexes", g.h, g.w);
    if (x.dtype() == Dtype::float32) {
        const detail::Dense<float> a(x);
        if (max_pool_through_onednn(g, a.data()))
            if (const auto bytes = detail::onednn_max_pool_workspace_bytes(pool_spec(g)))
                return max_pool_onednn(x, a.data(), g, *bytes);
    }
    // One pass finds each window's maximum and its position; the VJP sends
    // the gradient to those positions. Comparisons are written as selects:
    // max-pooling random activations with branches mispredicts on every
    // other element.
    auto where = std::make_shared<PoolIndex>(g.n * g.c * g.oh * g.ow);
    Tensor out = detail::visit_float(x, "max_pool2d", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        Tensor pooled = detail::empty_dense<T>(Shape{g.n, g.c, g.oh, g.ow}, "max_pool2d");
        detail::max_pool(a.data(), g, pooled.data_ptr<T>(), where->data());
        return pooled;
    });
    if (!needs_grad(x)) return out;  // the index is not kept
    return record(max_pool2d_def, out, {x}, {},
                  [g, where = std::shared_ptr<const PoolIndex>(std::move(where))](const OpContext&,
                                                                                  const Tensor& grad) {
                      return GradList{unpool_at(grad, g, *where)};
                  });
}

namespace {

Tensor max_pool_onednn(const Tensor& x, const float* values, const Geometry& g, std::size_t workspace_bytes) {
    const detail::PoolSpec spec = pool_spec(g);
    Tensor pooled = detail::empty_dense<float>(Shape{g.n, g.c, g.oh, g.ow}, "max_pool2d");
    // Bytes, held in a float buffer from the caching allocator.
    Tensor workspace = detail::empty_dense<float>(Shape{workspace_bytes / sizeof(float) + 1}, "max_pool2d");
    detail::onednn_max_pool_forward(spec, values, pooled.data_ptr<float>(), workspace.data_ptr<float>());
    if (!needs_grad(x)) return pooled;
    return record(max_pool2d_def, pooled, {x}, {.inputs = {true}},
                  [g, spec, workspace](const OpContext& c, const Tensor& grad) {
                      if (needs_grad(grad)) {
                          const detail::Dense<float> input(c.input(0));
                          PoolIndex where(g.n * g.c * g.oh * g.ow);
                          std::vector<float> unused(where.size());
                          detail::max_pool(input.data(), g, unused.data(), where.data());
                          return GradList{unpool_at(grad, g, where)};
                      }
                      const detail::Dense<float> gv(grad);
                      Tensor dx = detail::empty_dense<float>(Shape{g.n, g.c, g.h, g.w}, "max_pool2d");
                      detail::onednn_max_pool_backward(spec, gv.data(), workspace.data_ptr<float>(),
                                                       dx.data_ptr<float>());
                      return GradList{dx};
                  });
}

}  // namespace

namespace {

// float32 average pooling runs oneDNN's on AVX-512 CPUs, where its pooling
// of NCHW images is a JIT kernel 2 to 4 times faster than retrograd's loops;
// elsewhere oneDNN 2 runs its reference loop there (simple_nchw), which
// measured 2 to 4 times slower than retrograd's forward and no faster
// backward on an AVX2 CPU (docs/performance.md, "Convolutions"). Forcing a
// kernel (conv_kernel.hpp) overrides both.
bool through_onednn(const Geometry& g) {
    if (g.n * g.c * g.oh * g.ow == 0 || g.h * g.w == 0) return false;
    const detail::ConvKernel forced = detail::forced_conv_kernel();
    if (forced != detail::ConvKernel::automatic) return forced == detail::ConvKernel::onednn;
    return detail::onednn_avx512();
}

Tensor avg_pool_values(const Tensor& x, const Geometry& g) {
    return detail::visit_float(x, "avg_pool2d", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        Tensor pooled = detail::empty_dense<T>(Shape{g.n, g.c, g.oh, g.ow}, "avg_pool2d");
        T* o = pooled.data_ptr<T>();
        if constexpr (std::is_same_v<T, float>)
            if (through_onednn(g) && detail::onednn_avg_pool_forward(pool_spec(g), a.data(), o)) return pooled;
        // Padding counts in each window's size (count_include_pad).
        detail::avg_pool(a.data(), g, T{1} / static_cast<T>(g.kh * g.kw), o);
        return pooled;
    });
}

Tensor avg_unpool_values(const Tensor& grad, const Geometry& g) {
    return detail::visit_float(grad, "avg_pool2d_backward", [&](const auto& gv) {
        using T = typename std::decay_t<decltype(gv)>::value_type;
        Tensor dx = detail::empty_dense<T>(Shape{g.n, g.c, g.h, g.w}, "avg_pool2d_backward");
        T* o = dx.data_ptr<T>();
        if constexpr (std::is_same_v<T, float>)
            if (through_onednn(g) && detail::onednn_avg_pool_backward(pool_spec(g), gv.data(), o)) return dx;
        detail::avg_unpool(gv.data(), g, T{1} / static_cast<T>(g.kh * g.kw), o);
        return dx;
    });
}

Geometry avg_geometry(const Shape& image, Size2 kernel, const Pool2dOptions& options, const char* op) {
    const Geometry g = geometry(image, kernel, pool_as_conv(kernel, options), op);
    if (2 * options.padding[0] > kernel[0] || 2 * options.padding[1] > kernel[1])
        fail("{}: padding ({}, {}) must be at most half the kernel ({}, {})", op, options.padding[0],
             options.padding[1], kernel[0], kernel[1]);
    return g;
}

}  // namespace

const OpDef& avg_pool2d_def = define_op({.name = "avg_pool2d",
                                         .signature = "avg_pool2d(x, kernel, options)",
                                         .doc = "mean over each window of NCHW images (padding counted as zeros)",
                                         .rule = "dx = avg_pool2d_backward(g): each output's gradient shared "
                                                 "equally by its window's pixels",
                                         .kind = OpKind::nn,
                                         .call =
                                             [](const TensorList& v) {
                                                 return avg_pool2d(v[0], {2, 3}, {.stride = {1, 2}, .padding = {1, 1}});
                                             },
                                         .samples = {{{Shape{2, 2, 4, 5}}, -2.0, 2.0}}});
Tensor avg_pool2d(const Tensor& x, Size2 kernel, Pool2dOptions options) {
    if (detail::avg_pool_needs_composition(options)) return detail::avg_pool2d_composed(x, kernel, options);
    detail::defined_or_fail(x, "avg_pool2d");
    const Geometry g = avg_geometry(x.shape(), kernel, options, "avg_pool2d");
    return record(avg_pool2d_def, avg_pool_values(x, g), {x}, {},
                  [kernel, options](const OpContext& c, const Tensor& grad) {
                      return GradList{avg_pool2d_backward(grad, c.input_shape(0), kernel, options)};
                  });
}

const OpDef& avg_pool2d_backward_def = define_op(
    {.name = "avg_pool2d_backward",
     .signature = "avg_pool2d_backward(grad, input_shape, kernel, options)",
     .doc = "the gradient of avg_pool2d with respect to its input",
     .rule = "dgrad = avg_pool2d(g) (the op is avg_pool2d's adjoint)",
     .kind = OpKind::backward,
     .call =
         [](const TensorList& v) {
             return avg_pool2d_backward(v[0], Shape{2, 2, 4, 5}, {2, 3}, {.stride = {1, 2}, .padding = {1, 1}});
         },
     .samples = {{{Shape{2, 2, 5, 3}}, -2.0, 2.0}}});
Tensor avg_pool2d_backward(const Tensor& grad, const Shape& input_shape, Size2 kernel, Pool2dOptions options) {
    if (detail::avg_pool_needs_composition(options))
        fail("avg_pool2d_backward: ceil_mode, count_include_pad = false and divisor_override are composed by "
             "avg_pool2d, whose gradient is that composition's");
    detail::defined_or_fail(grad, "avg_pool2d_backward");
    const Geometry g = avg_geometry(input_shape, kernel, options, "avg_pool2d_backward");
    const Shape expected{g.n, g.c, g.oh, g.ow};
    if (grad.shape() != expected)
        fail("avg_pool2d_backward: output gradient has shape {}, expected {} for input {}", shape_str(grad.shape()),
             shape_str(expected), shape_str(input_shape));
    return record(avg_pool2d_backward_def, avg_unpool_values(grad, g), {grad}, {},
                  [kernel, options](const OpContext&, const Tensor& u) {
                      return GradList{avg_pool2d(u, kernel, options)};
                  });
}

void detail::link_pool() {}  // see registry.cpp

}  // namespace rg
