// Binary elementwise ops with NumPy broadcasting and their forms with a
// scalar, each declared once with its forward and VJP side by side. A
// broadcasting op reduces each gradient back to its input's shape with
// sum_to; each side is saved only when the other side's gradient reads it.
#include "op_defs.hpp"

#include <cmath>

namespace rg {
namespace {

using detail::binary_def;
using detail::zip_float;

Tensor scalar_like(Dtype dtype, double value) { return full(Shape{}, value, {dtype}); }

// An op of a tensor and a scalar, tested through `call`.
OpDef scalar_def(std::string_view name, std::string_view signature, std::string_view doc, std::string_view rule,
                 std::function<Tensor(const Tensor&)> call, std::function<double(double)> reference, double low = -2.0,
                 double high = 2.0) {
    return detail::unary_call_def(name, signature, doc, rule, std::move(call), std::move(reference), low, high);
}

}  // namespace

// ---- binary ----------------------------------------------------------------------

const OpDef& add_def = define_op(binary_def("add", "a + b", "da = g, db = g (each summed to its input's shape)",
                                            rg::add, [](double a, double b) { return a + b; }));
Tensor add(const Tensor& a, const Tensor& b) {
    return record(add_def, zip_float(a, b, "add", [](auto u, auto v) { return u + v; }), {a, b}, {},
                  [](const OpContext& c, const Tensor& g) {
                      return GradList{c.needs_grad(0) ? sum_to(g, c.input_shape(0)) : Tensor{},
                                      c.needs_grad(1) ? sum_to(g, c.input_shape(1)) : Tensor{}};
                  });
}

const OpDef& sub_def = define_op(binary_def("sub", "a - b", "da = g, db = -g (each summed to its input's shape)",
                                            rg::sub, [](double a, double b) { return a - b; }));
Tensor sub(const Tensor& a, const Tensor& b) {
    return record(sub_def, zip_float(a, b, "sub", [](auto u, auto v) { return u - v; }), {a, b}, {},
                  [](const OpContext& c, const Tensor& g) {
                      return GradList{c.needs_grad(0) ? sum_to(g, c.input_shape(0)) : Tensor{},
                                      c.needs_grad(1) ? sum_to(neg(g), c.input_shape(1)) : Tensor{}};
                  });
}

const OpDef& mul_def = define_op(binary_def("mul", "a * b", "da = g * b, db = g * a (each summed to its input's shape)",
                                            rg::mul, [](double a, double b) { return a * b; }));
Tensor mul(const Tensor& a, const Tensor& b) {
    return record(mul_def, zip_float(a, b, "mul", [](auto u, auto v) { return u * v; }), {a, b},
                  {.inputs = {b.requires_grad(), a.requires_grad()}}, [](const OpContext& c, const Tensor& g) {
                      return GradList{c.needs_grad(0) ? sum_to(g * c.input(1), c.input_shape(0)) : Tensor{},
                                      c.needs_grad(1) ? sum_to(g * c.input(0), c.input_shape(1)) : Tensor{}};
                  });
}

const OpDef& div_def = define_op(binary_def(
    "div", "a / b", "da = g / b, db = -g * a / b^2 (each summed to its input's shape)", rg::div,
    [](double a, double b) { return a / b; }, 0.5, 2.0));
Tensor div(const Tensor& a, const Tensor& b) {
    return record(div_def, zip_float(a, b, "div", [](auto u, auto v) { return u / v; }), {a, b},
                  {.inputs = {b.requires_grad(), true}}, [](const OpContext& c, const Tensor& g) {
                      const Tensor b = c.input(1);
                      return GradList{c.needs_grad(0) ? sum_to(g / b, c.input_shape(0)) : Tensor{},
                                      c.needs_grad(1) ? sum_to(neg(g * c.input(0) / (b * b)), c.input_shape(1))
                                                      : Tensor{}};
                  });
}

const OpDef& pow_def = define_op(binary_def(
    "pow", "a ** b, elementwise", "da = g * b * a^(b - 1), db = g * a^b * log(a), taken as 0 where a <= 0", rg::pow,
    [](double a, double b) { return std::pow(a, b); }, 0.5, 2.0));
Tensor pow(const Tensor& base, const Tensor& exponent) {
    Tensor out = zip_float(base, exponent, "pow", [](auto u, auto v) { return std::pow(u, v); });
    return record(pow_def, out, {base, exponent}, {.inputs = {true, true}}, [](const OpContext& c, const Tensor& g) {
        const Tensor base = c.input(0), exponent = c.input(1);
        Tensor gb, ge;
        if (c.needs_grad(0)) {
            // e b^(e-1) is 0 * inf at b = 0, e = 0; the derivative there is 0 (as LibTorch masks it).
            Tensor slope = exponent * pow(base, exponent - 1.0);
            Tensor zero_exponent = detail::without_grad([&] { return eq(exponent, zeros_like(exponent)); });
            gb = sum_to(g * where(zero_exponent, scalar_like(slope.dtype(), 0.0), slope), c.input_shape(0));
        }
        if (c.needs_grad(1)) {
            // d/de b^e = b^e log b; taken as 0 where b <= 0 (log undefined), as PyTorch
            // does at b = 0, without producing NaN through the masked branch.
            Tensor positive = gt(base, 0.0);
            Tensor safe_log = log(where(positive, base, ones_like(base)));
            ge = sum_to(where(positive, g * pow(base, exponent) * safe_log, 0.0), c.input_shape(1));
        }
        return GradList{gb, ge};
    });
}

// Ties share the gradient equally between both sides.
const OpDef& minimum_def = define_op(binary_def("minimum", "the smaller of a and b; ties share the gradient",
                                                "da = g where a < b, db = g where b < a; ties share g / 2", rg::minimum,
                                                [](double a, double b) { return std::min(a, b); }));
Tensor minimum(const Tensor& a, const Tensor& b) {
    return record(minimum_def, zip_float(a, b, "minimum", [](auto u, auto v) { return u < v ? u : v; }), {a, b},
                  {.inputs = {true, true}}, [](const OpContext& c, const Tensor& g) {
                      const Tensor a = c.input(0), b = c.input(1);
                      Tensor to_a = where(lt(a, b), 1.0, where(eq(a, b), 0.5, zeros_like(g)));
                      return GradList{c.needs_grad(0) ? sum_to(g * to_a, c.input_shape(0)) : Tensor{},
                                      c.needs_grad(1) ? sum_to(g * (1.0 - to_a), c.input_shape(1)) : Tensor{}};
                  });
}

const OpDef& maximum_def = define_op(binary_def("maximum", "the larger of a and b; ties share the gradient",
                                                "da = g where a > b, db = g where b > a; ties share g / 2", rg::maximum,
                                                [](double a, double b) { return std::max(a, b); }));
Tensor maximum(const Tensor& a, const Tensor& b) {
    return record(maximum_def, zip_float(a, b, "maximum", [](auto u, auto v) { return u > v ? u : v; }), {a, b},
                  {.inputs = {true, true}}, [](const OpContext& c, const Tensor& g) {
                      const Tensor a = c.input(0), b = c.input(1);
                      Tensor to_a = where(gt(a, b), 1.0, where(eq(a, b), 0.5, zeros_like(g)));
                      return GradList{c.needs_grad(0) ? sum_to(g * to_a, c.input_shape(0)) : Tensor{},
                                      c.needs_grad(1) ? sum_to(g * (1.0 - to_a), c.input_shape(1)) : Tensor{}};
                  });
}

// ---- with a scalar ------------------------------------------------------------

const OpDef& add_scalar_def = define_op(scalar_def(
    "add_scalar", "add(x, s)", "x + s for a number s", "y = x + c: dx = g", [](const Tensor& x) { return add(x, 1.5); },
    [](double x) { return x + 1.5; }));
Tensor add(const Tensor& a, double b) {
    return record(add_scalar_def, detail::map_float(a, "add", [b](auto u) { return static_cast<decltype(u)>(u + b); }),
                  {a}, {}, [](const OpContext&, const Tensor& g) { return GradList{g}; });
}

const OpDef& mul_scalar_def = define_op(scalar_def(
    "mul_scalar", "mul(x, s)", "x * s for a number s", "y = c * x: dx = c * g",
    [](const Tensor& x) { return mul(x, -1.5); }, [](double x) { return x * -1.5; }));
Tensor mul(const Tensor& a, double b) {
    return record(mul_scalar_def, detail::map_float(a, "mul", [b](auto u) { return static_cast<decltype(u)>(u * b); }),
                  {a}, {}, [b](const OpContext&, const Tensor& g) { return GradList{detail::scale_grad(g, b)}; });
}

const OpDef& rsub_scalar_def = define_op(scalar_def(
    "rsub_scalar", "rsub(s, x)", "s - x for a number s", "y = c - x: dx = -g",
    [](const Tensor& x) { return rsub(2.0, x); }, [](double x) { return 2.0 - x; }));
Tensor rsub(double s, const Tensor& x) {
    return record(rsub_scalar_def, detail::map_float(x, "sub", [s](auto u) { return static_cast<decltype(u)>(s - u); }),
                  {x}, {}, [](const OpContext&, const Tensor& g) { return GradList{detail::scale_grad(g, -1.0)}; });
}

const OpDef& pow_scalar_def = define_op(scalar_def(
    "pow_scalar", "pow(x, p)", "x ** p for a number p", "y = x^p: dx = g * p * x^(p - 1)",
    [](const Tensor& x) { return pow(x, 2.5); }, [](double x) { return std::pow(x, 2.5); }, 0.5, 2.0));
Tensor pow(const Tensor& base, double exponent) {
    Tensor out = exponent == 2.0 ? detail::map_float(base, "pow", [](auto u) { return u * u; })
                                 : detail::map_float(base, "pow", [exponent](auto u) {
                                       return static_cast<decltype(u)>(std::pow(u, exponent));
                                   });
    return record(pow_scalar_def, out, {base}, {.inputs = {exponent != 0.0 && exponent != 1.0}},
                  [exponent](const OpContext& c, const Tensor& g) {
                      if (exponent == 0.0) return GradList{zeros(c.input_shape(0), {c.input_dtype(0)})};
                      if (exponent == 1.0) return GradList{g};
                      if (exponent == 2.0) return GradList{g * c.input(0) * 2.0};
                      return GradList{g * pow(c.input(0), exponent - 1.0) * exponent};
                  });
}

const OpDef& rpow_scalar_def = define_op(scalar_def(
    "rpow_scalar", "rpow(s, x)", "s ** x for a number s", "y = c^x: dx = g * y * log(c)",
    [](const Tensor& x) { return rpow(1.7, x); }, [](double x) { return std::pow(1.7, x); }));
Tensor rpow(double base, const Tensor& exponent) {
    Tensor out = detail::map_float(exponent, "rpow", [base](auto u) {
        return static_cast<decltype(u)>(std::pow(base, static_cast<double>(u)));
    });
    return record(rpow_scalar_def, out, {exponent}, {.output = true},
                  [base](const OpContext& c, const Tensor& g) { return GradList{g * c.output() * std::log(base)}; });
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double b) { return add(a, b); }
Tensor operator+(double a, const Tensor& b) { return add(b, a); }
Tensor operator-(const Tensor& a, double b) { return add(a, -b); }
Tensor operator-(double a, const Tensor& b) { return rsub(a, b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
Tensor operator/(const Tensor& a, double b) { return mul(a, 1.0 / b); }
Tensor operator/(double a, const Tensor& b) { return mul(pow(b, -1.0), a); }
Tensor operator-(const Tensor& a) { return neg(a); }

void detail::link_binary_ops() {}  // see registry.cpp

}  // namespace rg
