#pragma once
/// @file
/// Conv1d, ConvTranspose1d, ConvTranspose2d, Upsample, Unfold and Fold with
/// PyTorch 1.13's semantics, parameter names and shapes (weight, bias), so
/// that a state dict saved from torch.nn loads unchanged. Each forward is one
/// call of an rg op (<retrograd/spatial.hpp>); none has a backward of its own.
#include <retrograd/nn/module.hpp>
#include <retrograd/spatial.hpp>

#include <string>

namespace rg::nn {

/// A 1-D convolution over (N, C, L) signals, as torch.nn.Conv1d: weight
/// (out, in / groups, k) and bias (out,), both initialised uniform in
/// ±1/√(in / groups · k) as PyTorch.
class Conv1d : public Module {
public:
    /// @param in_channels C of the input
    /// @param out_channels channels of the output
    /// @param kernel the kernel size k
    /// @param options stride, padding (a size, "same" or "valid"), dilation, groups, bias, padding_mode
    /// @throws rg::Error if a size is 0, groups does not divide both channel
    ///   counts, or padding "same" is asked with a stride
    Conv1d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel, Conv1dOptions options = {});
    /// conv1d(input, weight, bias, options): (N, in, L) -> (N, out, OL).
    /// @param input the signals (N, in, L), of the layer's dtype
    /// @throws rg::Error as rg::conv1d for an input of the wrong shape or dtype
    Tensor forward(const Tensor& input) override;
    /// "Conv1d(in, out, kernel=k, stride=s, padding=p)" and the options that differ from PyTorch's defaults.
    std::string describe() const override;
    Tensor weight;  ///< (out, in / groups, k)
    Tensor bias;  ///< (out,), undefined without a bias
    Conv1dOptions options;  ///< as given to the constructor
};

/// The options of conv_transpose1d and ConvTranspose1d, as torch.nn.ConvTranspose1d's arguments.
struct ConvTranspose1dOptions {
    std::size_t stride = 1;  ///< the stride of the convolution this one transposes
    std::size_t padding = 0;  ///< removed from each end of the output
    /// Added to the end of the output, to pick among the output lengths a
    /// strided convolution maps to the same input length; smaller than the
    /// stride or the dilation.
    std::size_t output_padding = 0;
    std::size_t groups = 1;  ///< channels split into this many independent transposed convolutions
    std::size_t dilation = 1;  ///< spacing between kernel taps
    bool bias = true;  ///< ConvTranspose1d only: whether the layer has a bias
};

/// 1-D transposed convolution, as torch.nn.functional.conv_transpose1d:
/// x (N, C_in, L) or unbatched (C_in, L) and weight (C_in, C_out / groups, k),
/// bias (C_out,) optional -> (N, C_out, OL) or (C_out, OL) with
/// OL = (L - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1.
/// It is rg::conv_transpose2d over images of height 1.
/// @param x the signals, float32 or float64
/// @param weight the filters, of x's dtype
/// @param bias undefined for none, else (C_out,)
/// @param options stride, padding, output_padding, groups, dilation
/// @throws rg::Error if x is not 2-D or 3-D, weight is not 3-D, or as rg::conv_transpose2d
Tensor conv_transpose1d(const Tensor& x, const Tensor& weight, const Tensor& bias = {},
                        ConvTranspose1dOptions options = {});

/// A 1-D transposed convolution, as torch.nn.ConvTranspose1d: weight
/// (in, out / groups, k) and bias (out,), both initialised uniform in
/// ±1/√(out / groups · k) as PyTorch (whose fan-in is the weight's second axis).
class ConvTranspose1d : public Module {
public:
    /// @param in_channels C_in of the input
    /// @param out_channels channels of the output
    /// @param kernel the kernel size k
    /// @param options stride, padding, output_padding, groups, dilation, bias
    /// @throws rg::Error if a size is 0, groups does not divide both channel
    ///   counts, or output_padding is not smaller than the stride or the dilation
    ConvTranspose1d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel,
                    ConvTranspose1dOptions options = {});
    /// conv_transpose1d(input, weight, bias, options): (N, in, L) -> (N, out, OL), or (in, L) -> (out, OL).
    /// @param input the signals (N, in, L) or (in, L), of the layer's dtype
    /// @throws rg::Error as conv_transpose1d for an input of the wrong shape or dtype
    Tensor forward(const Tensor& input) override;
    /// The same with the output's length asked for, as PyTorch's
    /// forward(input, output_size): the output_padding that gives it
    /// replaces the layer's, for this call only. A strided convolution maps
    /// stride lengths to one input length; this picks one of them.
    /// @param input the signals (N, in, L) or (in, L), of the layer's dtype
    /// @param output_size OL, between the length output_padding 0 gives and
    ///   that length + stride - 1
    /// @throws rg::Error if the output size is out of that range, or as forward(input)
    Tensor forward(const Tensor& input, std::size_t output_size);
    /// "ConvTranspose1d(in, out, kernel=k, stride=s)" and the options that differ from the defaults.
    std::string describe() const override;
    Tensor weight;  ///< (in, out / groups, k)
    Tensor bias;  ///< (out,), undefined without a bias
    ConvTranspose1dOptions options;  ///< as given to the constructor
};

