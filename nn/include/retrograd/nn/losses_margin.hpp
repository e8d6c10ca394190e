#pragma once
/// @file
/// The margin, embedding and likelihood losses of torch.nn (PyTorch 1.13): margin_ranking_loss,
/// hinge_embedding_loss, soft_margin_loss, cosine_embedding_loss, triplet_margin_loss,
/// multi_margin_loss, multilabel_soft_margin_loss, multilabel_margin_loss, poisson_nll_loss and
/// gaussian_nll_loss, as functions and as modules. Each is built from tape ops.
#include <retrograd/nn/losses.hpp>

namespace rg::nn {

/// The options of margin_ranking_loss (torch::nn::MarginRankingLossOptions).
struct MarginRankingLossOptions {
    /// How the per-element losses are reduced.
    Reduction reduction = Reduction::mean;
    /// How far x1 must rank above x2 (y = 1), or below it (y = -1), to cost nothing.
    double margin = 0.0;
};
/// The margin ranking loss (torch::nn::functional::margin_ranking_loss, PyTorch 1.13):
/// max(0, -y (x1 - x2) + margin) per element, reduced. y is 1 where x1 should rank higher and -1
/// where x2 should; as PyTorch, other values of y are used as they are. Unlike PyTorch, the three
/// shapes must match exactly (no broadcasting).
/// @param x1 the first scores, a float tensor
/// @param x2 the second scores, of x1's shape and dtype
/// @param y the labels, ±1, of x1's shape and dtype
/// @param options reduction (mean by default) and margin
/// @throws rg::Error when a tensor is undefined or not float32/float64, or the shapes or dtypes differ
Tensor margin_ranking_loss(const Tensor& x1, const Tensor& x2, const Tensor& y, MarginRankingLossOptions options = {});

/// The options of hinge_embedding_loss (torch::nn::HingeEmbeddingLossOptions).
struct HingeEmbeddingLossOptions {
    /// How the per-element losses are reduced.
    Reduction reduction = Reduction::mean;
    /// Below it a dissimilar pair (y = -1) costs margin - x.
    double margin = 1.0;
};
/// The hinge embedding loss (torch::nn::functional::hinge_embedding_loss, PyTorch 1.13), x usually a
/// distance: x where y = 1, max(0, margin - x) where y = -1, reduced. As PyTorch, a label that is
/// neither 1 nor -1 gets both terms. Unlike PyTorch, the shapes must match exactly.
/// @param x the inputs, a float tensor
/// @param y the labels, ±1, of x's shape and dtype
/// @param options reduction (mean by default) and margin
/// @throws rg::Error when a tensor is undefined or not float32/float64, or the shapes or dtypes differ
Tensor hinge_embedding_loss(const Tensor& x, const Tensor& y, HingeEmbeddingLossOptions options = {});

/// The soft margin loss (torch::nn::functional::soft_margin_loss, PyTorch 1.13): log(1 + e^{-y x})
/// per element, reduced; computed as softplus(-y x), finite where PyTorch's log1p(exp(-y x)) overflows.
/// Unlike PyTorch, the shapes must match exactly.
/// @param x the scores, a float tensor
/// @param y the labels, ±1, of x's shape and dtype
/// @param options reduction (mean by default) and scale
/// @throws rg::Error when a tensor is undefined or not float32/float64, or the shapes or dtypes differ
Tensor soft_margin_loss(const Tensor& x, const Tensor& y, LossOptions options = {});

/// The options of cosine_embedding_loss (torch::nn::CosineEmbeddingLossOptions).
struct CosineEmbeddingLossOptions {
    /// How the per-pair losses are reduced.
    Reduction reduction = Reduction::mean;
    /// Dissimilar pairs (y = -1) cost cos - margin above it; in [-1, 1], 0 to 0.5 suggested.
    double margin = 0.0;
};
/// The cosine embedding loss (torch::nn::functional::cosine_embedding_loss, PyTorch 1.13): per pair,
/// 1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1, and 0 for any other
/// label, as PyTorch. The cosine is PyTorch's: x1·x2 / sqrt((‖x1‖² + 1e-12)(‖x2‖² + 1e-12)), so
/// that a zero vector gives cos 0 and a finite gradient.
/// @param x1 (N, D) rows, or one unbatched vector (D,), float
/// @param x2 of x1's shape and dtype
/// @param y the labels, ±1: (N,) for rows, () for one vector; of x1's dtype
/// @param options reduction (mean by default) and margin
/// @throws rg::Error when a tensor is undefined or not float32/float64, x1 is not 1-D or 2-D,
/// the shapes or dtypes differ, or y's shape is not (N,) (or () for 1-D vectors)
Tensor cosine_embedding_loss(const Tensor& x1, const Tensor& x2, const Tensor& y,
                             CosineEmbeddingLossOptions options = {});

/// The options of triplet_margin_loss (torch::nn::TripletMarginLossOptions).
struct TripletMarginLossOptions {
    /// How the per-triplet losses are reduced.
    Reduction reduction = Reduction::mean;
    /// How much nearer the positive must be than the negative to cost nothing.
    double margin = 1.0;
    /// The norm's degree, as pairwise_distance takes it.
    double p = 2.0;
    /// Added to each difference by pairwise_distance.
    double eps = 1e-6;
    /// Use the smaller of d(anchor, negative) and d(positive, negative) as the negative distance.
    bool swap = false;
};
/// The triplet margin loss (torch::nn::functional::triplet_margin_loss, PyTorch 1.13), d being
/// pairwise_distance(·, ·, p, eps) over the last axis: max(0, margin + d(a, p) - d(a, n)) per
/// triplet, with d(a, n) replaced by min(d(a, n), d(p, n)) under swap, reduced. Unlike PyTorch
/// (which asks only for equal ranks and broadcasts), the three shapes must match exactly.
/// @param anchor (N, D) or (D,), float
/// @param positive of anchor's shape and dtype
/// @param negative of anchor's shape and dtype
/// @param options reduction (mean by default), margin, p, eps, swap
/// @throws rg::Error when a tensor is undefined or not float32/float64, the shapes or dtypes
/// differ, or pairwise_distance refuses p (the message is pairwise_distance's, after this loss's name)
Tensor triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                           TripletMarginLossOptions options = {});

