// The pointwise part of a GRU cell, forward and VJP, one row at a time while
// it is in the cache: r, z, n and the new hidden state in one pass, where the
// same formula written with single ops makes ten passes, each with a
// temporary of its own. The products around the activations are compiled for
// the baseline instruction set and for AVX2 (no fused multiply-adds), one
// picked at run time (retrograd/detail/cpu.hpp).
#include "recurrent_rows.hpp"

#include <retrograd/detail/cpu.hpp>

namespace rg::detail {
namespace {

using recurrent::sigmoid_row;
using recurrent::tanh_row;

// act[0, 2H) = xw + hw over r and z, before σ.
struct ResetUpdateSums {
    template <class T>
    [[gnu::always_inline]] void operator()(const T* __restrict xw, const T* __restrict hw, T* __restrict act,
                                           std::size_t hidden) const {
        for (std::size_t j = 0; j < 2 * hidden; ++j) act[j] = xw[j] + hw[j];
    }
};
// act[2H, 3H) = xw_n + r hw_n, before tanh, and act[3H, 4H) = hw_n.
struct CandidateSums {
    template <class T>
    [[gnu::always_inline]] void operator()(const T* __restrict xw, const T* __restrict hw, T* __restrict act,
                                           std::size_t hidden) const {
        const T* __restrict r = act;
        const T* __restrict xn = xw + 2 * hidden;
        const T* __restrict hn = hw + 2 * hidden;
        T* __restrict n = act + 2 * hidden;
        T* __restrict kept = act + 3 * hidden;
        for (std::size_t j = 0; j < hidden; ++j) {
            n[j] = xn[j] + r[j] * hn[j];
            kept[j] = hn[j];
        }
    }
};
// h' = n + z (h - n).
struct NewState {
    template <class T>
    [[gnu::always_inline]] void operator()(const T* __restrict act, const T* __restrict h, T* __restrict out,
                                           std::size_t hidden) const {
        const T* __restrict z = act + hidden;
        const T* __restrict n = act + 2 * hidden;
        for (std::size_t j = 0; j < hidden; ++j) out[j] = n[j] + z[j] * (h[j] - n[j]);
    }
};
// The VJP from r, z, n, hw_n (act) and h: dxw = [dr', dz', da], dhw = [dr',
// dz', da r] and dh = dh' z, with da = dh' (1 - z)(1 - n²), dr' = da hw_n
// r(1 - r) and dz' = dh' (h - n) z(1 - z).
struct BackwardRow {
    template <class T>
    [[gnu::always_inline]] void operator()(const T* __restrict act, const T* __restrict h, const T* __restrict dout,
                                           T* __restrict dxw, T* __restrict dhw, T* __restrict dh,
                                           std::size_t hidden) const {
        const T* __restrict r = act;
        const T* __restrict z = act + hidden;
        const T* __restrict n = act + 2 * hidden;
        const T* __restrict hn = act + 3 * hidden;
        for (std::size_t j = 0; j < hidden; ++j) {
            const T g = dout[j];
            const T da = g * (T{1} - z[j]) * (T{1} - n[j] * n[j]);
            const T dr = da * hn[j] * r[j] * (T{1} - r[j]);
            const T dz = g * (h[j] - n[j]) * z[j] * (T{1} - z[j]);
            dxw[j] = dhw[j] = dr;
            dxw[hidden + j] = dhw[hidden + j] = dz;
            dxw[2 * hidden + j] = da;
            dhw[2 * hidden + j] = da * r[j];
            dh[j] = g * z[j];
        }
    }
};

}  // namespace

template <class T>
void gru_pointwise_forward(const T* xw, const T* hw, const T* h, T* out, T* saved, std::size_t rows,
                           std::size_t hidden) {
    if (hidden == 0) return;
    const VectorIsa isa = chosen_vector_isa();
    recurrent::for_row_pieces<T>(rows, 4 * hidden, [&](std::size_t begin, std::size_t end, T* buffer) {
        for (std::size_t r = begin; r < end; ++r) {
            T* act = saved ? saved + r * 4 * hidden : buffer;
            const T* x = xw + r * 3 * hidden;
            const T* y = hw + r * 3 * hidden;
            avx2_or_baseline<ResetUpdateSums>(x, y, act, hidden);
            sigmoid_row(act, act, 2 * hidden, isa);
            avx2_or_baseline<CandidateSums>(x, y, act, hidden);
            tanh_row(act + 2 * hidden, act + 2 * hidden, hidden, isa);
            avx2_or_baseline<NewState>(act, h + r * hidden, out + r * hidden, hidden);
        }
    });
}

template <class T>
void gru_pointwise_backward(const T* dout, const T* saved, const T* h, T* dxw, T* dhw, T* dh, std::size_t rows,
                            std::size_t hidden) {
    if (hidden == 0) return;
    parallel_for(
        rows,
        [&](std::size_t begin, std::size_t end) {
            for (std::size_t r = begin; r < end; ++r)
                avx2_or_baseline<BackwardRow>(saved + r * 4 * hidden, h + r * hidden, dout + r * hidden,
                                              dxw + r * 3 * hidden, dhw + r * 3 * hidden, dh + r * hidden, hidden);
        },
        std::max<std::size_t>(compute_parallel_threshold / (11 * hidden), 1));
}

template void gru_pointwise_forward(const float*, const float*, const float*, float*, float*, std::size_t, std::size_t);
template void gru_pointwise_forward(const double*, const double*, const double*, double*, double*, std::size_t,
                                    std::size_t);
template void gru_pointwise_backward(const float*, const float*, const float*, float*, float*, float*, std::size_t,
                                     std::size_t);
template void gru_pointwise_backward(const double*, const double*, const double*, double*, double*, double*,
                                     std::size_t, std::size_t);

}  // namespace rg::detail
