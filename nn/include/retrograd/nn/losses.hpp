#pragma once
// Losses, as functions and as modules. Each is built from tape ops.
#include <retrograd/tensor.hpp>

#include <cstdint>

namespace rg::nn {

enum class Reduction { mean, sum, none };

struct LossOptions {
    Reduction reduction = Reduction::mean;
    double scale = 1.0;  // multiplies the result: {.reduction = sum, .scale = 0.5} is the course's ½Σ
};

// (input - target)², reduced. Shapes must match exactly (no silent broadcasting).
Tensor mse_loss(const Tensor& input, const Tensor& target, LossOptions options = {});
// The course's E = ½ Σ (y - t)².
Tensor half_sse(const Tensor& input, const Tensor& target);
Tensor l1_loss(const Tensor& input, const Tensor& target, LossOptions options = {});
// Probabilities in [0, 1] against targets in [0, 1]; logs are clamped at -100 as PyTorch.
Tensor binary_cross_entropy(const Tensor& probabilities, const Tensor& target, LossOptions options = {});
struct BCEWithLogitsOptions {
    Reduction reduction = Reduction::mean;
    Tensor weight;  // multiplies each element's loss; broadcast to the logits' shape
    Tensor pos_weight;  // multiplies the positive term: one weight per class, broadcast over the last axis
};
// Stable form on logits: (1 - t) x + (1 + (p - 1) t) (log(1 + e^{-|x|}) + max(-x, 0)), p the pos_weight, as
// PyTorch. weight and pos_weight are constants (no gradient flows into them).
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        const BCEWithLogitsOptions& options = {});

// Class-index losses take scores (N, C), (N, C, d1, d2, ...) or unbatched (C,),
// and int64 targets (N,), (N, d1, d2, ...) or (), as PyTorch.
struct NLLLossOptions {
    Reduction reduction = Reduction::mean;
    Tensor weight;  // (C,) per-class weights, a constant; undefined: all 1
    std::int64_t ignore_index = -100;  // targets equal to it count neither in the sum nor in the mean's divisor
};
// -weight[t] log p[t] per element; the mean divides by the sum of weight[t] over the targets not ignored.
Tensor nll_loss(const Tensor& log_probabilities, const Tensor& target, const NLLLossOptions& options = {});

struct CrossEntropyOptions {
    Reduction reduction = Reduction::mean;
    double label_smoothing = 0.0;  // in [0, 1): mixes the target with the uniform distribution
    Tensor weight;  // (C,) per-class weights, a constant; undefined: all 1
    std::int64_t ignore_index = -100;  // class-index targets only
};
// nll_loss(log_softmax(logits, 1), target) for int64 class indices; for float
// class probabilities of the logits' shape (e.g. one-hot), -Σ_c weight[c] t_c log p_c.
// Label smoothing with weights follows PyTorch 1.13: (1 - ε) nll + ε / C · Σ_c -weight[c] log p_c, the
// second term reduced as the first (divided by the same sum of target weights).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, CrossEntropyOptions options = {});

// Loss modules: a callable holding the options.
template <Tensor (*F)(const Tensor&, const Tensor&, LossOptions)> struct Loss {
    LossOptions options{};
    Tensor operator()(const Tensor& input, const Tensor& target) const { return F(input, target, options); }
};
using MSELoss = Loss<mse_loss>;
using L1Loss = Loss<l1_loss>;
using BCELoss = Loss<binary_cross_entropy>;
struct BCEWithLogitsLoss {
    BCEWithLogitsOptions options{};
    Tensor operator()(const Tensor& logits, const Tensor& target) const {
        return binary_cross_entropy_with_logits(logits, target, options);
    }
};
struct NLLLoss {
    NLLLossOptions options{};
    Tensor operator()(const Tensor& log_probabilities, const Tensor& target) const {
        return nll_loss(log_probabilities, target, options);
    }
};
struct CrossEntropyLoss {
    CrossEntropyOptions options{};
    Tensor operator()(const Tensor& logits, const Tensor& target) const {
        return cross_entropy(logits, target, options);
    }
};

}  // namespace rg::nn
