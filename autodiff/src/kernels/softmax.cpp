// Softmax and log-softmax along one axis, forward and backward, over dense
// row-major values seen as (outer, size, inner). When the axis is the last one
// (inner == 1) each row is contiguous; otherwise the loops run along `inner`,
// which is contiguous, one column per value.
//
// float32 loops are plain arithmetic that the compiler vectorises: e^x is
// Cephes' expf (below), sums keep eight running lanes, and the row functions
// are built for the baseline instruction set and for AVX2, one picked at run
// time (retrograd/detail/cpu.hpp). Both do the same operations in the same
// order, so results do not depend on the CPU. float64 is the checking dtype
// and keeps the C library's exp.
#include "../kernels.hpp"

#include <retrograd/detail/cpu.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace rg::detail {
namespace {

// e^x in float32, in plain arithmetic that loops vectorise: Cephes' expf
// (x = n ln2 + r with ln2 split in two so the reduction is exact, a degree-6
// polynomial in r, 2^n put into the exponent bits), within 2 ulp of the C
// library's on [-87.3, 88]; 0 below (no subnormal results), +inf above (the
// softmax kernels only pass values <= 0, or shifted by 0 when nothing else
// helps), NaN for NaN.
[[gnu::always_inline]] inline float exp_float(float x) {
    constexpr float lowest = -87.3365447505f, highest = 88.0f;
    float c = x < lowest ? lowest : x;
    c = c > highest ? highest : c;  // NaN passes both clamps unchanged
    // n = round(c / ln2), rounded by adding 1.5 * 2^23: n is then the low
    // bits of the sum, read as an integer (no float-to-int conversion, which
    // NaN would make undefined).
    constexpr float shifter = 12582912.0f;
    const float shifted = c * 1.44269504088896341f + shifter;
    const float n = shifted - shifter;
    float r = c - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    const float r2 = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r2 + r + 1.0f;
    const std::uint32_t n_bits = std::bit_cast<std::uint32_t>(shifted) - std::bit_cast<std::uint32_t>(shifter);
    const float scaled = p * std::bit_cast<float>((n_bits + 127U) << 23);
    const float high = x > highest ? std::numeric_limits<float>::infinity() : scaled;
    return x < lowest ? 0.0f : high;
}

// Sums keep eight running lanes, one per position modulo 8, folded into a
// double total every kBlock values: the same order on every instruction set
// (one AVX register or two SSE ones), so the result does not depend on the
// CPU, and long rows keep float's precision per block. `omp simd` (compiled
// with -fopenmp-simd: no OpenMP runtime) asks for the vector loop.
constexpr std::size_t kLanes = 8;
constexpr std::size_t kBlock = 512;

[[gnu::always_inline]] inline float max_float(const float* in, std::size_t n) {
    float top = in[0];
#pragma omp simd reduction(max : top)
    for (std::size_t i = 0; i < n; ++i) top = top > in[i] ? top : in[i];
    return top;
}

// The sum of term(i) for i < n: kLanes float lanes per kBlock values, folded
// into a double total.
template <class Term> [[gnu::always_inline]] inline double lane_sum(std::size_t n, Term term) {
    double total = 0;
    for (std::size_t start = 0; start < n; start += kBlock) {
        const std::size_t end = std::min(n, start + kBlock);
        alignas(32) float lanes[kLanes] = {};
        std::size_t i = start;
        for (; i + kLanes <= end; i += kLanes) {
#pragma omp simd
            for (std::size_t j = 0; j < kLanes; ++j) lanes[j] += term(i + j);
        }
        for (; i < end; ++i) lanes[(i - start) % kLanes] += term(i);
        float block = 0;
        for (float v : lanes) block += v;
        total += static_cast<double>(block);
    }
    return total;
}

// No shift helps when the maximum is +inf or every value is -inf (or NaN).
template <class T> T usable_shift(T top) { return std::isfinite(top) ? top : T{0}; }

// log Σ from the maximum's term (e^0 = 1 when the maximum is finite) and the
// sum of the others: log1p keeps the others' digits when they are tiny, so
// the maximum's log_softmax, -log(1 + others), keeps its own.
inline double log_of_sum(double largest, double others) {
    return largest == 1.0 ? std::log1p(others) : std::log(largest + others);
}

// Every result is (x - max) - log Σ, not x - (max + log Σ): max + log Σ would
// round at the magnitude of x (5.6e-14 off in float64 for rows near 550).
struct SoftmaxRowFloat {
    [[gnu::always_inline]] void operator()(const float* in, float* out, std::size_t n, bool log_space) const {
        const float largest_value = max_float(in, n);
        const float top = usable_shift(largest_value);
#pragma omp simd
        for (std::size_t i = 0; i < n; ++i) out[i] = exp_float(in[i] - top);
        // The maximum's term is summed apart (see log_of_sum).
        const std::size_t at = static_cast<std::size_t>(std::find(in, in + n, largest_value) - in);
        const float largest = at < n ? out[at] : 0.0f;
        if (at < n) out[at] = 0.0f;
        const double others = lane_sum(n, [out](std::size_t i) { return out[i]; });
        if (at < n) out[at] = largest;
        if (log_space) {
            const auto log_total = static_cast<float>(log_of_sum(largest, others));
#pragma omp simd
            for (std::size_t k = 0; k < n; ++k) out[k] = (in[k] - top) - log_total;
        } else {
            const auto scale = static_cast<float>(1.0 / (largest + others));
#pragma omp simd
            for (std::size_t k = 0; k < n; ++k) out[k] *= scale;
        }
    }
};

// dx = y (g - <g, y>) for softmax's output y; dx = g - e^y <g, 1> for
// log_softmax's. `out` may be `g`: each row is read whole before it is written.
struct SoftmaxBackwardRowFloat {
    [[gnu::always_inline]] void operator()(const float* g, const float* y, float* out, std::size_t n,
                                           bool log_space) const {
        if (log_space) {
            const auto total = static_cast<float>(lane_sum(n, [g](std::size_t i) { return g[i]; }));
#pragma omp simd
            for (std::size_t k = 0; k < n; ++k) out[k] = g[k] - exp_float(y[k]) * total;
        } else {
            const auto dot = static_cast<float>(lane_sum(n, [g, y](std::size_t i) { return g[i] * y[i]; }));
#pragma omp simd
            for (std::size_t k = 0; k < n; ++k) out[k] = y[k] * (g[k] - dot);
        }
    }
};

// e^in into out over one run of `inner` values (out may be in).
struct ExpRunFloat {
    [[gnu::always_inline]] void operator()(const float* in, float* out, std::size_t n) const {
#pragma omp simd
        for (std::size_t i = 0; i < n; ++i) out[i] = exp_float(in[i]);
    }
};

// The float32 entry points run their AVX2 or baseline build (retrograd/detail/cpu.hpp).
void exp_run(const float* in, float* out, std::size_t n) { avx2_or_baseline<ExpRunFloat>(in, out, n); }
void exp_run(const double* in, double* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = std::exp(in[i]);
}

void softmax_row(const float* in, float* out, std::size_t n, bool log_space) {
    avx2_or_baseline<SoftmaxRowFloat>(in, out, n, log_space);
}
// A float64 sum with Neumaier's compensation: float64 is the dtype results
// are checked in, so its softmax stays within a few ulps of the exact value
// on long rows too.
struct CompensatedSum {
    double total = 0, carry = 0;
    void add(double v) {
        const double t = total + v;
        carry += std::abs(total) >= std::abs(v) ? (total - t) + v : (v - t) + total;
        total = t;
    }
    double value() const { return total + carry; }
};

// As softmax_row_float, in float64: (x - max) - log Σ, the maximum's term
// summed apart, the others with compensation.
void softmax_row(const double* in, double* out, std::size_t n, bool log_space) {
    std::size_t at = 0;
    for (std::size_t k = 1; k < n; ++k)
        if (in[at] < in[k]) at = k;
    const double top = usable_shift(in[at]);
    CompensatedSum others;
    for (std::size_t k = 0; k < n; ++k) {
        out[k] = std::exp(in[k] - top);
        if (k != at) others.add(out[k]);
    }
    if (log_space) {
        const double log_total = log_of_sum(out[at], others.value());
        for (std::size_t k = 0; k < n; ++k) out[k] = (in[k] - top) - log_total;
    } else {
        const double total = out[at] + others.value();
        for (std::size_t k = 0; k < n; ++k) out[k] /= total;  // one rounding, not two through 1 / Σ
    }
}

void softmax_backward_row(const float* g, const float* y, float* out, std::size_t n, bool log_space) {
    avx2_or_baseline<SoftmaxBackwardRowFloat>(g, y, out, n, log_space);
}
void softmax_backward_row(const double* g, const double* y, double* out, std::size_t n, bool log_space) {
    double reduced = 0;
    for (std::size_t k = 0; k < n; ++k) reduced += log_space ? g[k] : g[k] * y[k];
    for (std::size_t k = 0; k < n; ++k) out[k] = log_space ? g[k] - std::exp(y[k]) * reduced : y[k] * (g[k] - reduced);
}

// One (size, inner) block, the axis strided by `inner`: every step along the
// axis is a contiguous run of `inner` values, one per column.
template <class T> void softmax_columns(const T* in, T* out, std::size_t size, std::size_t inner, bool log_space) {
    std::vector<T> top(in, in + inner);
    std::vector<std::size_t> at(inner, 0);  // where each column's maximum is
    for (std::size_t k = 1; k < size; ++k)
        for (std::size_t i = 0; i < inner; ++i)
            if (top[i] < in[k * inner + i]) {
                top[i] = in[k * inner + i];
                at[i] = k;
            }
    for (T& t : top) t = usable_shift(t);
    std::vector<CompensatedSum> others(inner);
    std::vector<double> largest(inner);
    for (std::size_t k = 0; k < size; ++k) {
        T* e = out + k * inner;
        for (std::size_t i = 0; i < inner; ++i) e[i] = in[k * inner + i] - top[i];
        exp_run(e, e, inner);
        for (std::size_t i = 0; i < inner; ++i) {
            if (k == at[i])
                largest[i] = static_cast<double>(e[i]);
            else
                others[i].add(static_cast<double>(e[i]));
        }
    }
    // As in the rows: (x - max) - log Σ with the maximum's term apart;
    // float64 divides by Σ (one rounding), float32 multiplies by 1 / Σ.
    std::vector<T> log_total(inner), total(inner), inverse(inner);
    for (std::size_t i = 0; i < inner; ++i) {
        const double sum = largest[i] + others[i].value();
        log_total[i] = static_cast<T>(log_of_sum(largest[i], others[i].value()));
        total[i] = static_cast<T>(sum);
        inverse[i] = static_cast<T>(1.0 / sum);
    }
    for (std::size_t k = 0; k < size; ++k)
        for (std::size_t i = 0; i < inner; ++i) {
            const std::size_t at = k * inner + i;
            if (log_space)
                out[at] = (in[at] - top[i]) - log_total[i];
            else if constexpr (std::is_same_v<T, double>)
                out[at] /= total[i];
            else
                out[at] *= inverse[i];
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
        if (log_space) exp_run(y + row, e.data(), inner);
        for (std::size_t i = 0; i < inner; ++i) {
            const auto r = static_cast<T>(reduced[i]);
            out[row + i] = log_space ? g[row + i] - e[i] * r : y[row + i] * (g[row + i] - r);
        }
    }
}

// Calls f(o) for every outer block; large tensors split the blocks among
// the threads (each block is normalised whole by one thread, so the values
// do not depend on the thread count).
template <class F> void for_each_outer(const AxisSplit& s, F f) {
    const std::size_t pieces = std::min<std::size_t>(s.outer, 64);
    parallel_blocks(
        pieces, s.outer * s.size * s.inner,
        [&](std::size_t piece) {
            for (std::size_t o = s.outer * piece / pieces, end = s.outer * (piece + 1) / pieces; o < end; ++o) f(o);
        },
        softmax_parallel_work);
}

}  // namespace

