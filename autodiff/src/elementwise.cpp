// Elementwise ops, each with its VJP beside it. Broadcasting binary ops reduce
// their gradients back to the input shapes with sum_to.
#include "kernels.hpp"

#include <cmath>
#include <limits>

namespace rg {
namespace {

// Both operands are read in place with their strides (views are not copied).
template <class F>
Tensor binary(const char* op, const Tensor& a, const Tensor& b, F f) {
    detail::check_same_dtype(a, b, op);
    const Shape shape = a.shape() == b.shape() ? a.shape() : broadcast_shapes(a.shape(), b.shape(), op);
    switch (a.dtype()) {
        case Dtype::float32:
            return detail::adopt(detail::zip_values(detail::Strided<float>(a), detail::Strided<float>(b), shape, f));
        case Dtype::float64:
            return detail::adopt(detail::zip_values(detail::Strided<double>(a), detail::Strided<double>(b), shape, f));
        default: break;
    }
    fail("{}: expected float32 or float64 tensors, got {}", op, dtype_name(a.dtype()));
}

template <class F>
Tensor unary(const char* op, const Tensor& x, F f) {
    return detail::visit_float(x, op, [&](const auto& a) { return detail::adopt(detail::map_values(a, f)); });
}

// A 0/1 mask in x's dtype, no gradient.
template <class F>
Tensor mask_of(const char* op, const Tensor& x, F predicate) {
    return unary(op, x, [&](auto v) { return predicate(v) ? decltype(v){1} : decltype(v){0}; });
}

Tensor scalar_like(const Tensor& t, double value) { return full(Shape{}, value, {t.dtype()}); }

// Comparisons accept every dtype; int64 operands give a float32 mask.
template <class F>
Tensor compare(const char* op, const Tensor& a, const Tensor& b, F f) {
    detail::check_same_dtype(a, b, op);
    if (a.dtype() == Dtype::int64) {
        const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
        auto m = detail::zip_values(detail::Strided<std::int64_t>(a), detail::Strided<std::int64_t>(b), shape,
                                    [&](auto u, auto v) { return std::int64_t{f(u, v) ? 1 : 0}; });
        return detail::adopt(std::move(m)).to(Dtype::float32);
    }
    return binary(op, a, b, [&](auto u, auto v) { return f(u, v) ? decltype(u){1} : decltype(u){0}; });
}

// Fused VJPs of tanh, sigmoid and relu, written from the saved output y: one
// pass and one allocation where the composed form would take four, and no
// forward recomputed. Each is an op in its own right, with its own VJP, so
// gradients through them can be differentiated again.
Tensor tanh_backward(const Tensor& g, const Tensor& y) {
    Tensor out = binary("tanh_backward", g, y, [](auto gv, auto yv) { return gv * (decltype(yv){1} - yv * yv); });
    if (!needs_grad(g, y)) return out;
    return record("tanh_backward", out, {g, y},
                  [sg = SavedTensor(g, "tanh_backward"), sy = SavedTensor(y, "tanh_backward")](const Tensor& h) {
                      const Tensor g = sg.unpack(), y = sy.unpack();
                      Tensor gy;  // d/dy g (1 - y²) = -2 g y
                      if (y.requires_grad()) gy = h * g * y * -2.0;
                      return TensorList{g.requires_grad() ? tanh_backward(h, y) : Tensor{}, gy};
                  });
}

Tensor sigmoid_backward(const Tensor& g, const Tensor& y) {
    Tensor out = binary("sigmoid_backward", g, y,
                        [](auto gv, auto yv) { return gv * yv * (decltype(yv){1} - yv); });
    if (!needs_grad(g, y)) return out;
    return record("sigmoid_backward", out, {g, y},
                  [sg = SavedTensor(g, "sigmoid_backward"), sy = SavedTensor(y, "sigmoid_backward")](const Tensor& h) {
                      const Tensor g = sg.unpack(), y = sy.unpack();
                      Tensor gy;  // d/dy g y (1 - y) = g (1 - 2 y)
                      if (y.requires_grad()) gy = h * g * rsub(1.0, y * 2.0);
                      return TensorList{g.requires_grad() ? sigmoid_backward(h, y) : Tensor{}, gy};
                  });
}

Tensor relu_backward(const Tensor& g, const Tensor& y) {
    Tensor out = binary("relu_backward", g, y, [](auto gv, auto yv) { return yv > 0 ? gv : decltype(gv){0}; });
    if (!needs_grad(g)) return out;
    // Piecewise linear: nothing flows to y.
    return record("relu_backward", out, {g}, [sy = SavedTensor(y.detach(), "relu_backward")](const Tensor& h) {
        return TensorList{relu_backward(h, sy.unpack())};
    });
}

}  // namespace

// ---- binary --------------------------------------------------------------------

Tensor add(const Tensor& a, const Tensor& b) {
    Tensor out = binary("add", a, b, [](auto u, auto v) { return u + v; });
    if (!needs_grad(a, b)) return out;
    return record("add", out, {a, b},
                  [sa = a.shape(), sb = b.shape(), ra = a.requires_grad(),
                   rb = b.requires_grad()](const Tensor& g) {
                      return TensorList{ra ? sum_to(g, sa) : Tensor{}, rb ? sum_to(g, sb) : Tensor{}};
                  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
    Tensor out = binary("sub", a, b, [](auto u, auto v) { return u - v; });
    if (!needs_grad(a, b)) return out;
    return record("sub", out, {a, b},
                  [sa = a.shape(), sb = b.shape(), ra = a.requires_grad(),
                   rb = b.requires_grad()](const Tensor& g) {
                      return TensorList{ra ? sum_to(g, sa) : Tensor{},
                                        rb ? sum_to(neg(g), sb) : Tensor{}};
                  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
    Tensor out = binary("mul", a, b, [](auto u, auto v) { return u * v; });
    if (!needs_grad(a, b)) return out;
    // Each side is saved only when the other side's gradient needs it.
    const bool ra = a.requires_grad(), rb = b.requires_grad();
    return record("mul", out, {a, b},
                  [sa = rb ? SavedTensor(a, "mul") : SavedTensor{}, sb = ra ? SavedTensor(b, "mul") : SavedTensor{},
                   shape_a = a.shape(), shape_b = b.shape()](const Tensor& g) {
                      const Tensor a = sa.unpack(), b = sb.unpack();
                      return TensorList{b.defined() ? sum_to(g * b, shape_a) : Tensor{},
                                        a.defined() ? sum_to(g * a, shape_b) : Tensor{}};
                  });
}

Tensor div(const Tensor& a, const Tensor& b) {
    Tensor out = binary("div", a, b, [](auto u, auto v) { return u / v; });
    if (!needs_grad(a, b)) return out;
    const bool ra = a.requires_grad(), rb = b.requires_grad();
    return record("div", out, {a, b},
                  [sa = rb ? SavedTensor(a, "div") : SavedTensor{}, sb = SavedTensor(b, "div"), ra, rb,
                   shape_a = a.shape(), shape_b = b.shape()](const Tensor& g) {
                      const Tensor a = sa.unpack(), b = sb.unpack();
                      return TensorList{ra ? sum_to(g / b, shape_a) : Tensor{},
                                        rb ? sum_to(neg(g * a / (b * b)), shape_b) : Tensor{}};
                  });
}

Tensor pow(const Tensor& base, const Tensor& exponent) {
    Tensor out = binary("pow", base, exponent, [](auto u, auto v) { return std::pow(u, v); });
    if (!needs_grad(base, exponent)) return out;
    return record("pow", out, {base, exponent}, [sbase = SavedTensor(base, "pow"), sexponent = SavedTensor(exponent, "pow")](const Tensor& g) {
        const Tensor base = sbase.unpack(), exponent = sexponent.unpack();
        Tensor gb, ge;
        if (base.requires_grad()) {
            // e b^(e-1) is 0 * inf at b = 0, e = 0; the derivative there is 0 (as LibTorch masks it).
            Tensor slope = exponent * pow(base, exponent - 1.0);
            Tensor zero_exponent = detail::without_grad([&] { return eq(exponent, zeros_like(exponent)); });
            gb = sum_to(g * where(zero_exponent, zeros(Shape{}, {slope.dtype()}), slope), base.shape());
        }
        if (exponent.requires_grad()) {
            // d/de b^e = b^e log b; taken as 0 where b <= 0 (log undefined), as PyTorch
            // does at b = 0, without producing NaN through the masked branch.
            Tensor positive = gt(base, 0.0);
            Tensor safe_log = log(where(positive, base, ones_like(base)));
            ge = sum_to(g * pow(base, exponent) * safe_log * positive, exponent.shape());
        }
        return TensorList{gb, ge};
    });
}

Tensor minimum(const Tensor& a, const Tensor& b) {
    Tensor out = binary("minimum", a, b, [](auto u, auto v) { return u < v ? u : v; });
    if (!needs_grad(a, b)) return out;
    return record("minimum", out, {a, b}, [sa = SavedTensor(a, "minimum"), sb = SavedTensor(b, "minimum")](const Tensor& g) {
        const Tensor a = sa.unpack(), b = sb.unpack();
        Tensor to_a = lt(a, b) + eq(a, b) * 0.5;  // ties share the gradient
        return TensorList{a.requires_grad() ? sum_to(g * to_a, a.shape()) : Tensor{},
                          b.requires_grad() ? sum_to(g * (1.0 - to_a), b.shape()) : Tensor{}};
    });
}

Tensor maximum(const Tensor& a, const Tensor& b) {
    Tensor out = binary("maximum", a, b, [](auto u, auto v) { return u > v ? u : v; });
    if (!needs_grad(a, b)) return out;
    return record("maximum", out, {a, b}, [sa = SavedTensor(a, "maximum"), sb = SavedTensor(b, "maximum")](const Tensor& g) {
        const Tensor a = sa.unpack(), b = sb.unpack();
        Tensor to_a = gt(a, b) + eq(a, b) * 0.5;
        return TensorList{a.requires_grad() ? sum_to(g * to_a, a.shape()) : Tensor{},
                          b.requires_grad() ? sum_to(g * (1.0 - to_a), b.shape()) : Tensor{}};
    });
}

Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b) {
    detail::defined_or_fail(mask, "where");
    const Tensor m = mask.dtype() == a.dtype() ? mask : mask.to(a.dtype()).detach();
    Tensor out = detail::visit_float2(a, b, "where", [&](const auto& x, const auto& y) {
        using T = typename std::decay_t<decltype(x)>::value_type;
        const detail::Dense<T> mv(m);
        const Shape shape = broadcast_shapes(mv.shape(), broadcast_shapes(x.shape(), y.shape(), "where"), "where");
        detail::Array<T> r(shape);
        const std::array<detail::Strides, 4> st{
            detail::broadcast_strides(mv.shape(), shape), detail::broadcast_strides(x.shape(), shape),
            detail::broadcast_strides(y.shape(), shape), detail::contiguous_strides(shape)};
        detail::for_each_row(shape, st, [&](const auto& off, const auto& in, std::size_t count) {
            for (std::size_t k = 0; k < count; ++k) {
                const auto kk = static_cast<std::ptrdiff_t>(k);
                r.data()[off[3] + kk * in[3]] = mv.data()[off[0] + kk * in[0]] != T{0}
                                                    ? x.data()[off[1] + kk * in[1]]
                                                    : y.data()[off[2] + kk * in[2]];
            }
        });
        return detail::adopt(std::move(r));
    });
    if (!needs_grad(a, b)) return out;
    // Only the mask is saved: the gradient does not read a's or b's values.
    return record("where", out, {a, b},
                  [sm = SavedTensor(m, "where"), ra = a.requires_grad(), rb = b.requires_grad(), shape_a = a.shape(),
                   shape_b = b.shape()](const Tensor& g) {
                      const Tensor m = sm.unpack();
                      Tensor zero = scalar_like(g, 0.0);
                      return TensorList{ra ? sum_to(where(m, g, zero), shape_a) : Tensor{},
                                        rb ? sum_to(where(m, zero, g), shape_b) : Tensor{}};
                  });
}

// ---- with a scalar ------------------------------------------------------------

Tensor add(const Tensor& a, double b) {
    Tensor out = unary("add", a, [b](auto u) { return static_cast<decltype(u)>(u + b); });
    if (!needs_grad(a)) return out;
    return record("add_scalar", out, {a}, [](const Tensor& g) { return TensorList{g}; });
}

Tensor mul(const Tensor& a, double b) {
    Tensor out = unary("mul", a, [b](auto u) { return static_cast<decltype(u)>(u * b); });
    if (!needs_grad(a)) return out;
    return record("mul_scalar", out, {a}, [b](const Tensor& g) { return TensorList{g * b}; });
}

// s - x, one node rather than neg and add.
Tensor rsub(double s, const Tensor& x) {
    Tensor out = unary("sub", x, [s](auto u) { return static_cast<decltype(u)>(s - u); });
    if (!needs_grad(x)) return out;
    return record("rsub_scalar", out, {x}, [](const Tensor& g) { return TensorList{neg(g)}; });
}

Tensor pow(const Tensor& base, double exponent) {
    Tensor out = exponent == 2.0
                     ? unary("pow", base, [](auto u) { return u * u; })
                     : unary("pow", base, [exponent](auto u) {
                           return static_cast<decltype(u)>(std::pow(u, exponent));
                       });
    if (!needs_grad(base)) return out;
    return record("pow_scalar", out, {base}, [sbase = SavedTensor(base, "pow_scalar"), exponent](const Tensor& g) {
        const Tensor base = sbase.unpack();
        if (exponent == 0.0) return TensorList{zeros_like(base)};
        if (exponent == 1.0) return TensorList{g};
        if (exponent == 2.0) return TensorList{g * base * 2.0};
        return TensorList{g * pow(base, exponent - 1.0) * exponent};
    });
}

Tensor rpow(double base, const Tensor& exponent) {
    Tensor out = unary("rpow", exponent, [base](auto u) {
        return static_cast<decltype(u)>(std::pow(base, static_cast<double>(u)));
    });
    if (!needs_grad(exponent)) return out;
    return record("rpow_scalar", out, {exponent}, [base, y = SavedTensor::output(out, "rpow_scalar")](const Tensor& g) {
        return TensorList{g * y.unpack() * std::log(base)};
    });
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

// ---- comparisons -------------------------------------------------------------------

Tensor eq(const Tensor& a, const Tensor& b) { return compare("eq", a, b, [](auto u, auto v) { return u == v; }); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare("ne", a, b, [](auto u, auto v) { return u != v; }); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare("lt", a, b, [](auto u, auto v) { return u < v; }); }
Tensor le(const Tensor& a, const Tensor& b) { return compare("le", a, b, [](auto u, auto v) { return u <= v; }); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare("gt", a, b, [](auto u, auto v) { return u > v; }); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare("ge", a, b, [](auto u, auto v) { return u >= v; }); }
Tensor gt(const Tensor& a, double b) { return mask_of("gt", a, [b](auto u) { return u > b; }); }
Tensor lt(const Tensor& a, double b) { return mask_of("lt", a, [b](auto u) { return u < b; }); }

// ---- unary ----------------------------------------------------------------------------

Tensor neg(const Tensor& x) {
    Tensor out = unary("neg", x, [](auto u) { return -u; });
    if (!needs_grad(x)) return out;
    return record("neg", out, {x}, [](const Tensor& g) { return TensorList{neg(g)}; });
}

Tensor exp(const Tensor& x) {
    Tensor out = unary("exp", x, [](auto u) { return std::exp(u); });
    if (!needs_grad(x)) return out;
    return record("exp", out, {x},
                  [y = SavedTensor::output(out, "exp")](const Tensor& g) { return TensorList{g * y.unpack()}; });
}

Tensor log(const Tensor& x) {
    Tensor out = unary("log", x, [](auto u) { return std::log(u); });
    if (!needs_grad(x)) return out;
    return record("log", out, {x}, [sx = SavedTensor(x, "log")](const Tensor& g) {
        const Tensor x = sx.unpack(); return TensorList{g / x}; });
}

Tensor sqrt(const Tensor& x) {
    Tensor out = unary("sqrt", x, [](auto u) { return std::sqrt(u); });
    if (!needs_grad(x)) return out;
    return record("sqrt", out, {x},
                  [y = SavedTensor::output(out, "sqrt")](const Tensor& g) { return TensorList{g / (y.unpack() * 2.0)}; });
}

Tensor sign(const Tensor& x) {
    Tensor out = unary("sign", x, [](auto u) {
        return static_cast<decltype(u)>((u > 0) - (u < 0));
    });
    if (!needs_grad(x)) return out;
    return record("sign", out, {x}, [sx = SavedTensor(x, "sign")](const Tensor&) {
        const Tensor x = sx.unpack(); return TensorList{zeros_like(x)}; });
}

Tensor abs(const Tensor& x) {
    Tensor out = unary("abs", x, [](auto u) { return std::abs(u); });
    if (!needs_grad(x)) return out;
    return record("abs", out, {x}, [sx = SavedTensor(x, "abs")](const Tensor& g) {
        const Tensor x = sx.unpack(); return TensorList{g * detail::without_grad([&] { return sign(x); })}; });
}

Tensor sin(const Tensor& x) {
    Tensor out = unary("sin", x, [](auto u) { return std::sin(u); });
    if (!needs_grad(x)) return out;
    return record("sin", out, {x}, [sx = SavedTensor(x, "sin")](const Tensor& g) {
        const Tensor x = sx.unpack(); return TensorList{g * cos(x)}; });
}

Tensor cos(const Tensor& x) {
    Tensor out = unary("cos", x, [](auto u) { return std::cos(u); });
    if (!needs_grad(x)) return out;
    return record("cos", out, {x}, [sx = SavedTensor(x, "cos")](const Tensor& g) {
        const Tensor x = sx.unpack(); return TensorList{neg(g * sin(x))}; });
}

Tensor tanh(const Tensor& x) {
    Tensor out = unary("tanh", x, [](auto u) { return std::tanh(u); });
    if (!needs_grad(x)) return out;
    return record("tanh", out, {x}, [y = SavedTensor::output(out, "tanh")](const Tensor& g) {
        return TensorList{tanh_backward(g, y.unpack())};
    });
}

Tensor sigmoid(const Tensor& x) {
    Tensor out = unary("sigmoid", x, [](auto u) {
        using T = decltype(u);
        if (u >= 0) return T{1} / (T{1} + std::exp(-u));
        const T e = std::exp(u);
        return e / (T{1} + e);
    });
    if (!needs_grad(x)) return out;
    return record("sigmoid", out, {x}, [y = SavedTensor::output(out, "sigmoid")](const Tensor& g) {
        return TensorList{sigmoid_backward(g, y.unpack())};
    });
}

Tensor relu(const Tensor& x) {
    Tensor out = unary("relu", x, [](auto u) { return u > 0 ? u : decltype(u){0}; });
    if (!needs_grad(x)) return out;
    return record("relu", out, {x}, [y = SavedTensor::output(out, "relu")](const Tensor& g) {
        return TensorList{relu_backward(g, y.unpack())};
    });
}

Tensor leaky_relu(const Tensor& x, double slope) {
    Tensor out = unary("leaky_relu", x, [slope](auto u) {
        return u > 0 ? u : static_cast<decltype(u)>(u * slope);
    });
    if (!needs_grad(x)) return out;
    return record("leaky_relu", out, {x}, [sx = SavedTensor(x, "leaky_relu"), slope](const Tensor& g) {
        const Tensor x = sx.unpack();
        Tensor factor = unary("leaky_relu", x, [slope](auto u) {
            return static_cast<decltype(u)>(u > 0 ? 1.0 : slope);
        });
        return TensorList{g * factor};
    });
}

Tensor elu(const Tensor& x, double alpha) {
    Tensor out = unary("elu", x, [alpha](auto u) {
        return u > 0 ? u : static_cast<decltype(u)>(alpha * std::expm1(static_cast<double>(u)));
    });
    if (!needs_grad(x)) return out;
    return record("elu", out, {x}, [sx = SavedTensor(x, "elu"), alpha](const Tensor& g) {
        const Tensor x = sx.unpack();
        // alpha * e^x on the negative side; clamp keeps e^x finite where it is not used.
        const double inf = std::numeric_limits<double>::infinity();
        Tensor negative_side = exp(clamp(x, -inf, 0.0)) * alpha;
        return TensorList{g * where(gt(x, 0.0), ones_like(x), negative_side)};
    });
}

Tensor softplus(const Tensor& x) {
    Tensor out = unary("softplus", x, [](auto u) {
        using T = decltype(u);
        return static_cast<T>((u > 0 ? u : T{0}) + std::log1p(std::exp(-std::abs(u))));
    });
    if (!needs_grad(x)) return out;
    return record("softplus", out, {x}, [sx = SavedTensor(x, "softplus")](const Tensor& g) {
        const Tensor x = sx.unpack(); return TensorList{g * sigmoid(x)}; });
}

Tensor atan(const Tensor& x) {
    Tensor out = unary("atan", x, [](auto u) { return std::atan(u); });
    if (!needs_grad(x)) return out;
    return record("atan", out, {x}, [sx = SavedTensor(x, "atan")](const Tensor& g) {
        const Tensor x = sx.unpack(); return TensorList{g / (x * x + 1.0)}; });
}

Tensor step(const Tensor& x) {
    Tensor out = mask_of("step", x, [](auto u) { return u >= 0; });  // the course's table: 1 from 0 on
    if (!needs_grad(x)) return out;
    return record("step", out, {x}, [sx = SavedTensor(x, "step")](const Tensor&) {
        const Tensor x = sx.unpack(); return TensorList{zeros_like(x)}; });
}

Tensor clamp(const Tensor& x, double low, double high) {
    if (std::isnan(low) || std::isnan(high) || low > high)
        fail("clamp: low {} must not exceed high {}", low, high);
    Tensor out = unary("clamp", x, [low, high](auto u) {
        using T = decltype(u);
        return static_cast<T>(u < low ? low : (u > high ? high : u));
    });
    if (!needs_grad(x)) return out;
    return record("clamp", out, {x}, [sx = SavedTensor(x, "clamp"), low, high](const Tensor& g) {
        const Tensor x = sx.unpack();
        return TensorList{g * mask_of("clamp", x, [&](auto u) { return u >= low && u <= high; })};
    });
}

Tensor square(const Tensor& x) { return pow(x, 2.0); }

}  // namespace rg
