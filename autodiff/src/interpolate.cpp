// interpolate, as torch.nn.functional.interpolate of PyTorch 1.13 (modes
// nearest and bilinear). Resizing is separable: along each spatial axis the
// output gathers one input row (nearest) or mixes two (bilinear), so it is
// index_select and a weighted sum per axis, and its gradient (index_add of
// the weighted gradient) works at every order.
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

// PyTorch's source positions, computed in the input's precision T as its
// kernels do, so that a position that falls on an integer rounds the same way.
template <class T>
AxisPlan plan_axis(std::size_t in, std::size_t out, std::optional<double> scale_factor, const InterpolateOptions& o) {
    AxisPlan p;
    p.index0.resize(out);
    const auto last = static_cast<std::int64_t>(in) - 1;
    // The inverse scale: 1 / scale_factor when given, else in / out.
    const T ratio = scale_factor ? static_cast<T>(1.0 / *scale_factor) : static_cast<T>(in) / static_cast<T>(out);
    if (o.mode == InterpolateMode::nearest) {
        for (std::size_t i = 0; i < out; ++i)
            p.index0[i] = std::min(static_cast<std::int64_t>(std::floor(static_cast<T>(i) * ratio)), last);
        return p;
    }
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

// The samples: one per mode and sizing, told apart by their shapes.
InterpolateOptions sample_options(const Shape& s, int variant) {
    if (s.size() == 3) return {.size = {5}};
    if (s[2] == 2) {  // scale factors, output (5, 7)
        return {.scale_factor = {2.5}, .mode = variant == 0 ? InterpolateMode::nearest : InterpolateMode::bilinear};
    }
    return {.size = {5, 3},
            .mode = variant == 0 ? InterpolateMode::nearest : InterpolateMode::bilinear,
            .align_corners = variant == 2};
}
Tensor sample_call(const TensorList& v) {
    const Shape& s = v[0].shape();
    if (s.size() == 3) return interpolate(v[0], sample_options(s, 0));
    Tensor y = interpolate(v[0], sample_options(s, 0)) + interpolate(v[0], sample_options(s, 1));
    return s[2] == 2 ? y : y + interpolate(v[0], sample_options(s, 2));
}

// Plain loops over every output element, in float64, from the formulas of
// PyTorch 1.13's upsample kernels.
Tensor reference_one(const detail::ref::Array& x, const InterpolateOptions& o) {
    using detail::ref::Array;
    const std::size_t spatial = x.shape.size() - 2;
    Shape out_shape = x.shape;
    std::vector<double> ratio(spatial);
    for (std::size_t a = 0; a < spatial; ++a) {
        const std::size_t in = x.shape[2 + a];
        if (!o.size.empty()) {
            out_shape[2 + a] = o.size.size() == 1 ? o.size[0] : o.size[a];
            ratio[a] = static_cast<double>(in) / static_cast<double>(out_shape[2 + a]);
        } else {
            const double f = o.scale_factor.size() == 1 ? o.scale_factor[0] : o.scale_factor[a];
            out_shape[2 + a] = static_cast<std::size_t>(std::floor(static_cast<double>(in) * f));
            ratio[a] = 1.0 / f;
        }
    }
    Array y(out_shape);
    detail::ref::for_each_index(out_shape, [&](const detail::ref::Index& at) {
        if (o.mode == InterpolateMode::nearest) {
            detail::ref::Index from = at;
            for (std::size_t a = 0; a < spatial; ++a)
                from[2 + a] = std::min(static_cast<std::size_t>(std::floor(static_cast<double>(at[2 + a]) * ratio[a])),
                                       x.shape[2 + a] - 1);
            y[at] = x[from];
            return;
        }
        // Bilinear: the two neighbours and weights along each axis, then the four products.
        std::size_t lo[2], hi[2];
        double w_hi[2];
        for (std::size_t a = 0; a < 2; ++a) {
            const std::size_t in = x.shape[2 + a], out = out_shape[2 + a], i = at[2 + a];
            double src = 0;
            if (in == out)
                src = static_cast<double>(i);
            else if (o.align_corners)
                src = out > 1 ? static_cast<double>(i) * static_cast<double>(in - 1) / static_cast<double>(out - 1) : 0;
            else
                src = std::max((static_cast<double>(i) + 0.5) * ratio[a] - 0.5, 0.0);
            lo[a] = static_cast<std::size_t>(src);
            hi[a] = std::min(lo[a] + 1, in - 1);
            w_hi[a] = src - static_cast<double>(lo[a]);
        }
        double sum = 0;
        for (std::size_t r = 0; r < 2; ++r)
            for (std::size_t c = 0; c < 2; ++c)
                sum += (r ? w_hi[0] : 1 - w_hi[0]) * (c ? w_hi[1] : 1 - w_hi[1]) *
                       x[{at[0], at[1], r ? hi[0] : lo[0], c ? hi[1] : lo[1]}];
        y[at] = sum;
    });
    return y.tensor();
}
Tensor sample_reference(const TensorList& v) {
    const detail::ref::Array x(v[0]);
    const Shape& s = x.shape;
    if (s.size() == 3) return reference_one(x, sample_options(s, 0));
    Tensor y = reference_one(x, sample_options(s, 0)) + reference_one(x, sample_options(s, 1));
    return s[2] == 2 ? y : y + reference_one(x, sample_options(s, 2));
}

// One value per spatial axis from a list of 1 or `spatial` values.
template <class V> V per_axis(const std::vector<V>& values, std::size_t axis) {
    return values.size() == 1 ? values[0] : values[axis];
}

}  // namespace

