#pragma once
/// @file
/// Layers of PyTorch 1.13 that networks reach for beyond the basic ones: 1-D
/// and adaptive max pooling, instance normalisation, pixel (un)shuffle,
/// Unflatten, channel dropout, Bilinear and the padding modules, with
/// PyTorch's names, arguments, shapes and parameter names. Each forward is
/// composed from existing tape ops (the 1-D pools are the 2-D pools over a
/// height of 1); none has a backward of its own.
#include <retrograd/conv.hpp>
#include <retrograd/nn/module.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace rg::nn {

// ---- 1-D and adaptive pooling ----------------------------------------------------------

/// The options of max_pool1d and MaxPool1d, as torch.nn.MaxPool1d's.
struct MaxPool1dOptions {
    std::size_t stride = 0;  ///< the step between windows; 0: the kernel size (PyTorch's default)
    std::size_t padding = 0;  ///< -inf added on each side, at most half the kernel
    std::size_t dilation = 1;  ///< the spacing between window elements, > 0
    bool ceil_mode = false;  ///< round the output size up: a last, partial window where the input allows one
};

/// The options of avg_pool1d and AvgPool1d, as torch.nn.AvgPool1d's.
struct AvgPool1dOptions {
    std::size_t stride = 0;  ///< the step between windows; 0: the kernel size (PyTorch's default)
    std::size_t padding = 0;  ///< zeros added on each side, at most half the kernel
    bool ceil_mode = false;  ///< round the output size up: a last, partial window where the input allows one
    bool count_include_pad = true;  ///< false divides by the elements of the window inside the input
};

/// The maximum over each window of (N, C, L) or unbatched (C, L) signals
/// (torch.nn.functional.max_pool1d): rg::max_pool2d over a height of 1, so the
/// gradient goes to each window's first maximum.
/// @param x a float tensor (N, C, L) or (C, L)
/// @param kernel the window's size, > 0
/// @param options stride, padding, dilation, ceil_mode
/// @throws rg::Error when x is not 2-D or 3-D or not floating, kernel or dilation is 0,
/// the padding exceeds half the kernel, or the window spans more than the padded input
Tensor max_pool1d(const Tensor& x, std::size_t kernel, MaxPool1dOptions options = {});

/// max_pool1d's values and, as PyTorch's return_indices, the int64 position of
/// each maximum along L.
/// @param x a float tensor (N, C, L) or (C, L)
/// @param kernel the window's size, > 0
/// @param options as max_pool1d's
/// @return (values, indices)
/// @throws rg::Error as max_pool1d
std::pair<Tensor, Tensor> max_pool1d_with_indices(const Tensor& x, std::size_t kernel, MaxPool1dOptions options = {});

/// The mean over each window of (N, C, L) or (C, L) signals
/// (torch.nn.functional.avg_pool1d): rg::avg_pool2d over a height of 1.
/// @param x a float tensor (N, C, L) or (C, L)
/// @param kernel the window's size, > 0
/// @param options stride, padding, ceil_mode, count_include_pad
/// @throws rg::Error when x is not 2-D or 3-D or not floating, kernel is 0,
/// the padding exceeds half the kernel, or the window spans more than the padded input
Tensor avg_pool1d(const Tensor& x, std::size_t kernel, AvgPool1dOptions options = {});

/// Means over output_size windows of each (N, C, L) or (C, L) signal
/// (torch.nn.functional.adaptive_avg_pool1d): window i spans
/// [floor(i L / OL), ceil((i + 1) L / OL)).
/// @param x a float tensor (N, C, L) or (C, L), L > 0
/// @param output_size OL, > 0
/// @throws rg::Error when x is not 2-D or 3-D, not floating or empty along L, or output_size is 0
Tensor adaptive_avg_pool1d(const Tensor& x, std::size_t output_size);

