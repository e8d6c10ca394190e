#pragma once
/// @file
/// Spatial ops beyond conv2d, with PyTorch's argument meanings and weight
/// layouts: conv1d, conv_transpose2d, unfold and fold (torch's im2col and
/// col2im), and interpolate. Each is built on conv2d's ops (conv1d is conv2d
/// on images of height 1, conv_transpose2d is conv2d's input gradient) or on
/// index_select, so their gradients work at every order.
#include <retrograd/conv.hpp>

#include <vector>

namespace rg {

/// The options of rg::conv1d and nn::Conv1d, as torch.nn.functional.conv1d's
/// arguments and nn.Conv1d's.
struct Conv1dOptions {
    std::size_t stride = 1;  ///< step between windows
    std::size_t padding = 0;  ///< added on each side (with padding_rule explicit_sizes)
    std::size_t dilation = 1;  ///< spacing between kernel taps
    bool bias = true;  ///< nn::Conv1d only: whether the layer has a bias
    std::size_t groups = 1;  ///< channels split into this many independent convolutions
    /// "same" (stride 1 only; an odd total puts the extra element right) or
    /// "valid" (no padding), as PyTorch's padding strings; `padding` is then not used.
    Conv2dOptions::Rule padding_rule = Conv2dOptions::Rule::explicit_sizes;
    /// What the padding holds: zeros, or reflect, replicate or circular, as nn.Conv1d's padding_mode.
    PadMode padding_mode = PadMode::constant;
};

/// 1-D cross-correlation, as torch.nn.functional.conv1d: x (N, C, L) and
/// weight (O, C / groups, k), bias (O,) optional -> (N, O, OL).
/// @param x the signals, float32 or float64
/// @param weight the filters, of x's dtype
/// @param bias undefined for none, else (O,)
/// @param options stride, padding, dilation, groups, padding rule and mode
/// @throws rg::Error if x or weight is not 3-D, the channels do not match the
///   weight and groups, the bias is not (O,), the kernel spans more than the
///   padded input, "same" is asked with a stride, or the dtypes differ or are
///   not float32/float64
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, Conv1dOptions options = {});

/// The options of rg::conv_transpose2d and nn::ConvTranspose2d, as
/// torch.nn.functional.conv_transpose2d's arguments.
struct ConvTranspose2dOptions {
    Size2 stride{1, 1};  ///< the stride of the convolution this one transposes
    Size2 padding{0, 0};  ///< removed from each side of the output (dilation (k - 1) - padding zeros around the input)
    /// Added to one side (bottom, right) of the output, to pick among the
    /// output sizes a strided convolution maps to the same input size; each
    /// must be smaller than the stride or the dilation of its axis.
    Size2 output_padding{0, 0};
    std::size_t groups = 1;  ///< channels split into this many independent transposed convolutions
    Size2 dilation{1, 1};  ///< spacing between kernel taps
    bool bias = true;  ///< nn::ConvTranspose2d only: whether the layer has a bias
};

/// 2-D transposed convolution, as torch.nn.functional.conv_transpose2d:
/// x (N, C_in, H, W) and weight (C_in, C_out / groups, kh, kw), bias
/// (C_out,) optional -> (N, C_out, OH, OW) with
/// OH = (H - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1.
/// It is the gradient of conv2d with respect to its input (rg::conv2d_input_grad).
/// @param x the images, float32 or float64
/// @param weight the filters, of x's dtype
/// @param bias undefined for none, else (C_out,)
/// @param options stride, padding, output_padding, groups, dilation
/// @throws rg::Error if x or weight is not 4-D, C_in differs from the
///   weight's first axis or is not divisible by groups, the bias is not
///   (C_out,), an output_padding is not smaller than its stride or dilation,
///   the output would be empty, or the dtypes differ or are not float32/float64
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {},
                        ConvTranspose2dOptions options = {});

/// The window options of rg::unfold and rg::fold, as torch.nn.functional.unfold's.
struct FoldOptions {
    Size2 dilation{1, 1};  ///< spacing between window elements
    Size2 padding{0, 0};  ///< zeros added on each side
    Size2 stride{1, 1};  ///< step between windows
};