const OpDef& interpolate_def = define_op(
    {.name = "interpolate",
     .signature = "interpolate(x, options)",
     .doc = "images resized by nearest or bilinear sampling, to a size or by a scale factor (PyTorch 1.13)",
     .rule = "composite: per axis, index_select of the source rows, weighted (dx = index_add of weighted g)",
     .kind = OpKind::nn,
     .call = sample_call,
     .samples = {{{Shape{2, 2, 3, 4}}, -2.0, 2.0}, {{Shape{1, 2, 2, 3}}, -2.0, 2.0}, {{Shape{2, 2, 3}}, -2.0, 2.0}},
     .composite = true,
     .bad_shapes = {Shape{2, 3}},
     .reference = sample_reference});
Tensor interpolate(const Tensor& x, const InterpolateOptions& o) {
    detail::defined_or_fail(x, "interpolate");
    if (!x.is_floating()) fail("interpolate: expected a float32 or float64 tensor, got {}", dtype_name(x.dtype()));
    const bool bilinear = o.mode == InterpolateMode::bilinear;
    if (bilinear && x.dim() != 4)
        fail("interpolate: bilinear expects a 4-D input (N, C, H, W), got shape {}", shape_str(x.shape()));
    if (!bilinear && x.dim() != 3 && x.dim() != 4)
        fail("interpolate: nearest expects a 3-D (N, C, L) or 4-D (N, C, H, W) input, got shape {}",
             shape_str(x.shape()));
    if (!bilinear && o.align_corners)
        fail("interpolate: align_corners applies to bilinear only, as in PyTorch; leave it false with nearest");
    if (o.size.empty() == o.scale_factor.empty())
        fail("interpolate: give exactly one of size and scale_factor, got {}", o.size.empty() ? "neither" : "both");
    const std::size_t spatial = x.dim() - 2;
    const std::size_t count = o.size.empty() ? o.scale_factor.size() : o.size.size();
    if (count != 1 && count != spatial)
        fail("interpolate: {} has {} values, expected 1 or {} for input {}", o.size.empty() ? "scale_factor" : "size",
             count, spatial, shape_str(x.shape()));
    Tensor y = x;
    for (std::size_t a = 0; a < spatial; ++a) {
        const std::size_t in = x.shape()[2 + a];
        std::size_t out = 0;
        std::optional<double> factor;
        if (!o.size.empty()) {
            out = per_axis(o.size, a);
        } else {
            factor = per_axis(o.scale_factor, a);
            if (!(std::isfinite(*factor) && *factor > 0))
                fail("interpolate: scale_factor must be positive and finite, got {}", *factor);
            const double scaled = std::floor(static_cast<double>(in) * *factor);
            if (scaled > 1e12) fail("interpolate: scale_factor {} makes an axis of {} elements too large", *factor, in);
            out = static_cast<std::size_t>(scaled);
        }
        if (out == 0 || in == 0)
            fail("interpolate: input {} would give an axis of {} elements from {}; sizes must be positive",
                 shape_str(x.shape()), out, in);
        const AxisPlan plan =
            x.dtype() == Dtype::float32 ? plan_axis<float>(in, out, factor, o) : plan_axis<double>(in, out, factor, o);
        y = resample_axis(y, static_cast<int>(2 + a), plan);
    }
    return y;
}

void detail::link_interpolate() {}  // see registry.cpp

}  // namespace rg