/// Maxima over output_size windows of each (N, C, L) or (C, L) signal
/// (torch.nn.functional.adaptive_max_pool1d), the windows of adaptive_avg_pool1d.
/// @param x a float tensor (N, C, L) or (C, L), L > 0
/// @param output_size OL, > 0 and at most 2^24
/// @throws rg::Error as adaptive_max_pool2d
Tensor adaptive_max_pool1d(const Tensor& x, std::size_t output_size);

/// Maxima over an (OH, OW) grid of windows of each plane
/// (torch.nn.functional.adaptive_max_pool2d): window i spans
/// [floor(i H / OH), ceil((i + 1) H / OH)), and likewise along W. When OH
/// divides H and OW divides W it is rg::max_pool2d (the gradient to each
/// window's first maximum, as PyTorch); otherwise the windows are gathered
/// along each axis with index_select and reduced with rg::max, whose gradient
/// is shared between tied maxima (PyTorch gives it to one of them).
/// @param x a float tensor (N, C, H, W) or (C, H, W), H and W > 0
/// @param output_size (OH, OW), each > 0 and at most 2^24
/// @throws rg::Error when x is not 3-D or 4-D, not floating or has empty planes,
/// or an output size is 0 or above 2^24
Tensor adaptive_max_pool2d(const Tensor& x, Size2 output_size);

/// max_pool1d as a module (torch.nn.MaxPool1d); no parameters.
class MaxPool1d : public Module {
public:
    /// @param kernel the window's size, > 0 (checked at forward, as PyTorch)
    /// @param options stride (default: the kernel), padding, dilation, ceil_mode
    explicit MaxPool1d(std::size_t kernel, MaxPool1dOptions options = {}) : kernel_(kernel), options_(options) {}
    /// max_pool1d(input, kernel, options).
    /// @param input (N, C, L) or (C, L)
    /// @throws rg::Error as max_pool1d
    Tensor forward(const Tensor& input) override { return max_pool1d(input, kernel_, options_); }
    /// PyTorch's return_indices = true: the values and each maximum's int64 position along L.
    /// @param input (N, C, L) or (C, L)
    /// @return (values, indices)
    /// @throws rg::Error as max_pool1d
    std::pair<Tensor, Tensor> forward_with_indices(const Tensor& input) const {
        return max_pool1d_with_indices(input, kernel_, options_);
    }
    /// "MaxPool1d(k)" and the options that differ from their defaults.
    std::string describe() const override;

private:
    std::size_t kernel_;
    MaxPool1dOptions options_;
};

/// avg_pool1d as a module (torch.nn.AvgPool1d); no parameters.
class AvgPool1d : public Module {
public:
    /// @param kernel the window's size, > 0 (checked at forward, as PyTorch)
    /// @param options stride (default: the kernel), padding, ceil_mode, count_include_pad
    explicit AvgPool1d(std::size_t kernel, AvgPool1dOptions options = {}) : kernel_(kernel), options_(options) {}
    /// avg_pool1d(input, kernel, options).
    /// @param input (N, C, L) or (C, L)
    /// @throws rg::Error as avg_pool1d
    Tensor forward(const Tensor& input) override { return avg_pool1d(input, kernel_, options_); }
    /// "AvgPool1d(k)" and the options that differ from their defaults.
    std::string describe() const override;

private:
    std::size_t kernel_;
    AvgPool1dOptions options_;
};

/// adaptive_avg_pool1d as a module (torch.nn.AdaptiveAvgPool1d); no parameters.
class AdaptiveAvgPool1d : public Module {
public:
    /// @param output_size OL, > 0 (checked at forward)
    explicit AdaptiveAvgPool1d(std::size_t output_size) : output_size_(output_size) {}
    /// adaptive_avg_pool1d(input, output_size).
    /// @param input (N, C, L) or (C, L)
    /// @throws rg::Error as adaptive_avg_pool1d
    Tensor forward(const Tensor& input) override { return adaptive_avg_pool1d(input, output_size_); }
    /// "AdaptiveAvgPool1d(output_size=OL)".
    std::string describe() const override;

private:
    std::size_t output_size_;
};

