// Unary elementwise ops and activations, each declared once: its registry
// entry, its forward and its VJP side by side. VJPs are written with rg ops so
// that they can be differentiated again; ops whose derivative is cheapest from
// their result (exp, sqrt, tanh, sigmoid, relu, expm1) save their output.
// float32 exp, log, tanh and sigmoid run on the vector kernels of
// kernels/transcendental.cpp; float64 on the C library's functions.
#include "kernels/map_vector_math.hpp"
#include "op_defs.hpp"

#include <cmath>
#include <limits>

namespace rg {
using detail::GradBuffer;
namespace {

using detail::call_unary;
using detail::map_float;
using detail::map_vector_math;
using detail::unary_samples;
using detail::VectorMath;

// A 0/1 mask in x's dtype, no gradient.
template <class F> Tensor mask_of(const Tensor& x, const char* op, F predicate) {
    return map_float(x, op, [&](auto v) { return predicate(v) ? decltype(v){1} : decltype(v){0}; });
}

// The registry entry of a unary elementwise op.
OpDef unary_def(std::string_view name, std::string_view doc, std::string_view rule, detail::UnaryFn f,
                std::function<double(double)> reference, double low = -2.0, double high = 2.0,
                std::string_view signature = {}) {
    return OpDef{.name = name,
                 .signature = signature,
                 .doc = doc,
                 .rule = rule,
                 .kind = OpKind::elementwise,
                 .call = call_unary(f),
                 .samples = unary_samples(low, high),
                 .differentiable = {true},
                 .reference1 = std::move(reference)};
}

// ---- fused VJPs, from the saved output y ------------------------------------------
// One pass and one allocation where the composed form takes four. Each is an
// op in its own right, with its own VJP, so gradients through them can be
// differentiated again.

extern const OpDef& tanh_backward_def;
extern const OpDef& sigmoid_backward_def;
extern const OpDef& relu_backward_def;

Tensor tanh_backward(const Tensor& g, const Tensor& y, GradBuffer g_buffer = GradBuffer::keep) {
    detail::check_same_shape(g, y, "tanh_backward");
    Tensor out = detail::zip_float_reusing_first(g, y, g_buffer, "tanh_backward",
                                                 [](auto gv, auto yv) { return gv * (decltype(yv){1} - yv * yv); });
    return record(tanh_backward_def, out, {g, y}, {.inputs = {true, true}}, [](const OpContext& c, const Tensor& h) {
        const Tensor g = c.input(0), y = c.input(1);
        return GradList{c.needs_grad(0) ? tanh_backward(h, y) : Tensor{},
                        c.needs_grad(1) ? h * g * y * -2.0 : Tensor{}};  // d/dy g (1 - y²) = -2 g y
    });
}
const OpDef& tanh_backward_def = define_op({.name = "tanh_backward",
                                            .signature = "tanh_backward(g, y)",
                                            .doc = "g * (1 - y²): the VJP of tanh from its output y",
                                            .rule = "dg = h * (1 - y^2); dy = -2 * h * g * y",
                                            .kind = OpKind::backward,
                                            .call = [](const TensorList& v) { return tanh_backward(v[0], v[1]); },
                                            .samples = detail::same_shape_samples(-0.9, 0.9),
                                            .bad_shapes = {Shape{2, 3}, Shape{3}}});

Tensor sigmoid_backward(const Tensor& g, const Tensor& y, GradBuffer g_buffer = GradBuffer::keep) {
    detail::check_same_shape(g, y, "sigmoid_backward");
    Tensor out = detail::zip_float_reusing_first(g, y, g_buffer, "sigmoid_backward",
                                                 [](auto gv, auto yv) { return gv * yv * (decltype(yv){1} - yv); });
    return record(sigmoid_backward_def, out, {g, y}, {.inputs = {true, true}}, [](const OpContext& c, const Tensor& h) {
        const Tensor g = c.input(0), y = c.input(1);
        return GradList{c.needs_grad(0) ? sigmoid_backward(h, y) : Tensor{},
                        c.needs_grad(1) ? h * g * rsub(1.0, y * 2.0) : Tensor{}};  // d/dy g y (1 - y) = g (1 - 2y)
    });
}
const OpDef& sigmoid_backward_def = define_op({.name = "sigmoid_backward",
                                               .signature = "sigmoid_backward(g, y)",
                                               .doc = "g * y * (1 - y): the VJP of sigmoid from its output y",
                                               .rule = "dg = h * y * (1 - y); dy = h * g * (1 - 2y)",
                                               .kind = OpKind::backward,
                                               .call = [](const TensorList& v) { return sigmoid_backward(v[0], v[1]); },
                                               .samples = detail::same_shape_samples(0.05, 0.95),
                                               .bad_shapes = {Shape{2, 3}, Shape{3}}});

Tensor relu_backward(const Tensor& g, const Tensor& y, GradBuffer g_buffer = GradBuffer::keep) {
    detail::check_same_shape(g, y, "relu_backward");
    Tensor out = detail::zip_float_reusing_first(g, y, g_buffer, "relu_backward",
                                                 [](auto gv, auto yv) { return yv > 0 ? gv : decltype(gv){0}; });
    // Piecewise linear: nothing flows to y.
    return record(relu_backward_def, out, {g, y.detach()}, {.inputs = {false, true}},
                  [](const OpContext& c, const Tensor& h) {
                      return GradList{relu_backward(h, c.input(1), GradBuffer::reusable), Tensor{}};
                  });
}
const OpDef& relu_backward_def = define_op({.name = "relu_backward",
                                            .signature = "relu_backward(g, y)",
                                            .doc = "g where y > 0, else 0: the VJP of relu from its output y",
                                            .rule = "dg = h * (y > 0)",
                                            .kind = OpKind::backward,
                                            .call = [](const TensorList& v) { return relu_backward(v[0], v[1]); },
                                            .samples = detail::same_shape_samples(0.1, 2.0),
                                            .differentiable = {true, false},
                                            .second_order = false});

}  // namespace

// ---- the ops ------------------------------------------------------------------------

const OpDef& neg_def = define_op(unary_def("neg", "-x", "dx = -g", rg::neg, [](double x) { return -x; }));
Tensor neg(const Tensor& x) {
    return record(neg_def, map_float(x, "neg", [](auto u) { return -u; }), {x}, {},
                  [](const OpContext&, const Tensor& g) { return GradList{detail::scale_grad(g, -1.0)}; });
}

const OpDef& exp_def = define_op(unary_def("exp", "e^x", "dx = g * y", rg::exp, [](double x) { return std::exp(x); }));
Tensor exp(const Tensor& x) {
    return record(exp_def, map_vector_math(x, "exp", VectorMath::exp, [](auto u) { return std::exp(u); }), {x},
                  {.output = true}, [](const OpContext& c, const Tensor& g) { return GradList{g * c.output()}; });
}

const OpDef& expm1_def = define_op(
    unary_def("expm1", "e^x - 1, exact near 0", "dx = g * (y + 1)", rg::expm1, [](double x) { return std::expm1(x); }));
Tensor expm1(const Tensor& x) {
    return record(expm1_def, map_float(x, "expm1", [](auto u) { return std::expm1(u); }), {x}, {.output = true},
                  [](const OpContext& c, const Tensor& g) { return GradList{g * (c.output() + 1.0)}; });
}

const OpDef& log_def = define_op(unary_def(
    "log", "natural logarithm", "dx = g / x", rg::log, [](double x) { return std::log(x); }, 0.1, 3.0));
Tensor log(const Tensor& x) {
    return record(log_def, map_vector_math(x, "log", VectorMath::log, [](auto u) { return std::log(u); }), {x},
                  {.inputs = {true}}, [](const OpContext& c, const Tensor& g) { return GradList{g / c.input(0)}; });
}

const OpDef& log1p_def = define_op(unary_def(
    "log1p", "log(1 + x), exact near 0", "dx = g / (1 + x)", rg::log1p, [](double x) { return std::log1p(x); }, -0.9,
    3.0));
Tensor log1p(const Tensor& x) {
    return record(log1p_def, map_float(x, "log1p", [](auto u) { return std::log1p(u); }), {x}, {.inputs = {true}},
                  [](const OpContext& c, const Tensor& g) { return GradList{g / (c.input(0) + 1.0)}; });
}

const OpDef& sqrt_def = define_op(unary_def(
    "sqrt", "square root", "dx = g / (2 * y)", rg::sqrt, [](double x) { return std::sqrt(x); }, 0.1, 3.0));
Tensor sqrt(const Tensor& x) {
    return record(sqrt_def, map_float(x, "sqrt", [](auto u) { return std::sqrt(u); }), {x}, {.output = true},
                  [](const OpContext& c, const Tensor& g) { return GradList{g / (c.output() * 2.0)}; });
}

const OpDef& square_def =
    define_op(unary_def("square", "x²", "dx = 2 * g * x", rg::square, [](double x) { return x * x; }));
Tensor square(const Tensor& x) {
    return record(square_def, map_float(x, "square", [](auto u) { return u * u; }), {x}, {.inputs = {true}},
                  [](const OpContext& c, const Tensor& g) { return GradList{g * c.input(0) * 2.0}; });
}

const OpDef& abs_def = define_op(unary_def(
    "abs", "|x|; gradient sign(x), 0 at 0", "dx = g * sign(x)", rg::abs, [](double x) { return std::abs(x); }, 0.2,
    2.0));
Tensor abs(const Tensor& x) {
    return record(abs_def, map_float(x, "abs", [](auto u) { return std::abs(u); }), {x}, {.inputs = {true}},
                  [](const OpContext& c, const Tensor& g) {
                      return GradList{g * detail::without_grad([&] { return sign(c.input(0)); })};
                  });
}

const OpDef& sign_def = define_op(unary_def(
    "sign", "-1, 0 or 1; gradient 0", "dx = 0 (piecewise constant)", rg::sign,
    [](double x) { return static_cast<double>((x > 0) - (x < 0)); }, 0.2, 2.0));
Tensor sign(const Tensor& x) {
    return record(sign_def, map_float(x, "sign", [](auto u) { return static_cast<decltype(u)>((u > 0) - (u < 0)); }),
                  {x}, {}, [](const OpContext& c, const Tensor&) {
                      return GradList{zeros(c.input_shape(0), {c.input_dtype(0)})};
                  });
}

const OpDef& sin_def =
    define_op(unary_def("sin", "sine", "dx = g * cos(x)", rg::sin, [](double x) { return std::sin(x); }));
Tensor sin(const Tensor& x) {
    return record(sin_def, map_float(x, "sin", [](auto u) { return std::sin(u); }), {x}, {.inputs = {true}},
                  [](const OpContext& c, const Tensor& g) { return GradList{g * cos(c.input(0))}; });
}

const OpDef& cos_def =
    define_op(unary_def("cos", "cosine", "dx = -g * sin(x)", rg::cos, [](double x) { return std::cos(x); }));
Tensor cos(const Tensor& x) {
    return record(cos_def, map_float(x, "cos", [](auto u) { return std::cos(u); }), {x}, {.inputs = {true}},
                  [](const OpContext& c, const Tensor& g) { return GradList{neg(g * sin(c.input(0)))}; });
}

const OpDef& tanh_def = define_op(
    unary_def("tanh", "hyperbolic tangent", "dx = g * (1 - y^2)", rg::tanh, [](double x) { return std::tanh(x); }));
Tensor tanh(const Tensor& x) {
    return record(tanh_def, map_vector_math(x, "tanh", VectorMath::tanh, [](auto u) { return std::tanh(u); }), {x},
                  {.output = true}, [](const OpContext& c, const Tensor& g) {
                      return GradList{tanh_backward(g, c.output(), GradBuffer::reusable)};
                  });
}

const OpDef& sigmoid_def = define_op(unary_def("sigmoid", "1 / (1 + e^-x), computed stably", "dx = g * y * (1 - y)",
                                               rg::sigmoid, [](double x) { return 1.0 / (1.0 + std::exp(-x)); }));
Tensor sigmoid(const Tensor& x) {
    Tensor out = map_vector_math(x, "sigmoid", VectorMath::sigmoid, [](auto u) {
        using T = decltype(u);
        if (u >= 0) return T{1} / (T{1} + std::exp(-u));
        const T e = std::exp(u);
        return e / (T{1} + e);
    });
    return record(sigmoid_def, out, {x}, {.output = true}, [](const OpContext& c, const Tensor& g) {
        return GradList{sigmoid_backward(g, c.output(), GradBuffer::reusable)};
    });
}

const OpDef& relu_def =
    define_op(unary_def("relu", "max(x, 0); gradient 0 at 0, as PyTorch", "dx = g where y > 0, else 0", rg::relu,
                        [](double x) { return x > 0 ? x : 0.0; }));
Tensor relu(const Tensor& x) { return detail::record_relu(x, map_float(x, "relu", detail::relu_value)); }
Tensor detail::relu_grad(const Tensor& g, const Tensor& y) { return relu_backward(g, y, GradBuffer::reusable); }
Tensor detail::record_relu(const Tensor& x, Tensor y) {
    return record(relu_def, std::move(y), {x}, {.output = true}, [](const OpContext& c, const Tensor& g) {
        return GradList{relu_backward(g, c.output(), GradBuffer::reusable)};
    });
}

const OpDef& leaky_relu_def = define_op(unary_def(
    "leaky_relu", "x for x > 0, else slope * x (slope 0.01)", "dx = g where x > 0, else slope * g",
    [](const Tensor& x) { return leaky_relu(x, 0.1); }, [](double x) { return x > 0 ? x : 0.1 * x; }, -2.0, 2.0,
    "leaky_relu(x, slope = 0.01)"));
Tensor leaky_relu(const Tensor& x, double slope) {
    Tensor out =
        map_float(x, "leaky_relu", [slope](auto u) { return u > 0 ? u : static_cast<decltype(u)>(u * slope); });
    return record(leaky_relu_def, out, {x}, {.inputs = {true}}, [slope](const OpContext& c, const Tensor& g) {
        Tensor factor = map_float(c.input(0), "leaky_relu",
                                  [slope](auto u) { return static_cast<decltype(u)>(u > 0 ? 1.0 : slope); });
        return GradList{g * factor};
    });
}

const OpDef& elu_def = define_op(unary_def(
    "elu", "x for x > 0, else alpha * (e^x - 1) (alpha 1)", "dx = g where x > 0, else g * alpha * e^x",
    [](const Tensor& x) { return elu(x, 1.5); }, [](double x) { return x > 0 ? x : 1.5 * std::expm1(x); }, -2.0, 2.0,
    "elu(x, alpha = 1)"));
Tensor elu(const Tensor& x, double alpha) {
    Tensor out = map_float(x, "elu", [alpha](auto u) {
        return u > 0 ? u : static_cast<decltype(u)>(alpha * std::expm1(static_cast<double>(u)));
    });
    return record(elu_def, out, {x}, {.inputs = {true}}, [alpha](const OpContext& c, const Tensor& g) {
        // alpha * e^x on the negative side; clamp keeps e^x finite where it is not used.
        const Tensor x = c.input(0);
        const double inf = std::numeric_limits<double>::infinity();
        Tensor negative_side = exp(clamp(x, -inf, 0.0)) * alpha;
        return GradList{g * where(gt(x, 0.0), ones_like(x), negative_side)};
    });
}

const OpDef& softplus_def = define_op(unary_def("softplus", "log(1 + e^x), computed stably", "dx = g * sigmoid(x)",
                                                rg::softplus, [](double x) { return std::log1p(std::exp(x)); }));
Tensor softplus(const Tensor& x) {
    Tensor out = map_float(x, "softplus", [](auto u) {
        using T = decltype(u);
        return static_cast<T>((u > 0 ? u : T{0}) + std::log1p(std::exp(-std::abs(u))));
    });
    return record(softplus_def, out, {x}, {.inputs = {true}},
                  [](const OpContext& c, const Tensor& g) { return GradList{g * sigmoid(c.input(0))}; });
}

const OpDef& atan_def =
    define_op(unary_def("atan", "arctangent", "dx = g / (1 + x^2)", rg::atan, [](double x) { return std::atan(x); }));
Tensor atan(const Tensor& x) {
    return record(atan_def, map_float(x, "atan", [](auto u) { return std::atan(u); }), {x}, {.inputs = {true}},
                  [](const OpContext& c, const Tensor& g) {
                      const Tensor x = c.input(0);
                      return GradList{g / (x * x + 1.0)};
                  });
}

const OpDef& step_def = define_op(unary_def(
    "step", "1 for x >= 0, else 0 (the course's binary step); gradient 0", "dx = 0 (piecewise constant)", rg::step,
    [](double x) { return x >= 0 ? 1.0 : 0.0; }, 0.2, 2.0));
Tensor step(const Tensor& x) {
    return record(step_def, mask_of(x, "step", [](auto u) { return u >= 0; }), {x}, {},
                  [](const OpContext& c, const Tensor&) {
                      return GradList{zeros(c.input_shape(0), {c.input_dtype(0)})};
                  });
}

const OpDef& clamp_def = define_op(unary_def(
    "clamp", "x limited to [low, high]; gradient 1 inside", "dx = g where low <= x <= high, else 0",
    [](const Tensor& x) { return clamp(x, -1.0, 1.0); }, [](double x) { return std::clamp(x, -1.0, 1.0); }, -2.0, 2.0,
    "clamp(x, low, high)"));
Tensor clamp(const Tensor& x, double low, double high) {
    if (std::isnan(low) || std::isnan(high) || low > high) fail("clamp: low {} must not exceed high {}", low, high);
    Tensor out = map_float(x, "clamp", [low, high](auto u) {
        using T = decltype(u);
        return static_cast<T>(u < low ? low : (u > high ? high : u));
    });
    return record(clamp_def, out, {x}, {.inputs = {true}}, [low, high](const OpContext& c, const Tensor& g) {
        return GradList{g * mask_of(c.input(0), "clamp", [&](auto u) { return u >= low && u <= high; })};
    });
}

void detail::link_unary_ops() {}  // see registry.cpp

}  // namespace rg
