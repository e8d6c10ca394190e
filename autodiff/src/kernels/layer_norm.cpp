// Layer normalisation over dense rows, forward and the input's VJP, one row
// at a time while it is in the cache: the statistics, the normalised values
// and the result in a few passes over `size` values, where the same formula
// written with single ops makes a dozen passes over the whole tensor.
//
// Sums keep eight running lanes (a vector register of float32) folded in a
// fixed order, so results do not depend on the CPU; the rows are built for
// the baseline instruction set and for AVX2, one picked at run time.
#include "../kernels.hpp"
#include "lane_sum.hpp"

#include <retrograd/detail/cpu.hpp>

#include <algorithm>
#include <cmath>

namespace rg::detail {
namespace {

// The row's mean and 1 / sqrt(variance + eps), the variance biased (over n),
// from the deviations (two passes: no cancellation for rows far from 0).
template <class T> struct RowStats { T mean, rstd; };
template <class T> [[gnu::always_inline]] inline RowStats<T> row_stats(const T* x, std::size_t n, double eps) {
    const T mean = lane_sum<T>(n, [x](std::size_t i) { return x[i]; }) / static_cast<T>(n);
    const T spread = lane_sum<T>(n, [x, mean](std::size_t i) { return (x[i] - mean) * (x[i] - mean); });
    const double variance = static_cast<double>(spread) / static_cast<double>(n);
    return {mean, static_cast<T>(1.0 / std::sqrt(variance + eps))};
}

// y = (x - mean) * rstd * w + b over one row; w and b may be null.
template <class T>
[[gnu::always_inline]] inline void forward_row(const T* x, const T* w, const T* b, T* y, std::size_t n, double eps) {
    const RowStats<T> s = row_stats(x, n, eps);
    if (w && b)
        for (std::size_t i = 0; i < n; ++i) y[i] = (x[i] - s.mean) * s.rstd * w[i] + b[i];
    else if (w)
        for (std::size_t i = 0; i < n; ++i) y[i] = (x[i] - s.mean) * s.rstd * w[i];
    else if (b)
        for (std::size_t i = 0; i < n; ++i) y[i] = (x[i] - s.mean) * s.rstd + b[i];
    else
        for (std::size_t i = 0; i < n; ++i) y[i] = (x[i] - s.mean) * s.rstd;
}

// dx = rstd (a - mean(a) - x̂ mean(a x̂)) with a = g w (g when w is null) and
// x̂ = (x - mean) rstd, over one row; dx may be g.
template <class T>
[[gnu::always_inline]] inline void backward_row(const T* g, const T* x, const T* w, T* dx, std::size_t n, double eps) {
    const RowStats<T> s = row_stats(x, n, eps);
    const auto a = [g, w](std::size_t i) { return w ? g[i] * w[i] : g[i]; };
    const auto xhat = [x, s](std::size_t i) { return (x[i] - s.mean) * s.rstd; };
    const T inv_n = T{1} / static_cast<T>(n);
    const T mean_a = lane_sum<T>(n, a) * inv_n;
    const T mean_ax = lane_sum<T>(n, [&](std::size_t i) { return a(i) * xhat(i); }) * inv_n;
    if (w)
        for (std::size_t i = 0; i < n; ++i) dx[i] = s.rstd * (g[i] * w[i] - mean_a - xhat(i) * mean_ax);
    else
        for (std::size_t i = 0; i < n; ++i) dx[i] = s.rstd * (g[i] - mean_a - xhat(i) * mean_ax);
}

// Rows of forward_row and backward_row, built for AVX2 and the baseline.
struct ForwardRows {
    template <class T>
    [[gnu::always_inline]] void operator()(const T* x, const T* w, const T* b, T* y, std::size_t rows, std::size_t n,
                                           double eps) const {
        for (std::size_t r = 0; r < rows; ++r) forward_row(x + r * n, w, b, y + r * n, n, eps);
    }
};
struct BackwardRows {
    template <class T>
    [[gnu::always_inline]] void operator()(const T* g, const T* x, const T* w, T* dx, std::size_t rows, std::size_t n,
                                           double eps) const {
        for (std::size_t r = 0; r < rows; ++r) backward_row(g + r * n, x + r * n, w, dx + r * n, n, eps);
    }
};

// Calls f(first, count) over pieces of the rows; large tensors split them
// among the threads (a row is normalised whole by one thread).
template <class F> void for_row_pieces(std::size_t rows, std::size_t n, F f) {
    const std::size_t pieces = std::max<std::size_t>(std::min<std::size_t>(rows, 64), 1);
    parallel_blocks(
        pieces, rows * n,
        [&](std::size_t piece) {
            const std::size_t begin = rows * piece / pieces, end = rows * (piece + 1) / pieces;
            if (end > begin) f(begin, end - begin);
        },
        softmax_parallel_work);
}

}  // namespace

template <class T>
void layer_norm_forward(const T* x, const T* w, const T* b, T* y, std::size_t rows, std::size_t size, double eps) {
    if (size == 0) return;
    for_row_pieces(rows, size, [&](std::size_t first, std::size_t count) {
        avx2_or_baseline<ForwardRows>(x + first * size, w, b, y + first * size, count, size, eps);
    });
}

template <class T>
void layer_norm_backward(const T* g, const T* x, const T* w, T* dx, std::size_t rows, std::size_t size, double eps) {
    if (size == 0) return;
    for_row_pieces(rows, size, [&](std::size_t first, std::size_t count) {
        avx2_or_baseline<BackwardRows>(g + first * size, x + first * size, w, dx + first * size, count, size, eps);
    });
}

template void layer_norm_forward(const float*, const float*, const float*, float*, std::size_t, std::size_t, double);
template void layer_norm_forward(const double*, const double*, const double*, double*, std::size_t, std::size_t,
                                 double);
template void layer_norm_backward(const float*, const float*, const float*, float*, std::size_t, std::size_t, double);
template void layer_norm_backward(const double*, const double*, const double*, double*, std::size_t, std::size_t,
                                  double);

}  // namespace rg::detail
