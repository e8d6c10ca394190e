#pragma once
// Normalisation over features rather than the batch, with PyTorch's semantics
// and parameter names: LayerNorm, GroupNorm, RMSNorm. Same in training and eval.
#include <retrograd/nn/module.hpp>

#include <concepts>
#include <optional>

namespace rg::nn {

/// The options of LayerNorm.
struct LayerNormOptions {
    /// Added to the variance before the square root, >= 0.
    double eps = 1e-5;
    /// Learnable weight (ones at first) and bias (zeros) of normalized_shape.
    bool elementwise_affine = true;  // learnable weight (1) and bias (0) of normalized_shape
};
// Normalises over the last normalized_shape.size() axes, which must equal
// normalized_shape: y = (x - mean) / sqrt(var + eps) * weight + bias, the
// variance biased, as PyTorch.
/// Layer normalisation, as torch::nn::LayerNorm: over the last
/// normalized_shape.size() axes, which must equal normalized_shape,
/// y = (x - mean) / √(var + eps) · weight + bias, the variance biased. Same in training and eval.
class LayerNorm : public Module {
public:
    /// @param normalized_shape the trailing sizes normalised over: LayerNorm({4, 4})
    /// @param options eps, elementwise_affine
    /// @throws rg::Error when a size is not positive, the list is empty, or eps < 0
    explicit LayerNorm(IntList normalized_shape, LayerNormOptions options = {});
    // LayerNorm(512): one axis. A template, so that LayerNorm({512}) takes the list form.
    template <std::integral I>
    /// LayerNorm(512): over one last axis (a template, so that LayerNorm({512}) takes the list form).
    /// @param normalized_size the last axis's size
    /// @param options eps, elementwise_affine
    /// @throws rg::Error when a size is not positive, the list is empty, or eps < 0
    explicit LayerNorm(I normalized_size, LayerNormOptions options = {})
        : LayerNorm(IntList{normalized_size}, options) {}
    /// The normalised input.
    /// @param input (..., normalized_shape), of the layer's dtype
    /// @throws rg::Error when its trailing sizes differ, it is not floating, or its dtype differs from the weight's
    Tensor forward(const Tensor& input) override;
    /// "LayerNorm((sizes))" and the options that differ from their defaults.
    std::string describe() const override;
    /// The scale γ of normalized_shape, ones at first; undefined without elementwise_affine.
    Tensor weight;
    /// The shift β of normalized_shape, zeros at first; undefined without elementwise_affine.
    Tensor bias;

private:
    Shape normalized_shape_;
    LayerNormOptions options_;
};

/// The options of GroupNorm.
struct GroupNormOptions {
    /// Added to the variance before the square root, >= 0.
    double eps = 1e-5;
    /// Learnable per-channel weight (ones at first) and bias (zeros).
    bool affine = true;  // learnable per-channel weight (1) and bias (0)
};
// Input (N, C, ...): the C channels in num_groups groups, each normalised over
// its channels and every position.
/// Group normalisation, as torch::nn::GroupNorm: input (N, C, ...), the C
/// channels in num_groups groups, each normalised over its channels and every
/// position (biased variance); then a per-channel weight and bias.
class GroupNorm : public Module {
public:
    /// @param num_groups G, > 0
    /// @param num_channels C, a positive multiple of G
    /// @param options eps, affine
    /// @throws rg::Error when C is not a positive multiple of G, or eps < 0
    GroupNorm(std::size_t num_groups, std::size_t num_channels, GroupNormOptions options = {});
    /// The normalised input.
    /// @param input (N, C, ...), of the layer's dtype
    /// @throws rg::Error when it has rank < 2 or another C, is not floating, or its dtype differs
    Tensor forward(const Tensor& input) override;
    /// "GroupNorm(G, C)" and the options that differ from their defaults.
    std::string describe() const override;
    /// The per-channel scale (C,), ones at first; undefined without affine.
    Tensor weight;
    /// The per-channel shift (C,), zeros at first; undefined without affine.
    Tensor bias;

private:
    std::size_t groups_, channels_;
    GroupNormOptions options_;
};

/// The options of RMSNorm.
struct RMSNormOptions {
    /// Added to the mean square, >= 0; default: the machine epsilon of the input's dtype, as PyTorch 2.4.
    std::optional<double> eps;  // default: the machine epsilon of the input's dtype, as PyTorch 2.4
    /// A learnable weight (ones at first).
    bool elementwise_affine = true;  // learnable weight (1)
};
// y = x / sqrt(mean(x², last axes) + eps) * weight, as torch.nn.RMSNorm (2.4).
/// Root-mean-square normalisation, as torch::nn::RMSNorm (2.4):
/// y = x / √(mean(x², last axes) + eps) · weight. No mean is subtracted, no bias.
class RMSNorm : public Module {
public:
    /// @param normalized_shape the trailing sizes normalised over
    /// @param options eps, elementwise_affine
    /// @throws rg::Error when a size is not positive, the list is empty, or eps < 0
    explicit RMSNorm(IntList normalized_shape, RMSNormOptions options = {});
    // RMSNorm(512): one axis. A template, so that RMSNorm({512}) takes the list form.
    template <std::integral I>
    /// RMSNorm(512): over one last axis (a template, so that RMSNorm({512}) takes the list form).
    /// @param normalized_size the last axis's size
    /// @param options eps, elementwise_affine
    /// @throws rg::Error when a size is not positive, the list is empty, or eps < 0
    explicit RMSNorm(I normalized_size, RMSNormOptions options = {}) : RMSNorm(IntList{normalized_size}, options) {}
    /// The normalised input.
    /// @param input (..., normalized_shape), of the layer's dtype
    /// @throws rg::Error when its trailing sizes differ, it is not floating, or its dtype differs
    Tensor forward(const Tensor& input) override;
    /// "RMSNorm((sizes))" and the options that differ from their defaults.
    std::string describe() const override;
    /// The scale of normalized_shape, ones at first; undefined without elementwise_affine.
    Tensor weight;

private:
    Shape normalized_shape_;
    RMSNormOptions options_;
};

}  // namespace rg::nn
