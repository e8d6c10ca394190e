#pragma once
// Layers. Images are NCHW (batch, channels, height, width), as in PyTorch.
#include <retrograd/conv.hpp>
#include <retrograd/nn/module.hpp>

#include <optional>

namespace rg::nn {

// y = x Wᵀ + b with W of shape (out, in), as PyTorch (so checkpoints match).
// Default init as PyTorch: W and b uniform in ±1/√in.
/// A fully connected layer, y = x Wᵀ + b with W of shape (out, in), as
/// torch::nn::Linear (so checkpoints match); W and b start uniform in ±1/√in.
class Linear : public Module {
public:
    /// A layer from in_features to out_features.
    /// @param in_features the input's last size, > 0
    /// @param out_features the output's last size, > 0
    /// @param bias whether the layer adds a bias
    /// @throws rg::Error when a size is 0
    Linear(std::size_t in_features, std::size_t out_features, bool bias = true);
    /// x Wᵀ + b over the last axis; leading axes are batch axes.
    /// @param input (..., in_features), of the layer's dtype
    /// @throws rg::Error when the last size is not in_features (or input is 0-D), or the dtypes differ
    Tensor forward(const Tensor& input) override;
    /// "Linear(in, out)", with ", bias=false" without bias.
    std::string describe() const override;
    /// The weight (out_features, in_features), uniform in ±1/√in_features at first.
    Tensor weight;
    /// The bias (out_features,), uniform in ±1/√in_features at first; undefined without bias.
    Tensor bias;  // bias undefined when disabled
};

using rg::Conv2dOptions;  // {.stride, .padding, .dilation, .bias}, shared with rg::conv2d

class MaxPool2d;

// weight (out, in, kh, kw); default init as PyTorch (uniform in ±1/√(in·kh·kw)).
/// A 2-D convolution layer over NCHW images (torch::nn::Conv2d): conv2d with
/// its weight, bias and options; weight and bias start uniform in ±1/√fan_in, as PyTorch.
class Conv2d : public Module {
public:
    /// A layer from in_channels to out_channels with a (kh, kw) kernel.
    /// @param in_channels the input's channels C, > 0
    /// @param out_channels the output's channels O, > 0
    /// @param kernel (kh, kw), positive
    /// @param options stride, padding, dilation, groups, bias, padding rule and mode
    /// @throws rg::Error when a size is 0, groups does not divide both channel counts,
    /// or padding "same" is asked with a stride
    Conv2d(std::size_t in_channels, std::size_t out_channels, Size2 kernel, Conv2dOptions options = {});
    /// A layer with a square kernel.
    /// @param in_channels the input's channels, > 0
    /// @param out_channels the output's channels, > 0
    /// @param kernel kh = kw, > 0
    /// @param options as the other constructor
    /// @throws rg::Error as the other constructor
    Conv2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel, Conv2dOptions options = {})
        : Conv2d(in_channels, out_channels, Size2{kernel, kernel}, options) {}
    /// conv2d(input, weight, bias, options).
    /// @param input (N, C, H, W)
    /// @throws rg::Error as conv2d
    Tensor forward(const Tensor& input) override;
    /// relu(forward(input)) as one op, rg::conv2d_relu: what a Sequential
    /// runs for a Conv2d followed by a ReLU.
    /// @param input (N, C, H, W)
    /// @throws rg::Error as conv2d
    Tensor forward_relu(const Tensor& input);
    /// pool.forward(relu(forward(input))) as one op, rg::conv2d_relu_max_pool2d:
    /// what a Sequential runs for a Conv2d, a ReLU and a MaxPool2d in a row.
    /// @param input (N, C, H, W)
    /// @param pool the pool that follows
    /// @throws rg::Error as conv2d and max_pool2d
    Tensor forward_relu_max_pool(const Tensor& input, const MaxPool2d& pool);
    /// "Conv2d(in, out, kernel=(kh, kw), ...)".
    std::string describe() const override;
    /// The weight (out, in / groups, kh, kw), uniform in ±1/√fan_in at first
    /// (fan_in = in / groups · kh · kw).
    Tensor weight;
    /// The bias (out,), uniform in ±1/√fan_in at first; undefined with options.bias = false.
    Tensor bias;
    /// The options given to conv2d at each forward.
    Conv2dOptions options;
};

