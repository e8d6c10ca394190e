// Reductions over axis lists, with keepdims (the loops are kernels/reduce.hpp).
// Their VJPs broadcast the output gradient back over the reduced axes.
#include "kernels/reduce.hpp"
#include "op_defs.hpp"

#include <cmath>
#include <limits>

namespace rg {

extern const OpDef& max_def;
extern const OpDef& min_def;

namespace {

using detail::reduce_values;

struct Reduction {
    std::vector<std::size_t> axes;
    Shape keep;  // reduced axes kept with size 1
    Shape shape;  // the result's shape
    std::size_t count = 1;  // elements folded into each output
};

Reduction plan(const Tensor& x, const Axes& axes, bool keepdims, const char* op) {
    detail::defined_or_fail(x, op);
    Reduction r;
    r.axes = detail::normalize_axes(axes, x.dim(), op);
    r.keep = detail::reduced_shape(x.shape(), r.axes, true);
    r.shape = detail::reduced_shape(x.shape(), r.axes, keepdims);
    for (auto a : r.axes) r.count *= x.shape()[a];
    return r;
}

Tensor extreme(const Tensor& x, const Axes& axes, bool keepdims, bool is_max) {
    const char* op = is_max ? "max" : "min";
    const Reduction r = plan(x, axes, keepdims, op);
    if (x.numel() == 0) fail("{}: cannot reduce an empty tensor of shape {}", op, shape_str(x.shape()));
    Tensor out = detail::visit_float(x, op, [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        const T init = is_max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
        Tensor values = detail::empty_dense<T>(r.shape, op);
        T* o = values.data_ptr<T>();
        // Two selects (v != v is isnan), which compile to conditional moves:
        // written with || they compiled to a jump on which value wins, which
        // random data mispredicts (max over an axis took 30 times a sum's
        // time). A NaN wins either way: kept once in u, taken when it is v.
        if (is_max)
            reduce_values(a, r.keep, o, init, [](T u, T v) {
                const T larger = v > u ? v : u;
                return v != v ? v : larger;
            });
        else
            reduce_values(a, r.keep, o, init, [](T u, T v) {
                const T smaller = v < u ? v : u;
                return v != v ? v : smaller;
            });
        return values;
    });
    if (!needs_grad(x)) return out;
    return record(is_max ? max_def : min_def, out, {x}, {.inputs = {true}},
                  [axes = Axes(r.axes.begin(), r.axes.end()), keep = r.keep, is_max](const OpContext& c,
                                                                                     const Tensor& g) {
                      const Tensor x = c.input(0);
                      // The gradient goes to the extreme elements, shared equally between ties.
                      auto [hits, ties] = detail::without_grad([&] {
                          Tensor best = is_max ? max(x, axes, true) : min(x, axes, true);
                          Tensor hits = eq(x, best).to(x.dtype());
                          return std::pair{hits, sum(hits, axes, true)};
                      });
                      return GradList{reshape(g, keep) * hits / ties};
                  });
}

Tensor arg(const Tensor& x, int axis, bool keepdims, bool is_max) {
    const char* op = is_max ? "argmax" : "argmin";
    detail::defined_or_fail(x, op);
    const std::size_t ax = normalize_axis(axis, x.dim(), op);
    if (x.shape()[ax] == 0) fail("{}: axis {} is empty in shape {}", op, axis, shape_str(x.shape()));
    return detail::visit_float(x, op, [&](const auto& a) {
        Tensor idx = detail::empty_dense<std::int64_t>(detail::reduced_shape(x.shape(), {ax}, keepdims), op);
        detail::arg_extreme(a, ax, is_max, idx.data_ptr<std::int64_t>());
        return idx;
    });
}

}  // namespace

const OpDef& sum_def =
    define_op({.name = "sum",
               .signature = "sum(x, axes = all, keepdims = false)",
               .doc = "sum over axes (all by default)",
               .rule = "dx = g broadcast back to x's shape",
               .kind = OpKind::reduction,
               .call = [](const TensorList& v) { return v[0].dim() ? sum(v[0], {-1}, true) + sum(v[0]) : sum(v[0]); },
               .samples = {{{Shape{2, 3}}, -2.0, 2.0},
                           {{Shape{4}}, -2.0, 2.0},
                           {{Shape{}}, -2.0, 2.0},
                           {{Shape{2, 0}}, -2.0, 2.0}},
               .accepts_int64 = true});
Tensor sum(const Tensor& x, const Axes& axes, bool keepdims) {
    const Reduction r = plan(x, axes, keepdims, "sum");
    if (!x.is_floating()) {
        // int64 and bool sum to int64 (a count of true values), as in PyTorch; no gradient.
        const Tensor values = x.dtype() == Dtype::int64 ? x : x.to(Dtype::int64);
        Tensor totals = detail::empty_dense<std::int64_t>(r.shape, "sum");
        reduce_values(detail::Dense<std::int64_t>(values), r.keep, totals.data_ptr<std::int64_t>(), std::int64_t{0},
                      [](std::int64_t u, std::int64_t v) { return u + v; });
        return totals;
    }
    Tensor out = detail::visit_float(x, "sum", [&](const auto& a) {
        using T = typename std::decay_t<decltype(a)>::value_type;
        if (r.keep.size() == 0 || shape_numel(r.keep) == 1) {
            // Full reductions accumulate in double (kernels.hpp).
            Tensor total = detail::empty_dense<T>(r.shape, "sum");
            total.data_ptr<T>()[0] = static_cast<T>(detail::sum_in_blocks(a.data(), a.size()));
            return total;
        }
        Tensor totals = detail::empty_dense<T>(r.shape, "sum");
        reduce_values(a, r.keep, totals.data_ptr<T>(), T{0}, [](T u, T v) { return u + v; });
        return totals;
    });
    if (!needs_grad(x)) return out;
    return record(sum_def, out, {x}, {}, [keep = r.keep](const OpContext& c, const Tensor& g) {
        return GradList{broadcast_to(reshape(g, keep), c.input_shape(0))};
    });
}

const OpDef& mean_def = define_op({.name = "mean",
                                   .signature = "mean(x, axes = all, keepdims = false)",
                                   .doc = "mean over axes",
                                   .rule = "composite: sum(x) / n",
                                   .kind = OpKind::reduction,
                                   .call = [](const TensorList& v) { return mean(v[0], {0}); },
                                   .samples = {{{Shape{2, 3}}, -2.0, 2.0}, {{Shape{3, 1}}, -2.0, 2.0}},
                                   .composite = true});
Tensor mean(const Tensor& x, const Axes& axes, bool keepdims) {
    const Reduction r = plan(x, axes, keepdims, "mean");
    if (!x.is_floating())
        fail("mean: expected a float32 or float64 tensor, got {}; convert with .to(rg::float32)",
             dtype_name(x.dtype()));
    if (x.dtype() == Dtype::bfloat16)  // summed and divided in float32, rounded once, as PyTorch's
        return mean(x.to(Dtype::float32), axes, keepdims).to(Dtype::bfloat16);
    return sum(x, axes, keepdims) * (1.0 / static_cast<double>(r.count));
}

const OpDef& max_def = define_op({.name = "max",
                                  .signature = "max(x, axes = all, keepdims = false)",
                                  .doc = "maximum over axes; ties share the gradient",
                                  .rule = "dx = g at the largest elements (ties share it), 0 elsewhere",
                                  .kind = OpKind::reduction,
                                  .call = [](const TensorList& v) { return max(v[0], {-1}); },
                                  .samples = {{{Shape{2, 3}}, -2.0, 2.0}, {{Shape{4}}, -2.0, 2.0}}});
Tensor max(const Tensor& x, const Axes& axes, bool keepdims) { return extreme(x, axes, keepdims, true); }
const OpDef& min_def = define_op({.name = "min",
                                  .signature = "min(x, axes = all, keepdims = false)",
                                  .doc = "minimum over axes; ties share the gradient",
                                  .rule = "dx = g at the smallest elements (ties share it), 0 elsewhere",
                                  .kind = OpKind::reduction,
                                  .call = [](const TensorList& v) { return min(v[0], {0}, true); },
                                  .samples = {{{Shape{2, 3}}, -2.0, 2.0}, {{Shape{4}}, -2.0, 2.0}}});
Tensor min(const Tensor& x, const Axes& axes, bool keepdims) { return extreme(x, axes, keepdims, false); }

const OpDef& logsumexp_def = define_op({.name = "logsumexp",
                                        .signature = "logsumexp(x, axes = all, keepdims = false)",
                                        .doc = "log of the sum of exponentials, shifted by the maximum",
                                        .rule = "composite: log(sum(exp(x - m))) + m",
                                        .kind = OpKind::reduction,
                                        .call = [](const TensorList& v) { return logsumexp(v[0], {-1}); },
                                        .samples = {{{Shape{2, 3}}, -2.0, 2.0}, {{Shape{4}}, -2.0, 2.0}},
                                        .composite = true});
Tensor logsumexp(const Tensor& x, const Axes& axes, bool keepdims) {
    const Reduction r = plan(x, axes, keepdims, "logsumexp");
    // Shifting by the (constant) maximum keeps exp in range; an infinite
    // maximum would give inf - inf, so it is replaced by 0.
    Tensor shift = detail::without_grad([&] {
        return detail::map_float(max(x, axes, true), "logsumexp",
                                 [](auto v) { return std::isfinite(v) ? v : decltype(v){0}; });
    });
    Tensor out = log(sum(exp(x - shift), axes, true)) + shift;
    return reshape(out, r.shape);
}

const OpDef& var_def = define_op({.name = "var",
                                  .signature = "var(x, axes = all, keepdims = false, correction = 1)",
                                  .doc = "variance with `correction` degrees of freedom removed",
                                  .rule = "composite: sum((x - mean)^2) / (n - correction)",
                                  .kind = OpKind::reduction,
                                  .call = [](const TensorList& v) { return var(v[0], {-1}); },
                                  .samples = {{{Shape{2, 3}}, -2.0, 2.0}, {{Shape{4}}, -2.0, 2.0}},
                                  .composite = true});
Tensor var(const Tensor& x, const Axes& axes, bool keepdims, int correction) {
    const Reduction r = plan(x, axes, keepdims, "var");
    if (static_cast<long>(r.count) - correction <= 0)
        fail("var: {} elements with correction {} leave no degrees of freedom", r.count, correction);
    Tensor centered = x - mean(x, axes, true);
    return sum(centered * centered, axes, keepdims) *
           (1.0 / static_cast<double>(static_cast<long>(r.count) - correction));
}

const OpDef& argmax_def = define_op({.name = "argmax",
                                     .signature = "argmax(x, axis, keepdims = false)",
                                     .doc = "index of the maximum along an axis (int64, no gradient)",
                                     .rule = "no gradient",
                                     .kind = OpKind::reduction,
                                     .call = [](const TensorList& v) { return argmax(v[0], 1).to(v[0].dtype()); },
                                     .samples = {{{Shape{2, 3}}, -2.0, 2.0}},
                                     .differentiable = {false}});
Tensor argmax(const Tensor& x, int axis, bool keepdims) { return arg(x, axis, keepdims, true); }
const OpDef& argmin_def = define_op({.name = "argmin",
                                     .signature = "argmin(x, axis, keepdims = false)",
                                     .doc = "index of the minimum along an axis (int64, no gradient)",
                                     .rule = "no gradient",
                                     .kind = OpKind::reduction,
                                     .call = [](const TensorList& v) { return argmin(v[0], 0).to(v[0].dtype()); },
                                     .samples = {{{Shape{2, 3}}, -2.0, 2.0}},
                                     .differentiable = {false}});
Tensor argmin(const Tensor& x, int axis, bool keepdims) { return arg(x, axis, keepdims, false); }
Tensor argmax(const Tensor& x) {
    detail::defined_or_fail(x, "argmax");
    if (x.numel() == 0) fail("argmax: the tensor is empty");
    return detail::without_grad([&] { return arg(reshape(x, {-1}), 0, false, true); });
}

const OpDef& segment_argmax_def =
    define_op({.name = "segment_argmax",
               .signature = "segment_argmax(x, segments, count, empty)",
               .doc = "index of each segment's maximum row, column by column (int64, no gradient)",
               .rule = "no gradient",
               .kind = OpKind::reduction,
               .call =
                   [](const TensorList& v) {
                       return segment_argmax(v[0], from_indices({1, 0, 1}), 3, -1).to(v[0].dtype());
                   },
               .samples = {{{Shape{3, 2}}, -2.0, 2.0}},
               .differentiable = {false}});
Tensor segment_argmax(const Tensor& x, const Tensor& segments, std::size_t count, std::int64_t empty) {
    constexpr const char* op = "segment_argmax";
    detail::defined_or_fail(x, op);
    if (x.dim() != 2) fail("segment_argmax: expected rows (rows, columns), got shape {}", shape_str(x.shape()));
    detail::defined_or_fail(segments, op);
    if (segments.dtype() != Dtype::int64 || segments.shape() != Shape{x.shape()[0]})
        fail("segment_argmax: segments must be int64 of shape ({},), one per row of x {}, got {} {}", x.shape()[0],
             shape_str(x.shape()), dtype_name(segments.dtype()), shape_str(segments.shape()));
    const Tensor ids = segments.contiguous();
    return detail::visit_float(x, op, [&](const auto& a) {
        Tensor out = detail::empty_dense<std::int64_t>(Shape{count, x.shape()[1]}, op);
        const std::size_t bad = detail::segment_arg_max(a.data(), ids.data_ptr<std::int64_t>(), x.shape()[0],
                                                        x.shape()[1], count, empty, out.data_ptr<std::int64_t>());
        if (bad != x.shape()[0])
            fail("segment_argmax: segments[{}] is {}, expected a segment in [0, {})", bad,
                 ids.data_ptr<std::int64_t>()[bad], count);
        return out;
    });
}

void detail::link_reduce() {}  // see registry.cpp

}  // namespace rg
