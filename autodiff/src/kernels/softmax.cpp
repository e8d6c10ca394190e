// Softmax and log-softmax along one axis, forward and backward, over dense
// row-major values seen as (outer, size, inner). float32 runs on xsimd's
// vectors where xsimd has them for the CPU family (its exp is within an ulp or
// two of the C library's); float64 is the checking dtype and keeps the C
// library's exp, element by element. When the
// axis is the last one (inner == 1) each row is contiguous; otherwise the
// loops run along `inner`, which is contiguous, with per-column scratch.
#include "../kernels.hpp"

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace rg::detail {
namespace {

template <class T> double exp_shifted(const T* in, T shift, T* out, std::size_t n) {
    double total = 0;
    for (std::size_t i = 0; i < n; ++i) total += static_cast<double>(out[i] = std::exp(in[i] - shift));
    return total;
}
template <class T> void exp_values(const T* in, T* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = std::exp(in[i]);
}
template <class T> T row_max(const T* in, std::size_t n) {
    T top = in[0];
    for (std::size_t i = 1; i < n; ++i) top = std::max(top, in[i]);
    return top;
}
template <class T> double row_dot(const T* g, const T* y, std::size_t n) {
    double dot = 0;
    for (std::size_t k = 0; k < n; ++k) dot += static_cast<double>(g[k]) * static_cast<double>(y[k]);
    return dot;
}

// Where xsimd has vectors for this CPU family, float32 uses them.
#if XSIMD_WITH_SSE2 || XSIMD_WITH_NEON || XSIMD_WITH_NEON64
using FloatBatch = xsimd::batch<float>;
constexpr std::size_t kLanes = FloatBatch::size;

// A partial vector: the first `count` (< kLanes) values, padded with `fill`.
FloatBatch load_partial(const float* p, std::size_t count, float fill) {
    alignas(64) float lanes[kLanes];
    std::fill_n(lanes, kLanes, fill);
    std::copy_n(p, count, lanes);
    return FloatBatch::load_aligned(lanes);
}
void store_partial(const FloatBatch& v, float* p, std::size_t count) {
    alignas(64) float lanes[kLanes];
    v.store_aligned(lanes);
    std::copy_n(lanes, count, p);
}

// out[i] = e^(in[i] - shift) for i < n; returns their sum in double, summed in
// float vectors over blocks short enough to stay exact to float's precision.
template <> double exp_shifted(const float* in, float shift, float* out, std::size_t n) {
    constexpr std::size_t kBlock = 64 * kLanes;
    const FloatBatch s(shift);
    double total = 0;
    for (std::size_t start = 0; start < n; start += kBlock) {
        const std::size_t end = std::min(n, start + kBlock);
        FloatBatch block_sum(0.0f);
        std::size_t i = start;
        for (; i + kLanes <= end; i += kLanes) {
            const FloatBatch e = xsimd::exp(FloatBatch::load_unaligned(in + i) - s);
            e.store_unaligned(out + i);
            block_sum += e;
        }
        if (i < end) {
            // Padding with -inf makes the padded lanes e^-inf = 0.
            const FloatBatch e = xsimd::exp(load_partial(in + i, end - i, -INFINITY) - s);
            store_partial(e, out + i, end - i);
            block_sum += e;
        }
        total += static_cast<double>(xsimd::hadd(block_sum));
    }
    return total;
}

// out[i] = e^(in[i]) for i < n (out may be in).
template <> void exp_values(const float* in, float* out, std::size_t n) {
    std::size_t i = 0;
    for (; i + kLanes <= n; i += kLanes) xsimd::exp(FloatBatch::load_unaligned(in + i)).store_unaligned(out + i);
    if (i < n) store_partial(xsimd::exp(load_partial(in + i, n - i, 0.0f)), out + i, n - i);
}
template <> float row_max(const float* in, std::size_t n) {
    std::size_t i = 0;
    float top = in[0];
    if (n >= kLanes) {
        FloatBatch m = FloatBatch::load_unaligned(in);
        for (i = kLanes; i + kLanes <= n; i += kLanes) m = xsimd::max(m, FloatBatch::load_unaligned(in + i));
        alignas(64) float lanes[kLanes];
        m.store_aligned(lanes);
        top = *std::max_element(lanes, lanes + kLanes);
    }
    for (; i < n; ++i) top = std::max(top, in[i]);
    return top;
}

// g·y along a contiguous row, in float vectors folded into double.
template <> double row_dot(const float* g, const float* y, std::size_t n) {
    FloatBatch acc(0.0f);
    double dot = 0;
    std::size_t k = 0;
    for (; k + kLanes <= n; k += kLanes) {
        acc = xsimd::fma(FloatBatch::load_unaligned(g + k), FloatBatch::load_unaligned(y + k), acc);
        if ((k / kLanes) % 64 == 63) {  // fold into double before float's precision runs out
            dot += static_cast<double>(xsimd::hadd(acc));
            acc = FloatBatch(0.0f);
        }
    }
    dot += static_cast<double>(xsimd::hadd(acc));
    for (; k < n; ++k) dot += static_cast<double>(g[k]) * static_cast<double>(y[k]);
    return dot;
}
#endif

// No shift helps when the maximum is +inf or every value is -inf (or NaN).
template <class T> T usable_shift(T top) { return std::isfinite(top) ? top : T{0}; }

// One contiguous row (inner == 1).
template <class T> void softmax_row(const T* in, T* out, std::size_t n, bool log_space) {
    const T top = usable_shift(row_max(in, n));
    const double total = exp_shifted(in, top, out, n);  // out holds the exponentials
    if (log_space) {
        const T log_total = static_cast<T>(std::log(total)) + top;
        for (std::size_t k = 0; k < n; ++k) out[k] = in[k] - log_total;
    } else {
        const T scale = static_cast<T>(1.0 / total);
        for (std::size_t k = 0; k < n; ++k) out[k] *= scale;
    }
}

// One (size, inner) block, the axis strided by `inner`: every step along the
// axis is a contiguous run of `inner` values, one per column.
template <class T> void softmax_columns(const T* in, T* out, std::size_t size, std::size_t inner, bool log_space) {
    std::vector<T> top(in, in + inner);
    for (std::size_t k = 1; k < size; ++k)
        for (std::size_t i = 0; i < inner; ++i) top[i] = std::max(top[i], in[k * inner + i]);
    for (T& t : top) t = usable_shift(t);
    std::vector<double> total(inner, 0.0);
    for (std::size_t k = 0; k < size; ++k) {
        T* e = out + k * inner;
        for (std::size_t i = 0; i < inner; ++i) e[i] = in[k * inner + i] - top[i];
        exp_values(e, e, inner);
        for (std::size_t i = 0; i < inner; ++i) total[i] += static_cast<double>(e[i]);
    }
    for (std::size_t i = 0; i < inner; ++i) {
        if (log_space)
            top[i] += static_cast<T>(std::log(total[i]));
        else
            total[i] = 1.0 / total[i];
    }
    for (std::size_t k = 0; k < size; ++k)
        for (std::size_t i = 0; i < inner; ++i) {
            const std::size_t at = k * inner + i;
            out[at] = log_space ? in[at] - top[i] : out[at] * static_cast<T>(total[i]);
        }
}

template <class T> double row_sum(const T* g, std::size_t n) {
    double total = 0;
    for (std::size_t k = 0; k < n; ++k) total += static_cast<double>(g[k]);
    return total;
}

// dx = y (g - <g, y>) for softmax's output y; dx = g - e^y <g, 1> for
// log_softmax's. `out` may be `g`: each row is read whole before it is written.
template <class T> void softmax_backward_row(const T* g, const T* y, T* out, std::size_t n, bool log_space) {
    if (log_space) {
        const T total = static_cast<T>(row_sum(g, n));
        constexpr std::size_t kChunk = 256;
        T e[kChunk];
        for (std::size_t start = 0; start < n; start += kChunk) {
            const std::size_t count = std::min(kChunk, n - start);
            exp_values(y + start, e, count);
            for (std::size_t k = 0; k < count; ++k) out[start + k] = g[start + k] - e[k] * total;
        }
    } else {
        const T dot = static_cast<T>(row_dot(g, y, n));
        for (std::size_t k = 0; k < n; ++k) out[k] = y[k] * (g[k] - dot);
    }
}

template <class T>
void softmax_backward_columns(const T* g, const T* y, T* out, std::size_t size, std::size_t inner, bool log_space) {
    std::vector<double> reduced(inner, 0.0);
    for (std::size_t k = 0; k < size; ++k)
        for (std::size_t i = 0; i < inner; ++i) {
            const std::size_t at = k * inner + i;
            reduced[i] += log_space ? static_cast<double>(g[at]) : static_cast<double>(g[at]) * y[at];
        }
    std::vector<T> e(log_space ? inner : 0);
    for (std::size_t k = 0; k < size; ++k) {
        const std::size_t row = k * inner;
        if (log_space) exp_values(y + row, e.data(), inner);
        for (std::size_t i = 0; i < inner; ++i) {
            const T r = static_cast<T>(reduced[i]);
            out[row + i] = log_space ? g[row + i] - e[i] * r : y[row + i] * (g[row + i] - r);
        }
    }
}

}  // namespace

template <class T> void softmax_forward(const T* in, T* out, const AxisSplit& s, bool log_space) {
    if (s.size == 0) return;  // an empty axis: nothing to normalise
    const std::size_t block = s.size * s.inner;
    for (std::size_t o = 0; o < s.outer; ++o) {
        if (s.inner == 1)
            softmax_row(in + o * block, out + o * block, s.size, log_space);
        else
            softmax_columns(in + o * block, out + o * block, s.size, s.inner, log_space);
    }
}

template <class T> void softmax_backward(const T* g, const T* y, T* out, const AxisSplit& s, bool log_space) {
    if (s.size == 0) return;
    const std::size_t block = s.size * s.inner;
    for (std::size_t o = 0; o < s.outer; ++o) {
        const std::size_t at = o * block;
        if (s.inner == 1)
            softmax_backward_row(g + at, y + at, out + at, s.size, log_space);
        else
            softmax_backward_columns(g + at, y + at, out + at, s.size, s.inner, log_space);
    }
}

template void softmax_forward(const float*, float*, const AxisSplit&, bool);
template void softmax_forward(const double*, double*, const AxisSplit&, bool);
template void softmax_backward(const float*, const float*, float*, const AxisSplit&, bool);
template void softmax_backward(const double*, const double*, double*, const AxisSplit&, bool);

}  // namespace rg::detail