/// max_pool2d as a module (torch::nn::MaxPool2d); no parameters.
class MaxPool2d : public Module {
public:
    /// A pool with a (kh, kw) window.
    /// @param kernel (kh, kw)
    /// @param options stride (default: the kernel), padding, dilation, ceil_mode
    explicit MaxPool2d(Size2 kernel, Pool2dOptions options = {}) : kernel_(kernel), options_(options) {}
    /// A pool with a square window.
    /// @param kernel kh = kw
    /// @param options as the other constructor
    explicit MaxPool2d(std::size_t kernel, Pool2dOptions options = {}) : MaxPool2d(Size2{kernel, kernel}, options) {}
    /// max_pool2d(input, kernel, options).
    /// @param input (N, C, H, W)
    /// @throws rg::Error as max_pool2d
    Tensor forward(const Tensor& input) override { return max_pool2d(input, kernel_, options_); }
    // PyTorch's return_indices = true: the values and each maximum's int64 position h * W + w in its plane.
    /// PyTorch's return_indices = true: the values and each maximum's int64
    /// position h * W + w in its plane.
    /// @param input (N, C, H, W)
    /// @return (values, indices)
    /// @throws rg::Error as max_pool2d
    std::pair<Tensor, Tensor> forward_with_indices(const Tensor& input) const {
        return max_pool2d_with_indices(input, kernel_, options_);
    }
    /// "MaxPool2d(kh, kw)" and the options that differ from their defaults.
    std::string describe() const override;
    /// The window (kh, kw).
    Size2 kernel() const { return kernel_; }
    /// The options given to max_pool2d.
    const Pool2dOptions& options() const { return options_; }

private:
    Size2 kernel_;
    Pool2dOptions options_;
};

/// avg_pool2d as a module (torch::nn::AvgPool2d); no parameters.
class AvgPool2d : public Module {
public:
    /// A pool with a (kh, kw) window.
    /// @param kernel (kh, kw)
    /// @param options stride (default: the kernel), padding, ceil_mode, count_include_pad, divisor_override
    explicit AvgPool2d(Size2 kernel, Pool2dOptions options = {}) : kernel_(kernel), options_(options) {}
    /// A pool with a square window.
    /// @param kernel kh = kw
    /// @param options as the other constructor
    explicit AvgPool2d(std::size_t kernel, Pool2dOptions options = {}) : AvgPool2d(Size2{kernel, kernel}, options) {}
    /// avg_pool2d(input, kernel, options).
    /// @param input (N, C, H, W)
    /// @throws rg::Error as avg_pool2d
    Tensor forward(const Tensor& input) override { return avg_pool2d(input, kernel_, options_); }
    /// "AvgPool2d(kh, kw)" and the options that differ from their defaults.
    std::string describe() const override;

private:
    Size2 kernel_;
    Pool2dOptions options_;
};

// Means over an output_size grid of windows, whatever the input's size (PyTorch's AdaptiveAvgPool2d).
/// Means over an output_size grid of windows, whatever the input's size
/// (torch::nn::AdaptiveAvgPool2d); no parameters.
class AdaptiveAvgPool2d : public Module {
public:
    /// A pool to an (OH, OW) grid.
    /// @param output_size (OH, OW), positive (checked at forward)
    explicit AdaptiveAvgPool2d(Size2 output_size) : output_size_(output_size) {}
    /// A pool to a square grid.
    /// @param output_size OH = OW
    explicit AdaptiveAvgPool2d(std::size_t output_size) : AdaptiveAvgPool2d(Size2{output_size, output_size}) {}
    /// adaptive_avg_pool2d(input, output_size).
    /// @param input (N, C, H, W) or (C, H, W)
    /// @throws rg::Error as adaptive_avg_pool2d
    Tensor forward(const Tensor& input) override { return adaptive_avg_pool2d(input, output_size_); }
    /// "AdaptiveAvgPool2d(output_size=(OH, OW))".
    std::string describe() const override;

private:
    Size2 output_size_;
};

// Flattens every axis from start_axis on (default: all but the batch axis).
/// Flattens axes start_axis..end_axis into one (torch::nn::Flatten; default: all but the batch axis).
class Flatten : public Module {
public:
    /// @param start_axis, end_axis the first and last axes merged
    explicit Flatten(int start_axis = 1, int end_axis = -1) : start_(start_axis), end_(end_axis) {}
    /// flatten(input, start_axis, end_axis).
    /// @param input a tensor
    /// @throws rg::Error as flatten
    Tensor forward(const Tensor& input) override { return flatten(input, start_, end_); }
    /// "Flatten()".
    std::string describe() const override { return "Flatten()"; }

private:
    int start_, end_;
};

// Zeroes each element with probability p in training and scales the rest by
// 1/(1-p); the identity in eval mode.
/// Zeroes each element with probability p in training and scales the rest by
/// 1/(1-p); the identity in eval mode (torch::nn::Dropout).
class Dropout : public Module {
public:
    /// @param p the probability of zeroing, in [0, 1]
    /// @throws rg::Error when p is outside [0, 1]
    explicit Dropout(double p = 0.5);
    /// dropout(input, p, is_training()).
    /// @param input a float tensor
    /// @throws rg::Error as dropout
    Tensor forward(const Tensor& input) override;
    /// "Dropout(p=...)".
    std::string describe() const override;

private:
    double p_;
};

