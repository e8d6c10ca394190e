// The optimizers' update loops (retrograd/detail/update_kernels.hpp).
#include <retrograd/detail/cpu.hpp>
#include <retrograd/detail/update_kernels.hpp>

#include <cmath>

namespace rg::detail {
namespace {

// In the parameter's precision, so the loop vectorises (as PyTorch's); the
// constants are copied, so that stores through w and buf cannot change them.
template <class T> void sgd_kernel(T* w, const T* dw, T* buf, std::size_t n, const SgdStep<T>& step) {
    const SgdStep<T> c = step;
    for (std::size_t k = 0; k < n; ++k) {
        T d = dw[k] + c.weight_decay * w[k];
        if (buf) {
            buf[k] = c.first ? d : c.momentum * buf[k] + c.keep * d;
            d = c.nesterov ? d + c.momentum * buf[k] : buf[k];
        }
        w[k] -= c.lr * d;
    }
}

// In the parameter's precision, so the loop vectorises (as PyTorch's). The
// step's constants are copied and the arrays marked unaliased: otherwise the
// compiler reloads the constants after every store and keeps the loop scalar.
template <class T>
[[gnu::always_inline]] inline void adam_kernel(T* __restrict w, const T* __restrict dw, T* __restrict m,
                                               T* __restrict v, std::size_t n, const AdamStep<T>& step) {
    const AdamStep<T> c = step;
    for (std::size_t k = 0; k < n; ++k) {
        const T d = dw[k] + c.l2 * w[k];
        const T mk = c.beta1 * m[k] + (1 - c.beta1) * d;
        const T vk = c.beta2 * v[k] + (1 - c.beta2) * d * d;
        m[k] = mk;
        v[k] = vk;
        w[k] = w[k] * c.shrink - c.step_size * mk / (std::sqrt(vk) * c.inverse_root_bc2 + c.eps);
    }
}
// The update is bound by division, square root and memory: AVX2 halves the
// first two where the CPU has it (retrograd/detail/cpu.hpp picks the version).
template <class T>
RETROGRAD_TARGET_AVX2 void adam_update_avx2(T* w, const T* dw, T* m, T* v, std::size_t n, const AdamStep<T>& c) {
    adam_kernel(w, dw, m, v, n, c);
}
template <class T> void adam_update_baseline(T* w, const T* dw, T* m, T* v, std::size_t n, const AdamStep<T>& c) {
    adam_kernel(w, dw, m, v, n, c);
}

}  // namespace

void sgd_update(float* w, const float* dw, float* buf, std::size_t n, const SgdStep<float>& step) {
    sgd_kernel(w, dw, buf, n, step);
}
void sgd_update(double* w, const double* dw, double* buf, std::size_t n, const SgdStep<double>& step) {
    sgd_kernel(w, dw, buf, n, step);
}

void adam_update(float* w, const float* dw, float* m, float* v, std::size_t n, const AdamStep<float>& step) {
    avx2_or_baseline(adam_update_avx2<float>, adam_update_baseline<float>, w, dw, m, v, n, step);
}
void adam_update(double* w, const double* dw, double* m, double* v, std::size_t n, const AdamStep<double>& step) {
    avx2_or_baseline(adam_update_avx2<double>, adam_update_baseline<double>, w, dw, m, v, n, step);
}

}  // namespace rg::detail
