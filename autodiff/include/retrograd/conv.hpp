#pragma once
// Convolution and pooling on NCHW tensors (batch, channels, height, width), as
// PyTorch. float32 convolutions run oneDNN's direct convolutions where they
// are faster, else (and float64 always) each image's patches (im2col) times
// the weight in one GEMM. The gradients of conv2d are the ops
// conv2d_input_grad and conv2d_weight_grad, whose own VJPs are convolutions
// again, so second order works.
#include <retrograd/ops.hpp>

#include <array>
#include <utility>

namespace rg {

/// Two sizes, (height, width): a kernel, a stride, a padding...
using Size2 = std::array<std::size_t, 2>;  // (height, width)

// One set of options for the function conv2d and the layer nn::Conv2d.
/// The options of conv2d and nn::Conv2d, as torch::nn::functional::Conv2dFuncOptions
/// (with the layer's `bias` flag): {.stride = {2, 2}, .padding = {1, 1}}.
struct Conv2dOptions {
    /// The step between windows, > 0.
    Size2 stride{1, 1};
    /// Pixels added on each side (filled as padding_mode says); used with Rule::explicit_sizes.
    Size2 padding{0, 0};  // zeros added on each side
    /// The spacing between kernel elements, > 0.
    Size2 dilation{1, 1};
    /// nn::Conv2d only: whether the layer has a bias (the function takes its bias as an argument).
    bool bias = true;  // nn::Conv2d only: whether the layer has a bias (the function takes its bias as an argument)
    // Channels split into this many independent convolutions (PyTorch's
    // groups): the weight is (O, C / groups, kh, kw); C and O divisible by it.
    /// Channels split into this many independent convolutions (PyTorch's
    /// groups): the weight is (O, C / groups, kh, kw); C and O divisible by it.
    std::size_t groups = 1;
    // PyTorch's padding="same" (the output keeps the input's size; stride 1
    // only; an odd total puts the extra pixel right and bottom) or "valid" (no
    // padding); `padding` is then not used.
    /// How the padding is chosen: `padding` (explicit_sizes), PyTorch's padding="same"
    /// (the output keeps the input's size; stride 1 only; an odd total puts the
    /// extra pixel right and bottom) or "valid" (none).
    enum class Rule {
        explicit_sizes,  ///< `padding` on each side
        same,  ///< the output keeps the input's size (stride 1)
        valid  ///< no padding
    };
    /// Which Rule chooses the padding (explicit_sizes: `padding`).
    Rule padding_rule = Rule::explicit_sizes;
    // What the padding holds: zeros (constant), or pad's reflect, replicate or circular, as nn.Conv2d's padding_mode.
    /// What the padding holds: zeros (constant), or pad's reflect, replicate or
    /// circular, as nn.Conv2d's padding_mode.
    PadMode padding_mode = PadMode::constant;
};

// Patches of x (N, C, H, W) as columns: (N, C*kh*kw, OH*OW), row c*kh*kw + i*kw + j.
/// The patches of NCHW images as columns: (N, C, H, W) -> (N, C*kh*kw, OH*OW),
/// row c*kh*kw + i*kw + j (torch.nn.functional.unfold). VJP: col2im.
/// @param x a float tensor (N, C, H, W)
/// @param kernel (kh, kw)
/// @param options stride, padding (zeros), dilation
/// @throws rg::Error when x is not 4-D, the kernel, stride or dilation is 0, or the kernel spans more than the padded
/// input
Tensor im2col(const Tensor& x, Size2 kernel, Conv2dOptions options = {});
// The adjoint of im2col: sums columns back into an image of `image_shape` (N, C, H, W).
/// The adjoint of im2col: columns summed back into images of `image_shape`,
/// overlapping patches adding up (torch.nn.functional.fold). VJP: im2col.
/// @param columns (N, C*kh*kw, OH*OW)
/// @param image_shape (N, C, H, W)
/// @param kernel (kh, kw)
/// @param options stride, padding, dilation
/// @throws rg::Error when columns' shape does not match, or as im2col
Tensor col2im(const Tensor& columns, const Shape& image_shape, Size2 kernel, Conv2dOptions options = {});

// The padding of each side, in pad's order (left, right, top, bottom), that
// options ask for with a kernel of this size: explicit, same or valid.
/// The padding of each side, in pad's order (left, right, top, bottom), that
/// options ask for with a kernel of this size: explicit, same or valid.
/// @param kernel (kh, kw)
/// @param options padding, padding_rule, stride, dilation
/// @param op the op named in the error
/// @throws rg::Error when "same" is asked with a stride other than 1
std::array<std::int64_t, 4> conv2d_padding(Size2 kernel, const Conv2dOptions& options, const char* op);

// x (N, C, H, W) * weight (O, C / groups, kh, kw) [+ bias (O,)] -> (N, O, OH, OW);
// a cross-correlation, as in every deep-learning library.
/// 2-D cross-correlation, as torch::nn::functional::conv2d:
/// x (N, C, H, W) * weight (O, C / groups, kh, kw) [+ bias (O,)] -> (N, O, OH, OW).
/// VJP: dx = conv2d_input_grad(g, W), dW = conv2d_weight_grad(g, x), db = g
/// summed over images and pixels. Unlike LibTorch, the input must be batched (4-D).
/// @param x a float tensor (N, C, H, W)
/// @param weight (O, C / groups, kh, kw), x's dtype
/// @param bias (O,), or undefined for none
/// @param options stride, padding, dilation, groups, padding rule and mode
/// @throws rg::Error when x or weight is not 4-D, the channels do not match,
/// groups does not divide them, bias is not (O,), "same" has a stride other
/// than 1, or the kernel, stride or dilation is 0, or the kernel spans more than the padded input
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, Conv2dOptions options = {});