/// The options of BatchNorm1d and BatchNorm2d, as PyTorch's.
struct BatchNormOptions {
    /// Added to the variance before the square root.
    double eps = 1e-5;
    /// running = (1 - momentum) running + momentum batch, as PyTorch's convention;
    /// std::nullopt: the cumulative average of every batch so far (momentum 1 / num_batches_tracked).
    std::optional<double> momentum = 0.1;
    /// Learnable weight (ones at first) and bias (zeros).
    bool affine = true;  // learnable weight (1) and bias (0)
    /// Keep running statistics for evaluation (buffers running_mean, running_var and
    /// num_batches_tracked); false: batch statistics in evaluation too, and no buffers.
    bool track_running_stats = true;
};
// Normalises each feature over the batch (training) or with running
// statistics (eval). BatchNorm1d: (N, F) or (N, F, L); BatchNorm2d: (N, C, H, W).
/// Normalises each feature over the batch (training: the batch's biased
/// variance, while the running variance gets the unbiased one, as PyTorch) or
/// with running statistics (eval). BatchNorm1d: (N, F) or (N, F, L); BatchNorm2d: (N, C, H, W).
class BatchNorm : public Module {
public:
    /// (x - mean) / √(var + eps) · weight + bias, per feature (axis 1); in training
    /// the running statistics are updated too, and num_batches_tracked counts the batch.
    /// @param input of a rank the layer takes, with `features` on axis 1
    /// @throws rg::Error when the rank or axis 1 differ, or in training a feature has a single value
    Tensor forward(const Tensor& input) override;
    /// "BatchNorm1d(F)" or "BatchNorm2d(C)".
    std::string describe() const override;
    /// The scale γ (features,), ones at first; undefined without affine.
    Tensor weight;
    /// The shift β (features,), zeros at first; undefined without affine.
    Tensor bias;
    /// The running mean (a buffer), zeros at first; undefined without track_running_stats.
    Tensor running_mean;
    /// The running unbiased variance (a buffer), ones at first; undefined without track_running_stats.
    Tensor running_var;
    /// The training batches seen (an int64 scalar buffer, PyTorch's name), 0 at first; undefined
    /// without track_running_stats. A file without it loads, leaving it as it is.
    Tensor num_batches_tracked;

protected:
    /// For BatchNorm1d and BatchNorm2d.
    /// @param features the size of axis 1, > 0
    /// @param options eps, momentum, affine, track_running_stats
    /// @param ranks the input ranks accepted
    /// @param kind the class's name, for messages
    /// @throws rg::Error when features is 0
    BatchNorm(std::size_t features, BatchNormOptions options, std::vector<std::size_t> ranks, const char* kind);

private:
    std::size_t features_;
    BatchNormOptions options_;
    std::vector<std::size_t> ranks_;
    const char* kind_;
};
/// Batch normalisation of (N, F) or (N, F, L) inputs (torch::nn::BatchNorm1d).
class BatchNorm1d : public BatchNorm {
public:
    /// @param features F, > 0
    /// @param options eps, momentum, affine
    /// @throws rg::Error when features is 0
    explicit BatchNorm1d(std::size_t features, BatchNormOptions options = {})
        : BatchNorm(features, options, {2, 3}, "BatchNorm1d") {}
};
/// Batch normalisation of (N, C, H, W) inputs (torch::nn::BatchNorm2d).
class BatchNorm2d : public BatchNorm {
public:
    /// @param channels C, > 0
    /// @param options eps, momentum, affine
    /// @throws rg::Error when channels is 0
    explicit BatchNorm2d(std::size_t channels, BatchNormOptions options = {})
        : BatchNorm(channels, options, {4}, "BatchNorm2d") {}
};

/// The options of Embedding.
struct EmbeddingOptions {
    // This row starts at zeros and never receives a gradient (it stays as set
    // or loaded); negative counts from the end, as PyTorch.
    /// A row that starts at zeros and never receives a gradient (it stays as set
    /// or loaded); negative counts from the end, as PyTorch.
    std::optional<std::int64_t> padding_idx;
};
// A lookup table: int64 indices of any shape -> their rows, shape + (dim,).
// Initialised from N(0, 1), as PyTorch.
/// A lookup table: int64 indices of any shape -> their rows, shape + (dim,);
/// initialised from N(0, 1), as torch::nn::Embedding.
class Embedding : public Module {
public:
    /// @param count the number of rows, > 0
    /// @param dim each row's size, > 0
    /// @param options padding_idx
    /// @throws rg::Error when a size is 0 or padding_idx is outside [-count, count)
    Embedding(std::size_t count, std::size_t dim, EmbeddingOptions options = {});
    /// The rows at the indices. VJP: each row's gradient is the sum of g at its
    /// lookups (index_add), none for padding_idx.
    /// @param indices an int64 tensor of any shape, each in [0, count)
    /// @throws rg::Error when indices are not int64, or one is out of range
    Tensor forward(const Tensor& indices) override;
    /// "Embedding(count, dim)", with padding_idx when set.
    std::string describe() const override;
    /// The table (count, dim).
    Tensor weight;

private:
    std::optional<std::int64_t> padding_idx_;  // in [0, count)
};

}  // namespace rg::nn
