#pragma once
// Helpers for declaring ops in the registry: sample inputs and call adapters
// shared by many OpDefs, and the elementwise entry points they call (checks,
// dtypes and the result here; the loops in kernels/elementwise.hpp).
#include <retrograd/registry.hpp>

#include "kernels.hpp"
#include "kernels/elementwise.hpp"

namespace rg::detail {

// Every op file defines one of these; op_registry() calls them all, so that
// every program that reads the registry links every op file of the static
// library and the registry is complete wherever it is read.
void link_unary_ops();
void link_binary_ops();
void link_reduce();
void link_softmax();
void link_linalg();
void link_fused();
void link_shape();
void link_views();
void link_conv();
void link_pool();
void link_tensor();
void link_view_history();
void link_mask_ops();
void link_activation_ops();
void link_clamp_ops();
void link_shape_extra(), link_scan_ops(), link_sort_ops(), link_norm_ops(), link_products(), link_einsum(),
    link_dropout();
void link_elementary_ops(), link_rounding_ops(), link_binary_math_ops();

// Shapes every unary elementwise op is tested on: rank 0, a vector, a matrix,
// a size-1 axis and an empty tensor.
inline std::vector<OpSample> unary_samples(double low = -2.0, double high = 2.0) {
    return {{{Shape{}}, low, high},
            {{Shape{3}}, low, high},
            {{Shape{2, 3}}, low, high},
            {{Shape{3, 1}}, low, high},
            {{Shape{2, 0}}, low, high}};
}
// Pairs for broadcasting binary ops: equal shapes, a row, an outer product,
// a scalar, and an empty tensor.
inline std::vector<OpSample> binary_samples(double low = -2.0, double high = 2.0) {
    return {{{Shape{2, 3}, Shape{2, 3}}, low, high},
            {{Shape{2, 3}, Shape{3}}, low, high},
            {{Shape{2, 1}, Shape{1, 3}}, low, high},
            {{Shape{}, Shape{2}}, low, high},
            {{Shape{0, 3}, Shape{3}}, low, high}};
}

// The entry of an elementwise op of one tensor with other fixed arguments
// (a scalar, an option), tested through `call` on unary_samples(low, high).
inline OpDef unary_call_def(std::string_view name, std::string_view signature, std::string_view doc,
                            std::string_view rule, std::function<Tensor(const Tensor&)> call,
                            std::function<double(double)> reference, double low, double high) {
    return OpDef{.name = name,
                 .signature = signature,
                 .doc = doc,
                 .rule = rule,
                 .kind = OpKind::elementwise,
                 .call = [call = std::move(call)](const TensorList& v) { return call(v[0]); },
                 .samples = unary_samples(low, high),
                 .differentiable = {true},
                 .reference1 = std::move(reference)};
}

// Pairs of one shape, for ops whose operands never broadcast.
inline std::vector<OpSample> same_shape_samples(double low = -2.0, double high = 2.0) {
    return {{{Shape{2, 3}, Shape{2, 3}}, low, high},
            {{Shape{}, Shape{}}, low, high},
            {{Shape{0, 2}, Shape{0, 2}}, low, high}};
}
inline void check_same_shape(const Tensor& a, const Tensor& b, const char* op) {
    defined_or_fail(a, op);
    defined_or_fail(b, op);
    if (a.shape() != b.shape())
        fail("{}: operands of shapes {} and {}; expected equal shapes", op, shape_str(a.shape()), shape_str(b.shape()));
}

using UnaryFn = Tensor (*)(const Tensor&);
using BinaryFn = Tensor (*)(const Tensor&, const Tensor&);
inline std::function<Tensor(const TensorList&)> call_unary(UnaryFn f) {
    return [f](const TensorList& v) { return f(v[0]); };
}
inline std::function<Tensor(const TensorList&)> call_binary(BinaryFn f) {
    return [f](const TensorList& v) { return f(v[0], v[1]); };
}
// The entry of a broadcasting binary elementwise op, tested on binary_samples(low, high).
inline OpDef binary_def(std::string_view name, std::string_view doc, std::string_view rule, BinaryFn f,
                        std::function<double(double, double)> reference, double low = -2.0, double high = 2.0) {
    return OpDef{.name = name,
                 .signature = {},
                 .doc = doc,
                 .rule = rule,
                 .kind = OpKind::elementwise,
                 .call = call_binary(f),
                 .samples = binary_samples(low, high),
                 .differentiable = {true, true},
                 .reference2 = std::move(reference),
                 .bad_shapes = {Shape{2, 3}, Shape{4}}};
}

// out = f(x) elementwise over a float tensor, read with its strides.
template <class F> Tensor map_float(const Tensor& x, const char* op, F f) {
    const TensorImpl& in = *defined_or_fail(x, op).impl();
    if (in.dtype == Dtype::bfloat16) return float32_as_bf16(map_float(bf16_as_float32(x), op, f));  // kernels.hpp
    return visit_float_dtype(in.dtype, op, [&](auto zero) {
        using T = decltype(zero);
        Tensor out = empty_dense(in.shape, in.dtype, op, in.numel);
        map_into<T>(x, out, f);
        return out;
    });
}

// A bool operand takes the other operand's float dtype (x * mask), as PyTorch
// promotes; the values only, so nothing is recorded.
inline Tensor promoted_bool(const Tensor& t, const Tensor& other) {
    if (t.dtype() != Dtype::bool_ || !other.is_floating()) return t;
    NoGrad off;
    return t.to(other.dtype());
}

// out = f(a, b) with broadcasting; both operands read in place with their strides.
template <class F> Tensor zip_float(const Tensor& a_in, const Tensor& b_in, const char* op, F f) {
    defined_or_fail(a_in, op);
    defined_or_fail(b_in, op);
    const Tensor a = promoted_bool(a_in, b_in), b = promoted_bool(b_in, a_in);
    check_same_dtype(a, b, op);
    if (a.dtype() == Dtype::bfloat16)  // in float32, rounded once (kernels.hpp)
        return float32_as_bf16(zip_float(bf16_as_float32(a), bf16_as_float32(b), op, f));
    const TensorImpl& ai = *a.impl();
    const TensorImpl& bi = *b.impl();
    if (ai.dtype != Dtype::float32 && ai.dtype != Dtype::float64)
        fail("{}: expected float32 or float64 tensors, got {}", op, dtype_name(ai.dtype));
    const bool same_shape = ai.shape == bi.shape;
    Shape broadcast;
    if (!same_shape) broadcast = broadcast_shapes(ai.shape, bi.shape, op);
    const Shape& shape = same_shape ? ai.shape : broadcast;
    Tensor out = same_shape ? empty_dense(shape, ai.dtype, op, ai.numel) : empty_dense(shape, ai.dtype, op);
    visit_float_dtype(ai.dtype, op, [&](auto zero) {
        using T = decltype(zero);
        zip_into<T>(a, b, out, f);
        return 0;
    });
    return out;
}

// A VJP receives its output gradient handed over (Node::apply). A VJP that
// reads that gradient only once may say so (GradBuffer::reusable): then, when
// nothing else holds it (no other handle, view or saved copy) and the op is
// not recorded, f(g, y) is written into g's own buffer instead of a new one
// (relu's backward over a convolution's activations set the CNN step's peak
// memory). Otherwise, zip_float.
enum class GradBuffer { keep, reusable };
// True when a VJP may write into its handed-over gradient g: nothing records
// it, nobody else holds or views its buffer, and it holds floats.
inline bool can_write_into(const Tensor& g) {
    return !needs_grad(g) && owns_buffer(g) && (g.dtype() == Dtype::float32 || g.dtype() == Dtype::float64);
}
// True when f(g, y) may be written into g: the caller handed g over, g may be
// written, nothing records y, and y has g's shape and dtype.
inline bool can_reuse_first(GradBuffer g_buffer, const Tensor& g, const Tensor& y) {
    return g_buffer == GradBuffer::reusable && can_write_into(g) && !needs_grad(y) && g.shape() == y.shape() &&
           g.dtype() == y.dtype();
}
template <class F>
Tensor zip_float_reusing_first(const Tensor& g, const Tensor& y, GradBuffer g_buffer, const char* op, F f) {
    if (!can_reuse_first(g_buffer, g, y)) return zip_float(g, y, op, f);
    visit_float_dtype(g.dtype(), op, [&](auto zero) {
        using T = decltype(zero);
        zip_into_first<T>(g, y, f);
        return 0;
    });
    g.impl()->storage->bump_version();
    return g;
}

// relu's value of one element, for relu and Tensor::relu_.
inline constexpr auto relu_value = [](auto u) { return u > 0 ? u : decltype(u){0}; };
// Records y = relu(x) computed by the caller: relu's own recording, shared
// with Tensor::relu_, which writes y into x's storage.
Tensor record_relu(const Tensor& x, Tensor y);
// g where y > 0, else 0: relu's VJP from its output y (recorded, so it has
// its own VJP), written into g's buffer when can_write_into(g).
Tensor relu_grad(const Tensor& g, const Tensor& y);

// g * factor for a VJP that reads its handed-over gradient once: written into
// g's buffer when can_write_into(g), else a new (recorded) product.
inline Tensor scale_grad(const Tensor& g, double factor) {
    if (!can_write_into(g)) return mul(g, factor);
    visit_float_dtype(g.dtype(), "mul", [&](auto zero) {
        scale_in_place<decltype(zero)>(g, factor);
        return 0;
    });
    g.impl()->storage->bump_version();
    return g;
}

}  // namespace rg::detail