/// adaptive_max_pool1d as a module (torch.nn.AdaptiveMaxPool1d); no parameters.
class AdaptiveMaxPool1d : public Module {
public:
    /// @param output_size OL, > 0 (checked at forward)
    explicit AdaptiveMaxPool1d(std::size_t output_size) : output_size_(output_size) {}
    /// adaptive_max_pool1d(input, output_size).
    /// @param input (N, C, L) or (C, L)
    /// @throws rg::Error as adaptive_max_pool1d
    Tensor forward(const Tensor& input) override { return adaptive_max_pool1d(input, output_size_); }
    /// "AdaptiveMaxPool1d(output_size=OL)".
    std::string describe() const override;

private:
    std::size_t output_size_;
};

/// adaptive_max_pool2d as a module (torch.nn.AdaptiveMaxPool2d); no parameters.
class AdaptiveMaxPool2d : public Module {
public:
    /// A pool to an (OH, OW) grid.
    /// @param output_size (OH, OW), positive (checked at forward)
    explicit AdaptiveMaxPool2d(Size2 output_size) : output_size_(output_size) {}
    /// A pool to a square grid.
    /// @param output_size OH = OW
    explicit AdaptiveMaxPool2d(std::size_t output_size) : AdaptiveMaxPool2d(Size2{output_size, output_size}) {}
    /// adaptive_max_pool2d(input, output_size).
    /// @param input (N, C, H, W) or (C, H, W)
    /// @throws rg::Error as adaptive_max_pool2d
    Tensor forward(const Tensor& input) override { return adaptive_max_pool2d(input, output_size_); }
    /// "AdaptiveMaxPool2d(output_size=(OH, OW))".
    std::string describe() const override;

private:
    Size2 output_size_;
};

// ---- instance normalisation --------------------------------------------------------------

/// The options of InstanceNorm1d and InstanceNorm2d, as PyTorch's (whose defaults differ from BatchNorm's).
struct InstanceNormOptions {
    double eps = 1e-5;  ///< added to the variance before the square root, >= 0
    double momentum = 0.1;  ///< running = (1 - momentum) running + momentum batch, in [0, 1]
    bool affine = false;  ///< a learnable per-channel weight (ones at first) and bias (zeros)
    bool track_running_stats = false;  ///< keep running_mean and running_var, and use them in eval
};

/// Instance normalisation (torch.nn.InstanceNorm1d/2d): each (n, c) normalised
/// over its positions with the biased variance, then an optional per-channel
/// weight and bias. With track_running_stats, training also updates the
/// buffers running_mean and running_var (the mean over the batch of each
/// instance's mean and unbiased variance), and eval normalises with them;
/// otherwise eval is as training. num_batches_tracked is saved and loaded but,
/// as in PyTorch 1.13's InstanceNorm, never incremented.
class InstanceNorm : public Module {
public:
    /// The normalised input.
    /// @param input (N, C, positions...) or unbatched (C, positions...), of the layer's dtype
    /// @throws rg::Error when the rank or C differ, the input is not floating or
    /// of another dtype, or its statistics would come from a single position
    Tensor forward(const Tensor& input) override;
    /// "InstanceNorm1d(C)" and the options that differ from their defaults.
    std::string describe() const override;
    /// The per-channel scale (C,), ones at first; undefined without affine.
    Tensor weight;
    /// The per-channel shift (C,), zeros at first; undefined without affine.
    Tensor bias;
    /// The running mean (C,), a buffer, zeros at first; undefined without track_running_stats.
    Tensor running_mean;
    /// The running unbiased variance (C,), a buffer, ones at first; undefined without track_running_stats.
    Tensor running_var;
    /// An int64 scalar buffer, 0, so that PyTorch's state dicts load (its InstanceNorm never
    /// increments it); undefined without track_running_stats.
    Tensor num_batches_tracked;

protected:
    /// For InstanceNorm1d and InstanceNorm2d.
    /// @param features C, > 0
    /// @param options eps, momentum, affine, track_running_stats
    /// @param positions_rank the number of axes after C: 1 or 2
    /// @param kind the class's name, for messages
    /// @throws rg::Error when features is 0, eps is negative or momentum is outside [0, 1]
    InstanceNorm(std::size_t features, InstanceNormOptions options, std::size_t positions_rank, const char* kind);

private:
    std::size_t features_;
    InstanceNormOptions options_;
    std::size_t positions_rank_;
    const char* kind_;
};

