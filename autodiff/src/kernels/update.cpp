// The optimizers' update loops (retrograd/detail/update_kernels.hpp).
#include <retrograd/detail/cpu.hpp>
#include <retrograd/detail/update_kernels.hpp>

#include "threads.hpp"

#include <algorithm>
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
// The update is bound by division, square root and memory: AVX2 halves the
// first two where the CPU has it, and AVX-512 gains again
// (docs/performance.md, "Where the time goes"; retrograd/detail/cpu.hpp
// picks the build).
struct AdamKernel {
    template <class T>
    [[gnu::always_inline]] void operator()(T* __restrict w, const T* __restrict dw, T* __restrict m, T* __restrict v,
                                           std::size_t n, const AdamStep<T>& step) const {
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
};

// The optimizers that compute each element in float64 (ScalarStep): each
// expression in PyTorch's order, rounded to T where it is stored.
template <class T> void amsgrad_kernel(T* w, const T* dw, T* m, T* v, T* vmax, std::size_t n, const ScalarStep& c) {
    for (std::size_t k = 0; k < n; ++k) {
        const double d = dw[k] + c.weight_decay * w[k];
        m[k] = static_cast<T>(m[k] * c.beta1 + (1 - c.beta1) * d);
        v[k] = static_cast<T>(v[k] * c.beta2 + (1 - c.beta2) * d * d);
        vmax[k] = std::max(vmax[k], v[k]);
        const double denom = std::sqrt(static_cast<double>(vmax[k])) / c.bias_correction2 + c.eps;
        w[k] = static_cast<T>(w[k] * c.shrink - c.step_size * (m[k] / denom));
    }
}

template <class T> void rmsprop_kernel(T* w, const T* dw, T* sq, T* avg, T* buf, std::size_t n, const ScalarStep& c) {
    const double alpha = c.beta2;
    for (std::size_t k = 0; k < n; ++k) {
        const double d = dw[k] + c.weight_decay * w[k];
        sq[k] = static_cast<T>(alpha * sq[k] + (1 - alpha) * d * d);
        double variance = sq[k];
        if (avg) {
            avg[k] = static_cast<T>(alpha * avg[k] + (1 - alpha) * d);
            variance -= static_cast<double>(avg[k]) * avg[k];
        }
        const double denom = std::sqrt(variance) + c.eps;
        if (buf) {
            buf[k] = static_cast<T>(c.momentum * buf[k] + d / denom);
            w[k] = static_cast<T>(w[k] - c.lr * buf[k]);
        } else {
            w[k] = static_cast<T>(w[k] - c.lr * d / denom);
        }
    }
}

template <class T> void adagrad_kernel(T* w, const T* dw, T* sum, std::size_t n, const ScalarStep& c) {
    for (std::size_t k = 0; k < n; ++k) {
        const double d = dw[k] + c.weight_decay * w[k];
        sum[k] = static_cast<T>(sum[k] + d * d);
        w[k] = static_cast<T>(w[k] - c.lr * d / (std::sqrt(static_cast<double>(sum[k])) + c.eps));
    }
}

template <class T> void nadam_kernel(T* w, const T* dw, T* m, T* v, std::size_t n, const ScalarStep& c) {
    for (std::size_t k = 0; k < n; ++k) {
        const double d = dw[k] + c.weight_decay * w[k];
        m[k] = static_cast<T>(m[k] * c.beta1 + (1 - c.beta1) * d);
        v[k] = static_cast<T>(v[k] * c.beta2 + (1 - c.beta2) * d * d);
        const double denom = std::sqrt(v[k] / c.bias_correction2) + c.eps;
        const double after_grad = w[k] + c.grad_coef * (d / denom);
        w[k] = static_cast<T>(after_grad + c.avg_coef * (m[k] / denom));
    }
}

template <class T> void radam_kernel(T* w, const T* dw, T* m, T* v, std::size_t n, const ScalarStep& c) {
    for (std::size_t k = 0; k < n; ++k) {
        const double d = dw[k] + c.weight_decay * w[k];
        m[k] = static_cast<T>(m[k] * c.beta1 + (1 - c.beta1) * d);
        v[k] = static_cast<T>(v[k] * c.beta2 + (1 - c.beta2) * d * d);
        const double corrected = m[k] / c.bias_correction1;
        if (c.rectified) {
            const double adaptive_lr = std::sqrt(c.bias_correction2) / (std::sqrt(static_cast<double>(v[k])) + c.eps);
            w[k] = static_cast<T>(w[k] - corrected * c.lr * adaptive_lr * c.rect);
        } else {
            w[k] = static_cast<T>(w[k] - corrected * c.lr);
        }
    }
}

template <class T> void adamax_kernel(T* w, const T* dw, T* m, T* u, std::size_t n, const ScalarStep& c) {
    for (std::size_t k = 0; k < n; ++k) {
        const double d = dw[k] + c.weight_decay * w[k];
        m[k] = static_cast<T>(m[k] * c.beta1 + (1 - c.beta1) * d);
        // The exponentially weighted infinity norm; eps keeps it from zero.
        u[k] = static_cast<T>(std::max(u[k] * c.beta2, std::abs(d) + c.eps));
        w[k] = static_cast<T>(w[k] - c.lr * (m[k] / u[k]));
    }
}

// Calls run(begin, count) over [0, n) in pieces, on several threads for a
// large parameter: every element's update reads that element alone, so the
// split cannot change a value.
template <class F> void split_update(std::size_t n, F run) {
    if (n < parallel_threshold) {
        run(std::size_t{0}, n);
        return;
    }
    parallel_for(n, [&](std::size_t begin, std::size_t end) { run(begin, end - begin); });
}

}  // namespace

