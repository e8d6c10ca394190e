#pragma once
// Kernels that move values without computing new ones: flip's strided copy
// and the triangles of triu and tril (shape_ops_extra.cpp says what each
// computes).
#include "../kernels.hpp"

namespace rg::detail {

// out (dense, of `shape`) = the values read from `first` with `strides`
// (negative along the flipped axes), row by row; rows on several threads
// when large.
template <class T> void copy_strided(const T* first, const Shape& shape, const Strides& strides, T* out) {
    const std::array<Strides, 2> st{strides, contiguous_strides(shape)};
    for_each_row_parallel(shape, st, [&](const auto& off, const auto& inner, std::size_t count) {
        for (std::size_t k = 0; k < count; ++k)
            out[off[1] + static_cast<std::ptrdiff_t>(k)] = first[off[0] + static_cast<std::ptrdiff_t>(k) * inner[0]];
    });
}

// Sets to zero, in each of `matrices` dense rows x cols matrices, the entries
// outside the triangle: kept where j - i <= k (lower) or j - i >= k (upper).
template <class T>
void zero_outside_triangle(T* values, std::size_t matrices, std::size_t rows, std::size_t cols, std::int64_t k,
                           bool lower) {
    for (std::size_t m = 0; m < matrices; ++m)
        for (std::size_t i = 0; i < rows; ++i)
            for (std::size_t j = 0; j < cols; ++j) {
                const std::int64_t d = static_cast<std::int64_t>(j) - static_cast<std::int64_t>(i);
                if (lower ? d > k : d < k) values[(m * rows + i) * cols + j] = T{0};
            }
}

}  // namespace rg::detail
