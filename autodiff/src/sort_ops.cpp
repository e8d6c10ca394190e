// Sorting along a dim: sort, argsort, topk. The order is stable (equal
// values keep their order; NaN sorts above every number, as in PyTorch), the
// indices are int64, and the values are gathered from x by those indices, so
// their gradient is scattered back through gather's VJP.
#include "kernels/sort.hpp"
#include "op_defs.hpp"
#include "op_references.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace rg {
namespace {

using detail::ref::Array;
using detail::ref::for_each_index;
using detail::ref::Index;

// The first `k` positions of every line of x along `axis` in order (ties by
// position, so the order is stable), written as int64 indices and values.
struct Ordered {
    Tensor values, indices;
};
Ordered order(const Tensor& x, std::size_t axis, std::size_t k, bool descending, const char* op) {
    return detail::visit_dtype(x.dtype(), [&](auto zero) {
        using T = decltype(zero);
        const detail::Dense<T> a(x);
        Shape shape = x.shape();
        shape[axis] = k;
        Ordered out{detail::empty_dense<T>(shape, op), detail::empty_dense<std::int64_t>(shape, op)};
        detail::order_lines(a.data(), detail::split_at(x.shape(), axis), k, descending, out.values.data_ptr<T>(),
                            out.indices.data_ptr<std::int64_t>());
        return out;
    });
}

std::size_t sort_axis(const Tensor& x, int dim, const char* op) {
    detail::defined_or_fail(x, op);
    return normalize_axis(dim, std::max<std::size_t>(x.dim(), 1), op);
}

// Values gathered from x by the indices: recorded as gather when x needs grad.
std::tuple<Tensor, Tensor> ordered_values(const Tensor& x, std::size_t axis, std::size_t k, bool descending,
                                          const char* op) {
    if (x.dim() == 0) {
        const auto [v, i] = ordered_values(reshape(x, {1}), 0, k, descending, op);
        return {reshape(v, Shape{}), reshape(i, Shape{})};
    }
    Ordered o = order(x, axis, k, descending, op);
    if (needs_grad(x)) o.values = gather(x, static_cast<int>(axis), o.indices);
    return {o.values, o.indices};
}

// The reference: each element's rank counted against every other of its line.
Tensor ranked_reference(const Tensor& t, std::size_t k, bool descending, bool values_plus_indices) {
    const Array x(t);
    const std::size_t dim = x.shape.size() - 1;
    Shape shape = x.shape;
    shape[dim] = k;
    Array out(shape);
    for_each_index(x.shape, [&](const Index& at) {
        std::size_t rank = 0;
        Index other = at;
        for (other[dim] = 0; other[dim] < x.shape[dim]; ++other[dim]) {
            const double u = x[other], v = x[at];
            rank += (descending ? u > v : u < v) || (u == v && other[dim] < at[dim]);
        }
        if (rank >= k) return;
        Index to = at;
        to[dim] = rank;
        out[to] = values_plus_indices ? x[at] + static_cast<double>(at[dim]) : static_cast<double>(at[dim]);
    });
    return out.tensor();
}

}  // namespace

const OpDef& sort_def = define_op(
    {.name = "sort",
     .signature = "sort(x, dim = -1, descending = false) -> (values, indices)",
     .doc = "values in order along a dim and their int64 indices; stable, NaN last",
     .rule = "composite: values = gather(x, dim, indices)",
     .kind = OpKind::shape,
     .call =
         [](const TensorList& v) {
             const auto [values, indices] = sort(v[0], -1, true);
             return values + indices.to(values.dtype());
         },
     .samples = {{{Shape{3, 4}}, -2.0, 2.0}, {{Shape{5}}, -2.0, 2.0}},
     .composite = true,
     .accepts_int64 = true,
     .reference = [](const TensorList& v) { return ranked_reference(v[0], v[0].shape().back(), true, true); }});
std::tuple<Tensor, Tensor> sort(const Tensor& x, int dim, bool descending) {
    const std::size_t axis = sort_axis(x, dim, "sort");
    return ordered_values(x, axis, x.dim() ? x.shape()[axis] : 1, descending, "sort");
}

const OpDef& argsort_def = define_op(
    {.name = "argsort",
     .signature = "argsort(x, dim = -1, descending = false)",
     .doc = "the int64 indices that sort x along a dim (stable; no gradient)",
     .rule = "no gradient",
     .kind = OpKind::shape,
     .call = [](const TensorList& v) { return argsort(v[0]).to(v[0].dtype()); },
     .samples = {{{Shape{3, 4}}, -2.0, 2.0}},
     .differentiable = {false},
     .accepts_int64 = true,
     .reference = [](const TensorList& v) { return ranked_reference(v[0], v[0].shape().back(), false, false); }});
Tensor argsort(const Tensor& x, int dim, bool descending) {
    const std::size_t axis = sort_axis(x, dim, "argsort");
    if (x.dim() == 0) return zeros({}, {Dtype::int64});
    return order(x, axis, x.shape()[axis], descending, "argsort").indices;
}

const OpDef& topk_def =
    define_op({.name = "topk",
               .signature = "topk(x, k, dim = -1, largest = true, sorted = true) -> (values, indices)",
               .doc = "the k largest (or smallest) values along a dim and their int64 indices, always in order",
               .rule = "composite: values = gather(x, dim, indices)",
               .kind = OpKind::shape,
               .call =
                   [](const TensorList& v) {
                       const auto [values, indices] = topk(v[0], 2, -1, false);
                       return values + indices.to(values.dtype());
                   },
               .samples = {{{Shape{3, 4}}, -2.0, 2.0}, {{Shape{5}}, -2.0, 2.0}},
               .composite = true,
               .accepts_int64 = true,
               .reference = [](const TensorList& v) { return ranked_reference(v[0], 2, false, true); }});
std::tuple<Tensor, Tensor> topk(const Tensor& x, std::int64_t k, int dim, bool largest, bool /*sorted*/) {
    const std::size_t axis = sort_axis(x, dim, "topk");
    const auto size = static_cast<std::int64_t>(x.dim() ? x.shape()[axis] : 1);
    if (k < 0 || k > size)
        fail("topk: k = {} is out of range for dim {} of size {} in {}; expected 0 <= k <= {}", k, dim, size,
             shape_str(x.shape()), size);
    return ordered_values(x, axis, static_cast<std::size_t>(k), largest, "topk");
}

void detail::link_sort_ops() {}  // see registry.cpp

}  // namespace rg