/// The sliding windows of images as columns, as torch.nn.functional.unfold
/// (im2col): x (N, C, H, W) or (C, H, W) -> (N, C kh kw, L) or (C kh kw, L),
/// L the number of windows; row c kh kw + i kw + j holds window element (i, j)
/// of channel c.
/// @param x the images, float32 or float64
/// @param kernel the window size (kh, kw)
/// @param options dilation, padding and stride
/// @throws rg::Error if x is not 3-D or 4-D, the kernel, dilation or stride
///   has a zero, or the window spans more than the padded image
Tensor unfold(const Tensor& x, Size2 kernel, FoldOptions options = {});

/// Sums columns of windows back into images, as torch.nn.functional.fold
/// (col2im, unfold's adjoint): columns (N, C kh kw, L) or (C kh kw, L) ->
/// (N, C, H, W) or (C, H, W) with (H, W) = output_size; overlapping window
/// elements add up.
/// @param columns the columns, float32 or float64
/// @param output_size the image size (H, W)
/// @param kernel the window size (kh, kw)
/// @param options dilation, padding and stride
/// @throws rg::Error if columns is not 2-D or 3-D, its rows are not a
///   multiple of kh kw, or its L differs from the number of windows of an
///   output_size image
Tensor fold(const Tensor& columns, Size2 output_size, Size2 kernel, FoldOptions options = {});

/// How rg::interpolate computes each output element (PyTorch's mode strings).
enum class InterpolateMode {
    nearest,  ///< the input element at floor(i · scale), PyTorch's "nearest"; (N, C, L), (N, C, H, W) or (N, C, D, H, W)
    bilinear,  ///< a weighted mean of the four nearest input elements, PyTorch's "bilinear"; (N, C, H, W)
    linear,  ///< the same along one axis, PyTorch's "linear"; (N, C, L)
    trilinear,  ///< the same along three axes (eight elements), PyTorch's "trilinear"; (N, C, D, H, W)
    /// the input element at floor((i + 1/2) · scale), PyTorch's "nearest-exact" (Pillow's and
    /// scikit-image's nearest); the same ranks as nearest
    nearest_exact,
    /// the mean over each output element's window [floor(i · in / out), ceil((i + 1) · in / out)),
    /// PyTorch's "area" (adaptive average pooling); (N, C, L) or (N, C, H, W)
    area,
};

/// PyTorch's string for a mode: "nearest", "bilinear", "linear", "trilinear", "nearest-exact" or "area".
/// @param mode one of rg::InterpolateMode's values
/// @throws rg::Error for a value outside the enumeration
const char* interpolate_mode_name(InterpolateMode mode);

/// The options of rg::interpolate and nn::Upsample, as torch.nn.functional.interpolate's.
struct InterpolateOptions {
    /// The output's spatial size: one value for every spatial axis, or one per
    /// axis. Exactly one of size and scale_factor is given.
    std::vector<std::size_t> size;
    /// The output's spatial size as a multiple of the input's, floor(in ·
    /// scale) (one value, or one per axis); the sampling then uses 1 / scale
    /// as PyTorch does when recompute_scale_factor is not set.
    std::vector<double> scale_factor;
    InterpolateMode mode = InterpolateMode::nearest;  ///< how each output element is computed
    /// linear, bilinear and trilinear only: true maps the corner elements of
    /// input and output onto each other; false (PyTorch's default) maps the
    /// pixels' areas.
    bool align_corners = false;
};

/// Resizes signals, images or volumes, as torch.nn.functional.interpolate
/// of PyTorch 1.13: nearest and nearest_exact on (N, C, L), (N, C, H, W) or
/// (N, C, D, H, W); linear, bilinear and trilinear on the rank each names;
/// area on (N, C, L) or (N, C, H, W).
/// @param x the inputs, float32 or float64
/// @param options size or scale_factor, mode, align_corners
/// @throws rg::Error if both or neither of size and scale_factor are given,
///   either has the wrong count or a value that is not positive and finite,
///   an output size would be 0, x's rank does not suit the mode, or
///   align_corners is asked with a mode other than the linear ones
Tensor interpolate(const Tensor& x, const InterpolateOptions& options);

}  // namespace rg