template <class T> void softmax_forward(const T* in, T* out, const AxisSplit& s, bool log_space) {
    if (s.size == 0) return;  // an empty axis: nothing to normalise
    const std::size_t block = s.size * s.inner;
    for_each_outer(s, [&](std::size_t o) {
        if (s.inner == 1)
            softmax_row(in + o * block, out + o * block, s.size, log_space);
        else
            softmax_columns(in + o * block, out + o * block, s.size, s.inner, log_space);
    });
}

template <class T> void softmax_backward(const T* g, const T* y, T* out, const AxisSplit& s, bool log_space) {
    if (s.size == 0) return;
    const std::size_t block = s.size * s.inner;
    for_each_outer(s, [&](std::size_t o) {
        const std::size_t at = o * block;
        if (s.inner == 1)
            softmax_backward_row(g + at, y + at, out + at, s.size, log_space);
        else
            softmax_backward_columns(g + at, y + at, out + at, s.size, s.inner, log_space);
    });
}

template void softmax_forward(const float*, float*, const AxisSplit&, bool);
template void softmax_forward(const double*, double*, const AxisSplit&, bool);
template void softmax_backward(const float*, const float*, float*, const AxisSplit&, bool);
template void softmax_backward(const double*, const double*, double*, const AxisSplit&, bool);

}  // namespace rg::detail
