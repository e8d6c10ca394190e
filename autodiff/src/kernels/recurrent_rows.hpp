#pragma once
// What the recurrent cells' kernels (kernels/lstm.cpp, kernels/gru.cpp) share:
// σ and tanh over a row, float32 on the vector kernels of transcendental.cpp
// and float64 through the C library one value at a time, as the single ops;
// and the split of their rows among the threads.
#include "../kernels.hpp"

#include <retrograd/detail/transcendental.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace rg::detail::recurrent {

inline void sigmoid_row(const float* x, float* y, std::size_t n, VectorIsa isa) {
    vector_math(VectorMath::sigmoid, x, y, n, isa);
}
inline void sigmoid_row(const double* x, double* y, std::size_t n, VectorIsa) {
    for (std::size_t j = 0; j < n; ++j) {
        const double u = x[j];
        if (u >= 0) {
            y[j] = 1.0 / (1.0 + std::exp(-u));
        } else {
            const double e = std::exp(u);
            y[j] = e / (1.0 + e);
        }
    }
}
inline void tanh_row(const float* x, float* y, std::size_t n, VectorIsa isa) {
    vector_math(VectorMath::tanh, x, y, n, isa);
}
inline void tanh_row(const double* x, double* y, std::size_t n, VectorIsa) {
    for (std::size_t j = 0; j < n; ++j) y[j] = std::tanh(x[j]);
}

// Calls f(begin, end, buffer) over pieces of the rows, each piece with a
// buffer of `width` values; a row is computed whole by one thread. `width`
// counts the values a row reads and writes, so that the threshold measures
// work: the activations cost several times a product.
template <class T, class F> void for_row_pieces(std::size_t rows, std::size_t width, F f) {
    parallel_for(
        rows,
        [&](std::size_t begin, std::size_t end) {
            std::vector<T> buffer(width);
            f(begin, end, buffer.data());
        },
        std::max<std::size_t>(compute_parallel_threshold / std::max<std::size_t>(width, 1), 1));
}

}  // namespace rg::detail::recurrent