template <UpdateValue T>
void sgd_update(T* w, const T* dw, std::type_identity_t<T>* buf, std::size_t n, const SgdStep<T>& step) {
    split_update(n, [&](std::size_t b, std::size_t count) {
        sgd_kernel(w + b, dw + b, buf ? buf + b : nullptr, count, step);
    });
}
template <UpdateValue T> void adam_update(T* w, const T* dw, T* m, T* v, std::size_t n, const AdamStep<T>& step) {
    split_update(n, [&](std::size_t b, std::size_t count) {
        widest_build<AdamKernel>(w + b, dw + b, m + b, v + b, count, step);
    });
}
template <UpdateValue T>
void amsgrad_update(T* w, const T* dw, T* m, T* v, T* vmax, std::size_t n, const ScalarStep& step) {
    split_update(n, [&](std::size_t b, std::size_t count) {
        amsgrad_kernel(w + b, dw + b, m + b, v + b, vmax + b, count, step);
    });
}
template <UpdateValue T>
void rmsprop_update(T* w, const T* dw, T* sq, std::type_identity_t<T>* avg, std::type_identity_t<T>* buf, std::size_t n,
                    const ScalarStep& step) {
    split_update(n, [&](std::size_t b, std::size_t count) {
        rmsprop_kernel(w + b, dw + b, sq + b, avg ? avg + b : nullptr, buf ? buf + b : nullptr, count, step);
    });
}
template <UpdateValue T> void adagrad_update(T* w, const T* dw, T* sum, std::size_t n, const ScalarStep& step) {
    split_update(n, [&](std::size_t b, std::size_t count) { adagrad_kernel(w + b, dw + b, sum + b, count, step); });
}
template <UpdateValue T> void nadam_update(T* w, const T* dw, T* m, T* v, std::size_t n, const ScalarStep& step) {
    split_update(n, [&](std::size_t b, std::size_t count) { nadam_kernel(w + b, dw + b, m + b, v + b, count, step); });
}
template <UpdateValue T> void radam_update(T* w, const T* dw, T* m, T* v, std::size_t n, const ScalarStep& step) {
    split_update(n, [&](std::size_t b, std::size_t count) { radam_kernel(w + b, dw + b, m + b, v + b, count, step); });
}
template <UpdateValue T> void adamax_update(T* w, const T* dw, T* m, T* u, std::size_t n, const ScalarStep& step) {
    split_update(n, [&](std::size_t b, std::size_t count) { adamax_kernel(w + b, dw + b, m + b, u + b, count, step); });
}

// Compiled for the header's two UpdateValue types.
template void sgd_update<float>(float*, const float*, float*, std::size_t, const SgdStep<float>&);
template void adam_update<float>(float*, const float*, float*, float*, std::size_t, const AdamStep<float>&);
template void amsgrad_update<float>(float*, const float*, float*, float*, float*, std::size_t, const ScalarStep&);
template void rmsprop_update<float>(float*, const float*, float*, float*, float*, std::size_t, const ScalarStep&);
template void adagrad_update<float>(float*, const float*, float*, std::size_t, const ScalarStep&);
template void nadam_update<float>(float*, const float*, float*, float*, std::size_t, const ScalarStep&);
template void radam_update<float>(float*, const float*, float*, float*, std::size_t, const ScalarStep&);
template void adamax_update<float>(float*, const float*, float*, float*, std::size_t, const ScalarStep&);
template void sgd_update<double>(double*, const double*, double*, std::size_t, const SgdStep<double>&);
template void adam_update<double>(double*, const double*, double*, double*, std::size_t, const AdamStep<double>&);
template void amsgrad_update<double>(double*, const double*, double*, double*, double*, std::size_t, const ScalarStep&);
template void rmsprop_update<double>(double*, const double*, double*, double*, double*, std::size_t, const ScalarStep&);
template void adagrad_update<double>(double*, const double*, double*, std::size_t, const ScalarStep&);
template void nadam_update<double>(double*, const double*, double*, double*, std::size_t, const ScalarStep&);
template void radam_update<double>(double*, const double*, double*, double*, std::size_t, const ScalarStep&);
template void adamax_update<double>(double*, const double*, double*, double*, std::size_t, const ScalarStep&);

}  // namespace rg::detail