/// Instance normalisation of (N, C, L) or (C, L) inputs (torch.nn.InstanceNorm1d).
class InstanceNorm1d : public InstanceNorm {
public:
    /// @param features C, > 0
    /// @param options eps, momentum, affine, track_running_stats
    /// @throws rg::Error as InstanceNorm's constructor
    explicit InstanceNorm1d(std::size_t features, InstanceNormOptions options = {})
        : InstanceNorm(features, options, 1, "InstanceNorm1d") {}
};

/// Instance normalisation of (N, C, H, W) or (C, H, W) inputs (torch.nn.InstanceNorm2d).
class InstanceNorm2d : public InstanceNorm {
public:
    /// @param features C, > 0
    /// @param options eps, momentum, affine, track_running_stats
    /// @throws rg::Error as InstanceNorm's constructor
    explicit InstanceNorm2d(std::size_t features, InstanceNormOptions options = {})
        : InstanceNorm(features, options, 2, "InstanceNorm2d") {}
};

// ---- rearranging ---------------------------------------------------------------------------

/// (*, C r², H, W) -> (*, C, H r, W r) (torch.nn.functional.pixel_shuffle):
/// a reshape, a permute and a reshape.
/// @param x a tensor of rank >= 3
/// @param upscale_factor r, > 0
/// @throws rg::Error when x has rank < 3, r is 0, or r² does not divide the channels (axis -3)
Tensor pixel_shuffle(const Tensor& x, std::size_t upscale_factor);

/// (*, C, H r, W r) -> (*, C r², H, W), pixel_shuffle's inverse (torch.nn.functional.pixel_unshuffle).
/// @param x a tensor of rank >= 3
/// @param downscale_factor r, > 0
/// @throws rg::Error when x has rank < 3, r is 0, or r does not divide H and W
Tensor pixel_unshuffle(const Tensor& x, std::size_t downscale_factor);

/// Axis `dim` of x split into `sizes` (torch.unflatten); one size may be -1, inferred.
/// @param x a tensor of rank >= 1
/// @param dim the axis split, negative from the end
/// @param sizes the new axes' sizes, non-empty, each >= 0 or one -1, multiplying to the axis's size
/// @throws rg::Error when dim is out of range, sizes is empty, has a size below -1 or several -1,
/// or does not multiply to the axis's size
Tensor unflatten(const Tensor& x, int dim, IntList sizes);

/// pixel_shuffle as a module (torch.nn.PixelShuffle); no parameters.
class PixelShuffle : public Module {
public:
    /// @param upscale_factor r, > 0
    /// @throws rg::Error when r is 0
    explicit PixelShuffle(std::size_t upscale_factor);
    /// pixel_shuffle(input, r), its errors naming PixelShuffle.
    /// @param input (*, C r², H, W)
    /// @throws rg::Error as pixel_shuffle
    Tensor forward(const Tensor& input) override;
    /// "PixelShuffle(upscale_factor=r)".
    std::string describe() const override;

private:
    std::size_t factor_;
};

/// pixel_unshuffle as a module (torch.nn.PixelUnshuffle); no parameters.
class PixelUnshuffle : public Module {
public:
    /// @param downscale_factor r, > 0
    /// @throws rg::Error when r is 0
    explicit PixelUnshuffle(std::size_t downscale_factor);
    /// pixel_unshuffle(input, r), its errors naming PixelUnshuffle.
    /// @param input (*, C, H r, W r)
    /// @throws rg::Error as pixel_unshuffle
    Tensor forward(const Tensor& input) override;
    /// "PixelUnshuffle(downscale_factor=r)".
    std::string describe() const override;

private:
    std::size_t factor_;
};

