// Binary elementwise math beside add and mul: atan2, fmod and remainder (and
// their forms with a number divisor), and lerp with a number or a tensor
// weight, each declared once with its forward and its VJP. They broadcast
// as add does, and each gradient is summed back to its input's shape.
// fmod keeps the sign of a (C's fmod), remainder the sign of b (Python's %),
// as torch.fmod and torch.remainder.
#include "op_defs.hpp"
#include "op_references.hpp"

#include <cmath>

namespace rg {
namespace {

using detail::binary_def;
using detail::zip_float;

// a mod b with the sign of b, as Python's % and torch.remainder.
constexpr auto python_mod = [](auto a, auto b) {
    auto r = std::fmod(a, b);
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
};

// binary_samples with values in [low, high) and, one sample in two, in
// (-high, -low]: both signs, away from 0.
std::vector<OpSample> away_from_zero(double low, double high) {
    std::vector<OpSample> samples = detail::binary_samples(low, high);
    for (std::size_t k = 1; k < samples.size(); k += 2) {
        samples[k].low = -high;
        samples[k].high = -low;
    }
    return samples;
}

// The VJP of a - b * rounded(a / b): da = g, db = -g * rounded(a / b), the
// rounded quotient read as a constant (it is piecewise constant).
GradList mod_gradients(const OpContext& c, const Tensor& g, Tensor (*rounded)(const Tensor&)) {
    Tensor db;
    if (c.needs_grad(1)) {
        const Tensor quotient = detail::without_grad([&] { return rounded(c.input(0) / c.input(1)); });
        db = sum_to(neg(g * quotient), c.input_shape(1));
    }
    return GradList{c.needs_grad(0) ? sum_to(g, c.input_shape(0)) : Tensor{}, db};
}

// A binary op whose operands keep away from 0 (and, for fmod and remainder,
// whose quotient a / b stays in (1/2, 2), where trunc and floor jump only at a = b).
OpDef away_from_zero_def(std::string_view name, std::string_view doc, std::string_view rule, detail::BinaryFn f,
                         std::function<double(double, double)> reference) {
    OpDef def = binary_def(name, doc, rule, f, std::move(reference));
    def.samples = away_from_zero(1.0, 1.9);
    return def;
}

}  // namespace

const OpDef& atan2_def = define_op(
    away_from_zero_def("atan2", "the angle of the point (x, y), in (-π, π]",
                       "dy = g * x / (x^2 + y^2), dx = -g * y / (x^2 + y^2) (each summed to its input's shape)",
                       rg::atan2, [](double y, double x) { return std::atan2(y, x); }));
Tensor atan2(const Tensor& y, const Tensor& x) {
    return record(atan2_def, zip_float(y, x, "atan2", [](auto u, auto v) { return std::atan2(u, v); }), {y, x},
                  {.inputs = {true, true}}, [](const OpContext& c, const Tensor& g) {
                      const Tensor y = c.input(0), x = c.input(1);
                      const Tensor r2 = x * x + y * y;
                      return GradList{c.needs_grad(0) ? sum_to(g * x / r2, c.input_shape(0)) : Tensor{},
                                      c.needs_grad(1) ? sum_to(neg(g * y) / r2, c.input_shape(1)) : Tensor{}};
                  });
}

const OpDef& fmod_def =
    define_op(away_from_zero_def("fmod", "a - b * trunc(a / b), with a's sign (C's fmod)",
                                 "da = g, db = -g * trunc(a / b) (each summed to its input's shape)", rg::fmod,
                                 [](double a, double b) { return a - b * std::trunc(a / b); }));
Tensor fmod(const Tensor& a, const Tensor& b) {
    return record(fmod_def, zip_float(a, b, "fmod", [](auto u, auto v) { return std::fmod(u, v); }), {a, b},
                  {.inputs = {b.requires_grad(), b.requires_grad()}},
                  [](const OpContext& c, const Tensor& g) { return mod_gradients(c, g, rg::trunc); });
}

const OpDef& remainder_def =
    define_op(away_from_zero_def("remainder", "a - b * floor(a / b), with b's sign (Python's %)",
                                 "da = g, db = -g * floor(a / b) (each summed to its input's shape)", rg::remainder,
                                 [](double a, double b) { return a - b * std::floor(a / b); }));
Tensor remainder(const Tensor& a, const Tensor& b) {
    return record(remainder_def, zip_float(a, b, "remainder", python_mod), {a, b},
                  {.inputs = {b.requires_grad(), b.requires_grad()}},
                  [](const OpContext& c, const Tensor& g) { return mod_gradients(c, g, rg::floor); });
}

// ---- with a number divisor ---------------------------------------------------------
// Sampled on [1, 1.3) with the divisor -0.7: a / b in (-1.86, -1.43), away
// from the jumps, and of opposite signs, where fmod and remainder differ.

const OpDef& fmod_scalar_def = define_op(detail::unary_call_def(
    "fmod_scalar", "fmod(a, b) for a number b", "a - b * trunc(a / b) for a number b, with a's sign", "da = g",
    [](const Tensor& a) { return fmod(a, -0.7); }, [](double a) { return a + 0.7 * std::trunc(a / -0.7); }, 1.0, 1.3));
Tensor fmod(const Tensor& a, double b) {
    Tensor out = detail::map_float(a, "fmod", [b](auto u) { return std::fmod(u, static_cast<decltype(u)>(b)); });
    return record(fmod_scalar_def, out, {a}, {}, [](const OpContext&, const Tensor& g) { return GradList{g}; });
}

const OpDef& remainder_scalar_def = define_op(detail::unary_call_def(
    "remainder_scalar", "remainder(a, b) for a number b", "a - b * floor(a / b) for a number b, with b's sign",
    "da = g", [](const Tensor& a) { return remainder(a, -0.7); },
    [](double a) { return a + 0.7 * std::floor(a / -0.7); }, 1.0, 1.3));
Tensor remainder(const Tensor& a, double b) {
    Tensor out = detail::map_float(a, "remainder", [b](auto u) { return python_mod(u, static_cast<decltype(u)>(b)); });
    return record(remainder_scalar_def, out, {a}, {}, [](const OpContext&, const Tensor& g) { return GradList{g}; });
}

// ---- lerp ---------------------------------------------------------------------------

namespace {

// start + weight * (end - start) in float64, by plain loops over the broadcast shape.
Tensor reference_lerp(const TensorList& v) {
    const Shape shape = broadcast_shapes(v[0].shape(), broadcast_shapes(v[1].shape(), v[2].shape(), "lerp"), "lerp");
    const detail::ref::Array start(v[0]), end(v[1]), weight(v[2]);
    detail::ref::Array out(shape);
    const auto at = [&shape](const detail::ref::Array& a, const detail::ref::Index& index) {
        detail::ref::Index own(a.shape.size());
        for (std::size_t d = 0; d < own.size(); ++d) {
            const std::size_t i = index[shape.size() - own.size() + d];
            own[d] = a.shape[d] == 1 ? 0 : i;
        }
        return a[own];
    };
    detail::ref::for_each_index(shape, [&](const detail::ref::Index& i) {
        out[i] = at(start, i) + at(weight, i) * (at(end, i) - at(start, i));
    });
    return out.tensor();
}

// The values of start + weight * (end - start), not recorded; bfloat16 in
// float32, rounded once.
Tensor lerp_values(const Tensor& start, const Tensor& end, const Tensor& weight) {
    detail::check_same_dtype(start, end, "lerp");
    detail::check_same_dtype(start, weight, "lerp");
    const Dtype dtype = start.dtype();
    if (dtype != Dtype::float32 && dtype != Dtype::float64 && dtype != Dtype::bfloat16)
        fail("lerp: expected float32 or float64 tensors, got {}", dtype_name(dtype));
    broadcast_shapes(start.shape(), broadcast_shapes(end.shape(), weight.shape(), "lerp"), "lerp");
    if (dtype == Dtype::bfloat16)
        return detail::float32_as_bf16(detail::without_grad([&] {
            return lerp_values(detail::bf16_as_float32(start), detail::bf16_as_float32(end),
                               detail::bf16_as_float32(weight));
        }));
    // PyTorch's two forms, so that a weight of 0 gives start and a weight of 1 gives end exactly.
    return detail::without_grad([&] {
        const Tensor span = end - start;
        return where(lt(weight, 0.5), addcmul(start, weight, span), end - span * rsub(1.0, weight));
    });
}

}  // namespace

const OpDef& lerp_def =
    define_op({.name = "lerp",
               .signature = "lerp(start, end, weight)",
               .doc = "start + weight * (end - start) for a tensor weight, broadcasting all three",
               .rule = "dstart = g * (1 - weight), dend = g * weight, dweight = g * (end - start) (each summed to "
                       "its input's shape)",
               .kind = OpKind::elementwise,
               .call = [](const TensorList& v) { return lerp(v[0], v[1], v[2]); },
               .samples = {{{Shape{2, 3}, Shape{2, 3}, Shape{2, 3}}},
                           {{Shape{2, 1}, Shape{3}, Shape{}}},
                           {{Shape{}, Shape{2}, Shape{2, 1}}},
                           {{Shape{0, 3}, Shape{3}, Shape{1}}}},
               .bad_shapes = {Shape{2, 3}, Shape{4}, Shape{2, 3}},
               .reference = reference_lerp});
Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight) {
    const bool ends_need_grad = start.requires_grad() || end.requires_grad();
    return record(lerp_def, lerp_values(start, end, weight), {start, end, weight},
                  {.inputs = {weight.requires_grad(), weight.requires_grad(), ends_need_grad}},
                  [](const OpContext& c, const Tensor& g) {
                      GradList grads{Tensor{}, Tensor{}, Tensor{}};
                      if (c.needs_grad(0) || c.needs_grad(1)) {
                          const Tensor w = c.input(2);
                          if (c.needs_grad(0)) grads[0] = sum_to(g * rsub(1.0, w), c.input_shape(0));
                          if (c.needs_grad(1)) grads[1] = sum_to(g * w, c.input_shape(1));
                      }
                      if (c.needs_grad(2)) grads[2] = sum_to(g * (c.input(1) - c.input(0)), c.input_shape(2));
                      return grads;
                  });
}