/// relu(conv2d(x, weight, bias, options)) as one op, the same values: on the
/// im2col path each image's output goes through the ReLU while it is still
/// in cache, and the backward pass masks the gradient image by image and
/// computes the bias, weight and input gradients from it there, so the
/// (N, O, OH, OW) pre-activation is never written nor read again. Under
/// recording of the backward pass (create_graph), in bfloat16, or where a
/// pass runs through oneDNN, it takes relu's and conv2d's own gradients.
/// nn::Sequential calls it for a Conv2d followed by a ReLU.
/// VJP: dZ = g where y > 0, else 0; then conv2d's with dZ.
/// @param x a float tensor (N, C, H, W)
/// @param weight (O, C / groups, kh, kw), x's dtype
/// @param bias (O,), or undefined for none
/// @param options as conv2d's
/// @throws rg::Error as conv2d
Tensor conv2d_relu(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, Conv2dOptions options = {});

// The gradient of conv2d with respect to its input (a transposed
// convolution): grad (N, O, OH, OW) and weight (O, C, kh, kw) -> input_shape
// (N, C, H, W), col2im(Wᵀ grad). As PyTorch's torch.nn.grad.conv2d_input.
/// The gradient of conv2d with respect to its input (a transposed convolution,
/// col2im(Wᵀ grad)), as torch.nn.grad.conv2d_input. Its own VJP is conv2d
/// and conv2d_weight_grad, so second order works.
/// @param grad the output's gradient (N, O, OH, OW)
/// @param weight (O, C / groups, kh, kw)
/// @param input_shape (N, C, H, W)
/// @param options those of the forward conv2d
/// @throws rg::Error when grad's shape is not the forward's output shape, or as conv2d
Tensor conv2d_input_grad(const Tensor& grad, const Tensor& weight, const Shape& input_shape,
                         Conv2dOptions options = {});
// The gradient of conv2d with respect to its weight: grad (N, O, OH, OW) and
// input x (N, C, H, W) -> weight_shape (O, C, kh, kw), Σ_n grad_n im2col(x_n)ᵀ.
// As PyTorch's torch.nn.grad.conv2d_weight.
/// The gradient of conv2d with respect to its weight, Σ_n grad_n im2col(x_n)ᵀ,
/// as torch.nn.grad.conv2d_weight. Its own VJP is conv2d and conv2d_input_grad.
/// @param grad the output's gradient (N, O, OH, OW)
/// @param x the forward's input (N, C, H, W)
/// @param weight_shape (O, C / groups, kh, kw)
/// @param options those of the forward conv2d
/// @throws rg::Error when grad's shape is not the forward's output shape, or as conv2d
Tensor conv2d_weight_grad(const Tensor& grad, const Tensor& x, const Shape& weight_shape, Conv2dOptions options = {});

/// The options of max_pool2d and avg_pool2d (and nn::MaxPool2d, nn::AvgPool2d), as PyTorch's.
struct Pool2dOptions {
    /// The step between windows; 0: the kernel size (PyTorch's default).
    Size2 stride{0, 0};  // 0: the kernel size
    /// Pixels added on each side, at most half the kernel.
    Size2 padding{0, 0};
    // The options below, as PyTorch's, are composed from pad, im2col and
    // gather (pool_options.cpp) when they differ from their defaults.
    /// max_pool2d only: spacing between window elements.
    Size2 dilation{1, 1};  // max_pool2d only: spacing between window elements
    /// Round the output size up: a last, partial window where the input allows one.
    bool ceil_mode = false;  // round the output size up: a last, partial window where the input allows one
    /// avg_pool2d only: false divides by the pixels of the window inside the image.
    bool count_include_pad = true;  // avg_pool2d only: false divides by the pixels of the window inside the image
    /// avg_pool2d only: divide every window's sum by this, if not 0.
    std::size_t divisor_override = 0;  // avg_pool2d only: divide every window's sum by this, if not 0
};
// Maximum over each window; the gradient goes to the window's (first) maximum.
/// The maximum over each window of NCHW images (torch::nn::functional::max_pool2d).
/// VJP: g routed to each window's (first) maximum, 0 elsewhere.
/// @param x a float tensor (N, C, H, W)
/// @param kernel (kh, kw)
/// @param options stride, padding, dilation, ceil_mode
/// @throws rg::Error when x is not 4-D, the padding exceeds half the kernel, or the kernel, stride or dilation is 0, or
/// the kernel spans more than the padded input
Tensor max_pool2d(const Tensor& x, Size2 kernel, Pool2dOptions options = {});

