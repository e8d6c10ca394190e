// The pointwise part of a GRU cell, forward and VJP, one row at a time while
// it is in the cache: r, z, n and the new hidden state in one pass, where the
// same formula written with single ops makes ten passes, each with a
// temporary of its own. The products around the activations are compiled for
// the baseline instruction set and for AVX2 (no fused multiply-adds), one
// picked at run time.
#include "recurrent_rows.hpp"

#include <retrograd/detail/cpu.hpp>

namespace rg::detail {
namespace {

using recurrent::sigmoid_row;
using recurrent::tanh_row;

// act[0, 2H) = xw + hw over r and z, before σ.
template <class T>
[[gnu::always_inline]] inline void reset_update_sums(const T* __restrict xw, const T* __restrict hw, T* __restrict act,
                                                     std::size_t hidden) {
    for (std::size_t j = 0; j < 2 * hidden; ++j) act[j] = xw[j] + hw[j];
}
// act[2H, 3H) = xw_n + r hw_n, before tanh, and act[3H, 4H) = hw_n.
template <class T>
[[gnu::always_inline]] inline void candidate_sums(const T* __restrict xw, const T* __restrict hw, T* __restrict act,
                                                  std::size_t hidden) {
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
// h' = n + z (h - n).
template <class T>
[[gnu::always_inline]] inline void new_state(const T* __restrict act, const T* __restrict h, T* __restrict out,
                                             std::size_t hidden) {
    const T* __restrict z = act + hidden;
    const T* __restrict n = act + 2 * hidden;
    for (std::size_t j = 0; j < hidden; ++j) out[j] = n[j] + z[j] * (h[j] - n[j]);
}
// The VJP from r, z, n, hw_n (act) and h: dxw = [dr', dz', da], dhw = [dr',
// dz', da r] and dh = dh' z, with da = dh' (1 - z)(1 - n²), dr' = da hw_n
// r(1 - r) and dz' = dh' (h - n) z(1 - z).
template <class T>
[[gnu::always_inline]] inline void backward_row(const T* __restrict act, const T* __restrict h,
                                                const T* __restrict dout, T* __restrict dxw, T* __restrict dhw,
                                                T* __restrict dh, std::size_t hidden) {
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

RETROGRAD_TARGET_AVX2 void reset_update_avx2(const float* xw, const float* hw, float* act, std::size_t hidden) {
    reset_update_sums(xw, hw, act, hidden);
}
void reset_update_baseline(const float* xw, const float* hw, float* act, std::size_t hidden) {
    reset_update_sums(xw, hw, act, hidden);
}
RETROGRAD_TARGET_AVX2 void candidate_avx2(const float* xw, const float* hw, float* act, std::size_t hidden) {
    candidate_sums(xw, hw, act, hidden);
}
void candidate_baseline(const float* xw, const float* hw, float* act, std::size_t hidden) {
    candidate_sums(xw, hw, act, hidden);
}
RETROGRAD_TARGET_AVX2 void new_state_avx2(const float* act, const float* h, float* out, std::size_t hidden) {
    new_state(act, h, out, hidden);
}
void new_state_baseline(const float* act, const float* h, float* out, std::size_t hidden) {
    new_state(act, h, out, hidden);
}
RETROGRAD_TARGET_AVX2 void backward_avx2(const float* act, const float* h, const float* dout, float* dxw, float* dhw,
                                         float* dh, std::size_t hidden) {
    backward_row(act, h, dout, dxw, dhw, dh, hidden);
}
void backward_baseline(const float* act, const float* h, const float* dout, float* dxw, float* dhw, float* dh,
                       std::size_t hidden) {
    backward_row(act, h, dout, dxw, dhw, dh, hidden);
}

void reset_update(const float* xw, const float* hw, float* act, std::size_t hidden) {
    avx2_or_baseline(reset_update_avx2, reset_update_baseline, xw, hw, act, hidden);
}
void reset_update(const double* xw, const double* hw, double* act, std::size_t hidden) {
    reset_update_sums(xw, hw, act, hidden);
}
void candidate(const float* xw, const float* hw, float* act, std::size_t hidden) {
    avx2_or_baseline(candidate_avx2, candidate_baseline, xw, hw, act, hidden);
}
void candidate(const double* xw, const double* hw, double* act, std::size_t hidden) {
    candidate_sums(xw, hw, act, hidden);
}
void state(const float* act, const float* h, float* out, std::size_t hidden) {
    avx2_or_baseline(new_state_avx2, new_state_baseline, act, h, out, hidden);
}
void state(const double* act, const double* h, double* out, std::size_t hidden) { new_state(act, h, out, hidden); }
void backward(const float* act, const float* h, const float* dout, float* dxw, float* dhw, float* dh,
              std::size_t hidden) {
    avx2_or_baseline(backward_avx2, backward_baseline, act, h, dout, dxw, dhw, dh, hidden);
}
void backward(const double* act, const double* h, const double* dout, double* dxw, double* dhw, double* dh,
              std::size_t hidden) {
    backward_row(act, h, dout, dxw, dhw, dh, hidden);
}

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
            reset_update(x, y, act, hidden);
            sigmoid_row(act, act, 2 * hidden, isa);
            candidate(x, y, act, hidden);
            tanh_row(act + 2 * hidden, act + 2 * hidden, hidden, isa);
            state(act, h + r * hidden, out + r * hidden, hidden);
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
                backward(saved + r * 4 * hidden, h + r * hidden, dout + r * hidden, dxw + r * 3 * hidden,
                         dhw + r * 3 * hidden, dh + r * hidden, hidden);
        },
        std::max<std::size_t>(parallel_threshold / (11 * hidden), 1));
}

template void gru_pointwise_forward(const float*, const float*, const float*, float*, float*, std::size_t, std::size_t);
template void gru_pointwise_forward(const double*, const double*, const double*, double*, double*, std::size_t,
                                    std::size_t);
template void gru_pointwise_backward(const float*, const float*, const float*, float*, float*, float*, std::size_t,
                                     std::size_t);
template void gru_pointwise_backward(const double*, const double*, const double*, double*, double*, double*,
                                     std::size_t, std::size_t);

}  // namespace rg::detail