/// unflatten as a module (torch.nn.Unflatten); no parameters.
class Unflatten : public Module {
public:
    /// @param dim the axis split, negative from the end
    /// @param unflattened_size the new axes' sizes (one may be -1)
    /// @throws rg::Error when unflattened_size is empty, has a size below -1 or several -1
    Unflatten(int dim, IntList unflattened_size);
    /// unflatten(input, dim, unflattened_size), its errors naming Unflatten.
    /// @param input a tensor whose axis dim has the sizes' product
    /// @throws rg::Error as unflatten
    Tensor forward(const Tensor& input) override;
    /// "Unflatten(dim=d, unflattened_size=(a, b))".
    std::string describe() const override;

private:
    int dim_;
    IntList sizes_;
};

// ---- channel dropout -----------------------------------------------------------------------

/// In training, whole channels of (N, C, L) or (C, L) inputs zeroed with
/// probability p, the others scaled by 1 / (1 - p) (torch.nn.functional.dropout1d):
/// x times rg::dropout of ones (N, C, 1), from rg::manual_seed's generator. Otherwise x itself.
/// @param x a float tensor (N, C, L) or (C, L)
/// @param p the probability of zeroing a channel, in [0, 1]
/// @param training whether to drop; false returns x
/// @throws rg::Error when p is outside [0, 1], or x is not floating or not 2-D or 3-D
Tensor dropout1d(const Tensor& x, double p, bool training);

/// In training, whole channels of (N, C, H, W) inputs zeroed with probability
/// p, the others scaled by 1 / (1 - p) (torch.nn.functional.dropout2d): the
/// mask is (N, C, 1, 1). Otherwise x itself. A 3-D input is refused: PyTorch
/// 1.13 reads it as (N, C, L) with a warning that this will change to (C, H, W).
/// @param x a float tensor (N, C, H, W)
/// @param p the probability of zeroing a channel, in [0, 1]
/// @param training whether to drop; false returns x
/// @throws rg::Error when p is outside [0, 1], or x is not floating or not 4-D
Tensor dropout2d(const Tensor& x, double p, bool training);

/// dropout1d as a module (torch.nn.Dropout1d): active in training, the identity in eval.
class Dropout1d : public Module {
public:
    /// @param p the probability of zeroing a channel, in [0, 1]
    /// @throws rg::Error when p is outside [0, 1]
    explicit Dropout1d(double p = 0.5);
    /// dropout1d(input, p, is_training()).
    /// @param input (N, C, L) or (C, L)
    /// @throws rg::Error as dropout1d
    Tensor forward(const Tensor& input) override;
    /// "Dropout1d(p=...)".
    std::string describe() const override;

private:
    double p_;
};

/// dropout2d as a module (torch.nn.Dropout2d): active in training, the identity in eval.
class Dropout2d : public Module {
public:
    /// @param p the probability of zeroing a channel, in [0, 1]
    /// @throws rg::Error when p is outside [0, 1]
    explicit Dropout2d(double p = 0.5);
    /// dropout2d(input, p, is_training()).
    /// @param input (N, C, H, W)
    /// @throws rg::Error as dropout2d
    Tensor forward(const Tensor& input) override;
    /// "Dropout2d(p=...)".
    std::string describe() const override;

private:
    double p_;
};

// ---- Bilinear ------------------------------------------------------------------------------

/// y_k = x1ᵀ A_k x2 + b_k over the last axes (torch.nn.functional.bilinear),
/// leading axes being batch axes: one product of x1 with A as an
/// (in1, out · in2) matrix, then a sum against x2.
/// @param x1 (*, in1), a float tensor
/// @param x2 (*, in2), the same leading shape and dtype
/// @param weight (out, in1, in2), the same dtype
/// @param bias (out,), or undefined for none
/// @throws rg::Error when weight is not 3-D, the last sizes do not match it,
/// the leading shapes differ, bias is not (out,), or the dtypes differ or are not floating
Tensor bilinear(const Tensor& x1, const Tensor& x2, const Tensor& weight, const Tensor& bias = {});

