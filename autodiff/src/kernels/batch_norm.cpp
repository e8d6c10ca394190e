// Batch normalisation over the channels of dense (outer, channels, inner)
// values: per channel statistics, the normalised values, and the sums its
// VJP needs, each a few passes over the tensor where the same formulas
// written with single ops make a dozen (broadcast subtractions, divisions,
// products and sums, each over the whole activation).
//
// A channel's sums run over its outer * inner values in a fixed order (its
// rows of `inner` values in eight running lanes, the rows added in order in
// double), on one thread: results do not depend on the thread count.
#include "../kernels.hpp"
#include "lane_sum.hpp"

#include <cmath>
#include <vector>

namespace rg::detail {
namespace {

// Calls f(c) for each channel; large tensors split the channels among the threads.
template <class F> void for_channels(const ChannelLayout& s, F f) {
    parallel_blocks(s.channels, s.outer * s.channels * s.inner, [&](std::size_t c) { f(c); });
}

// Calls f(row, channel) for each (outer, channel) row of `inner` values, in parallel when large.
template <class F> void for_rows(const ChannelLayout& s, F f) {
    const std::size_t rows = s.outer * s.channels;
    if (rows * s.inner == 0) return;
    parallel_for(rows * s.inner, [&](std::size_t begin, std::size_t end) {
        // parallel_for splits elements; each thread takes the rows that start in its range.
        const std::size_t first = (begin + s.inner - 1) / s.inner, last = (end + s.inner - 1) / s.inner;
        for (std::size_t r = first; r < last && r < rows; ++r) f(r, r % s.channels);
    });
}

// x - mean for a mean held in double: x - mean_t (mean rounded to T, exact
// for x near it) minus what the rounding lost, so that channels far from 0
// keep their deviations' digits in float32.
template <class T> struct CentredMean {
    T rounded, offset;
    explicit CentredMean(double mean)
        : rounded(static_cast<T>(mean)), offset(static_cast<T>(mean - static_cast<double>(rounded))) {}
    T centre(T v) const { return (v - rounded) - offset; }
};

}  // namespace

template <class T> void batch_norm_stats(const T* x, const ChannelLayout& s, double eps, BatchNormStats& stats) {
    stats.mean.assign(s.channels, 0.0);
    stats.variance.assign(s.channels, 0.0);
    stats.rstd.assign(s.channels, 0.0);
    const double count = static_cast<double>(s.outer * s.inner);
    for_channels(s, [&](std::size_t c) {
        double total = 0;
        for (std::size_t n = 0; n < s.outer; ++n) {
            const T* row = x + (n * s.channels + c) * s.inner;
            total += lane_sum<T, double>(s.inner, [row](std::size_t i) { return row[i]; });
        }
        const double mean = total / count;
        // From the deviations (a second pass): no cancellation for channels far from 0.
        const CentredMean<T> centred(mean);
        double spread = 0;
        for (std::size_t n = 0; n < s.outer; ++n) {
            const T* row = x + (n * s.channels + c) * s.inner;
            spread += lane_sum<T, double>(s.inner, [row, centred](std::size_t i) {
                const T d = centred.centre(row[i]);
                return d * d;
            });
        }
        const double variance = spread / count;
        stats.mean[c] = mean;
        stats.variance[c] = variance;
        stats.rstd[c] = 1.0 / std::sqrt(variance + eps);
    });
}

template <class T>
void batch_norm_apply(const T* x, const ChannelLayout& s, const BatchNormStats& stats, const T* w, const T* b, T* y) {
    for_rows(s, [&](std::size_t r, std::size_t c) {
        // y = ((x - mean_t) - offset) scale + b, with mean_t the mean rounded to T and
        // offset what that rounding lost: x - mean_t loses nothing for values near the
        // mean, where x scale - mean scale would cancel (channels far from 0).
        const CentredMean<T> mean(stats.mean[c]);
        const T scale = static_cast<T>(stats.rstd[c] * (w ? static_cast<double>(w[c]) : 1.0));
        const T shift = b ? b[c] : T{0};
        const T* in = x + r * s.inner;
        T* out = y + r * s.inner;
        for (std::size_t i = 0; i < s.inner; ++i) out[i] = mean.centre(in[i]) * scale + shift;
    });
}

template <class T>
void batch_norm_grad_sums(const T* g, const T* x, const ChannelLayout& s, const BatchNormStats& stats,
                          std::vector<double>& sum_g, std::vector<double>& sum_g_xhat) {
    sum_g.assign(s.channels, 0.0);
    sum_g_xhat.assign(s.channels, 0.0);
    for_channels(s, [&](std::size_t c) {
        const CentredMean<T> mean(stats.mean[c]);
        double total = 0, total_centred = 0;
        for (std::size_t n = 0; n < s.outer; ++n) {
            const std::size_t at = (n * s.channels + c) * s.inner;
            const T *grad = g + at, *row = x + at;
            const auto [sum, centred] = lane_sum_pair<T, double>(
                s.inner, [grad](std::size_t i) { return grad[i]; },
                [grad, row, mean](std::size_t i) { return grad[i] * mean.centre(row[i]); });
            total += sum;
            total_centred += centred;
        }
        sum_g[c] = total;
        sum_g_xhat[c] = total_centred * stats.rstd[c];
    });
}

template <class T>
void batch_norm_input_grad(const T* g, const T* x, const ChannelLayout& s, const BatchNormStats& stats, const T* w,
                           const std::vector<double>& sum_g, const std::vector<double>& sum_g_xhat, T* dx) {
    const double count = static_cast<double>(s.outer * s.inner);
    for_rows(s, [&](std::size_t r, std::size_t c) {
        // dx = w rstd (g - Σg / m - x̂ Σ(g x̂) / m), x̂ = (x - mean) rstd, as
        // dx = k g - j (x - mean) - i with per-channel k, j and i.
        const CentredMean<T> mean(stats.mean[c]);
        const double rstd = stats.rstd[c], weighted = rstd * (w ? static_cast<double>(w[c]) : 1.0);
        const T k = static_cast<T>(weighted), j = static_cast<T>(weighted * rstd * sum_g_xhat[c] / count),
                i0 = static_cast<T>(weighted * sum_g[c] / count);
        const T *grad = g + r * s.inner, *in = x + r * s.inner;
        T* out = dx + r * s.inner;
        for (std::size_t i = 0; i < s.inner; ++i) out[i] = k * grad[i] - j * mean.centre(in[i]) - i0;
    });
}

template void batch_norm_stats(const float*, const ChannelLayout&, double, BatchNormStats&);
template void batch_norm_stats(const double*, const ChannelLayout&, double, BatchNormStats&);
template void batch_norm_apply(const float*, const ChannelLayout&, const BatchNormStats&, const float*, const float*,
                               float*);
template void batch_norm_apply(const double*, const ChannelLayout&, const BatchNormStats&, const double*, const double*,
                               double*);
template void batch_norm_grad_sums(const float*, const float*, const ChannelLayout&, const BatchNormStats&,
                                   std::vector<double>&, std::vector<double>&);
template void batch_norm_grad_sums(const double*, const double*, const ChannelLayout&, const BatchNormStats&,
                                   std::vector<double>&, std::vector<double>&);
template void batch_norm_input_grad(const float*, const float*, const ChannelLayout&, const BatchNormStats&,
                                    const float*, const std::vector<double>&, const std::vector<double>&, float*);
template void batch_norm_input_grad(const double*, const double*, const ChannelLayout&, const BatchNormStats&,
                                    const double*, const std::vector<double>&, const std::vector<double>&, double*);

}  // namespace rg::detail
