// Spread and size reductions in LibTorch's argument order: std (unbiased or
// with a correction) and the vector p-norms (p = 2 over every element: the
// Frobenius norm), with PyTorch's subgradients at 0.
#include "op_defs.hpp"
#include "op_references.hpp"

#include <cmath>
#include <limits>

namespace rg {
namespace {

using detail::ref::Array;
using detail::ref::for_each_index;
using detail::ref::Index;

constexpr double inf = std::numeric_limits<double>::infinity();

// 1 where v == 0, else 0, in v's dtype (a constant: no gradient).
Tensor zero_mask(const Tensor& v) {
    return detail::map_float(v.detach(), "norm", [](auto e) { return e == 0 ? decltype(e){1} : decltype(e){0}; });
}

}  // namespace

const OpDef& std_def = define_op({.name = "std",
                                  .signature = "std(x, dims = all, unbiased = true, keepdim = false), "
                                               "std(x, dims, correction, keepdim = false)",
                                  .doc = "standard deviation: sqrt(var), unbiased (n - 1) by default as torch.std",
                                  .rule = "composite: sqrt(var(x))",
                                  .kind = OpKind::reduction,
                                  .call = [](const TensorList& v) { return std(v[0], {-1}) + std(v[0], {}, 0); },
                                  .samples = {{{Shape{2, 3}}, -2.0, 2.0}, {{Shape{4}}, -2.0, 2.0}},
                                  .composite = true,
                                  .reference =
                                      [](const TensorList& v) {
                                          const Array x(v[0]);
                                          const std::size_t cols = x.shape.back(), rows = x.values.size() / cols;
                                          auto spread = [](const std::vector<double>& e, double correction) {
                                              double m = 0, s = 0;
                                              for (double u : e) m += u / static_cast<double>(e.size());
                                              for (double u : e) s += (u - m) * (u - m);
                                              return std::sqrt(s / (static_cast<double>(e.size()) - correction));
                                          };
                                          const double all = spread(x.values, 0.0);
                                          Array out(Shape(x.shape.begin(), x.shape.end() - 1));
                                          for (std::size_t r = 0; r < rows; ++r) {
                                              std::vector<double> row;
                                              for (std::size_t c = 0; c < cols; ++c)
                                                  row.push_back(x.values[r * cols + c]);
                                              out.values[r] = spread(row, 1.0) + all;
                                          }
                                          return out.tensor();
                                      }});
Tensor std(const Tensor& x, const Axes& dims, bool unbiased, bool keepdim) {
    return std(x, dims, unbiased ? 1 : 0, keepdim);
}
Tensor std(const Tensor& x, const Axes& dims, int correction, bool keepdim) {
    detail::defined_or_fail(x, "std");
    return sqrt(var(x, dims, keepdim, correction));
}

const OpDef& norm_def = define_op(
    {.name = "norm",
     .signature = "norm(x, p = 2, dims = all, keepdim = false)",
     .doc = "vector p-norm over dims: (sum |x|^p)^(1/p) for p > 0, max |x| for inf, min |x| for -inf, the count "
            "of non-zeros for 0 (p = 2 over every element: the Frobenius norm)",
     .rule = "p = 2: dx = g * x / y; p = 1: dx = g * sign(x); other p > 0: dx = g * sign(x) |x|^(p-1) / y^(p-1) "
             "(0 where y = 0, and where x = 0 for p < 1); p = +-inf: dx = g * sign(x) at the extreme |x|, shared by "
             "ties; p = 0: dx = 0",
     .kind = OpKind::reduction,
     .call =
         [](const TensorList& v) {
             return norm(v[0]) + sum(norm(v[0], 1, {-1})) + sum(norm(v[0], inf, {0}, true)) + norm(v[0], 3) +
                    sum(norm(v[0], -inf, {-1})) + norm(v[0], 0);
         },
     .samples = {{{Shape{2, 3}}, -2.0, 2.0}, {{Shape{4}}, -2.0, 2.0}},
     .reference =
         [](const TensorList& v) {
             const Array x(v[0]);  // (rows, cols), or a vector as (rows, 1)
             const std::size_t cols = x.shape.size() == 2 ? x.shape[1] : 1, rows = x.values.size() / cols;
             double two = 0, one = 0, three = 0, nonzero = 0, largest = 0, smallest = 0;
             for (double e : x.values) two += e * e;
             for (double e : x.values) one += std::abs(e);
             for (double e : x.values) three += std::abs(e) * e * e;
             for (double e : x.values) nonzero += e != 0 ? 1 : 0;
             for (std::size_t c = 0; c < cols; ++c) {
                 double m = 0;
                 for (std::size_t r = 0; r < rows; ++r) m = std::max(m, std::abs(x.values[r * cols + c]));
                 largest += m;
             }
             // -inf reduces the last axis: each row of a matrix, the whole of a vector.
             const std::size_t last = x.shape.back(), lead = x.values.size() / last;
             for (std::size_t r = 0; r < lead; ++r) {
                 double m = inf;
                 for (std::size_t c = 0; c < last; ++c) m = std::min(m, std::abs(x.values[r * last + c]));
                 smallest += m;
             }
             return from_vector({std::sqrt(two) + one + largest + std::cbrt(three) + smallest + nonzero}, {},
                                {.dtype = Dtype::float64});
         }});
Tensor norm(const Tensor& x, double p, const Axes& dims, bool keepdim) {
    detail::defined_or_fail(x, "norm");
    if (std::isnan(p) || (p < 0 && p != -inf))
        fail("norm: p = {} is not supported; expected p >= 0, inf or -inf (std::numeric_limits<double>::infinity())",
             p);
    const std::vector<std::size_t> axes = detail::normalize_axes(dims, x.dim(), "norm");
    if (std::isinf(p) && x.numel() == 0)
        fail("norm: the {}-norm of an empty tensor of shape {} is undefined", p, shape_str(x.shape()));
    if (!x.is_floating()) fail("norm: expected a float32 or float64 tensor, got {}", dtype_name(x.dtype()));
    Tensor out = detail::without_grad([&] {
        if (p == 2) return sqrt(sum(x * x, dims, keepdim));
        if (p == 1) return sum(abs(x), dims, keepdim);
        if (p == inf) return max(abs(x), dims, keepdim);
        if (p == -inf) return min(abs(x), dims, keepdim);
        if (p == 0) return sum(1.0 - zero_mask(x), dims, keepdim);
        return pow(sum(pow(abs(x), p), dims, keepdim), 1.0 / p);
    });
    const Shape keep = detail::reduced_shape(x.shape(), axes, true);
    return record(norm_def, out, {x}, Saves{.inputs = {true}, .output = true},
                  [p, dims, keep](const OpContext& c, const Tensor& g) {
                      const Tensor x = c.input(0), y = reshape(c.output(), keep), gk = reshape(g, keep);
                      if (p == 0) return GradList{zeros_like(x)};
                      if (p == 1) return GradList{gk * sign(x)};
                      if (std::isinf(p)) {
                          const Tensor at_extreme = detail::without_grad([&] {
                              return detail::zip_float(abs(x), y, "norm", [](auto u, auto m) {
                                  return u == m ? decltype(u){1} : decltype(u){0};
                              });
                          });
                          return GradList{gk * sign(x) * (at_extreme / sum(at_extreme, dims, true))};
                      }
                      // 0 where the norm is 0 (PyTorch's subgradient), without dividing by it.
                      const Tensor zero = zero_mask(y);
                      if (p == 2) return GradList{x * (gk * (1.0 - zero)) / (y + zero)};
                      if (p < 1) {
                          // |x|^(p-1) is infinite at x = 0, where PyTorch's gradient is 0.
                          const Tensor at_zero = zero_mask(x);
                          return GradList{sign(x) * pow(abs(x) + at_zero, p - 1) * (1.0 - at_zero) *
                                          (gk * pow(y, 1 - p))};
                      }
                      return GradList{sign(x) * pow(abs(x), p - 1) * (gk * (1.0 - zero) / (pow(y, p - 1) + zero))};
                  });
}

void detail::link_norm_ops() {}  // see registry.cpp

}  // namespace rg
