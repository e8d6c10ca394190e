#pragma once
// Sums in a fixed number of running lanes (a vector register of float32),
// folded in a fixed order: the normalisation kernels' sums vectorise, and
// their results do not depend on the CPU (kernels/layer_norm.cpp,
// kernels/batch_norm.cpp).
#include <cstddef>
#include <utility>

namespace rg::detail {

inline constexpr std::size_t kSumLanes = 8;

// The sum of term(i) for i < n: lanes of T, folded in order into a Total.
template <class T, class Total = T, class Term> [[gnu::always_inline]] inline Total lane_sum(std::size_t n, Term term) {
    T lanes[kSumLanes] = {};
    std::size_t i = 0;
    for (; i + kSumLanes <= n; i += kSumLanes)
        for (std::size_t j = 0; j < kSumLanes; ++j) lanes[j] += term(i + j);
    for (; i < n; ++i) lanes[i % kSumLanes] += term(i);
    Total total = 0;
    for (T v : lanes) total += static_cast<Total>(v);
    return total;
}

// Two such sums over the same i in one pass.
template <class T, class Total = T, class First, class Second>
[[gnu::always_inline]] inline std::pair<Total, Total> lane_sum_pair(std::size_t n, First first, Second second) {
    T a[kSumLanes] = {}, b[kSumLanes] = {};
    std::size_t i = 0;
    for (; i + kSumLanes <= n; i += kSumLanes)
        for (std::size_t j = 0; j < kSumLanes; ++j) {
            a[j] += first(i + j);
            b[j] += second(i + j);
        }
    for (; i < n; ++i) {
        a[i % kSumLanes] += first(i);
        b[i % kSumLanes] += second(i);
    }
    Total total_a = 0, total_b = 0;
    for (std::size_t j = 0; j < kSumLanes; ++j) {
        total_a += static_cast<Total>(a[j]);
        total_b += static_cast<Total>(b[j]);
    }
    return {total_a, total_b};
}

}  // namespace rg::detail
