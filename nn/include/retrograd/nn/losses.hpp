#pragma once
// Losses, as functions and as modules. Each is built from tape ops.
#include <retrograd/tensor.hpp>

#include <cstdint>

namespace rg::nn {

/// How a loss reduces its per-element values, as PyTorch's reduction.
enum class Reduction {
    mean,  ///< the mean over the elements (over the targets' weights for class-index losses)
    sum,  ///< the sum
    none  ///< no reduction: one loss per element
};

/// The options of the elementwise losses (mse_loss, l1_loss, binary_cross_entropy).
struct LossOptions {
    /// How the per-element losses are reduced.
    Reduction reduction = Reduction::mean;
    /// Multiplies the result: {.reduction = sum, .scale = 0.5} is the course's ½Σ. Not in LibTorch.
    double scale = 1.0;  // multiplies the result: {.reduction = sum, .scale = 0.5} is the course's ½Σ
};

// (input - target)², reduced. Shapes must match exactly (no silent broadcasting).
/// (input - target)², reduced (torch::nn::functional::mse_loss).
/// Unlike PyTorch, the shapes must match exactly (no silent broadcasting).
/// @param input the prediction, a float tensor
/// @param target of input's shape and dtype
/// @param options reduction (mean by default) and scale
/// @throws rg::Error when the shapes or dtypes differ
Tensor mse_loss(const Tensor& input, const Tensor& target, LossOptions options = {});
// The course's E = ½ Σ (y - t)².
/// The course's E = ½ Σ (y - t)²: mse_loss with {.reduction = sum, .scale = 0.5}.
/// @param input the prediction y
/// @param target t, of input's shape and dtype
/// @throws rg::Error when the shapes or dtypes differ
Tensor half_sse(const Tensor& input, const Tensor& target);
/// |input - target|, reduced (torch::nn::functional::l1_loss); shapes must match exactly.
/// @param input the prediction, a float tensor
/// @param target of input's shape and dtype
/// @param options reduction (mean by default) and scale
/// @throws rg::Error when the shapes or dtypes differ
Tensor l1_loss(const Tensor& input, const Tensor& target, LossOptions options = {});
// Probabilities in [0, 1] against targets in [0, 1]; logs are clamped at -100 as PyTorch.
/// -(t log p + (1 - t) log(1 - p)), reduced, the logs clamped at -100 as
/// PyTorch (torch::nn::functional::binary_cross_entropy; no per-element weight).
/// @param probabilities p, in [0, 1]
/// @param target t, in [0, 1], of p's shape and dtype
/// @param options reduction (mean by default) and scale
/// @throws rg::Error when the shapes or dtypes differ, or a value is outside [0, 1]
Tensor binary_cross_entropy(const Tensor& probabilities, const Tensor& target, LossOptions options = {});
/// The options of binary_cross_entropy_with_logits.
struct BCEWithLogitsOptions {
    /// How the per-element losses are reduced.
    Reduction reduction = Reduction::mean;
    /// Multiplies each element's loss; broadcast to the logits' shape; a constant (no gradient).
    Tensor weight;  // multiplies each element's loss; broadcast to the logits' shape
    /// Multiplies the positive term: one weight per class, broadcast over the last axis; a constant.
    Tensor pos_weight;  // multiplies the positive term: one weight per class, broadcast over the last axis
};
// Stable form on logits: (1 - t) x + (1 + (p - 1) t) (log(1 + e^{-|x|}) + max(-x, 0)), p the pos_weight, as
// PyTorch. weight and pos_weight are constants (no gradient flows into them).
/// Binary cross-entropy on logits, in the stable form PyTorch uses:
/// (1 - t) x + (1 + (p - 1) t) (log(1 + e^{-|x|}) + max(-x, 0)), p the pos_weight.
/// @param logits x, a float tensor
/// @param target t, in [0, 1], of x's shape and dtype (PyTorch does not check the range)
/// @param options reduction, weight, pos_weight
/// @throws rg::Error when the shapes or dtypes differ, a target is outside [0, 1],
/// or weight or pos_weight has another dtype or does not broadcast to x
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        const BCEWithLogitsOptions& options = {});