/// max_pool2d(relu(conv2d(x, weight, bias, conv)), kernel, pool) as one op,
/// the same values and gradients: on the im2col path each image's
/// convolution stays in a buffer the size of one image's output, where the
/// ReLU and the pool read it, and the backward pass rebuilds each image's
/// pre-activation gradient there from the pooled gradient and the positions
/// of the maxima; the (N, O, OH, OW) activation is never written. Where the
/// convolution runs through oneDNN, the pool needs composing (dilation,
/// ceil_mode), or in bfloat16, it is max_pool2d(conv2d_relu(...)). Under
/// recording of the backward pass (create_graph) its gradients are ops.
/// nn::Sequential calls it for a Conv2d, a ReLU and a MaxPool2d in a row.
/// VJP: dZ = g (where y > 0) routed to each window's maximum, 0 elsewhere;
/// then conv2d's with dZ.
/// @param x a float tensor (N, C, H, W)
/// @param weight (O, C / groups, kh, kw), x's dtype
/// @param bias (O,), or undefined for none
/// @param conv the convolution's options, as conv2d's
/// @param kernel the pool's window (kh, kw)
/// @param pool the pool's options, as max_pool2d's
/// @throws rg::Error as conv2d and max_pool2d
Tensor conv2d_relu_max_pool2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions conv,
                              Size2 kernel, Pool2dOptions pool = {});
// Mean over each window (padding counts as zeros, as PyTorch's default).
/// The mean over each window of NCHW images, padding counted as zeros by
/// default (torch::nn::functional::avg_pool2d). VJP: avg_pool2d_backward.
/// @param x a float tensor (N, C, H, W)
/// @param kernel (kh, kw)
/// @param options stride, padding, ceil_mode, count_include_pad, divisor_override
/// @throws rg::Error when x is not 4-D, the padding exceeds half the kernel, or the kernel, stride or dilation is 0, or
/// the kernel spans more than the padded input
Tensor avg_pool2d(const Tensor& x, Size2 kernel, Pool2dOptions options = {});
// max_pool2d's values and, as PyTorch's return_indices, the int64 position
// of each maximum in its input plane, h * W + w (for max_unpool2d).
/// max_pool2d's values and, as PyTorch's return_indices, the int64 position of
/// each maximum in its input plane, h * W + w (for max_unpool2d).
/// @param x a float tensor (N, C, H, W)
/// @param kernel (kh, kw)
/// @param options as max_pool2d
/// @return (values, indices)
/// @throws rg::Error as max_pool2d
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, Size2 kernel, Pool2dOptions options = {});
// Means over an (OH, OW) grid of windows of each plane, PyTorch's
// adaptive_avg_pool2d: window i spans [floor(i H / OH), ceil((i + 1) H / OH)).
/// Means over an (OH, OW) grid of windows of each plane, PyTorch's
/// adaptive_avg_pool2d: window i spans [floor(i H / OH), ceil((i + 1) H / OH)).
/// @param x a float tensor (N, C, H, W) or (C, H, W)
/// @param output_size (OH, OW), positive
/// @throws rg::Error when x is not 3-D or 4-D, not floating, has empty planes, or an output size is 0
Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size);
// The gradient of avg_pool2d with respect to its input: grad (N, C, OH, OW)
// -> input_shape (N, C, H, W), each output's gradient shared by its window.
/// The gradient of avg_pool2d with respect to its input: grad (N, C, OH, OW)
/// -> input_shape (N, C, H, W), each output's gradient shared by its window.
/// @param grad the output's gradient
/// @param input_shape the forward's input shape
/// @param kernel (kh, kw)
/// @param options stride and padding of the forward
/// @throws rg::Error when grad's shape does not match, or options use ceil_mode,
/// count_include_pad = false or divisor_override (composed from other ops, they need no backward op)
Tensor avg_pool2d_backward(const Tensor& grad, const Shape& input_shape, Size2 kernel, Pool2dOptions options = {});

// Output size of a convolution or pooling along one axis.
/// The output size of a convolution or pooling along one axis:
/// (input + 2 padding - dilation (kernel - 1) - 1) / stride + 1.
/// @param input the input's size
/// @param kernel the kernel's size, > 0
/// @param stride the stride, > 0
/// @param padding on each side
/// @param dilation the kernel's spacing, > 0
/// @param op the op named in the error
/// @throws rg::Error when kernel, stride or dilation is 0, or the kernel spans
/// more than the padded input
std::size_t conv_output_size(std::size_t input, std::size_t kernel, std::size_t stride, std::size_t padding,
                             std::size_t dilation, const char* op);

}  // namespace rg
