// The elementary functions a LibTorch user expects beside exp, log and sin:
// reciprocal, rsqrt, tan, the inverse and hyperbolic trigonometric functions,
// the base-2 and base-10 logarithms and exponential, and logit, each declared
// once with its forward and its VJP. VJPs are written with rg ops so that
// they can be differentiated again; reciprocal, rsqrt, tan and exp2 read
// their saved output, cheaper than recomputing from x.
#include "op_defs.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <optional>

namespace rg {
namespace {

using detail::map_float;
using detail::unary_call_def;

}  // namespace

const OpDef& reciprocal_def = define_op(unary_call_def(
    "reciprocal", {}, "1 / x", "dx = -g * y^2", rg::reciprocal, [](double x) { return 1.0 / x; }, 0.2, 3.0));
Tensor reciprocal(const Tensor& x) {
    return record(reciprocal_def, map_float(x, "reciprocal", [](auto u) { return decltype(u){1} / u; }), {x},
                  {.output = true}, [](const OpContext& c, const Tensor& g) {
                      const Tensor y = c.output();
                      return GradList{neg(g * y * y)};
                  });
}

const OpDef& rsqrt_def = define_op(unary_call_def(
    "rsqrt", {}, "1 / √x", "dx = -0.5 * g * y^3", rg::rsqrt, [](double x) { return 1.0 / std::sqrt(x); }, 0.2, 3.0));
Tensor rsqrt(const Tensor& x) {
    return record(rsqrt_def, map_float(x, "rsqrt", [](auto u) { return decltype(u){1} / std::sqrt(u); }), {x},
                  {.output = true}, [](const OpContext& c, const Tensor& g) {
                      const Tensor y = c.output();
                      return GradList{g * y * y * y * -0.5};
                  });
}

const OpDef& tan_def = define_op(unary_call_def(
    "tan", {}, "tangent", "dx = g * (1 + y^2)", rg::tan, [](double x) { return std::tan(x); }, -1.2, 1.2));
Tensor tan(const Tensor& x) {
    return record(tan_def, map_float(x, "tan", [](auto u) { return std::tan(u); }), {x}, {.output = true},
                  [](const OpContext& c, const Tensor& g) {
                      const Tensor y = c.output();
                      return GradList{g * (y * y + 1.0)};
                  });
}

const OpDef& asin_def = define_op(unary_call_def(
    "asin", {}, "arcsine, for x in [-1, 1]", "dx = g / sqrt(1 - x^2)", rg::asin, [](double x) { return std::asin(x); },
    -0.9, 0.9));
Tensor asin(const Tensor& x) {
    return record(asin_def, map_float(x, "asin", [](auto u) { return std::asin(u); }), {x}, {.inputs = {true}},
                  [](const OpContext& c, const Tensor& g) {
                      const Tensor x = c.input(0);
                      return GradList{g * rsqrt(rsub(1.0, x * x))};
                  });
}

const OpDef& acos_def = define_op(unary_call_def(
    "acos", {}, "arccosine, for x in [-1, 1]", "dx = -g / sqrt(1 - x^2)", rg::acos,
    [](double x) { return std::acos(x); }, -0.9, 0.9));
Tensor acos(const Tensor& x) {
    return record(acos_def, map_float(x, "acos", [](auto u) { return std::acos(u); }), {x}, {.inputs = {true}},
                  [](const OpContext& c, const Tensor& g) {
                      const Tensor x = c.input(0);
                      return GradList{neg(g * rsqrt(rsub(1.0, x * x)))};
                  });
}

const OpDef& sinh_def = define_op(unary_call_def(
    "sinh", {}, "hyperbolic sine", "dx = g * cosh(x)", rg::sinh, [](double x) { return std::sinh(x); }, -2.0, 2.0));
Tensor sinh(const Tensor& x) {
    return record(sinh_def, map_float(x, "sinh", [](auto u) { return std::sinh(u); }), {x}, {.inputs = {true}},
                  [](const OpContext& c, const Tensor& g) { return GradList{g * cosh(c.input(0))}; });
}

const OpDef& cosh_def = define_op(unary_call_def(
    "cosh", {}, "hyperbolic cosine", "dx = g * sinh(x)", rg::cosh, [](double x) { return std::cosh(x); }, -2.0, 2.0));
Tensor cosh(const Tensor& x) {
    return record(cosh_def, map_float(x, "cosh", [](auto u) { return std::cosh(u); }), {x}, {.inputs = {true}},
                  [](const OpContext& c, const Tensor& g) { return GradList{g * sinh(c.input(0))}; });
}

const OpDef& log2_def = define_op(unary_call_def(
    "log2", {}, "base-2 logarithm", "dx = g / (x * ln 2)", rg::log2, [](double x) { return std::log2(x); }, 0.1, 3.0));
Tensor log2(const Tensor& x) {
    return record(log2_def, map_float(x, "log2", [](auto u) { return std::log2(u); }), {x}, {.inputs = {true}},
                  [](const OpContext& c, const Tensor& g) { return GradList{g / (c.input(0) * std::numbers::ln2)}; });
}

const OpDef& log10_def = define_op(unary_call_def(
    "log10", {}, "base-10 logarithm", "dx = g / (x * ln 10)", rg::log10, [](double x) { return std::log10(x); }, 0.1,
    3.0));
Tensor log10(const Tensor& x) {
    return record(log10_def, map_float(x, "log10", [](auto u) { return std::log10(u); }), {x}, {.inputs = {true}},
                  [](const OpContext& c, const Tensor& g) { return GradList{g / (c.input(0) * std::numbers::ln10)}; });
}

const OpDef& exp2_def = define_op(unary_call_def(
    "exp2", {}, "2^x", "dx = g * y * ln 2", rg::exp2, [](double x) { return std::exp2(x); }, -2.0, 2.0));
Tensor exp2(const Tensor& x) {
    return record(exp2_def, map_float(x, "exp2", [](auto u) { return std::exp2(u); }), {x}, {.output = true},
                  [](const OpContext& c, const Tensor& g) { return GradList{g * c.output() * std::numbers::ln2}; });
}

// ---- logit ----------------------------------------------------------------------------

namespace {
// x clamped to [eps, 1 - eps], as torch.logit computes it in x's precision.
template <class T> T clamped_to(T u, double eps) {
    const T low = static_cast<T>(eps), high = static_cast<T>(1.0 - eps);
    return u < low ? low : (u > high ? high : u);
}
double reference_logit(double x, double eps) {
    const double z = std::min(std::max(x, eps), 1.0 - eps);
    return std::log(z / (1.0 - z));
}
}  // namespace

const OpDef& logit_def = define_op(unary_call_def(
    "logit", {}, "log(x / (1 - x)), the inverse of sigmoid", "dx = g / (x * (1 - x))",
    [](const Tensor& x) { return logit(x); }, [](double x) { return std::log(x / (1.0 - x)); }, 0.1, 0.9));
const OpDef& logit_eps_def = define_op(unary_call_def(
    "logit_eps", "logit(x, eps)", "logit of x clamped to [eps, 1 - eps], as torch.logit with eps",
    "dx = g / (x * (1 - x)) where eps <= x <= 1 - eps, else 0", [](const Tensor& x) { return logit(x, 0.25); },
    [](double x) { return reference_logit(x, 0.25); }, 0.05, 0.95));
Tensor logit(const Tensor& x, std::optional<double> eps) {
    if (!eps) {
        Tensor out = map_float(x, "logit", [](auto u) { return std::log(u / (decltype(u){1} - u)); });
        return record(logit_def, out, {x}, {.inputs = {true}}, [](const OpContext& c, const Tensor& g) {
            const Tensor x = c.input(0);
            return GradList{g / (x * rsub(1.0, x))};
        });
    }
    const double e = *eps;
    if (!(e >= 0.0 && e <= 0.5)) fail("logit: eps must be in [0, 0.5], got {}", e);
    Tensor out = map_float(x, "logit", [e](auto u) {
        const auto z = clamped_to(u, e);
        return std::log(z / (decltype(u){1} - z));
    });
    // Outside [eps, 1 - eps] the result does not move with x (PyTorch's
    // logit_backward); x is replaced by 1/2 there so that the unused branch,
    // and its derivative, stay finite at x = 0 or 1.
    return record(logit_eps_def, out, {x}, {.inputs = {true}}, [e](const OpContext& c, const Tensor& g) {
        const Tensor x = c.input(0);
        const Tensor inside = logical_and(ge(x, e), le(x, 1.0 - e));
        const Tensor safe = where(inside, x, 0.5);
        return GradList{where(inside, g / (safe * rsub(1.0, safe)), 0.0)};
    });
}

void detail::link_elementary_ops() {}  // see registry.cpp

}  // namespace rg
