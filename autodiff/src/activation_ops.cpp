// The activations of recent networks (transformers, mobile nets): erf, gelu,
// silu, mish, hardtanh, hardsigmoid, hardswish, logsigmoid and softsign, each declared
// once with its forward and its VJP. The VJPs are written with rg ops (erf,
// exp, sigmoid, tanh, softplus), so they can be differentiated again.
// Kinks follow PyTorch: hardtanh and hardsigmoid pass no gradient at their
// corners (strict inequalities). float32 erf, gelu and silu run on the
// vector kernels of kernels/transcendental.cpp.
#include "kernels/map_vector_math.hpp"
#include "op_defs.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace rg {
namespace {

using detail::map_float;
using detail::map_vector_math;
using detail::VectorMath;

OpDef activation_def(std::string_view name, std::string_view signature, std::string_view doc, std::string_view rule,
                     std::function<Tensor(const Tensor&)> call, std::function<double(double)> reference,
                     double low = -3.0, double high = 3.0) {
    return detail::unary_call_def(name, signature, doc, rule, std::move(call), std::move(reference), low, high);
}

// 1 where low < x < high (strictly), else 0, in x's dtype: the gradient mask of
// a clamp-like activation, as PyTorch's hardtanh_backward.
Tensor inside(const Tensor& x, double low, double high) {
    return map_float(x, "inside",
                     [low, high](auto u) { return u > low && u < high ? decltype(u){1} : decltype(u){0}; });
}

constexpr double two_over_sqrt_pi = 2.0 * std::numbers::inv_sqrtpi;  // erf'(0)
constexpr double inv_sqrt_2pi = std::numbers::inv_sqrtpi / std::numbers::sqrt2;  // φ(0)
constexpr double gelu_k = std::numbers::sqrt2 * std::numbers::inv_sqrtpi;  // sqrt(2 / π)
constexpr double gelu_c = 0.044715;

double reference_gelu_tanh(double x) { return 0.5 * x * (1.0 + std::tanh(gelu_k * (x + gelu_c * x * x * x))); }

// gelu's VJP, an op of its own (below) so that it can be differentiated again.
Tensor gelu_backward(const Tensor& g, const Tensor& x);

}  // namespace

const OpDef& erf_def =
    define_op(activation_def("erf", "erf(x)", "the error function, 2/√π ∫₀ˣ e^(-t²) dt",
                             "dx = g * 2/sqrt(pi) * e^(-x^2)", rg::erf, [](double x) { return std::erf(x); }));
Tensor erf(const Tensor& x) {
    return record(erf_def, map_vector_math(x, "erf", VectorMath::erf, [](auto u) { return std::erf(u); }), {x},
                  {.inputs = {true}}, [](const OpContext& c, const Tensor& g) {
                      const Tensor x = c.input(0);
                      return GradList{g * exp(-(x * x)) * two_over_sqrt_pi};
                  });
}

const OpDef& gelu_def = define_op(activation_def(
    "gelu", "gelu(x, approximate = \"none\")", "x Φ(x), Φ the standard normal CDF (exact, with erf)",
    "dx = g * (Phi(x) + x * phi(x))", [](const Tensor& x) { return gelu(x); },
    [](double x) { return 0.5 * x * (1.0 + std::erf(x / std::numbers::sqrt2)); }));
const OpDef& gelu_tanh_def = define_op(activation_def(
    "gelu_tanh", "gelu(x, approximate = \"tanh\")",
    "gelu's tanh approximation, x/2 (1 + tanh(sqrt(2/π) (x + 0.044715 x³)))",
    "dx = g * (0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)), t = tanh(...)",
    [](const Tensor& x) { return gelu(x, "tanh"); }, reference_gelu_tanh));
Tensor gelu(const Tensor& x, std::string_view approximate) {
    if (approximate == "tanh") {
        Tensor out = map_vector_math(x, "gelu", VectorMath::gelu_tanh, [](auto u) {
            using T = decltype(u);
            return static_cast<T>(0.5 * u * (1.0 + std::tanh(gelu_k * (u + gelu_c * u * u * u))));
        });
        return record(gelu_tanh_def, out, {x}, {.inputs = {true}}, [](const OpContext& c, const Tensor& g) {
            const Tensor x = c.input(0), x2 = x * x;
            const Tensor t = tanh((x + x2 * x * gelu_c) * gelu_k);
            const Tensor slope = (t + 1.0) * 0.5 + x * (1.0 - t * t) * (x2 * (3.0 * gelu_c) + 1.0) * (0.5 * gelu_k);
            return GradList{g * slope};
        });
    }
    if (approximate != "none") fail("gelu: approximate must be \"none\" or \"tanh\", got \"{}\"", approximate);
    // erfc(-x/√2)/2 is Φ(x) without the cancellation 1 + erf(x/√2) suffers for x << 0.
    Tensor out = map_vector_math(x, "gelu", VectorMath::gelu, [](auto u) {
        using T = decltype(u);
        return static_cast<T>(0.5 * u * std::erfc(-u * (1.0 / std::numbers::sqrt2)));
    });
    return record(gelu_def, out, {x}, {.inputs = {true}},
                  [](const OpContext& c, const Tensor& g) { return GradList{gelu_backward(g, c.input(0))}; });
}

