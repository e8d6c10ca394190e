// Comparisons, logic and the ops that read masks. Comparisons and logical ops
// give bool tensors (as PyTorch's) and have no gradient; where and masked_fill
// take a bool mask and pass the gradient to the values they pick.
#include "op_defs.hpp"

#include <cmath>

namespace rg {
namespace {

// The dtype both operands of a comparison are read in: the wider of the two,
// in the order bool < int64 < bfloat16 < float32 < float64 (as PyTorch promotes).
int promotion_rank(Dtype dtype) {
    switch (dtype) {
        case Dtype::bool_: return 0;
        case Dtype::int64: return 1;
        case Dtype::bfloat16: return 2;
        case Dtype::float32: return 3;
        case Dtype::float64: return 4;
    }
    detail::unknown_dtype(dtype, "promote");
}
Tensor values_as(const Tensor& t, Dtype dtype) {
    if (t.dtype() == dtype) return t;
    NoGrad off;
    return t.to(dtype);
}

template <class F> Tensor compare(const char* op, const Tensor& a_in, const Tensor& b_in, F f) {
    detail::defined_or_fail(a_in, op);
    detail::defined_or_fail(b_in, op);
    const Dtype common = promotion_rank(a_in.dtype()) >= promotion_rank(b_in.dtype()) ? a_in.dtype() : b_in.dtype();
    const Tensor a = values_as(a_in, common), b = values_as(b_in, common);
    const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
    Tensor mask = detail::empty_dense<bool>(shape, op);
    detail::visit_dtype(common, op, [&](auto zero) {
        using T = decltype(zero);
        detail::zip_values(detail::Strided<T>(a), detail::Strided<T>(b), shape, mask.data_ptr<bool>(),
                           [&](T u, T v) { return f(u, v); });
        return 0;
    });
    return mask;
}

// A float tensor meets the number in its own precision (x == 0.1 holds for a
// float32 x made from 0.1, as in PyTorch); int64 and bool ones in double.
template <class F> Tensor compare(const char* op, const Tensor& a, double b, F f) {
    Tensor mask = detail::empty_dense<bool>(detail::defined_or_fail(a, op).shape(), op);
    detail::visit_dtype(a.dtype(), op, [&](auto zero) {
        using T = decltype(zero);
        if constexpr (std::is_floating_point_v<T> || std::is_same_v<T, BFloat16>) {
            const T s = static_cast<T>(b);
            detail::map_values(detail::Strided<T>(a), mask.data_ptr<bool>(), [&](T u) { return f(u, s); });
        } else {
            detail::map_values(detail::Strided<T>(a), mask.data_ptr<bool>(),
                               [&](T u) { return f(static_cast<double>(u), b); });
        }
        return 0;
    });
    return mask;
}

OpDef mask_def(std::string_view name, std::string_view doc, std::string_view rule, detail::BinaryFn f,
               std::function<double(double, double)> reference) {
    OpDef def = detail::binary_def(name, doc, rule, f, std::move(reference));
    def.differentiable = {false, false};
    def.accepts_int64 = true;
    return def;
}
OpDef compare_def(std::string_view name, std::string_view doc, detail::BinaryFn f,
                  std::function<double(double, double)> reference) {
    return mask_def(name, doc, "no gradient (a bool mask)", f, std::move(reference));
}

// The values of t as bool (non-zero is true), not recorded.
Tensor truth(const Tensor& t, const char* op) { return values_as(detail::defined_or_fail(t, op), Dtype::bool_); }

template <class F> Tensor logical(const char* op, const Tensor& a, const Tensor& b, F f) {
    const Tensor x = truth(a, op), y = truth(b, op);
    const Shape shape = broadcast_shapes(x.shape(), y.shape(), op);
    Tensor out = detail::empty_dense<bool>(shape, op);
    detail::zip_values(detail::Strided<bool>(x), detail::Strided<bool>(y), shape, out.data_ptr<bool>(), f);
    return out;
}

void require_bool(const Tensor& t, const char* op, const char* what) {
    detail::defined_or_fail(t, op);
    if (t.dtype() != Dtype::bool_)
        fail("{}: {} of shape {} is {}, expected a bool tensor (from a comparison such as x > 0, or .to(rg::bool_))",
             op, what, shape_str(t.shape()), dtype_name(t.dtype()));
}

}  // namespace

// ---- comparisons --------------------------------------------------------------

const OpDef& eq_def = define_op(
    compare_def("eq", "true where a == b (bool)", rg::eq, [](double a, double b) { return a == b ? 1.0 : 0.0; }));
const OpDef& ne_def = define_op(
    compare_def("ne", "true where a != b (bool)", rg::ne, [](double a, double b) { return a != b ? 1.0 : 0.0; }));
const OpDef& lt_def = define_op(
    compare_def("lt", "true where a < b (bool)", rg::lt, [](double a, double b) { return a < b ? 1.0 : 0.0; }));
const OpDef& le_def = define_op(
    compare_def("le", "true where a <= b (bool)", rg::le, [](double a, double b) { return a <= b ? 1.0 : 0.0; }));
const OpDef& gt_def = define_op(
    compare_def("gt", "true where a > b (bool)", rg::gt, [](double a, double b) { return a > b ? 1.0 : 0.0; }));
const OpDef& ge_def = define_op(
    compare_def("ge", "true where a >= b (bool)", rg::ge, [](double a, double b) { return a >= b ? 1.0 : 0.0; }));

#define RETROGRAD_COMPARISON(name, op)                                                \
    Tensor name(const Tensor& a, const Tensor& b) {                                   \
        return compare(#name, a, b, [](auto u, auto v) { return u op v; });           \
    }                                                                                 \
    Tensor name(const Tensor& a, double b) {                                          \
        return compare(#name, a, b, [](auto u, auto v) { return u op v; });           \
    }                                                                                 \
    Tensor operator op(const Tensor& a, const Tensor& b) { return name(a, b); }       \
    Tensor operator op(const Tensor& a, double b) { return name(a, b); }              \
    Tensor Tensor::name(const Tensor& other) const { return rg::name(*this, other); } \
    Tensor Tensor::name(double other) const { return rg::name(*this, other); }
RETROGRAD_COMPARISON(eq, ==)
RETROGRAD_COMPARISON(ne, !=)
RETROGRAD_COMPARISON(lt, <)
RETROGRAD_COMPARISON(le, <=)
RETROGRAD_COMPARISON(gt, >)
RETROGRAD_COMPARISON(ge, >=)
#undef RETROGRAD_COMPARISON
// A number on the left: 2 < x is x > 2.
Tensor operator==(double a, const Tensor& b) { return eq(b, a); }
Tensor operator!=(double a, const Tensor& b) { return ne(b, a); }
Tensor operator<(double a, const Tensor& b) { return gt(b, a); }
Tensor operator<=(double a, const Tensor& b) { return ge(b, a); }
Tensor operator>(double a, const Tensor& b) { return lt(b, a); }
Tensor operator>=(double a, const Tensor& b) { return le(b, a); }

// ---- logic ---------------------------------------------------------------------

const OpDef& logical_and_def =
    define_op(mask_def("logical_and", "true where a and b are both non-zero (bool)", "no gradient (a bool mask)",
                       rg::logical_and, [](double a, double b) { return a != 0 && b != 0 ? 1.0 : 0.0; }));
Tensor logical_and(const Tensor& a, const Tensor& b) {
    return logical("logical_and", a, b, [](bool u, bool v) { return u && v; });
}
const OpDef& logical_or_def =
    define_op(mask_def("logical_or", "true where a or b is non-zero (bool)", "no gradient (a bool mask)",
                       rg::logical_or, [](double a, double b) { return a != 0 || b != 0 ? 1.0 : 0.0; }));
Tensor logical_or(const Tensor& a, const Tensor& b) {
    return logical("logical_or", a, b, [](bool u, bool v) { return u || v; });
}
const OpDef& logical_xor_def =
    define_op(mask_def("logical_xor", "true where exactly one of a, b is non-zero (bool)", "no gradient (a bool mask)",
                       rg::logical_xor, [](double a, double b) { return (a != 0) != (b != 0) ? 1.0 : 0.0; }));
Tensor logical_xor(const Tensor& a, const Tensor& b) {
    return logical("logical_xor", a, b, [](bool u, bool v) { return u != v; });
}
const OpDef& logical_not_def = define_op({.name = "logical_not",
                                          .signature = "logical_not(x), ~x",
                                          .doc = "true where x is zero (bool)",
                                          .rule = "no gradient (a bool mask)",
                                          .kind = OpKind::elementwise,
                                          .call = detail::call_unary(rg::logical_not),
                                          .samples = detail::unary_samples(),
                                          .differentiable = {false},
                                          .reference1 = [](double x) { return x == 0 ? 1.0 : 0.0; },
                                          .accepts_int64 = true});
Tensor logical_not(const Tensor& x) {
    const Tensor t = truth(x, "logical_not");
    Tensor out = detail::empty_dense<bool>(t.shape(), "logical_not");
    detail::map_values(detail::Strided<bool>(t), out.data_ptr<bool>(), [](bool u) { return !u; });
    return out;
}

// The operators are PyTorch's bitwise ones, which on bool tensors are logic;
// on other dtypes they are refused rather than read as logic.
namespace {
void require_bools(const Tensor& a, const Tensor& b, const char* op, const char* instead) {
    detail::defined_or_fail(a, op);
    detail::defined_or_fail(b, op);
    if (a.dtype() != Dtype::bool_ || b.dtype() != Dtype::bool_)
        fail("{}: expected bool tensors, got {} and {}; compare first (x > 0), or use rg::{}", op,
             dtype_name(a.dtype()), dtype_name(b.dtype()), instead);
}
}  // namespace
Tensor operator&(const Tensor& a, const Tensor& b) {
    require_bools(a, b, "operator&", "logical_and");
    return logical_and(a, b);
}
Tensor operator|(const Tensor& a, const Tensor& b) {
    require_bools(a, b, "operator|", "logical_or");
    return logical_or(a, b);
}
Tensor operator^(const Tensor& a, const Tensor& b) {
    require_bools(a, b, "operator^", "logical_xor");
    return logical_xor(a, b);
}
Tensor operator~(const Tensor& x) {
    require_bools(x, x, "operator~", "logical_not");
    return logical_not(x);
}
Tensor Tensor::logical_and(const Tensor& other) const { return rg::logical_and(*this, other); }
Tensor Tensor::logical_or(const Tensor& other) const { return rg::logical_or(*this, other); }
Tensor Tensor::logical_not() const { return rg::logical_not(*this); }

// ---- any, all --------------------------------------------------------------------

const OpDef& any_def = define_op({.name = "any",
                                  .signature = "any(x, axes = all, keepdims = false)",
                                  .doc = "true where some element over the axes is non-zero (bool)",
                                  .rule = "no gradient (a bool mask)",
                                  .kind = OpKind::reduction,
                                  .call = [](const TensorList& v) { return any(gt(v[0], 0.5), {-1}); },
                                  .samples = {{{Shape{2, 3}}, 0.0, 1.0}, {{Shape{4}}, 0.0, 1.0}},
                                  .differentiable = {false},
                                  .composite = true,
                                  .accepts_int64 = true});
Tensor any(const Tensor& x, const Axes& axes, bool keepdims) { return gt(sum(truth(x, "any"), axes, keepdims), 0.0); }
const OpDef& all_def = define_op({.name = "all",
                                  .signature = "all(x, axes = all, keepdims = false)",
                                  .doc = "true where every element over the axes is non-zero (bool)",
                                  .rule = "no gradient (a bool mask)",
                                  .kind = OpKind::reduction,
                                  .call = [](const TensorList& v) { return all(gt(v[0], 0.2), {0}, true); },
                                  .samples = {{{Shape{2, 3}}, 0.0, 1.0}, {{Shape{4}}, 0.0, 1.0}},
                                  .differentiable = {false},
                                  .composite = true,
                                  .accepts_int64 = true});
Tensor all(const Tensor& x, const Axes& axes, bool keepdims) {
    return eq(sum(logical_not(detail::defined_or_fail(x, "all")), axes, keepdims), 0.0);
}
Tensor Tensor::any() const { return rg::any(*this); }
Tensor Tensor::all() const { return rg::all(*this); }

// ---- where, masked_fill ---------------------------------------------------------------

const OpDef& where_def = define_op({.name = "where",
                                    .signature = "where(mask, a, b)",
                                    .doc = "a where the bool mask is true, else b (broadcasting all three)",
                                    .rule = "da = g where the mask holds, db = g elsewhere",
                                    .kind = OpKind::elementwise,
                                    .call = [](const TensorList& v) { return where(gt(v[0], 0.0), v[1], v[2]); },
                                    .samples = {{{Shape{2, 3}, Shape{2, 3}, Shape{2, 3}}},
                                                {{Shape{2, 1}, Shape{3}, Shape{}}},
                                                {{Shape{0, 3}, Shape{3}, Shape{1}}}},
                                    .differentiable = {false, true, true}});
Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b) {
    require_bool(mask, "where", "the mask");
    Tensor out = detail::visit_float2(a, b, "where", [&](const auto& x, const auto& y) {
        using T = typename std::decay_t<decltype(x)>::value_type;
        const detail::Dense<bool> mv(mask);
        const Shape shape = broadcast_shapes(mv.shape(), broadcast_shapes(x.shape(), y.shape(), "where"), "where");
        Tensor r = detail::empty_dense<T>(shape, "where");
        detail::where_into(mv, x, y, r);
        return r;
    });
    // Only the mask is saved: the gradient does not read a's or b's values.
    return record(where_def, out, {a, b, mask}, {.inputs = {false, false, true}},
                  [](const OpContext& c, const Tensor& g) {
                      const Tensor m = c.input(2);
                      const Tensor zero = full(Shape{}, 0.0, {g.dtype()});
                      return GradList{c.needs_grad(0) ? sum_to(where(m, g, zero), c.input_shape(0)) : Tensor{},
                                      c.needs_grad(1) ? sum_to(where(m, zero, g), c.input_shape(1)) : Tensor{},
                                      Tensor{}};
                  });
}
Tensor where(const Tensor& mask, const Tensor& a, double b) {
    return where(mask, a, full(Shape{}, b, {detail::defined_or_fail(a, "where").dtype()}));
}
Tensor where(const Tensor& mask, double a, const Tensor& b) {
    return where(mask, full(Shape{}, a, {detail::defined_or_fail(b, "where").dtype()}), b);
}

namespace detail {
// The checks masked_fill and masked_fill_ share: a bool mask that broadcasts to x's shape.
void check_fill_mask(const Tensor& x, const Tensor& mask, const char* op) {
    defined_or_fail(x, op);
    require_bool(mask, op, "the mask");
    const Shape& m = mask.shape();
    bool fits = m.size() <= x.dim();
    for (std::size_t i = 0; fits && i < m.size(); ++i) {
        const std::size_t d = x.shape()[x.dim() - m.size() + i];
        fits = m[i] == d || m[i] == 1;
    }
    if (!fits)
        fail("{}: mask of shape {} does not broadcast to the tensor's shape {}", op, shape_str(m),
             shape_str(x.shape()));
}
}  // namespace detail

const OpDef& masked_fill_def =
    define_op({.name = "masked_fill",
               .signature = "masked_fill(x, mask, value)",
               .doc = "x with `value` where the bool mask is true (the mask broadcasts to x)",
               .rule = "composite: where(mask, value, x); dx = g where the mask is false, else 0",
               .kind = OpKind::elementwise,
               .call = [](const TensorList& v) { return masked_fill(v[0], gt(v[1], 0.0), -1.5); },
               .samples = {{{Shape{2, 3}, Shape{2, 3}}}, {{Shape{2, 3}, Shape{3}}}, {{Shape{0, 3}, Shape{1}}}},
               .differentiable = {true, false},
               .composite = true,
               .bad_shapes = {Shape{2, 3}, Shape{4}}});
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
    detail::check_fill_mask(x, mask, "masked_fill");
    return where(mask, value, x);
}
Tensor Tensor::masked_fill(const Tensor& mask, double value) const { return rg::masked_fill(*this, mask, value); }

void detail::link_mask_ops() {}  // see registry.cpp

}  // namespace rg
