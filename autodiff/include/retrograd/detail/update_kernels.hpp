#pragma once
// The optimizers' update loops (rg::optim, in retrograd_nn) as kernels of
// the autodiff library, so that they run on the same instruction-set switch
// (retrograd/detail/cpu.hpp) as every other kernel. The optimizer says what
// the step's constants are; these say how the arrays are updated. Each
// update is a template compiled in update.cpp for float and double
// parameters alone; its T is deduced from the arrays that cannot be null,
// so that nullptr can be passed for the others.
#include <concepts>
#include <cstddef>
#include <type_traits>

namespace rg::detail {

/// The parameter element types the updates are compiled for: float and double.
template <class T>
concept UpdateValue = std::same_as<T, float> || std::same_as<T, double>;

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
template <UpdateValue T>
void sgd_update(T* w, const T* dw, std::type_identity_t<T>* buf, std::size_t n, const SgdStep<T>& step);

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
template <UpdateValue T> void adam_update(T* w, const T* dw, T* m, T* v, std::size_t n, const AdamStep<T>& step);

/// The constants of the optimizer steps below, which compute each element in
/// float64 whatever the parameter's precision (as PyTorch's single-tensor
/// paths do on a float64 scalar state): AMSGrad, RMSprop, Adagrad, NAdam,
/// RAdam and Adamax. Each update names the fields it reads.
struct ScalarStep {
    double lr = 0;  ///< the learning rate (RMSprop, RAdam); Adagrad's and Adamax's corrected rate
    double beta1 = 0, beta2 = 0;  ///< moment decays (Adam family); RMSprop's alpha is beta2
    double eps = 0;  ///< added to the denominator
    double weight_decay = 0;  ///< L2 weight decay, added to the gradient
    double momentum = 0;  ///< RMSprop's momentum (its buffer is used when non-null)
    double step_size = 0;  ///< AMSGrad: lr / (1 - beta1^t)
    double shrink = 1;  ///< AMSGrad with AdamW: 1 - lr * weight_decay on the weight (1 for Adam)
    double bias_correction1 = 1, bias_correction2 = 1;  ///< 1 - beta^t; AMSGrad: sqrt(1 - beta2^t) in the second
    double grad_coef = 0, avg_coef = 0;  ///< NAdam's coefficients on d / denom and m / denom
    double rect = 0;  ///< RAdam's rectification term, used when `rectified`
    bool rectified = false;  ///< RAdam: the variance is tractable (rho_t > 5)
};

/// AMSGrad's step (Adam with amsgrad, PyTorch's order): vmax = max(vmax, v)
/// is the second moment in the denominator. Reads step_size, beta1, beta2,
/// eps, weight_decay (0 for AdamW), shrink and bias_correction2 (the square
/// root of 1 - beta2^t).
/// @param w the parameter, updated in place
/// @param dw its gradient
/// @param m the first moment
/// @param v the second moment
/// @param vmax the largest second moment so far
/// @param n the element count of each array
/// @param step the step's constants
template <UpdateValue T>
void amsgrad_update(T* w, const T* dw, T* m, T* v, T* vmax, std::size_t n, const ScalarStep& step);

/// RMSprop's step: sq = alpha sq + (1 - alpha) d^2 (alpha is step.beta2),
/// centred by the mean gradient `avg` when non-null, and through the momentum
/// buffer `buf` when non-null. Reads lr, beta2, eps, weight_decay, momentum.
/// @param w the parameter, updated in place
/// @param dw its gradient
/// @param sq the running mean of squared gradients
/// @param avg the running mean gradient, or nullptr (not centred)
/// @param buf the momentum buffer, or nullptr
/// @param n the element count of each array
/// @param step the step's constants
template <UpdateValue T>
void rmsprop_update(T* w, const T* dw, T* sq, std::type_identity_t<T>* avg, std::type_identity_t<T>* buf, std::size_t n,
                    const ScalarStep& step);

/// Adagrad's step: sum += d^2, w -= lr d / (sqrt(sum) + eps), lr being the
/// decayed rate. Reads lr, eps, weight_decay.
/// @param w the parameter, updated in place
/// @param dw its gradient
/// @param sum the sum of squared gradients
/// @param n the element count of each array
/// @param step the step's constants
template <UpdateValue T> void adagrad_update(T* w, const T* dw, T* sum, std::size_t n, const ScalarStep& step);

/// NAdam's step (PyTorch 1.13): moments as Adam's, then w += grad_coef d /
/// denom + avg_coef m / denom. Reads beta1, beta2, eps, weight_decay,
/// bias_correction2, grad_coef, avg_coef.
/// @param w the parameter, updated in place
/// @param dw its gradient
/// @param m the first moment
/// @param v the second moment
/// @param n the element count of each array
/// @param step the step's constants
template <UpdateValue T> void nadam_update(T* w, const T* dw, T* m, T* v, std::size_t n, const ScalarStep& step);

/// RAdam's step (PyTorch 1.13): the rectified adaptive step where
/// `rectified`, else a plain momentum step. Reads lr, beta1, beta2, eps,
/// weight_decay, bias_correction1, bias_correction2, rect, rectified.
/// @param w the parameter, updated in place
/// @param dw its gradient
/// @param m the first moment
/// @param v the second moment
/// @param n the element count of each array
/// @param step the step's constants
template <UpdateValue T> void radam_update(T* w, const T* dw, T* m, T* v, std::size_t n, const ScalarStep& step);

/// Adamax's step: u = max(beta2 u, |d| + eps), w -= lr m / u, lr being
/// lr / (1 - beta1^t). Reads lr, beta1, beta2, eps, weight_decay.
/// @param w the parameter, updated in place
/// @param dw its gradient
/// @param m the first moment
/// @param u the exponentially weighted infinity norm
/// @param n the element count of each array
/// @param step the step's constants
template <UpdateValue T> void adamax_update(T* w, const T* dw, T* m, T* u, std::size_t n, const ScalarStep& step);

}  // namespace rg::detail