namespace {
double gelu_slope(double x) {
    return 0.5 * std::erfc(-x / std::numbers::sqrt2) + x * inv_sqrt_2pi * std::exp(-0.5 * x * x);
}

const OpDef& gelu_backward_def = define_op({.name = "gelu_backward",
                                            .signature = "gelu_backward(g, x)",
                                            .doc = "g * (Φ(x) + x φ(x)): the VJP of gelu (exact) at x",
                                            .rule = "dg = h * (Phi(x) + x * phi(x)); dx = h * g * phi(x) * (2 - x^2)",
                                            .kind = OpKind::backward,
                                            .call = [](const TensorList& v) { return gelu_backward(v[0], v[1]); },
                                            .samples = detail::same_shape_samples(-3.0, 3.0),
                                            .reference2 = [](double g, double x) { return g * gelu_slope(x); },
                                            .bad_shapes = {Shape{2, 3}, Shape{3}}});
// One pass for the slope (float32: the vector kernels) and one product,
// where the composed form took eleven passes over x.
Tensor gelu_backward(const Tensor& g, const Tensor& x) {
    detail::check_same_shape(g, x, "gelu_backward");
    const Tensor slope = map_vector_math(x, "gelu_backward", VectorMath::gelu_slope,
                                         [](auto u) { return static_cast<decltype(u)>(gelu_slope(u)); });
    // The slope is a fresh buffer: g is multiplied into it (where it can be
    // written: not for bfloat16, which zip_float computes in float32).
    Tensor out = detail::zip_float_reusing_first(slope, g, detail::GradBuffer::reusable, "gelu_backward",
                                                 [](auto s, auto gv) { return s * gv; });
    return record(gelu_backward_def, out, {g, x}, {.inputs = {true, true}}, [](const OpContext& c, const Tensor& h) {
        const Tensor g = c.input(0), x = c.input(1);
        // d/dx g (Φ(x) + x φ(x)) = g φ(x) (2 - x²), φ' = -x φ.
        return GradList{c.needs_grad(0) ? gelu_backward(h, x) : Tensor{},
                        c.needs_grad(1) ? h * g * exp(x * x * -0.5) * inv_sqrt_2pi * rsub(2.0, x * x) : Tensor{}};
    });
}
}  // namespace

const OpDef& silu_def =
    define_op(activation_def("silu", "silu(x)", "x σ(x) (swish)", "dx = g * s * (1 + x * (1 - s)), s = sigmoid(x)",
                             rg::silu, [](double x) { return x / (1.0 + std::exp(-x)); }));
Tensor silu(const Tensor& x) {
    Tensor out = map_vector_math(x, "silu", VectorMath::silu, [](auto u) {
        using T = decltype(u);
        // x σ(x) with σ computed on the side where e^-|x| cannot overflow.
        const T e = std::exp(-std::abs(u));
        return u >= 0 ? u / (T{1} + e) : u * e / (T{1} + e);
    });
    return record(silu_def, out, {x}, {.inputs = {true}}, [](const OpContext& c, const Tensor& g) {
        const Tensor x = c.input(0), s = sigmoid(x);
        return GradList{g * s * (x * (1.0 - s) + 1.0)};
    });
}

const OpDef& mish_def =
    define_op(activation_def("mish", "mish(x)", "x tanh(softplus(x))",
                             "dx = g * (t + x * (1 - t^2) * sigmoid(x)), t = tanh(softplus(x))", rg::mish,
                             [](double x) { return x * std::tanh(std::log1p(std::exp(x))); }));
Tensor mish(const Tensor& x) {
    Tensor out = map_float(x, "mish", [](auto u) {
        using T = decltype(u);
        const T softplus = (u > 0 ? u : T{0}) + std::log1p(std::exp(-std::abs(u)));
        return static_cast<T>(u * std::tanh(softplus));
    });
    return record(mish_def, out, {x}, {.inputs = {true}}, [](const OpContext& c, const Tensor& g) {
        const Tensor x = c.input(0), t = tanh(softplus(x));
        return GradList{g * (t + x * (1.0 - t * t) * sigmoid(x))};
    });
}

const OpDef& hardtanh_def = define_op(activation_def(
    "hardtanh", "hardtanh(x, min_val = -1, max_val = 1)", "x limited to [min_val, max_val]",
    "dx = g where min_val < x < max_val, else 0", [](const Tensor& x) { return hardtanh(x, -1.5, 0.5); },
    [](double x) { return std::clamp(x, -1.5, 0.5); }));
Tensor hardtanh(const Tensor& x, double min_val, double max_val) {
    if (std::isnan(min_val) || std::isnan(max_val) || min_val > max_val)
        fail("hardtanh: min_val {} must not exceed max_val {}", min_val, max_val);
    Tensor out = map_float(x, "hardtanh", [min_val, max_val](auto u) {
        using T = decltype(u);
        return static_cast<T>(u < min_val ? min_val : (u > max_val ? max_val : u));
    });
    return record(hardtanh_def, out, {x}, {.inputs = {true}}, [min_val, max_val](const OpContext& c, const Tensor& g) {
        return GradList{g * inside(c.input(0), min_val, max_val)};
    });
}

