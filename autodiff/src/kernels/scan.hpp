#pragma once
// Running combinations and products along one axis of a dense tensor, split
// (outer, size, inner) by split_at: cumsum's, cumprod's and prod's loops
// (scan_ops.cpp says what each computes), and the zero test of cumprod's VJP. Outer blocks are independent, so
// large tensors split them among the threads; each value is combined in the
// same order whatever the thread count.
#include "../kernels.hpp"

namespace rg::detail {

// Calls body(first, last) over [0, s.outer) in pieces, on several threads
// when the whole tensor has compute_parallel_threshold elements or more.
template <class F> void for_outer_blocks(const AxisSplit& s, F body) {
    const std::size_t block = std::max<std::size_t>(s.size * s.inner, 1);
    parallel_for(s.outer, body, std::max<std::size_t>(2, (compute_parallel_threshold + block - 1) / block));
}

// out[o, k, i] = in[o, 0, i] (combine) ... (combine) in[o, k, i], both dense.
template <class T, class Op> void scan_values(const T* in, T* out, const AxisSplit& s, Op combine) {
    for_outer_blocks(s, [&](std::size_t first, std::size_t last) {
        for (std::size_t b = first; b < last; ++b) {
            const T* src = in + b * s.size * s.inner;
            T* dst = out + b * s.size * s.inner;
            if (s.size > 0) std::copy(src, src + s.inner, dst);
            for (std::size_t k = 1; k < s.size; ++k)
                for (std::size_t i = 0; i < s.inner; ++i)
                    dst[k * s.inner + i] = combine(dst[(k - 1) * s.inner + i], src[k * s.inner + i]);
        }
    });
}

// out[o, i] = the product of in[o, k, i] over k, in order of k (a logical
// and for bool); out holds s.outer * s.inner values.
template <class T> void product_values(const T* in, T* out, const AxisSplit& s) {
    std::fill_n(out, s.outer * s.inner, T{1});
    for_outer_blocks(s, [&](std::size_t first, std::size_t last) {
        for (std::size_t b = first; b < last; ++b)
            for (std::size_t k = 0; k < s.size; ++k)
                for (std::size_t i = 0; i < s.inner; ++i)
                    // `*=` on bools is a -Werror warning.
                    if constexpr (std::is_same_v<T, bool>)
                        out[b * s.inner + i] = out[b * s.inner + i] && in[(b * s.size + k) * s.inner + i];
                    else
                        out[b * s.inner + i] *= in[(b * s.size + k) * s.inner + i];
    });
}

// True when one of the n values is zero (cumprod's VJP then avoids dividing).
template <class T> bool has_zero_value(const T* values, std::size_t n) {
    return std::any_of(values, values + n, [](T v) { return v == T{0}; });
}

}  // namespace rg::detail
