// Fused elementwise ops: one pass over memory where the same expression
// written with single ops makes several. `input + t1 * t2` reads t1 and t2,
// writes a temporary, reads it back and writes the result; on tensors larger
// than the caches that is twice the memory traffic of addcmul. The rows are
// kernels/fused.cpp.
#include "op_defs.hpp"

#include <type_traits>

namespace rg {

const OpDef& addcmul_def = define_op({.name = "addcmul",
                                      .signature = "addcmul(input, t1, t2, value = 1)",
                                      .doc = "input + value * t1 * t2 in one pass, broadcasting all three",
                                      .rule = "y = x + v * t1 * t2: dx = g, dt1 = v * g * t2, dt2 = v * g * t1",
                                      .kind = OpKind::elementwise,
                                      .call = [](const TensorList& v) { return addcmul(v[0], v[1], v[2], 0.5); },
                                      .samples = {{{Shape{2, 3}, Shape{2, 3}, Shape{2, 3}}, -2.0, 2.0},
                                                  {{Shape{3}, Shape{2, 1}, Shape{2, 3}}, -2.0, 2.0}}});
Tensor addcmul(const Tensor& input, const Tensor& t1, const Tensor& t2, double value) {
    detail::check_same_dtype(input, t1, "addcmul");
    detail::check_same_dtype(input, t2, "addcmul");
    const Shape shape = broadcast_shapes(input.shape(), broadcast_shapes(t1.shape(), t2.shape(), "addcmul"), "addcmul");
    Tensor out = detail::visit_dtype(input.dtype(), [&](auto zero) {
        using T = decltype(zero);
        if constexpr (std::is_integral_v<T>) {
            fail("addcmul: expected float32 or float64 tensors, got {}", dtype_name(input.dtype()));
            return Tensor{};
        } else if constexpr (std::is_same_v<T, BFloat16>) {  // in float32, rounded once
            return detail::float32_as_bf16(detail::without_grad([&] {
                return addcmul(detail::bf16_as_float32(input), detail::bf16_as_float32(t1), detail::bf16_as_float32(t2),
                               value);
            }));
        } else {
            const detail::Strided<T> in(input), a(t1), b(t2);  // read in place, with their strides
            const T v = static_cast<T>(value);
            Tensor result = detail::empty_dense<T>(shape, "addcmul");
            const bool stream = result.numel() * sizeof(T) >= detail::streaming_bytes;
            detail::addcmul_into(in, a, b, v, result, stream);
            return result;
        }
    });
    if (!needs_grad(input, t1) && !needs_grad(t2)) return out;
    // t1's gradient reads t2 and t2's reads t1: each is saved for the other.
    return record(addcmul_def, out, {input, t1, t2}, {.inputs = {false, needs_grad(t2), needs_grad(t1)}},
                  [value](const OpContext& c, const Tensor& g) {
                      const Tensor scaled = value == 1.0 ? g : g * value;
                      return GradList{c.needs_grad(0) ? sum_to(g, c.input_shape(0)) : Tensor{},
                                      c.needs_grad(1) ? sum_to(scaled * c.input(2), c.input_shape(1)) : Tensor{},
                                      c.needs_grad(2) ? sum_to(scaled * c.input(1), c.input_shape(2)) : Tensor{}};
                  });
}

void detail::link_fused() {}  // see registry.cpp

}  // namespace rg
