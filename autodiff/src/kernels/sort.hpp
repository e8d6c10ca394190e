#pragma once
// The ordering kernel of sort, argsort and topk (sort_ops.cpp says what
// each returns): the first k positions of every line along an axis, stably.
#include "../kernels.hpp"

#include <cmath>
#include <numeric>

namespace rg::detail {

template <class T> bool is_nan_value(T v) {
    if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
    return false;
}

// For every line of a dense array along the middle axis of `s`, the first k
// positions in order (NaN above every number, equal values by position),
// written as values[o, r, i] and indices[o, r, i] for r < k.
template <class T>
void order_lines(const T* in_values, const AxisSplit& s, std::size_t k, bool descending, T* values,
                 std::int64_t* indices) {
    std::vector<std::size_t> line(s.size);
    for (std::size_t b = 0; b < s.outer; ++b)
        for (std::size_t i = 0; i < s.inner; ++i) {
            const T* in = in_values + b * s.size * s.inner + i;
            auto at = [&](std::size_t p) { return in[p * s.inner]; };
            auto before = [&](std::size_t p, std::size_t q) {
                const T u = at(p), v = at(q);
                const bool un = is_nan_value(u), vn = is_nan_value(v);
                if (un || vn) return un != vn ? (descending ? un : vn) : p < q;
                if (u != v) return descending ? u > v : u < v;
                return p < q;
            };
            std::iota(line.begin(), line.end(), std::size_t{0});
            std::partial_sort(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(k), line.end(), before);
            for (std::size_t r = 0; r < k; ++r) {
                const std::size_t o = (b * k + r) * s.inner + i;
                values[o] = at(line[r]);
                indices[o] = static_cast<std::int64_t>(line[r]);
            }
        }
}

}  // namespace rg::detail