/// The options of multi_margin_loss (torch::nn::MultiMarginLossOptions).
struct MultiMarginLossOptions {
    /// How the per-sample losses are reduced (the mean is over the samples).
    Reduction reduction = Reduction::mean;
    /// The hinge's power: 1 or 2.
    int p = 1;
    /// How far the target's score must exceed every other to cost nothing.
    double margin = 1.0;
    /// (C,) per-class weights, a constant (no gradient); each sample's terms are multiplied by its
    /// target's weight. Undefined: all 1.
    Tensor weight;
};
/// The multi-class hinge loss (torch::nn::functional::multi_margin_loss, PyTorch 1.13): per sample
/// with target y, Σ_{j ≠ y} weight[y] max(0, margin - x[y] + x[j])^p / C, reduced over the samples.
/// @param x scores (N, C) or one unbatched (C,), float, C at least 1
/// @param target int64 class indices in [0, C): (N,) (or () when N is 1), () or (1,) for (C,) scores;
/// reduction none gives (N,) for a 1-D target and () for a 0-D one, as PyTorch
/// @param options reduction (mean by default), p, margin, weight
/// @throws rg::Error when p is not 1 or 2, x is undefined, not float or not 1-D or 2-D with C
/// positive, the target is not int64, has the wrong shape or a class index out of range, or
/// weight is not (C,) of x's dtype
Tensor multi_margin_loss(const Tensor& x, const Tensor& target, const MultiMarginLossOptions& options = {});