// Class-index losses take scores (N, C), (N, C, d1, d2, ...) or unbatched (C,),
// and int64 targets (N,), (N, d1, d2, ...) or (), as PyTorch.
/// The options of nll_loss.
struct NLLLossOptions {
    /// How the per-element losses are reduced.
    Reduction reduction = Reduction::mean;
    /// (C,) per-class weights, a constant; undefined: all 1.
    Tensor weight;  // (C,) per-class weights, a constant; undefined: all 1
    /// Targets equal to it count neither in the sum nor in the mean's divisor.
    std::int64_t ignore_index = -100;  // targets equal to it count neither in the sum nor in the mean's divisor
};
// -weight[t] log p[t] per element; the mean divides by the sum of weight[t] over the targets not ignored.
/// The negative log-likelihood -weight[t] log p[t] per element (torch::nn::functional::nll_loss);
/// the mean divides by the sum of weight[t] over the targets not ignored.
/// @param log_probabilities scores (N, C), (N, C, d1, ...) or unbatched (C,)
/// @param target int64 class indices (N,), (N, d1, ...) or ()
/// @param options reduction, weight, ignore_index
/// @throws rg::Error when the target is not int64 or its shape does not match,
/// a class index is out of range (and not ignore_index), or weight is not (C,) of the scores' dtype
Tensor nll_loss(const Tensor& log_probabilities, const Tensor& target, const NLLLossOptions& options = {});

/// The options of cross_entropy.
struct CrossEntropyOptions {
    /// How the per-element losses are reduced.
    Reduction reduction = Reduction::mean;
    /// In [0, 1): mixes the target with the uniform distribution.
    double label_smoothing = 0.0;  // in [0, 1): mixes the target with the uniform distribution
    /// (C,) per-class weights, a constant; undefined: all 1.
    Tensor weight;  // (C,) per-class weights, a constant; undefined: all 1
    /// A class-index target equal to it is left out (class-index targets only).
    std::int64_t ignore_index = -100;  // class-index targets only
};
// nll_loss(log_softmax(logits, 1), target) for int64 class indices; for float
// class probabilities of the logits' shape (e.g. one-hot), -Σ_c weight[c] t_c log p_c.
// Label smoothing with weights follows PyTorch 1.13: (1 - ε) nll + ε / C · Σ_c -weight[c] log p_c, the
// second term reduced as the first (divided by the same sum of target weights).
/// Cross-entropy of logits (torch::nn::functional::cross_entropy):
/// nll_loss(log_softmax(logits, 1), target) for int64 class indices; for float
/// class probabilities of the logits' shape (e.g. one-hot), -Σ_c weight[c] t_c log p_c.
/// Label smoothing with weights follows PyTorch 1.13: (1 - ε) nll + ε / C · Σ_c -weight[c] log p_c,
/// the second term reduced as the first. Its gradient is softmax(Z) - Y (over n for the mean).
/// @param logits (N, C), (N, C, d1, ...) or unbatched (C,)
/// @param target int64 class indices, or float probabilities of the logits' shape
/// @param options reduction, label_smoothing, weight, ignore_index
/// @throws rg::Error when label_smoothing is outside [0, 1), logits are 0-D, float
/// targets have the shape of class indices (the message says to convert them), or as nll_loss
Tensor cross_entropy(const Tensor& logits, const Tensor& target, CrossEntropyOptions options = {});

/// The options of smooth_l1_loss (torch::nn::SmoothL1LossOptions).
struct SmoothL1Options {
    /// How the per-element losses are reduced.
    Reduction reduction = Reduction::mean;
    /// Where the loss turns from quadratic to linear, at least 0; 0 is l1_loss.
    double beta = 1.0;
};
/// The smooth L1 loss (torch::nn::functional::smooth_l1_loss, PyTorch 1.13), with d = input - target:
/// 0.5 d² / beta where |d| < beta, else |d| - 0.5 beta, reduced. beta = 0 is l1_loss, as PyTorch's
/// special case. Unlike PyTorch, the shapes must match exactly (no broadcasting with a warning).
/// @param input the prediction, a float tensor
/// @param target of input's shape and dtype
/// @param options reduction (mean by default) and beta
/// @throws rg::Error when beta is negative or NaN, or the shapes or dtypes differ
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, SmoothL1Options options = {});

/// The options of huber_loss (torch::nn::HuberLossOptions).
struct HuberLossOptions {
    /// How the per-element losses are reduced.
    Reduction reduction = Reduction::mean;
    /// Where the loss turns from quadratic to linear; positive.
    double delta = 1.0;
};
/// The Huber loss (torch::nn::functional::huber_loss, PyTorch 1.13), with d = input - target:
/// 0.5 d² where |d| <= delta, else delta (|d| - 0.5 delta), reduced: smooth_l1_loss times delta, with
/// beta = delta. Unlike PyTorch, the shapes must match exactly (no broadcasting with a warning).
/// @param input the prediction, a float tensor
/// @param target of input's shape and dtype
/// @param options reduction (mean by default) and delta
/// @throws rg::Error when delta is not positive, or the shapes or dtypes differ
Tensor huber_loss(const Tensor& input, const Tensor& target, HuberLossOptions options = {});

