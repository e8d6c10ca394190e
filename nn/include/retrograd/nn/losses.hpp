#pragma once
// Losses, as functions and as modules. Each is built from tape ops.
#include <retrograd/tensor.hpp>

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
// Stable form on logits: max(x, 0) - x t + log(1 + e^{-|x|}).
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, LossOptions options = {});

struct CrossEntropyOptions {
    Reduction reduction = Reduction::mean;
    double label_smoothing = 0.0;  // in [0, 1): mixes the target with the uniform distribution
};
// logits (N, C). target: int64 class indices (N,), or float probability rows (N, C) (e.g. one-hot).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, CrossEntropyOptions options = {});
// log_probabilities (N, C) and int64 class indices (N,): -log p[target].
Tensor nll_loss(const Tensor& log_probabilities, const Tensor& target, LossOptions options = {});

// Loss modules: a callable holding the options.
template <Tensor (*F)(const Tensor&, const Tensor&, LossOptions)> struct Loss {
    LossOptions options{};
    Tensor operator()(const Tensor& input, const Tensor& target) const { return F(input, target, options); }
};
using MSELoss = Loss<mse_loss>;
using L1Loss = Loss<l1_loss>;
using BCELoss = Loss<binary_cross_entropy>;
using BCEWithLogitsLoss = Loss<binary_cross_entropy_with_logits>;
using NLLLoss = Loss<nll_loss>;
struct CrossEntropyLoss {
    CrossEntropyOptions options{};
    Tensor operator()(const Tensor& logits, const Tensor& target) const {
        return cross_entropy(logits, target, options);
    }
};

}  // namespace rg::nn