/// The options of multilabel_soft_margin_loss (torch::nn::MultiLabelSoftMarginLossOptions).
struct MultiLabelSoftMarginLossOptions {
    /// How the per-sample losses are reduced (the mean is over the samples).
    Reduction reduction = Reduction::mean;
    /// Per-class weights, (C,) or anything broadcasting to x's shape without growing it; a constant
    /// (no gradient). Undefined: all 1.
    Tensor weight;
};
/// The multi-label one-versus-all loss (torch::nn::functional::multilabel_soft_margin_loss, PyTorch
/// 1.13): per sample, -Σ_c weight[c] (y_c log σ(x_c) + (1 - y_c) log σ(-x_c)) / C over the last axis
/// (C), reduced over the other axes. Unlike PyTorch, the shapes must match exactly.
/// @param x scores (..., C), float, at least 1-D
/// @param y targets in [0, 1] (usually 0 or 1), of x's shape and dtype (PyTorch does not check the
/// range, nor do we)
/// @param options reduction (mean by default) and weight
/// @throws rg::Error when a tensor is undefined or not float32/float64, x is 0-D, the shapes or
/// dtypes differ, or weight has another dtype or does not broadcast to x's shape
Tensor multilabel_soft_margin_loss(const Tensor& x, const Tensor& y,
                                   const MultiLabelSoftMarginLossOptions& options = {});

/// The multi-label hinge loss (torch::nn::functional::multilabel_margin_loss, PyTorch 1.13). Each
/// sample's target row lists its classes and ends at the first -1 (the rest of the row is
/// ignored); per sample, Σ_{j listed} Σ_{i not listed} max(0, 1 - (x[j] - x[i])) / C, a class
/// listed twice counting twice, as PyTorch. It takes memory N·K·C, K the longest list.
/// @param x scores (N, C) or one unbatched (C,), float, C at least 1
/// @param target int64 of x's shape, each value in [-1, C) (all of them, as PyTorch checks)
/// @param options reduction (mean by default, over the samples) and scale
/// @throws rg::Error when x is undefined, not float or not 1-D or 2-D with C positive, the target
/// is not int64 of x's shape, or a target value is outside [-1, C)
Tensor multilabel_margin_loss(const Tensor& x, const Tensor& target, LossOptions options = {});

/// The options of poisson_nll_loss (torch::nn::PoissonNLLLossOptions).
struct PoissonNLLLossOptions {
    /// How the per-element losses are reduced.
    Reduction reduction = Reduction::mean;
    /// The input is the log of the rate (true), or the rate itself.
    bool log_input = true;
    /// Add Stirling's approximation of log(target!) where target > 1.
    bool full = false;
    /// Added to the rate before its log when log_input is false.
    double eps = 1e-8;
};
/// The Poisson negative log-likelihood (torch::nn::functional::poisson_nll_loss, PyTorch 1.13):
/// exp(x) - t x with log_input, else x - t log(x + eps); with full, plus
/// t log t - t + ½ log(2π t) where t > 1 (0 elsewhere), reduced. Where t ≤ 1 the Stirling term and
/// its gradient are 0 (PyTorch's gradient in t is NaN at t = 0). Unlike PyTorch, the shapes must
/// match exactly.
/// @param input the log-rate (or the rate), a float tensor
/// @param target t, counts (not checked, as PyTorch), of input's shape and dtype
/// @param options reduction (mean by default), log_input, full, eps
/// @throws rg::Error when a tensor is undefined or not float32/float64, or the shapes or dtypes differ
Tensor poisson_nll_loss(const Tensor& input, const Tensor& target, PoissonNLLLossOptions options = {});