/// How kl_div reduces its per-element values: Reduction's three and batchmean.
enum class KLDivReduction {
    mean,  ///< the mean over every element (PyTorch warns that batchmean is the divergence; we only document it)
    batchmean,  ///< the sum divided by the batch size input.size(0) (the sum for a 0-D input): the KL divergence
    sum,  ///< the sum
    none  ///< no reduction: one value per element
};
/// The options of kl_div (torch::nn::KLDivLossOptions).
struct KLDivOptions {
    /// How the per-element values are reduced; batchmean gives the KL divergence per sample.
    KLDivReduction reduction = KLDivReduction::mean;
    /// The target holds log-probabilities too.
    bool log_target = false;
};
/// The Kullback-Leibler divergence of the target from the input (torch::nn::functional::kl_div,
/// PyTorch 1.13), input holding log-probabilities: per element target (log target - input), where
/// target log target is taken as 0 at target = 0 (xlogy: no NaN in the value nor the gradient), or
/// exp(target) (target - input) with log_target. Unlike PyTorch, the shapes must match exactly.
/// @param input log-probabilities, a float tensor
/// @param target probabilities (log-probabilities with log_target), of input's shape and dtype
/// @param options reduction (mean by default: use batchmean for the divergence) and log_target
/// @throws rg::Error when the shapes or dtypes differ
Tensor kl_div(const Tensor& input, const Tensor& target, KLDivOptions options = {});

// Loss modules: a callable holding the options.
/// A loss module: a callable holding the options, as torch::nn::MSELoss...
/// (not a Module: it has no parameters).
template <Tensor (*F)(const Tensor&, const Tensor&, LossOptions)> struct Loss {
    /// The options passed at each call.
    LossOptions options{};
    /// The loss of input against target.
    /// @param input the prediction
    /// @param target the target
    /// @throws rg::Error as the loss function
    Tensor operator()(const Tensor& input, const Tensor& target) const { return F(input, target, options); }
};
/// mse_loss as a callable (torch::nn::MSELoss).
using MSELoss = Loss<mse_loss>;
/// l1_loss as a callable (torch::nn::L1Loss).
using L1Loss = Loss<l1_loss>;
/// binary_cross_entropy as a callable (torch::nn::BCELoss).
using BCELoss = Loss<binary_cross_entropy>;
/// binary_cross_entropy_with_logits as a callable (torch::nn::BCEWithLogitsLoss).
struct BCEWithLogitsLoss {
    /// The options passed at each call.
    BCEWithLogitsOptions options{};
    /// The loss of the logits against target.
    /// @param logits x
    /// @param target t in [0, 1]
    /// @throws rg::Error as binary_cross_entropy_with_logits
    Tensor operator()(const Tensor& logits, const Tensor& target) const {
        return binary_cross_entropy_with_logits(logits, target, options);
    }
};
/// nll_loss as a callable (torch::nn::NLLLoss).
struct NLLLoss {
    /// The options passed at each call.
    NLLLossOptions options{};
    /// The loss of the log-probabilities against class indices.
    /// @param log_probabilities (N, C, ...)
    /// @param target int64 class indices
    /// @throws rg::Error as nll_loss
    Tensor operator()(const Tensor& log_probabilities, const Tensor& target) const {
        return nll_loss(log_probabilities, target, options);
    }
};
/// cross_entropy as a callable (torch::nn::CrossEntropyLoss).
struct CrossEntropyLoss {
    /// The options passed at each call.
    CrossEntropyOptions options{};
    /// The loss of the logits against class indices or probabilities.
    /// @param logits (N, C, ...)
    /// @param target int64 class indices or float probabilities
    /// @throws rg::Error as cross_entropy
    Tensor operator()(const Tensor& logits, const Tensor& target) const {
        return cross_entropy(logits, target, options);
    }
};

/// A loss module over options of its own type: a callable holding them, as
/// torch::nn::SmoothL1Loss... (not a Module: it has no parameters).
template <class Options, Tensor (*F)(const Tensor&, const Tensor&, Options)> struct LossWith {
    /// The options passed at each call.
    Options options{};
    /// The loss of input against target.
    /// @param input the prediction
    /// @param target the target
    /// @throws rg::Error as the loss function
    Tensor operator()(const Tensor& input, const Tensor& target) const { return F(input, target, options); }
};
/// smooth_l1_loss as a callable (torch::nn::SmoothL1Loss).
using SmoothL1Loss = LossWith<SmoothL1Options, smooth_l1_loss>;
/// huber_loss as a callable (torch::nn::HuberLoss).
using HuberLoss = LossWith<HuberLossOptions, huber_loss>;
/// kl_div as a callable (torch::nn::KLDivLoss).
using KLDivLoss = LossWith<KLDivOptions, kl_div>;

}  // namespace rg::nn
