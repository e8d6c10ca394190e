#pragma once
// The optimizers' update loops (rg::optim, in retrograd_nn) as kernels of
// the autodiff library, so that they run on the same instruction-set switch
// (retrograd/detail/cpu.hpp) as every other kernel. The optimizer says what
// the step's constants are; these say how the arrays are updated.
#include <cstddef>

namespace rg::detail {

/// The constants of one SGD step, in the parameter's precision.
template <class T> struct SgdStep {
    T lr, weight_decay, momentum, keep;  ///< keep = 1 - dampening
    bool first, nesterov;  ///< first: the momentum buffer is empty (set to d)
};

/// One SGD step over n elements: d = dw + weight_decay * w; with a momentum
/// buffer `buf` (nullptr for none) buf = momentum * buf + keep * d (d on the
/// first step), d = buf or, with Nesterov, d + momentum * buf; w -= lr * d.
/// @param w the parameter, updated in place
/// @param dw its gradient
/// @param buf the momentum buffer, or nullptr
/// @param n the element count of each array
/// @param step the step's constants
void sgd_update(float* w, const float* dw, float* buf, std::size_t n, const SgdStep<float>& step);
/// The float64 version of sgd_update.
void sgd_update(double* w, const double* dw, double* buf, std::size_t n, const SgdStep<double>& step);

/// The constants of one Adam step, in the parameter's precision.
template <class T> struct AdamStep {
    T step_size;  ///< lr / (1 - beta1^t)
    T inverse_root_bc2;  ///< 1 / sqrt(1 - beta2^t)
    T beta1, beta2, eps;
    T l2;  ///< Adam's weight decay, added to the gradient (0 for AdamW)
    T shrink;  ///< AdamW's factor on the weight, 1 - lr * weight_decay (1 for Adam)
};

/// One Adam step over n elements (PyTorch's order of operations): m and v
/// are the first and second moments, updated in place with w.
/// @param w the parameter, updated in place
/// @param dw its gradient
/// @param m the first moment
/// @param v the second moment
/// @param n the element count of each array
/// @param step the step's constants
void adam_update(float* w, const float* dw, float* m, float* v, std::size_t n, const AdamStep<float>& step);
/// The float64 version of adam_update.
void adam_update(double* w, const double* dw, double* m, double* v, std::size_t n, const AdamStep<double>& step);

}  // namespace rg::detail