/// The options of gaussian_nll_loss (torch::nn::GaussianNLLLossOptions).
struct GaussianNLLLossOptions {
    /// How the per-element losses are reduced.
    Reduction reduction = Reduction::mean;
    /// Add the constant ½ log(2π).
    bool full = false;
    /// The variance's floor (a value only: the gradient in var is as if unclamped).
    double eps = 1e-6;
};
/// The Gaussian negative log-likelihood (torch::nn::functional::gaussian_nll_loss, PyTorch 1.13):
/// ½ (log v + (input - target)² / v) per element, v = max(var, eps), plus ½ log(2π) with full,
/// reduced. As PyTorch's clamp under no_grad, the floor changes the value only: the gradient in var
/// is the one of v. var has input's shape, or one dimension fewer, or a last axis of size 1
/// (one variance per row, broadcast). Unlike PyTorch, input and target must have the same shape.
/// @param input the means, a float tensor
/// @param target the samples, of input's shape and dtype
/// @param var the variances, at least 0, of input's dtype
/// @param options reduction (mean by default), full, eps
/// @throws rg::Error when a tensor is undefined or not float32/float64, the shapes or dtypes of
/// input and target differ, var has another dtype or a shape not listed above, or a variance is
/// negative
Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, const Tensor& var,
                         GaussianNLLLossOptions options = {});

/// A loss module of three tensors over options of its own type: a callable holding them, as
/// torch::nn::MarginRankingLoss... (not a Module: it has no parameters).
template <class Options, Tensor (*F)(const Tensor&, const Tensor&, const Tensor&, Options)> struct ThreeTensorLoss {
    /// The options passed at each call.
    Options options{};
    /// The loss of the three tensors, in the loss function's order.
    /// @param a the first tensor (x1, anchor, input)
    /// @param b the second tensor (x2, positive, target)
    /// @param c the third tensor (y, negative, var)
    /// @throws rg::Error as the loss function
    Tensor operator()(const Tensor& a, const Tensor& b, const Tensor& c) const { return F(a, b, c, options); }
};
/// margin_ranking_loss as a callable (torch::nn::MarginRankingLoss).
using MarginRankingLoss = ThreeTensorLoss<MarginRankingLossOptions, margin_ranking_loss>;
/// hinge_embedding_loss as a callable (torch::nn::HingeEmbeddingLoss).
using HingeEmbeddingLoss = LossWith<HingeEmbeddingLossOptions, hinge_embedding_loss>;
/// soft_margin_loss as a callable (torch::nn::SoftMarginLoss).
using SoftMarginLoss = Loss<soft_margin_loss>;
/// cosine_embedding_loss as a callable (torch::nn::CosineEmbeddingLoss).
using CosineEmbeddingLoss = ThreeTensorLoss<CosineEmbeddingLossOptions, cosine_embedding_loss>;
/// triplet_margin_loss as a callable (torch::nn::TripletMarginLoss).
using TripletMarginLoss = ThreeTensorLoss<TripletMarginLossOptions, triplet_margin_loss>;
/// multi_margin_loss as a callable (torch::nn::MultiMarginLoss).
struct MultiMarginLoss {
    /// The options passed at each call.
    MultiMarginLossOptions options{};
    /// The loss of the scores against class indices.
    /// @param x scores (N, C) or (C,)
    /// @param target int64 class indices
    /// @throws rg::Error as multi_margin_loss
    Tensor operator()(const Tensor& x, const Tensor& target) const { return multi_margin_loss(x, target, options); }
};
/// multilabel_soft_margin_loss as a callable (torch::nn::MultiLabelSoftMarginLoss).
struct MultiLabelSoftMarginLoss {
    /// The options passed at each call.
    MultiLabelSoftMarginLossOptions options{};
    /// The loss of the scores against 0/1 targets.
    /// @param x scores (..., C)
    /// @param y targets of x's shape
    /// @throws rg::Error as multilabel_soft_margin_loss
    Tensor operator()(const Tensor& x, const Tensor& y) const { return multilabel_soft_margin_loss(x, y, options); }
};
/// multilabel_margin_loss as a callable (torch::nn::MultiLabelMarginLoss).
using MultiLabelMarginLoss = Loss<multilabel_margin_loss>;
/// poisson_nll_loss as a callable (torch::nn::PoissonNLLLoss).
using PoissonNLLLoss = LossWith<PoissonNLLLossOptions, poisson_nll_loss>;
/// gaussian_nll_loss as a callable (torch::nn::GaussianNLLLoss).
using GaussianNLLLoss = ThreeTensorLoss<GaussianNLLLossOptions, gaussian_nll_loss>;

}  // namespace rg::nn
