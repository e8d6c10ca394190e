#pragma once
// Normalisation over features rather than the batch, with PyTorch's semantics
// and parameter names: LayerNorm, GroupNorm, RMSNorm. Same in training and eval.
#include <retrograd/nn/module.hpp>

#include <concepts>
#include <optional>

namespace rg::nn {

struct LayerNormOptions {
    double eps = 1e-5;
    bool elementwise_affine = true;  // learnable weight (1) and bias (0) of normalized_shape
};
// Normalises over the last normalized_shape.size() axes, which must equal
// normalized_shape: y = (x - mean) / sqrt(var + eps) * weight + bias, the
// variance biased, as PyTorch.
class LayerNorm : public Module {
public:
    explicit LayerNorm(IntList normalized_shape, LayerNormOptions options = {});
    // LayerNorm(512): one axis. A template, so that LayerNorm({512}) takes the list form.
    template <std::integral I>
    explicit LayerNorm(I normalized_size, LayerNormOptions options = {})
        : LayerNorm(IntList{normalized_size}, options) {}
    Tensor forward(const Tensor& input) override;
    std::string describe() const override;
    Tensor weight, bias;  // undefined without elementwise_affine

private:
    Shape normalized_shape_;
    LayerNormOptions options_;
};

struct GroupNormOptions {
    double eps = 1e-5;
    bool affine = true;  // learnable per-channel weight (1) and bias (0)
};
// Input (N, C, ...): the C channels in num_groups groups, each normalised over
// its channels and every position.
class GroupNorm : public Module {
public:
    GroupNorm(std::size_t num_groups, std::size_t num_channels, GroupNormOptions options = {});
    Tensor forward(const Tensor& input) override;
    std::string describe() const override;
    Tensor weight, bias;

private:
    std::size_t groups_, channels_;
    GroupNormOptions options_;
};

struct RMSNormOptions {
    std::optional<double> eps;  // default: the machine epsilon of the input's dtype, as PyTorch 2.4
    bool elementwise_affine = true;  // learnable weight (1)
};
// y = x / sqrt(mean(x², last axes) + eps) * weight, as torch.nn.RMSNorm (2.4).
class RMSNorm : public Module {
public:
    explicit RMSNorm(IntList normalized_shape, RMSNormOptions options = {});
    // RMSNorm(512): one axis. A template, so that RMSNorm({512}) takes the list form.
    template <std::integral I>
    explicit RMSNorm(I normalized_size, RMSNormOptions options = {}) : RMSNorm(IntList{normalized_size}, options) {}
    Tensor forward(const Tensor& input) override;
    std::string describe() const override;
    Tensor weight;

private:
    Shape normalized_shape_;
    RMSNormOptions options_;
};

}  // namespace rg::nn
