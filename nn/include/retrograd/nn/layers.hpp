#pragma once
// Layers. Images are NCHW (batch, channels, height, width), as in PyTorch.
#include <retrograd/conv.hpp>
#include <retrograd/nn/module.hpp>

#include <optional>

namespace rg::nn {

// y = x Wᵀ + b with W of shape (out, in), as PyTorch (so checkpoints match).
// Default init as PyTorch: W and b uniform in ±1/√in.
class Linear : public Module {
public:
    Linear(std::size_t in_features, std::size_t out_features, bool bias = true);
    Tensor forward(const Tensor& input) override;
    std::string describe() const override;
    Tensor weight, bias;  // bias undefined when disabled
};

using rg::Conv2dOptions;  // {.stride, .padding, .dilation, .bias}, shared with rg::conv2d
// weight (out, in, kh, kw); default init as PyTorch (uniform in ±1/√(in·kh·kw)).
class Conv2d : public Module {
public:
    Conv2d(std::size_t in_channels, std::size_t out_channels, Size2 kernel, Conv2dOptions options = {});
    Conv2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel, Conv2dOptions options = {})
        : Conv2d(in_channels, out_channels, Size2{kernel, kernel}, options) {}
    Tensor forward(const Tensor& input) override;
    std::string describe() const override;
    Tensor weight, bias;
    Conv2dOptions options;
};

class MaxPool2d : public Module {
public:
    explicit MaxPool2d(Size2 kernel, Pool2dOptions options = {}) : kernel_(kernel), options_(options) {}
    explicit MaxPool2d(std::size_t kernel, Pool2dOptions options = {}) : MaxPool2d(Size2{kernel, kernel}, options) {}
    Tensor forward(const Tensor& input) override { return max_pool2d(input, kernel_, options_); }
    // PyTorch's return_indices = true: the values and each maximum's int64 position h * W + w in its plane.
    std::pair<Tensor, Tensor> forward_with_indices(const Tensor& input) const {
        return max_pool2d_with_indices(input, kernel_, options_);
    }
    std::string describe() const override;

private:
    Size2 kernel_;
    Pool2dOptions options_;
};

class AvgPool2d : public Module {
public:
    explicit AvgPool2d(Size2 kernel, Pool2dOptions options = {}) : kernel_(kernel), options_(options) {}
    explicit AvgPool2d(std::size_t kernel, Pool2dOptions options = {}) : AvgPool2d(Size2{kernel, kernel}, options) {}
    Tensor forward(const Tensor& input) override { return avg_pool2d(input, kernel_, options_); }
    std::string describe() const override;

private:
    Size2 kernel_;
    Pool2dOptions options_;
};

// Means over an output_size grid of windows, whatever the input's size (PyTorch's AdaptiveAvgPool2d).
class AdaptiveAvgPool2d : public Module {
public:
    explicit AdaptiveAvgPool2d(Size2 output_size) : output_size_(output_size) {}
    explicit AdaptiveAvgPool2d(std::size_t output_size) : AdaptiveAvgPool2d(Size2{output_size, output_size}) {}
    Tensor forward(const Tensor& input) override { return adaptive_avg_pool2d(input, output_size_); }
    std::string describe() const override;

private:
    Size2 output_size_;
};

// Flattens every axis from start_axis on (default: all but the batch axis).
class Flatten : public Module {
public:
    explicit Flatten(int start_axis = 1, int end_axis = -1) : start_(start_axis), end_(end_axis) {}
    Tensor forward(const Tensor& input) override { return flatten(input, start_, end_); }
    std::string describe() const override { return "Flatten()"; }

private:
    int start_, end_;
};

// Zeroes each element with probability p in training and scales the rest by
// 1/(1-p); the identity in eval mode.
class Dropout : public Module {
public:
    explicit Dropout(double p = 0.5);
    Tensor forward(const Tensor& input) override;
    std::string describe() const override;

private:
    double p_;
};

struct BatchNormOptions {
    double eps = 1e-5;
    double momentum = 0.1;  // running = (1 - momentum) running + momentum batch
    bool affine = true;  // learnable weight (1) and bias (0)
};
// Normalises each feature over the batch (training) or with running
// statistics (eval). BatchNorm1d: (N, F) or (N, F, L); BatchNorm2d: (N, C, H, W).
class BatchNorm : public Module {
public:
    Tensor forward(const Tensor& input) override;
    std::string describe() const override;
    Tensor weight, bias, running_mean, running_var;

protected:
    BatchNorm(std::size_t features, BatchNormOptions options, std::vector<std::size_t> ranks, const char* kind);

private:
    std::size_t features_;
    BatchNormOptions options_;
    std::vector<std::size_t> ranks_;
    const char* kind_;
};
class BatchNorm1d : public BatchNorm {
public:
    explicit BatchNorm1d(std::size_t features, BatchNormOptions options = {})
        : BatchNorm(features, options, {2, 3}, "BatchNorm1d") {}
};
class BatchNorm2d : public BatchNorm {
public:
    explicit BatchNorm2d(std::size_t channels, BatchNormOptions options = {})
        : BatchNorm(channels, options, {4}, "BatchNorm2d") {}
};

struct EmbeddingOptions {
    // This row starts at zeros and never receives a gradient (it stays as set
    // or loaded); negative counts from the end, as PyTorch.
    std::optional<std::int64_t> padding_idx;
};
// A lookup table: int64 indices of any shape -> their rows, shape + (dim,).
// Initialised from N(0, 1), as PyTorch.
class Embedding : public Module {
public:
    Embedding(std::size_t count, std::size_t dim, EmbeddingOptions options = {});
    Tensor forward(const Tensor& indices) override;
    std::string describe() const override;
    Tensor weight;

private:
    std::optional<std::int64_t> padding_idx_;  // in [0, count)
};

}  // namespace rg::nn
