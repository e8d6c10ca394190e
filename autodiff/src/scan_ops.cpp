// Running sums and products along a dim (cumsum, cumprod) and the product
// reduction (prod). Their VJPs are written with these same ops, and handle
// zeros without dividing by them, as PyTorch's do.
#include "kernels/scan.hpp"
#include "op_defs.hpp"
#include "op_references.hpp"

#include <algorithm>
#include <type_traits>

namespace rg {
namespace {

using detail::ref::Array;
using detail::ref::for_each_index;
using detail::ref::Index;

// out[o, k, i] = x[o, 0, i] (op) ... (op) x[o, k, i] along `axis`, any dtype.
// PyTorch sums and multiplies bool as int64; refused here rather than given
// a bool result that saturates at true.
void refuse_bool(const Tensor& x, const char* op) {
    if (x.dtype() == Dtype::bool_)
        fail("{}: expected a float32, float64 or int64 tensor, got bool; convert the mask first: x.to(rg::int64)", op);
}

template <class Op> Tensor scan(const Tensor& x, std::size_t axis, const char* op, Op combine) {
    refuse_bool(x, op);
    return detail::visit_dtype(x.dtype(), [&](auto zero) {
        using T = std::conditional_t<std::is_same_v<decltype(zero), bool>, std::int64_t, decltype(zero)>;
        const detail::Dense<T> a(x);
        Tensor out = detail::empty_dense<T>(x.shape(), op);
        detail::scan_values(a.data(), out.data_ptr<T>(), detail::split_at(x.shape(), axis), combine);
        return out;
    });
}

// The scan's axis; a 0-d tensor scans as one element (dim 0 or -1).
std::size_t scan_axis(const Tensor& x, int dim, const char* op) {
    detail::defined_or_fail(x, op);
    return normalize_axis(dim, std::max<std::size_t>(x.dim(), 1), op);
}

// sum over j >= k of g[j] along dim: cumsum from the far end.
Tensor reversed_cumsum(const Tensor& g, int dim) { return flip(cumsum(flip(g, {dim}), dim), {dim}); }

// The products of the elements before k (exclusive), from the start or, with
// `from_end`, of those after k from the end; no division.
Tensor exclusive_cumprod(const Tensor& x, int dim, bool from_end) {
    const auto n = static_cast<std::int64_t>(x.size(dim));
    Shape one = x.shape();
    one[normalize_axis(dim, x.dim(), "cumprod")] = 1;
    const Tensor ones = rg::ones(one, {x.dtype()});
    if (!from_end) return cumprod(concat({ones, narrow(x, dim, 0, n - 1)}, dim), dim);
    return flip(cumprod(concat({ones, narrow(flip(x, {dim}), dim, 0, n - 1)}, dim), dim), {dim});
}

bool has_zero(const Tensor& x) {
    return detail::visit_float(x, "cumprod", [](const auto& a) { return detail::has_zero_value(a.data(), a.size()); });
}

// cumprod's VJP where x holds zeros: for each k, the sum over j >= k of g[j]
// times the product of x[..j] without x[k] (PyTorch's differentiable O(n²) form).
Tensor cumprod_backward_with_zeros(const Tensor& g, const Tensor& x, int dim) {
    const auto n = static_cast<std::int64_t>(x.size(dim));
    Shape one = x.shape();
    one[normalize_axis(dim, x.dim(), "cumprod")] = 1;
    const Tensor ones = rg::ones(one, {x.dtype()});
    TensorList pieces;
    for (std::int64_t k = 0; k < n; ++k) {
        Tensor omitted;  // along j >= k: prod(x[..j]) without x[k]
        if (k == 0) {
            omitted = concat({ones, cumprod(narrow(x, dim, 1, n - 1), dim)}, dim);
        } else {
            const Tensor before = prod(narrow(x, dim, 0, k), dim, true);
            omitted =
                k == n - 1 ? before : concat({before, before * cumprod(narrow(x, dim, k + 1, n - k - 1), dim)}, dim);
        }
        pieces.push_back(sum(narrow(g, dim, k, n - k) * omitted, {dim}, true));
    }
    return concat(pieces, dim);
}

Array scan_reference(const Tensor& t, std::size_t dim, bool product) {
    const Array x(t);
    Array out(x.shape);
    for_each_index(x.shape, [&](const Index& at) {
        Index from = at;
        double acc = product ? 1.0 : 0.0;
        for (from[dim] = 0; from[dim] <= at[dim]; ++from[dim]) acc = product ? acc * x[from] : acc + x[from];
        out[at] = acc;
    });
    return out;
}

}  // namespace

const OpDef& cumsum_def =
    define_op({.name = "cumsum",
               .signature = "cumsum(x, dim)",
               .doc = "running sums along a dim",
               .rule = "dx = cumsum of g from the far end: flip(cumsum(flip(g)))",
               .kind = OpKind::reduction,
               .call = [](const TensorList& v) { return cumsum(v[0], -1); },
               .samples = {{{Shape{2, 4}}, -2.0, 2.0}, {{Shape{3}}, -2.0, 2.0}},
               .accepts_int64 = true,
               .reference = [](const TensorList& v) { return scan_reference(v[0], v[0].dim() - 1, false).tensor(); }});
Tensor cumsum(const Tensor& x, int dim) {
    const std::size_t axis = scan_axis(x, dim, "cumsum");
    if (x.dim() == 0) return reshape(cumsum(reshape(x, {1}), 0), Shape{});
    Tensor out = scan(x, axis, "cumsum", [](auto u, auto v) { return u + v; });
    const int d = static_cast<int>(axis);
    return record(cumsum_def, out, {x}, Saves{},
                  [d](const OpContext&, const Tensor& g) { return GradList{reversed_cumsum(g, d)}; });
}

const OpDef& cumprod_def =
    define_op({.name = "cumprod",
               .signature = "cumprod(x, dim)",
               .doc = "running products along a dim; the gradient is exact where x holds zeros",
               .rule = "dx = reversed_cumsum(g * y) / x without zeros; else the sum over j >= k of g_j "
                       "times the product of x up to j without x_k",
               .kind = OpKind::reduction,
               .call = [](const TensorList& v) { return cumprod(v[0], 0); },
               .samples = {{{Shape{4, 2}}, -2.0, 2.0}, {{Shape{3}}, -2.0, 2.0}},
               .accepts_int64 = true,
               .reference = [](const TensorList& v) { return scan_reference(v[0], 0, true).tensor(); }});
Tensor cumprod(const Tensor& x, int dim) {
    const std::size_t axis = scan_axis(x, dim, "cumprod");
    if (x.dim() == 0) return reshape(cumprod(reshape(x, {1}), 0), Shape{});
    Tensor out = scan(x, axis, "cumprod", [](auto u, auto v) { return u * v; });
    const int d = static_cast<int>(axis);
    return record(cumprod_def, out, {x}, Saves{.inputs = {true}, .output = true},
                  [d](const OpContext& c, const Tensor& g) {
                      const Tensor x = c.input(0);
                      if (x.size(d) <= 1) return GradList{g};
                      if (!has_zero(x)) return GradList{reversed_cumsum(g * c.output(), d) / x};
                      return GradList{cumprod_backward_with_zeros(g, x, d)};
                  });
}

const OpDef& prod_def = define_op(
    {.name = "prod",
     .signature = "prod(x), prod(x, dim, keepdim = false)",
     .doc = "product of all elements, or along a dim; the gradient is exact where x holds zeros",
     .rule = "dx = g * (product of the elements before) * (product of those after), no division",
     .kind = OpKind::reduction,
     .call = [](const TensorList& v) { return v[0].dim() == 2 ? prod(v[0], 1, true) + prod(v[0]) : prod(v[0]); },
     .samples = {{{Shape{2, 3}}, -2.0, 2.0}, {{Shape{}}, -2.0, 2.0}, {{Shape{2, 0}}, -2.0, 2.0}},
     .accepts_int64 = true,
     .reference =
         [](const TensorList& v) {
             const Array x(v[0]);
             double all = 1.0;
             for (double e : x.values) all *= e;
             if (x.shape.size() != 2) return from_vector({all}, {}, {.dtype = Dtype::float64});
             Array rows(Shape{x.shape[0], 1}, 1.0);
             for_each_index(x.shape, [&](const Index& at) { rows.values[at[0]] *= x[at]; });
             for (double& e : rows.values) e += all;
             return rows.tensor();
         }});
Tensor prod(const Tensor& x, int dim, bool keepdim) {
    const std::size_t axis = scan_axis(x, dim, "prod");
    if (x.dim() == 0) return keepdim ? x.clone() : reshape(prod(reshape(x, {1}), 0), Shape{});
    refuse_bool(x, "prod");
    Tensor out = detail::visit_dtype(x.dtype(), [&](auto zero) {
        using T = std::conditional_t<std::is_same_v<decltype(zero), bool>, std::int64_t, decltype(zero)>;
        const detail::Dense<T> a(x);
        Tensor result = detail::empty_dense<T>(detail::reduced_shape(x.shape(), {axis}, keepdim), "prod");
        detail::product_values(a.data(), result.data_ptr<T>(), detail::split_at(x.shape(), axis));
        return result;
    });
    const int d = static_cast<int>(axis);
    return record(prod_def, out, {x}, Saves{.inputs = {true}}, [d, keepdim](const OpContext& c, const Tensor& g) {
        const Tensor x = c.input(0);
        const Tensor gk = keepdim ? g : unsqueeze(g, d);
        if (x.size(d) <= 1) return GradList{broadcast_to(gk, x.shape())};
        return GradList{gk * exclusive_cumprod(x, d, false) * exclusive_cumprod(x, d, true)};
    });
}
Tensor prod(const Tensor& x) {
    detail::defined_or_fail(x, "prod");
    return prod(reshape(x, {-1}), 0);
}

void detail::link_scan_ops() {}  // see registry.cpp

}  // namespace rg
