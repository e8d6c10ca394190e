// layer_norm, as torch.nn.functional.layer_norm: each row of the trailing
// normalized_shape axes centred, divided by sqrt(var + eps), then scaled and
// shifted. One kernel pass per row forward and one for the input's VJP
// (layer_norm_backward), which is an op itself so that double backward
// flows through it.
#include "norm_operands.hpp"
#include "op_defs.hpp"
#include "op_references.hpp"

#include <cmath>

namespace rg {
namespace detail {
void link_layer_norm();
}  // namespace detail

extern const OpDef& layer_norm_backward_def;

namespace {

using detail::check_eps;
using detail::data_or_null;
using detail::dense_or_none;

constexpr const char* ln = "layer_norm";
constexpr double default_eps = 1e-5;

// normalized_shape as a Shape, checked against x's trailing axes, and its size.
Shape checked_shape(const char* op, const Tensor& x, const IntList& normalized_shape) {
    Shape shape;
    for (std::size_t i = 0; i < normalized_shape.size(); ++i) {
        if (normalized_shape[i] <= 0)
            fail("{}: normalized_shape {} has a size <= 0; expected positive sizes", op, normalized_shape.str());
        shape.push_back(static_cast<std::size_t>(normalized_shape[i]));
    }
    if (shape.empty()) fail("{}: normalized_shape is empty; expected at least one size", op);
    const std::size_t k = shape.size();
    bool fits = x.dim() >= k;
    for (std::size_t i = 0; fits && i < k; ++i) fits = x.shape()[x.dim() - k + i] == shape[i];
    if (!fits)
        fail("{}: input of shape {} does not end with normalized_shape {}", op, shape_str(x.shape()), shape_str(shape));
    return shape;
}

void check_float(const char* op, const Tensor& t, const char* name) {
    detail::defined_or_fail(t, op);
    if (!t.is_floating()) fail("{}: {} is {}; expected float32 or float64", op, name, dtype_name(t.dtype()));
}

// weight or bias: undefined, or of normalized_shape and x's dtype.
void check_affine(const char* op, const Tensor& t, const char* name, const Tensor& x, const Shape& shape) {
    if (!t.defined()) return;
    check_float(op, t, name);
    if (t.shape() != shape)
        fail("{}: {} of shape {}; expected normalized_shape {}", op, name, shape_str(t.shape()), shape_str(shape));
    if (t.dtype() != x.dtype())
        fail("{}: {} is {} but the input is {}; expected one dtype", op, name, dtype_name(t.dtype()),
             dtype_name(x.dtype()));
}

Axes trailing_axes(std::size_t k) {
    Axes axes;
    for (std::size_t i = 0; i < k; ++i) axes.push_back(-static_cast<int>(k - i));
    return axes;
}

// The tests' calls: with weight and bias (normalized_shape theirs), or
// without (the last axis).
Tensor sample_call(const TensorList& v) {
    if (v.size() == 3) return layer_norm(v[0], v[1].shape(), v[1], v[2], 1e-3);
    return layer_norm(v[0], {static_cast<std::int64_t>(v[0].shape().back())});
}
Tensor sample_backward_call(const TensorList& v) {
    if (v.size() == 3) return layer_norm_backward(v[0], v[1], v[2], v[2].shape(), 1e-3);
    return layer_norm_backward(v[0], v[1], {}, {static_cast<std::int64_t>(v[1].shape().back())});
}

// Rows of `size` values of an array, in plain loops: mean, biased variance,
// x̂ per element.
struct RowValues {
    std::vector<double> xhat;
    double rstd = 0;
};
RowValues reference_row(const std::vector<double>& x, std::size_t first, std::size_t size, double eps) {
    double mean = 0, var = 0;
    for (std::size_t i = 0; i < size; ++i) mean += x[first + i];
    mean /= static_cast<double>(size);
    for (std::size_t i = 0; i < size; ++i) var += (x[first + i] - mean) * (x[first + i] - mean);
    var /= static_cast<double>(size);
    RowValues r{std::vector<double>(size), 1.0 / std::sqrt(var + eps)};
    for (std::size_t i = 0; i < size; ++i) r.xhat[i] = (x[first + i] - mean) * r.rstd;
    return r;
}

Tensor sample_reference(const TensorList& v) {
    const detail::ref::Array x(v[0]);
    const bool affine = v.size() == 3;
    const double eps = affine ? 1e-3 : default_eps;
    const std::size_t size = affine ? v[1].numel() : v[0].shape().back();
    const std::vector<double> w = affine ? v[1].to_vector() : std::vector<double>(size, 1.0);
    const std::vector<double> b = affine ? v[2].to_vector() : std::vector<double>(size, 0.0);
    detail::ref::Array out(x.shape);
    for (std::size_t first = 0; first < x.values.size(); first += size) {
        const RowValues r = reference_row(x.values, first, size, eps);
        for (std::size_t i = 0; i < size; ++i) out.values[first + i] = r.xhat[i] * w[i] + b[i];
    }
    return out.tensor();
}

// dx = rstd (a - mean(a) - x̂ mean(a x̂)), a = g w, in plain loops.
Tensor sample_backward_reference(const TensorList& v) {
    const detail::ref::Array g(v[0]), x(v[1]);
    const bool affine = v.size() == 3;
    const double eps = affine ? 1e-3 : default_eps;
    const std::size_t size = affine ? v[2].numel() : v[1].shape().back();
    const std::vector<double> w = affine ? v[2].to_vector() : std::vector<double>(size, 1.0);
    detail::ref::Array out(x.shape);
    for (std::size_t first = 0; first < x.values.size(); first += size) {
        const RowValues r = reference_row(x.values, first, size, eps);
        double mean_a = 0, mean_ax = 0;
        for (std::size_t i = 0; i < size; ++i) {
            mean_a += g.values[first + i] * w[i] / static_cast<double>(size);
            mean_ax += g.values[first + i] * w[i] * r.xhat[i] / static_cast<double>(size);
        }
        for (std::size_t i = 0; i < size; ++i)
            out.values[first + i] = r.rstd * (g.values[first + i] * w[i] - mean_a - r.xhat[i] * mean_ax);
    }
    return out.tensor();
}

// The kernel over x's rows of `size` values; weight and bias may be undefined.
template <class T>
Tensor normalized(const Tensor& x, const Tensor& weight, const Tensor& bias, std::size_t size, double eps) {
    const detail::Dense<T> xv(x);
    Tensor out = detail::empty_dense<T>(x.shape(), ln);
    const Tensor w = dense_or_none<T>(weight), b = dense_or_none<T>(bias);
    detail::layer_norm_forward(xv.data(), data_or_null<T>(w), data_or_null<T>(b), out.data_ptr<T>(), x.numel() / size,
                               size, eps);
    return out;
}

Tensor as_float32(const Tensor& t) { return t.defined() ? t.to(Dtype::float32) : t; }

}  // namespace

const OpDef& layer_norm_def = define_op(
    {.name = ln,
     .signature = "layer_norm(x, normalized_shape, weight, bias, eps = 1e-5)",
     .doc = "(x - mean) / sqrt(var + eps) * weight + bias over the trailing normalized_shape axes (biased var)",
     .rule = "dx = layer_norm_backward(g, x, weight); dweight = Σ g x̂, dbias = Σ g over the leading axes",
     .kind = OpKind::nn,
     .call = sample_call,
     .samples = {{{Shape{2, 3}, Shape{3}, Shape{3}}, -2.0, 2.0},
                 {{Shape{2, 3, 4}, Shape{3, 4}, Shape{3, 4}}, -2.0, 2.0},
                 {{Shape{4}, Shape{4}, Shape{4}}, -2.0, 2.0},
                 {{Shape{3, 5}}, -2.0, 2.0}},
     .bad_shapes = {Shape{2, 3}, Shape{4}, Shape{4}},
     .reference = sample_reference,
     .input_names = {"x", "weight", "bias"}});

Tensor layer_norm(const Tensor& x, const IntList& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
    check_float(ln, x, "input");
    const Shape shape = checked_shape(ln, x, normalized_shape);
    check_affine(ln, weight, "weight", x, shape);
    check_affine(ln, bias, "bias", x, shape);
    check_eps(ln, eps);
    // bfloat16 is computed in float32 and rounded once, as PyTorch's CPU kernels do.
    if (x.dtype() == Dtype::bfloat16)
        return layer_norm(x.to(Dtype::float32), shape, as_float32(weight), as_float32(bias), eps).to(Dtype::bfloat16);
    const std::size_t size = shape_numel(shape);
    Tensor out = detail::visit_float_dtype(x.dtype(), ln, [&](auto zero) {
        return normalized<decltype(zero)>(x, weight, bias, size, eps);
    });
    // Three inputs whether or not weight and bias are given, so that each
    // keeps its position (and its name in explain).
    const bool has_weight = weight.defined();
    return record(layer_norm_def, out, {x, weight, bias}, {.inputs = {true, has_weight}},
                  [shape, eps, has_weight](const OpContext& c, const Tensor& g) {
                      const Tensor x = c.input(0), w = has_weight ? c.input(1) : Tensor{};
                      return GradList{c.needs_grad(0) ? layer_norm_backward(g, x, w, shape, eps) : Tensor{},
                                      c.needs_grad(1) ? sum_to(g * layer_norm(x, shape, {}, {}, eps), shape) : Tensor{},
                                      c.needs_grad(2) ? sum_to(g, shape) : Tensor{}};
                  });
}

const OpDef& layer_norm_backward_def =
    define_op({.name = "layer_norm_backward",
               .signature = "layer_norm_backward(g, x, weight, normalized_shape, eps = 1e-5)",
               .doc = "rstd (a - mean(a) - x̂ mean(a x̂)), a = g weight: the VJP of layer_norm to its input",
               .rule = "dg = weight L(h), dweight = Σ g L(h), dx = -(rstd / n) (Σ(h dx) x̂ + L(Σ(a x̂) h + Σ(h x̂) a)), "
                       "L(v) = layer_norm_backward(v, x)",
               .kind = OpKind::backward,
               .call = sample_backward_call,
               .samples = {{{Shape{2, 3}, Shape{2, 3}, Shape{3}}, -2.0, 2.0},
                           {{Shape{2, 3, 4}, Shape{2, 3, 4}, Shape{3, 4}}, -2.0, 2.0},
                           {{Shape{3, 5}, Shape{3, 5}}, -2.0, 2.0}},
               .bad_shapes = {Shape{2, 3}, Shape{3, 2}, Shape{2}},
               .reference = sample_backward_reference});

Tensor layer_norm_backward(const Tensor& g, const Tensor& x, const Tensor& weight, const IntList& normalized_shape,
                           double eps) {
    constexpr const char* op = "layer_norm_backward";
    check_float(op, g, "g");
    check_float(op, x, "x");
    detail::check_same_shape(g, x, op);
    detail::check_same_dtype(g, x, op);
    const Shape shape = checked_shape(op, x, normalized_shape);
    check_affine(op, weight, "weight", x, shape);
    check_eps(op, eps);
    const std::size_t size = shape_numel(shape);
    Tensor out = detail::visit_float_dtype(x.dtype(), op, [&](auto zero) {
        using T = decltype(zero);
        const detail::Dense<T> gv(g), xv(x);
        const Tensor w = dense_or_none<T>(weight);
        Tensor result = detail::empty_dense<T>(x.shape(), op);
        detail::layer_norm_backward(gv.data(), xv.data(), data_or_null<T>(w), result.data_ptr<T>(), x.numel() / size,
                                    size, eps);
        return result;
    });
    const bool has_weight = weight.defined();
    return record(layer_norm_backward_def, out, {g, x, weight}, {.inputs = {true, true, has_weight}, .output = true},
                  [shape, eps, has_weight](const OpContext& c, const Tensor& h) {
                      // dx = L(a), L(v) = rstd (v - mean(v) - x̂ mean(x̂ v)) per row: L is
                      // symmetric, so a's cotangent is L(h); x's comes from L's
                      // dependence on x (through x̂ and rstd).
                      const Tensor g = c.input(0), x = c.input(1), w = has_weight ? c.input(2) : Tensor{};
                      const Axes axes = trailing_axes(shape.size());
                      const Tensor lh = layer_norm_backward(h, x, {}, shape, eps);
                      GradList grads;
                      grads.push_back(c.needs_grad(0) ? (has_weight ? lh * w : lh) : Tensor{});
                      if (c.needs_grad(1)) {
                          const Tensor a = has_weight ? g * w : g;
                          const Tensor xhat = layer_norm(x, shape, {}, {}, eps);
                          const Tensor rstd = 1.0 / sqrt(var(x, axes, true, 0) + eps);
                          const Tensor mixed = sum(a * xhat, axes, true) * h + sum(h * xhat, axes, true) * a;
                          const double n = static_cast<double>(shape_numel(shape));
                          grads.push_back((rstd / -n) * (sum(h * c.output(), axes, true) * xhat +
                                                         layer_norm_backward(mixed, x, {}, shape, eps)));
                      } else {
                          grads.push_back(Tensor{});
                      }
                      grads.push_back(c.needs_grad(2) ? sum_to(g * lh, shape) : Tensor{});
                      return grads;
                  });
}

void detail::link_layer_norm() {}  // see registry.cpp

}  // namespace rg
