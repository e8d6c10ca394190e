// Smooth L1, Huber and Kullback-Leibler losses, as PyTorch 1.13 computes them, from tape ops.
#include "loss_helpers.hpp"

#include <retrograd/nn/losses.hpp>
#include <retrograd/ops.hpp>

namespace rg::nn {

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, SmoothL1Options options) {
    if (!(options.beta >= 0.0))
        fail("smooth_l1_loss: beta must be at least 0, got {}; beta = 0 gives l1_loss", options.beta);
    detail::same_shape(input, target, "smooth_l1_loss");
    Tensor d = input - target;
    Tensor size = abs(d);
    // PyTorch's special case: the quadratic piece would divide by 0.
    if (options.beta == 0.0) return detail::reduce(size, options.reduction);
    Tensor loss = where(lt(size, options.beta), d * d * (0.5 / options.beta), size - 0.5 * options.beta);
    return detail::reduce(loss, options.reduction);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, HuberLossOptions options) {
    if (!(options.delta > 0.0)) fail("huber_loss: delta must be positive, got {}", options.delta);
    detail::same_shape(input, target, "huber_loss");
    Tensor d = input - target;
    Tensor size = abs(d);
    Tensor loss = where(le(size, options.delta), d * d * 0.5, (size - 0.5 * options.delta) * options.delta);
    return detail::reduce(loss, options.reduction);
}

namespace {

// xlogy(t, t) = t log t, 0 where t = 0: the masked log reads log(1), so neither
// the value nor the gradient meets 0 · (-inf). A negative t gives NaN, as PyTorch.
Tensor t_log_t(const Tensor& t) {
    Tensor zero = eq(t, 0.0);
    return where(zero, 0.0, t * log(where(zero, 1.0, t)));
}

}  // namespace

Tensor kl_div(const Tensor& input, const Tensor& target, KLDivOptions options) {
    detail::same_shape(input, target, "kl_div");
    Tensor loss = options.log_target ? exp(target) * (target - input) : t_log_t(target) - target * input;
    switch (options.reduction) {
        case KLDivReduction::mean: return detail::reduce(loss, Reduction::mean);
        case KLDivReduction::sum: return detail::reduce(loss, Reduction::sum);
        case KLDivReduction::none: break;
        case KLDivReduction::batchmean:
            // PyTorch divides by input.size(0) only when the input has a batch axis.
            return input.dim() == 0 ? sum(loss) : sum(loss) / static_cast<double>(input.shape()[0]);
    }
    return loss;
}

}  // namespace rg::nn
