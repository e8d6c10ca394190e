// interpolate, as torch.nn.functional.interpolate of PyTorch 1.13 (modes
// nearest, nearest-exact, linear, bilinear, trilinear and area). Resizing is
// separable: along each spatial axis the output gathers one input row
// (nearest) or mixes two (the linear modes), so it is index_select and a
// weighted sum per axis, and its gradient (index_add of the weighted
// gradient) works at every order. area is adaptive average pooling, as in
// PyTorch.
#include <retrograd/conv.hpp>
#include <retrograd/spatial.hpp>

#include "op_defs.hpp"
#include "op_references.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

namespace rg {
namespace detail {
void link_interpolate();
}  // namespace detail

namespace {

// How one axis of `in` elements becomes `out`: output i reads index0[i]
// with weight 1 - lambda1[i] and index1[i] with weight lambda1[i] (nearest:
// index0 only).
struct AxisPlan {
    std::vector<std::int64_t> index0, index1;
    std::vector<double> lambda1;
};

bool linear_mode(InterpolateMode m) {
    return m == InterpolateMode::linear || m == InterpolateMode::bilinear || m == InterpolateMode::trilinear;
}

// The input index nearest (or nearest-exact) reads for output i, as PyTorch's
// kernels compute it: in float whatever the input's dtype.
std::int64_t nearest_index(std::size_t i, std::size_t in, std::size_t out, std::optional<double> scale_factor,
                           bool exact) {
    const auto last = static_cast<std::int64_t>(in) - 1;
    const float scale =
        scale_factor ? static_cast<float>(1.0 / *scale_factor) : static_cast<float>(in) / static_cast<float>(out);
    if (exact)  // (i + 0.5) in double, its product with the float scale rounded to float, as floorf receives it
        return std::min(static_cast<std::int64_t>(std::floor(
                            static_cast<float>((static_cast<double>(i) + 0.5) * static_cast<double>(scale)))),
                        last);
    if (out == in) return static_cast<std::int64_t>(i);
    if (out == 2 * in) return static_cast<std::int64_t>(i >> 1U);
    return std::min(static_cast<std::int64_t>(std::floor(static_cast<float>(i) * scale)), last);
}

// PyTorch's source positions for the linear modes, computed in the input's
// precision T as its kernels do, so that a position that falls on an
// integer rounds the same way.
template <class T>
AxisPlan plan_axis(std::size_t in, std::size_t out, std::optional<double> scale_factor, const InterpolateOptions& o) {
    AxisPlan p;
    p.index0.resize(out);
    if (!linear_mode(o.mode)) {
        for (std::size_t i = 0; i < out; ++i)
            p.index0[i] = nearest_index(i, in, out, scale_factor, o.mode == InterpolateMode::nearest_exact);
        return p;
    }
    const auto last = static_cast<std::int64_t>(in) - 1;
    // The inverse scale: 1 / scale_factor when given, else in / out.
    const T ratio = scale_factor ? static_cast<T>(1.0 / *scale_factor) : static_cast<T>(in) / static_cast<T>(out);
    p.index1.resize(out);
    p.lambda1.resize(out);
    const T corner_ratio = out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T{0};
    for (std::size_t i = 0; i < out; ++i) {
        if (in == out) {  // PyTorch copies an axis whose size does not change
            p.index0[i] = p.index1[i] = static_cast<std::int64_t>(i);
            continue;
        }
        T source = o.align_corners ? corner_ratio * static_cast<T>(i) : ratio * (static_cast<T>(i) + T{0.5}) - T{0.5};
        if (source < T{0}) source = T{0};
        const auto i0 = static_cast<std::int64_t>(source);
        p.index0[i] = i0;
        p.index1[i] = i0 < last ? i0 + 1 : i0;
        p.lambda1[i] = static_cast<double>(std::min(std::max(source - static_cast<T>(i0), T{0}), T{1}));
    }
    return p;
}

// `x` resampled along `axis` by `p`.
Tensor resample_axis(const Tensor& x, int axis, const AxisPlan& p) {
    const auto out = static_cast<std::int64_t>(p.index0.size());
    const Tensor i0 =
        from_vector(std::vector<double>(p.index0.begin(), p.index0.end()), {out}, {.dtype = Dtype::int64});
    Tensor near = index_select(x, axis, i0);
    if (p.index1.empty()) return near;
    std::vector<std::int64_t> shape(static_cast<std::size_t>(x.dim()), 1);
    shape[static_cast<std::size_t>(axis)] = out;
    std::vector<double> l0(p.lambda1.size());
    for (std::size_t i = 0; i < l0.size(); ++i) l0[i] = 1.0 - p.lambda1[i];
    const Tensor i1 =
        from_vector(std::vector<double>(p.index1.begin(), p.index1.end()), {out}, {.dtype = Dtype::int64});
    const Tensor w0 = from_vector(l0, shape, {.dtype = x.dtype()}),
                 w1 = from_vector(p.lambda1, shape, {.dtype = x.dtype()});
    return near * w0 + index_select(x, axis, i1) * w1;
}

// The samples: one per mode and sizing, told apart by their ranks and shapes.
std::vector<InterpolateOptions> sample_options(const Shape& s) {
    using enum InterpolateMode;
    if (s.size() == 3)
        return {{.size = {5}},
                {.size = {5}, .mode = nearest_exact},
                {.size = {5}, .mode = linear},
                {.size = {5}, .mode = linear, .align_corners = true},
                {.size = {5}, .mode = area}};
    if (s.size() == 5)
        return {{.size = {3, 4, 3}},
                {.size = {3, 4, 3}, .mode = nearest_exact},
                {.size = {3, 4, 3}, .mode = trilinear},
                {.size = {3, 4, 3}, .mode = trilinear, .align_corners = true}};
    if (s[2] == 2)  // scale factors, output (5, 7)
        return {{.scale_factor = {2.5}}, {.scale_factor = {2.5}, .mode = bilinear}};
    return {{.size = {5, 3}},
            {.size = {5, 3}, .mode = bilinear},
            {.size = {5, 3}, .mode = bilinear, .align_corners = true},
            {.size = {5, 3}, .mode = area}};
}
Tensor sample_call(const TensorList& v) {
    Tensor y;
    for (const InterpolateOptions& o : sample_options(v[0].shape())) {
        const Tensor one = interpolate(v[0], o);
        y = y.defined() ? y + one : one;
    }
    return y;
}

// Plain loops over every output element, in float64, from the formulas of
// PyTorch 1.13's upsample kernels and adaptive average pooling: along each
// axis, output i reads a few input positions with weights (one with weight
// 1, two whose weights sum to 1, or a window's mean), and the output is the
// sum over every combination of the axes' reads of the product of weights.
Tensor reference_one(const detail::ref::Array& x, const InterpolateOptions& o) {
    using detail::ref::Array;
    using Reads = std::vector<std::pair<std::size_t, double>>;
    const std::size_t spatial = x.shape.size() - 2;
    Shape out_shape = x.shape;
    std::vector<std::vector<Reads>> reads(spatial);  // [axis][output index]
    for (std::size_t a = 0; a < spatial; ++a) {
        const std::size_t in = x.shape[2 + a];
        double ratio = 0;
        std::optional<double> factor;
        if (!o.size.empty()) {
            out_shape[2 + a] = o.size.size() == 1 ? o.size[0] : o.size[a];
            ratio = static_cast<double>(in) / static_cast<double>(out_shape[2 + a]);
        } else {
            factor = o.scale_factor.size() == 1 ? o.scale_factor[0] : o.scale_factor[a];
            out_shape[2 + a] = static_cast<std::size_t>(std::floor(static_cast<double>(in) * *factor));
            ratio = 1.0 / *factor;
        }
        const std::size_t out = out_shape[2 + a];
        for (std::size_t i = 0; i < out; ++i) {
            Reads r;
            if (o.mode == InterpolateMode::area) {
                const std::size_t start = i * in / out, end = ((i + 1) * in + out - 1) / out;
                for (std::size_t j = start; j < end; ++j) r.emplace_back(j, 1.0 / static_cast<double>(end - start));
            } else if (!linear_mode(o.mode)) {
                // PyTorch's float scale, whose rounding decides ties (nearest_index).
                r.emplace_back(static_cast<std::size_t>(
                                   nearest_index(i, in, out, factor, o.mode == InterpolateMode::nearest_exact)),
                               1.0);
            } else {
                double src = 0;
                if (in == out)
                    src = static_cast<double>(i);
                else if (o.align_corners)
                    src = out > 1 ? static_cast<double>(i) * static_cast<double>(in - 1) / static_cast<double>(out - 1)
                                  : 0;
                else
                    src = std::max((static_cast<double>(i) + 0.5) * ratio - 0.5, 0.0);
                const auto lo = static_cast<std::size_t>(src);
                const double w_hi = src - static_cast<double>(lo);
                r.emplace_back(lo, 1 - w_hi);
                r.emplace_back(std::min(lo + 1, in - 1), w_hi);
            }
            reads[a].push_back(std::move(r));
        }
    }
    Array y(out_shape);
    detail::ref::for_each_index(out_shape, [&](const detail::ref::Index& at) {
        double sum = 0;
        // Every combination of the axes' reads, as a counter over them.
        std::vector<std::size_t> pick(spatial, 0);
        for (;;) {
            detail::ref::Index from = at;
            double weight = 1;
            for (std::size_t a = 0; a < spatial; ++a) {
                const auto& [index, w] = reads[a][at[2 + a]][pick[a]];
                from[2 + a] = index;
                weight *= w;
            }
            sum += weight * x[from];
            std::size_t a = 0;
            while (a < spatial && ++pick[a] == reads[a][at[2 + a]].size()) pick[a++] = 0;
            if (a == spatial) break;
        }
        y[at] = sum;
    });
    return y.tensor();
}
Tensor sample_reference(const TensorList& v) {
    const detail::ref::Array x(v[0]);
    Tensor y;
    for (const InterpolateOptions& o : sample_options(x.shape)) {
        const Tensor one = reference_one(x, o);
        y = y.defined() ? y + one : one;
    }
    return y;
}

// One value per spatial axis from a list of 1 or `spatial` values.
template <class V> V per_axis(const std::vector<V>& values, std::size_t axis) {
    return values.size() == 1 ? values[0] : values[axis];
}

}  // namespace

const OpDef& interpolate_def = define_op(
    {.name = "interpolate",
     .signature = "interpolate(x, options)",
     .doc = "signals, images or volumes resized by nearest, nearest-exact, linear, bilinear, trilinear or area "
            "sampling, to a size or by a scale factor (PyTorch 1.13)",
     .rule = "composite: per axis, index_select of the source rows, weighted (dx = index_add of weighted g); area: "
             "adaptive_avg_pool2d",
     .kind = OpKind::nn,
     .call = sample_call,
     .samples = {{{Shape{2, 2, 3, 4}}, -2.0, 2.0},
                 {{Shape{1, 2, 2, 3}}, -2.0, 2.0},
                 {{Shape{2, 2, 3}}, -2.0, 2.0},
                 {{Shape{1, 2, 2, 3, 2}}, -2.0, 2.0}},
     .composite = true,
     .bad_shapes = {Shape{2, 3}},
     .reference = sample_reference});
const char* interpolate_mode_name(InterpolateMode mode) {
    switch (mode) {
        case InterpolateMode::nearest: return "nearest";
        case InterpolateMode::bilinear: return "bilinear";
        case InterpolateMode::linear: return "linear";
        case InterpolateMode::trilinear: return "trilinear";
        case InterpolateMode::nearest_exact: return "nearest-exact";
        case InterpolateMode::area: return "area";
    }
    fail("interpolate: unknown mode {}", static_cast<int>(mode));
}

namespace {

// That x's rank suits the mode, with PyTorch's rules.
void check_rank(const Tensor& x, InterpolateMode mode) {
    const char* name = interpolate_mode_name(mode);
    switch (mode) {
        case InterpolateMode::linear:
        case InterpolateMode::bilinear:
        case InterpolateMode::trilinear: {
            const std::size_t rank = mode == InterpolateMode::linear ? 3 : mode == InterpolateMode::bilinear ? 4 : 5;
            const char* layout = rank == 3 ? "(N, C, L)" : rank == 4 ? "(N, C, H, W)" : "(N, C, D, H, W)";
            if (x.dim() != rank)
                fail("interpolate: {} expects a {}-D input {}, got shape {}", name, rank, layout, shape_str(x.shape()));
            return;
        }
        case InterpolateMode::area:
            if (x.dim() != 3 && x.dim() != 4)
                fail("interpolate: area expects a 3-D (N, C, L) or 4-D (N, C, H, W) input, got shape {}",
                     shape_str(x.shape()));
            return;
        case InterpolateMode::nearest:
        case InterpolateMode::nearest_exact:
            if (x.dim() < 3 || x.dim() > 5)
                fail("interpolate: {} expects a 3-D (N, C, L), 4-D (N, C, H, W) or 5-D (N, C, D, H, W) input, got "
                     "shape {}",
                     name, shape_str(x.shape()));
            return;
    }
    fail("interpolate: unknown mode {}", static_cast<int>(mode));
}

// area: the mean over each output element's window, adaptive average
// pooling as in PyTorch (a signal as an image of height 1).
Tensor area(const Tensor& x, const std::vector<std::size_t>& out) {
    if (x.dim() == 4) return adaptive_avg_pool2d(x, {out[0], out[1]});
    return squeeze(adaptive_avg_pool2d(unsqueeze(x, 2), {1, out[0]}), 2);
}

}  // namespace

Tensor interpolate(const Tensor& x, const InterpolateOptions& o) {
    detail::defined_or_fail(x, "interpolate");
    if (!x.is_floating()) fail("interpolate: expected a float32 or float64 tensor, got {}", dtype_name(x.dtype()));
    check_rank(x, o.mode);
    if (!linear_mode(o.mode) && o.align_corners)
        fail("interpolate: align_corners applies to linear, bilinear and trilinear only, as in PyTorch; leave it "
             "false with {}",
             interpolate_mode_name(o.mode));
    if (o.size.empty() == o.scale_factor.empty())
        fail("interpolate: give exactly one of size and scale_factor, got {}", o.size.empty() ? "neither" : "both");
    const std::size_t spatial = x.dim() - 2;
    const std::size_t count = o.size.empty() ? o.scale_factor.size() : o.size.size();
    if (count != 1 && count != spatial)
        fail("interpolate: {} has {} values, expected 1 or {} for input {}", o.size.empty() ? "scale_factor" : "size",
             count, spatial, shape_str(x.shape()));
    std::vector<std::size_t> sizes(spatial);
    std::vector<std::optional<double>> factors(spatial);
    for (std::size_t a = 0; a < spatial; ++a) {
        const std::size_t in = x.shape()[2 + a];
        if (!o.size.empty()) {
            sizes[a] = per_axis(o.size, a);
        } else {
            const double factor = per_axis(o.scale_factor, a);
            if (!(std::isfinite(factor) && factor > 0))
                fail("interpolate: scale_factor must be positive and finite, got {}", factor);
            const double scaled = std::floor(static_cast<double>(in) * factor);
            if (scaled > 1e12) fail("interpolate: scale_factor {} makes an axis of {} elements too large", factor, in);
            sizes[a] = static_cast<std::size_t>(scaled);
            factors[a] = factor;
        }
        if (sizes[a] == 0 || in == 0)
            fail("interpolate: input {} would give an axis of {} elements from {}; sizes must be positive",
                 shape_str(x.shape()), sizes[a], in);
    }
    if (o.mode == InterpolateMode::area) return area(x, sizes);
    Tensor y = x;
    for (std::size_t a = 0; a < spatial; ++a) {
        const std::size_t in = x.shape()[2 + a];
        const AxisPlan plan = x.dtype() == Dtype::float32 ? plan_axis<float>(in, sizes[a], factors[a], o)
                                                          : plan_axis<double>(in, sizes[a], factors[a], o);
        y = resample_axis(y, static_cast<int>(2 + a), plan);
    }
    return y;
}

void detail::link_interpolate() {}  // see registry.cpp

}  // namespace rg
