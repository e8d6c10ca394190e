// The pointwise part of an LSTM cell, forward and VJP, one row of the gates
// at a time while it is in the cache: the four activations, the new cell and
// hidden states in one pass, where the same formula written with single ops
// makes a dozen passes over the gates, each with a temporary of its own.
//
// float32 activations run on the vector kernels of transcendental.cpp,
// float64 ones on the C library's functions one value at a time, as the
// single ops do; the products around them are compiled for the baseline
// instruction set and for AVX2 (no fused multiply-adds), one picked at run
// time (retrograd/detail/cpu.hpp).
#include "recurrent_rows.hpp"

#include <retrograd/detail/cpu.hpp>

namespace rg::detail {
namespace {

using recurrent::sigmoid_row;
using recurrent::tanh_row;

// σ, σ, tanh, σ of one row's four quarters i, f, g, o, into `act`.
template <class T> void activate_row(const T* gates, T* act, std::size_t hidden, VectorIsa isa) {
    sigmoid_row(gates, act, 2 * hidden, isa);
    tanh_row(gates + 2 * hidden, act + 2 * hidden, hidden, isa);
    sigmoid_row(gates + 3 * hidden, act + 3 * hidden, hidden, isa);
}

// c' = f c + i g from the activations.
struct CellRow {
    template <class T>
    [[gnu::always_inline]] void operator()(const T* __restrict act, const T* __restrict c, T* __restrict c_next,
                                           std::size_t hidden) const {
        const T* __restrict i = act;
        const T* __restrict f = act + hidden;
        const T* __restrict g = act + 2 * hidden;
        for (std::size_t j = 0; j < hidden; ++j) c_next[j] = f[j] * c[j] + i[j] * g[j];
    }
};
// h = o tanh(c'), `t` holding tanh(c').
struct HiddenRow {
    template <class T>
    [[gnu::always_inline]] void operator()(const T* __restrict act, const T* __restrict t, T* __restrict h,
                                           std::size_t hidden) const {
        const T* __restrict o = act + 3 * hidden;
        for (std::size_t j = 0; j < hidden; ++j) h[j] = o[j] * t[j];
    }
};
// The VJP from the activations and t = tanh(c'): dc' gathers both paths,
// dc'_all = dc' + dh o (1 - t²); then the quarters' gradients and dc.
struct BackwardRow {
    template <class T>
    [[gnu::always_inline]] void operator()(const T* __restrict act, const T* __restrict t, const T* __restrict c,
                                           const T* __restrict dh, const T* __restrict dc_next, T* __restrict dgates,
                                           T* __restrict dc, std::size_t hidden) const {
        const T* __restrict i = act;
        const T* __restrict f = act + hidden;
        const T* __restrict g = act + 2 * hidden;
        const T* __restrict o = act + 3 * hidden;
        T* __restrict di = dgates;
        T* __restrict df = dgates + hidden;
        T* __restrict dg = dgates + 2 * hidden;
        T* __restrict dout = dgates + 3 * hidden;
        for (std::size_t j = 0; j < hidden; ++j) {
            const T all = dc_next[j] + dh[j] * o[j] * (T{1} - t[j] * t[j]);
            di[j] = all * g[j] * i[j] * (T{1} - i[j]);
            df[j] = all * c[j] * f[j] * (T{1} - f[j]);
            dg[j] = all * i[j] * (T{1} - g[j] * g[j]);
            dout[j] = dh[j] * t[j] * o[j] * (T{1} - o[j]);
            dc[j] = all * f[j];
        }
    }
};

}  // namespace

template <class T>
void lstm_pointwise_forward(const T* gates, const T* c, T* h, T* c_next, T* saved, std::size_t rows,
                            std::size_t hidden) {
    if (hidden == 0) return;
    const VectorIsa isa = chosen_vector_isa();
    recurrent::for_row_pieces<T>(rows, 5 * hidden, [&](std::size_t begin, std::size_t end, T* buffer) {
        for (std::size_t r = begin; r < end; ++r) {
            T* act = saved ? saved + r * 5 * hidden : buffer;
            T* t = act + 4 * hidden;
            activate_row(gates + r * 4 * hidden, act, hidden, isa);
            avx2_or_baseline<CellRow>(act, c + r * hidden, c_next + r * hidden, hidden);
            tanh_row(c_next + r * hidden, t, hidden, isa);
            avx2_or_baseline<HiddenRow>(act, t, h + r * hidden, hidden);
        }
    });
}

template <class T>
void lstm_pointwise_backward(const T* dh, const T* dc_next, const T* saved, const T* c, T* dgates, T* dc,
                             std::size_t rows, std::size_t hidden) {
    if (hidden == 0) return;
    parallel_for(
        rows,
        [&](std::size_t begin, std::size_t end) {
            for (std::size_t r = begin; r < end; ++r) {
                const std::size_t at = r * hidden;
                const T* act = saved + 5 * at;
                avx2_or_baseline<BackwardRow>(act, act + 4 * hidden, c + at, dh + at, dc_next + at, dgates + 4 * at,
                                              dc + at, hidden);
            }
        },
        std::max<std::size_t>(compute_parallel_threshold / (10 * hidden), 1));
}

template void lstm_pointwise_forward(const float*, const float*, float*, float*, float*, std::size_t, std::size_t);
template void lstm_pointwise_forward(const double*, const double*, double*, double*, double*, std::size_t, std::size_t);
template void lstm_pointwise_backward(const float*, const float*, const float*, const float*, float*, float*,
                                      std::size_t, std::size_t);
template void lstm_pointwise_backward(const double*, const double*, const double*, const double*, double*, double*,
                                      std::size_t, std::size_t);

}  // namespace rg::detail