/// A bilinear layer (torch.nn.Bilinear): weight (out, in1, in2) and bias
/// (out,), both uniform in ±1/√in1 at first, as PyTorch. Two inputs: call it
/// as bilinear_layer(x1, x2).
class Bilinear : public Callable<Bilinear> {
public:
    /// @param in1_features x1's last size, > 0
    /// @param in2_features x2's last size, > 0
    /// @param out_features the output's last size, > 0
    /// @param bias whether the layer adds a bias
    /// @throws rg::Error when a size is 0
    Bilinear(std::size_t in1_features, std::size_t in2_features, std::size_t out_features, bool bias = true);
    /// bilinear(x1, x2, weight, bias).
    /// @param x1 (*, in1_features)
    /// @param x2 (*, in2_features)
    /// @throws rg::Error as bilinear
    Tensor forward(const Tensor& x1, const Tensor& x2);
    /// "Bilinear(in1_features=a, in2_features=b, out_features=c)", with ", bias=false" without bias.
    std::string describe() const override;
    /// The weight (out, in1, in2), uniform in ±1/√in1 at first.
    Tensor weight;
    /// The bias (out,), uniform in ±1/√in1 at first; undefined without bias.
    Tensor bias;
};

// ---- padding modules -----------------------------------------------------------------------

/// The padding modules' common part: rg::pad with fixed amounts, mode and
/// value. Amounts are in PyTorch's order, (left, right) for the last axis then
/// (top, bottom) for the one before.
class PadLayer : public Module {
public:
    /// pad(input, padding, mode, value), its errors naming the module.
    /// @param input for the reflect, replicate and circular modes (N, C, ...) or
    /// (C, ...) with as many trailing axes as the module pads; any rank for a constant
    /// @throws rg::Error as rg::pad
    Tensor forward(const Tensor& input) override;
    /// "ReflectionPad2d((l, r, t, b))", with the value for a constant.
    std::string describe() const override;
    /// The amounts, (left, right[, top, bottom]).
    const std::vector<std::int64_t>& padding() const { return padding_; }

protected:
    /// For the padding modules.
    /// @param kind the class's name, for messages
    /// @param padding the amounts, in pad's order
    /// @param mode the fill
    /// @param value the constant (PadMode::constant only)
    /// @throws rg::Error when a non-constant mode is given a negative amount
    PadLayer(const char* kind, std::vector<std::int64_t> padding, PadMode mode, double value);

private:
    const char* kind_;
    std::vector<std::int64_t> padding_;
    PadMode mode_;
    double value_;
};

/// (left, right): the amounts of a 1-D padding module.
using Padding1d = std::array<std::int64_t, 2>;
/// (left, right, top, bottom): the amounts of a 2-D padding module.
using Padding2d = std::array<std::int64_t, 4>;

/// Pads the last axis with a constant (torch.nn.ConstantPad1d); a negative amount crops.
class ConstantPad1d : public PadLayer {
public:
    /// @param padding (left, right)
    /// @param value the constant
    ConstantPad1d(Padding1d padding, double value);
    /// @param padding both sides
    /// @param value the constant
    ConstantPad1d(std::int64_t padding, double value) : ConstantPad1d(Padding1d{padding, padding}, value) {}
};

/// Pads the last two axes with a constant (torch.nn.ConstantPad2d); a negative amount crops.
class ConstantPad2d : public PadLayer {
public:
    /// @param padding (left, right, top, bottom)
    /// @param value the constant
    ConstantPad2d(Padding2d padding, double value);
    /// @param padding every side
    /// @param value the constant
    ConstantPad2d(std::int64_t padding, double value)
        : ConstantPad2d(Padding2d{padding, padding, padding, padding}, value) {}
};