/// A 2-D transposed convolution, as torch.nn.ConvTranspose2d: weight
/// (in, out / groups, kh, kw) and bias (out,), both initialised uniform in
/// ±1/√(out / groups · kh · kw) as PyTorch (whose fan-in is the weight's second axis).
class ConvTranspose2d : public Module {
public:
    /// @param in_channels C_in of the input
    /// @param out_channels channels of the output
    /// @param kernel the kernel size (kh, kw)
    /// @param options stride, padding, output_padding, groups, dilation, bias
    /// @throws rg::Error if a size is 0, groups does not divide both channel
    ///   counts, or an output_padding is not smaller than its stride or dilation
    ConvTranspose2d(std::size_t in_channels, std::size_t out_channels, Size2 kernel,
                    ConvTranspose2dOptions options = {});
    /// The same with a square kernel.
    /// @param in_channels C_in of the input
    /// @param out_channels channels of the output
    /// @param kernel the kernel size k x k
    /// @param options as above
    /// @throws rg::Error as above
    ConvTranspose2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel,
                    ConvTranspose2dOptions options = {})
        : ConvTranspose2d(in_channels, out_channels, Size2{kernel, kernel}, options) {}
    /// conv_transpose2d(input, weight, bias, options): (N, in, H, W) -> (N, out, OH, OW).
    /// @param input the images (N, in, H, W), of the layer's dtype
    /// @throws rg::Error as rg::conv_transpose2d for an input of the wrong shape or dtype
    Tensor forward(const Tensor& input) override;
    /// The same with the output's (OH, OW) asked for, as PyTorch's
    /// forward(input, output_size): the output_padding that gives it
    /// replaces the layer's, for this call only. A strided convolution maps
    /// stride sizes to one input size; this picks one of them.
    /// @param input the images (N, in, H, W), of the layer's dtype
    /// @param output_size (OH, OW), each between the size output_padding 0
    ///   gives and that size + stride - 1
    /// @throws rg::Error if an output size is out of that range, or as forward(input)
    Tensor forward(const Tensor& input, Size2 output_size);
    /// "ConvTranspose2d(in, out, kernel=(kh, kw), stride=(sh, sw))" and the options that differ from the defaults.
    std::string describe() const override;
    Tensor weight;  ///< (in, out / groups, kh, kw)
    Tensor bias;  ///< (out,), undefined without a bias
    ConvTranspose2dOptions options;  ///< as given to the constructor
};

/// Resizes signals, images or volumes, as torch.nn.Upsample: rg::interpolate
/// with fixed options (any of its modes). It has no parameters.
class Upsample : public Module {
public:
    /// @param options size or scale_factor, mode, align_corners (checked at the first forward, as PyTorch)
    explicit Upsample(InterpolateOptions options) : options_(std::move(options)) {}
    /// interpolate(input, options).
    /// @param input (N, C, L), (N, C, H, W) or (N, C, D, H, W), as the mode takes
    /// @throws rg::Error as rg::interpolate
    Tensor forward(const Tensor& input) override { return interpolate(input, options_); }
    /// "Upsample(scale_factor=2.0, mode='nearest')" or with size=, as PyTorch prints it.
    std::string describe() const override;

private:
    InterpolateOptions options_;
};

/// The sliding windows of images as columns, as torch.nn.Unfold: rg::unfold
/// with fixed options, (N, C, H, W) -> (N, C kh kw, L) or (C, H, W) -> (C kh kw, L).
/// It has no parameters.
class Unfold : public Module {
public:
    /// @param kernel the window size (kh, kw) (checked at the first forward, as PyTorch)
    /// @param options dilation, padding and stride
    explicit Unfold(Size2 kernel, FoldOptions options = {}) : kernel_(kernel), options_(options) {}
    /// The same with a square window.
    /// @param kernel the window size k x k
    /// @param options dilation, padding and stride
    explicit Unfold(std::size_t kernel, FoldOptions options = {}) : Unfold(Size2{kernel, kernel}, options) {}
    /// unfold(input, kernel, options).
    /// @param input the images (N, C, H, W) or (C, H, W)
    /// @throws rg::Error as rg::unfold
    Tensor forward(const Tensor& input) override { return unfold(input, kernel_, options_); }
    /// "Unfold(kernel=(kh, kw))" and the options that differ from the defaults.
    std::string describe() const override;

private:
    Size2 kernel_;
    FoldOptions options_;
};

/// Sums columns of windows back into images, as torch.nn.Fold: rg::fold with
/// fixed options, (N, C kh kw, L) -> (N, C, H, W) or (C kh kw, L) -> (C, H, W).
/// It has no parameters.
class Fold : public Module {
public:
    /// @param output_size the image size (H, W)
    /// @param kernel the window size (kh, kw) (both checked at the first forward, as PyTorch)
    /// @param options dilation, padding and stride
    Fold(Size2 output_size, Size2 kernel, FoldOptions options = {})
        : output_size_(output_size), kernel_(kernel), options_(options) {}
    /// fold(input, output_size, kernel, options).
    /// @param input the columns (N, C kh kw, L) or (C kh kw, L)
    /// @throws rg::Error as rg::fold, also when L is not the number of windows of an output_size image
    Tensor forward(const Tensor& input) override { return fold(input, output_size_, kernel_, options_); }
    /// "Fold(output_size=(H, W), kernel=(kh, kw))" and the options that differ from the defaults.
    std::string describe() const override;

private:
    Size2 output_size_;
    Size2 kernel_;
    FoldOptions options_;
};

}  // namespace rg::nn
