#pragma once
// map_float for the ops with a float32 vector kernel
// (retrograd/detail/transcendental.hpp): float32 tensors, and bfloat16 ones
// through float32, run on the kernel; float64 keeps the C library's function
// one value at a time, so that the checking dtype stays as exact as it is.
#include <retrograd/detail/transcendental.hpp>

#include "../op_defs.hpp"

#include <vector>

namespace rg::detail {

// out = f(x) elementwise: float32 through `f`'s vector kernel, rows of a
// strided view read in place when their values are adjacent (an LSTM's gates,
// narrowed out of one matrix), otherwise copied into a row buffer first;
// float64 through `scalar`.
template <class F> Tensor map_vector_math(const Tensor& x, const char* op, VectorMath f, F scalar) {
    const TensorImpl& in = *defined_or_fail(x, op).impl();
    if (in.dtype == Dtype::bfloat16) return float32_as_bf16(map_vector_math(bf16_as_float32(x), op, f, scalar));
    if (in.dtype != Dtype::float32) return map_float(x, op, scalar);
    Tensor out = empty_dense(in.shape, in.dtype, op, in.numel);
    float* result = out.impl()->data<float>();
    const float* values = in.data<float>();
    if (is_contiguous_layout(in.shape, in.strides)) {
        vector_math(f, values, result, in.numel);
        return out;
    }
    const VectorIsa isa = chosen_vector_isa();
    std::vector<float> gathered;
    const std::array<Strides, 2> st{in.strides, contiguous_strides(in.shape)};
    for_each_row(in.shape, st, [&](const auto& offset, const auto& step, std::size_t count) {
        const float* row = values + offset[0];
        if (step[0] != 1) {
            gathered.resize(count);
            for (std::size_t k = 0; k < count; ++k) gathered[k] = row[static_cast<std::ptrdiff_t>(k) * step[0]];
            row = gathered.data();
        }
        vector_math(f, row, result + offset[1], count, isa);
    });
    return out;
}

}  // namespace rg::detail