const OpDef& hardsigmoid_def = define_op(activation_def(
    "hardsigmoid", "hardsigmoid(x)", "x/6 + 1/2 limited to [0, 1]", "dx = g / 6 where -3 < x < 3, else 0",
    rg::hardsigmoid, [](double x) { return std::clamp(x / 6.0 + 0.5, 0.0, 1.0); }, -4.5, 4.5));
Tensor hardsigmoid(const Tensor& x) {
    Tensor out = map_float(x, "hardsigmoid", [](auto u) {
        using T = decltype(u);
        return u <= T{-3} ? T{0} : (u >= T{3} ? T{1} : static_cast<T>(u / T{6} + T{0.5}));
    });
    return record(hardsigmoid_def, out, {x}, {.inputs = {true}}, [](const OpContext& c, const Tensor& g) {
        return GradList{g * inside(c.input(0), -3.0, 3.0) * (1.0 / 6.0)};
    });
}

const OpDef& logsigmoid_def = define_op(activation_def(
    "logsigmoid", "logsigmoid(x)", "log σ(x) = -softplus(-x), exact for large |x|", "dx = g * sigmoid(-x)",
    rg::logsigmoid, [](double x) { return -std::log1p(std::exp(-x)); }, -6.0, 6.0));
Tensor logsigmoid(const Tensor& x) {
    Tensor out = map_float(x, "logsigmoid", [](auto u) {
        using T = decltype(u);
        return static_cast<T>((u < 0 ? u : T{0}) - std::log1p(std::exp(-std::abs(u))));
    });
    return record(logsigmoid_def, out, {x}, {.inputs = {true}},
                  [](const OpContext& c, const Tensor& g) { return GradList{g * sigmoid(-c.input(0))}; });
}

const OpDef& softsign_def = define_op(activation_def("softsign", "softsign(x)", "x / (1 + |x|)", "dx = g / (1 + |x|)^2",
                                                     rg::softsign, [](double x) { return x / (1.0 + std::abs(x)); }));
Tensor softsign(const Tensor& x) {
    Tensor out = map_float(x, "softsign", [](auto u) { return u / (decltype(u){1} + std::abs(u)); });
    return record(softsign_def, out, {x}, {.inputs = {true}}, [](const OpContext& c, const Tensor& g) {
        const Tensor d = abs(c.input(0)) + 1.0;
        return GradList{g / (d * d)};
    });
}

// The gradient's three pieces follow PyTorch 1.13's hardswish_backward: 0
// below -3, x/3 + 1/2 on [-3, 3] (so -1/2 at -3 itself), 1 above.
const OpDef& hardswish_def = define_op(activation_def(
    "hardswish", "hardswish(x)", "x relu6(x + 3) / 6 (MobileNetV3)",
    "dx = 0 where x < -3, g * (x/3 + 1/2) where -3 <= x <= 3, else g", rg::hardswish,
    [](double x) { return x * std::clamp(x + 3.0, 0.0, 6.0) / 6.0; }, -4.5, 4.5));
Tensor hardswish(const Tensor& x) {
    Tensor out = map_float(x, "hardswish", [](auto u) {
        using T = decltype(u);
        return u <= T{-3} ? T{0} : (u >= T{3} ? u : static_cast<T>(u * (u + T{3}) / T{6}));
    });
    return record(hardswish_def, out, {x}, {.inputs = {true}}, [](const OpContext& c, const Tensor& g) {
        const Tensor x = c.input(0);
        return GradList{g * where(lt(x, -3.0), 0.0, where(le(x, 3.0), x * (1.0 / 3.0) + 0.5, 1.0))};
    });
}

// relu6 and selu are compositions of registered ops, with no node of their own.
const OpDef& relu6_def = define_op([] {
    OpDef def = activation_def(
        "relu6", "relu6(x)", "min(max(x, 0), 6), as torch.nn.functional.relu6", "composite: hardtanh(x, 0, 6)",
        rg::relu6, [](double x) { return std::clamp(x, 0.0, 6.0); }, -2.0, 8.0);
    def.composite = true;
    return def;
}());
Tensor relu6(const Tensor& x) { return hardtanh(x, 0.0, 6.0); }

constexpr double selu_alpha = 1.6732632423543772848170429916717;
constexpr double selu_scale = 1.0507009873554804934193349852946;
const OpDef& selu_def = define_op([] {
    OpDef def = activation_def("selu", "selu(x)", "scale * elu(x, alpha), scale 1.0507..., alpha 1.6733... (PyTorch's)",
                               "composite: elu(x, alpha) * scale", rg::selu,
                               [](double x) { return selu_scale * (x > 0 ? x : selu_alpha * std::expm1(x)); });
    def.composite = true;
    return def;
}());
Tensor selu(const Tensor& x) { return elu(x, selu_alpha) * selu_scale; }

void detail::link_activation_ops() {}  // see registry.cpp

}  // namespace rg
