// Spread and size reductions in LibTorch's argument order: std (unbiased or
// with a correction) and the vector norms p = 1, 2, inf (2 over every element:
// the Frobenius norm), with PyTorch's subgradients at 0.
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
     .doc = "vector p-norm over dims for p = 1, 2 or inf (p = 2 over every element: the Frobenius norm)",
     .rule = "p = 2: dx = g * x / y (0 where y = 0); p = 1: dx = g * sign(x); p = inf: dx = g * sign(x) at the "
             "largest |x|, shared by ties",
     .kind = OpKind::reduction,
     .call = [](const TensorList& v) { return norm(v[0]) + sum(norm(v[0], 1, {-1})) + sum(norm(v[0], inf, {0}, true)); },
     .samples = {{{Shape{2, 3}}, -2.0, 2.0}, {{Shape{4}}, -2.0, 2.0}},
     .reference =
         [](const TensorList& v) {
             const Array x(v[0]);  // (rows, cols), or a vector as (rows, 1)
             const std::size_t cols = x.shape.size() == 2 ? x.shape[1] : 1, rows = x.values.size() / cols;
             double two = 0, one = 0, largest = 0;
             for (double e : x.values) two += e * e;
             for (double e : x.values) one += std::abs(e);
             for (std::size_t c = 0; c < cols; ++c) {
                 double m = 0;
                 for (std::size_t r = 0; r < rows; ++r) m = std::max(m, std::abs(x.values[r * cols + c]));
                 largest += m;
             }
             return from_vector({std::sqrt(two) + one + largest}, {}, {.dtype = Dtype::float64});
         }});
Tensor norm(const Tensor& x, double p, const Axes& dims, bool keepdim) {
    detail::defined_or_fail(x, "norm");
    if (p != 1 && p != 2 && p != inf)
        fail("norm: p = {} is not supported; expected 1, 2 or inf (std::numeric_limits<double>::infinity())", p);
    const std::vector<std::size_t> axes = detail::normalize_axes(dims, x.dim(), "norm");
    if (p == inf && x.numel() == 0)
        fail("norm: the inf-norm of an empty tensor of shape {} is undefined", shape_str(x.shape()));
    if (!x.is_floating()) fail("norm: expected a float32 or float64 tensor, got {}", dtype_name(x.dtype()));
    Tensor out = detail::without_grad([&] {
        if (p == 2) return sqrt(sum(x * x, dims, keepdim));
        return p == 1 ? sum(abs(x), dims, keepdim) : max(abs(x), dims, keepdim);
    });
    const Shape keep = detail::reduced_shape(x.shape(), axes, true);
    return record(norm_def, out, {x}, Saves{.inputs = {true}, .output = true},
                  [p, dims, keep](const OpContext& c, const Tensor& g) {
                      const Tensor x = c.input(0), y = reshape(c.output(), keep), gk = reshape(g, keep);
                      if (p == 1) return GradList{gk * sign(x)};
                      if (p == 2) {
                          // 0 where the norm is 0 (PyTorch's subgradient), without dividing by it.
                          const Tensor zero = zero_mask(y);
                          return GradList{x * (gk * (1.0 - zero)) / (y + zero)};
                      }
                      const Tensor at_max = detail::without_grad([&] {
                          return detail::zip_float(abs(x), y, "norm", [](auto u, auto m) {
                              return u == m ? decltype(u){1} : decltype(u){0};
                          });
                      });
                      return GradList{gk * sign(x) * (at_max / sum(at_max, dims, true))};
                  });
}

void detail::link_norm_ops() {}  // see registry.cpp

}  // namespace rg