const OpDef& lerp_scalar_def = [] {
    OpDef def = binary_def(
        "lerp_scalar", "start + weight * (end - start) for a number weight, broadcasting start and end",
        "dstart = g * (1 - weight), dend = g * weight (each summed to its input's shape)",
        [](const Tensor& a, const Tensor& b) { return lerp(a, b, 0.3); },
        [](double a, double b) { return a + 0.3 * (b - a); });
    def.signature = "lerp(start, end, weight) with a number weight";
    return define_op(std::move(def));
}();
Tensor lerp(const Tensor& start, const Tensor& end, double weight) {
    Tensor out = zip_float(start, end, "lerp", [weight](auto u, auto v) {
        using T = decltype(u);
        const auto w = static_cast<T>(weight);
        return static_cast<T>(weight < 0.5 ? u + w * (v - u) : v - (v - u) * (T{1} - w));
    });
    return record(lerp_scalar_def, out, {start, end}, {}, [weight](const OpContext& c, const Tensor& g) {
        return GradList{c.needs_grad(0) ? sum_to(g * (1.0 - weight), c.input_shape(0)) : Tensor{},
                        c.needs_grad(1) ? sum_to(g * weight, c.input_shape(1)) : Tensor{}};
    });
}

void detail::link_binary_math_ops() {}  // see registry.cpp

}  // namespace rg