/// Pads the last two axes with zeros (torch.nn.ZeroPad2d); a negative amount crops.
class ZeroPad2d : public PadLayer {
public:
    /// @param padding (left, right, top, bottom)
    explicit ZeroPad2d(Padding2d padding);
    /// @param padding every side
    explicit ZeroPad2d(std::int64_t padding) : ZeroPad2d(Padding2d{padding, padding, padding, padding}) {}
};

/// Mirrors (N, C, L) or (C, L) signals at their ends without repeating the edge (torch.nn.ReflectionPad1d).
class ReflectionPad1d : public PadLayer {
public:
    /// @param padding (left, right), each >= 0 and less than L (checked at forward)
    /// @throws rg::Error when an amount is negative
    explicit ReflectionPad1d(Padding1d padding);
    /// @param padding both sides
    /// @throws rg::Error when the amount is negative
    explicit ReflectionPad1d(std::int64_t padding) : ReflectionPad1d(Padding1d{padding, padding}) {}
};

/// Mirrors (N, C, H, W) or (C, H, W) images at their borders without repeating the edge
/// (torch.nn.ReflectionPad2d).
class ReflectionPad2d : public PadLayer {
public:
    /// @param padding (left, right, top, bottom), each >= 0 and less than its axis's size (checked at forward)
    /// @throws rg::Error when an amount is negative
    explicit ReflectionPad2d(Padding2d padding);
    /// @param padding every side
    /// @throws rg::Error when the amount is negative
    explicit ReflectionPad2d(std::int64_t padding) : ReflectionPad2d(Padding2d{padding, padding, padding, padding}) {}
};

/// Repeats the end values of (N, C, L) or (C, L) signals (torch.nn.ReplicationPad1d).
class ReplicationPad1d : public PadLayer {
public:
    /// @param padding (left, right), each >= 0
    /// @throws rg::Error when an amount is negative
    explicit ReplicationPad1d(Padding1d padding);
    /// @param padding both sides
    /// @throws rg::Error when the amount is negative
    explicit ReplicationPad1d(std::int64_t padding) : ReplicationPad1d(Padding1d{padding, padding}) {}
};

/// Repeats the border values of (N, C, H, W) or (C, H, W) images (torch.nn.ReplicationPad2d).
class ReplicationPad2d : public PadLayer {
public:
    /// @param padding (left, right, top, bottom), each >= 0
    /// @throws rg::Error when an amount is negative
    explicit ReplicationPad2d(Padding2d padding);
    /// @param padding every side
    /// @throws rg::Error when the amount is negative
    explicit ReplicationPad2d(std::int64_t padding) : ReplicationPad2d(Padding2d{padding, padding, padding, padding}) {}
};

/// Wraps (N, C, L) or (C, L) signals around (torch.nn.CircularPad1d of PyTorch 2.1; 1.13 has only F.pad's mode).
class CircularPad1d : public PadLayer {
public:
    /// @param padding (left, right), each >= 0 and at most L (checked at forward)
    /// @throws rg::Error when an amount is negative
    explicit CircularPad1d(Padding1d padding);
    /// @param padding both sides
    /// @throws rg::Error when the amount is negative
    explicit CircularPad1d(std::int64_t padding) : CircularPad1d(Padding1d{padding, padding}) {}
};

/// Wraps (N, C, H, W) or (C, H, W) images around (torch.nn.CircularPad2d of PyTorch 2.1).
class CircularPad2d : public PadLayer {
public:
    /// @param padding (left, right, top, bottom), each >= 0 and at most its axis's size (checked at forward)
    /// @throws rg::Error when an amount is negative
    explicit CircularPad2d(Padding2d padding);
    /// @param padding every side
    /// @throws rg::Error when the amount is negative
    explicit CircularPad2d(std::int64_t padding) : CircularPad2d(Padding2d{padding, padding, padding, padding}) {}
};

}  // namespace rg::nn
