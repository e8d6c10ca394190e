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

using Size2 = std::array<std::size_t, 2>;  // (height, width)

// One set of options for the function conv2d and the layer nn::Conv2d.
struct Conv2dOptions {
    Size2 stride{1, 1};
    Size2 padding{0, 0};  // zeros added on each side
    Size2 dilation{1, 1};
    bool bias = true;  // nn::Conv2d only: whether the layer has a bias (the function takes its bias as an argument)
    // Channels split into this many independent convolutions (PyTorch's
    // groups): the weight is (O, C / groups, kh, kw); C and O divisible by it.
    std::size_t groups = 1;
    // PyTorch's padding="same" (the output keeps the input's size; stride 1
    // only; an odd total puts the extra pixel right and bottom) or "valid" (no
    // padding); `padding` is then not used.
    enum class Rule { explicit_sizes, same, valid } padding_rule = Rule::explicit_sizes;
    // What the padding holds: zeros (constant), or pad's reflect, replicate or circular, as nn.Conv2d's padding_mode.
    PadMode padding_mode = PadMode::constant;
};

// Patches of x (N, C, H, W) as columns: (N, C*kh*kw, OH*OW), row c*kh*kw + i*kw + j.
Tensor im2col(const Tensor& x, Size2 kernel, Conv2dOptions options = {});
// The adjoint of im2col: sums columns back into an image of `image_shape` (N, C, H, W).
Tensor col2im(const Tensor& columns, const Shape& image_shape, Size2 kernel, Conv2dOptions options = {});

// The padding of each side, in pad's order (left, right, top, bottom), that
// options ask for with a kernel of this size: explicit, same or valid.
std::array<std::int64_t, 4> conv2d_padding(Size2 kernel, const Conv2dOptions& options, const char* op);

// x (N, C, H, W) * weight (O, C / groups, kh, kw) [+ bias (O,)] -> (N, O, OH, OW);
// a cross-correlation, as in every deep-learning library.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, Conv2dOptions options = {});

// The gradient of conv2d with respect to its input (a transposed
// convolution): grad (N, O, OH, OW) and weight (O, C, kh, kw) -> input_shape
// (N, C, H, W), col2im(Wᵀ grad). As PyTorch's torch.nn.grad.conv2d_input.
Tensor conv2d_input_grad(const Tensor& grad, const Tensor& weight, const Shape& input_shape,
                         Conv2dOptions options = {});
// The gradient of conv2d with respect to its weight: grad (N, O, OH, OW) and
// input x (N, C, H, W) -> weight_shape (O, C, kh, kw), Σ_n grad_n im2col(x_n)ᵀ.
// As PyTorch's torch.nn.grad.conv2d_weight.
Tensor conv2d_weight_grad(const Tensor& grad, const Tensor& x, const Shape& weight_shape, Conv2dOptions options = {});

struct Pool2dOptions {
    Size2 stride{0, 0};  // 0: the kernel size
    Size2 padding{0, 0};
    // The options below, as PyTorch's, are composed from pad, im2col and
    // gather (pool_options.cpp) when they differ from their defaults.
    Size2 dilation{1, 1};  // max_pool2d only: spacing between window elements
    bool ceil_mode = false;  // round the output size up: a last, partial window where the input allows one
    bool count_include_pad = true;  // avg_pool2d only: false divides by the pixels of the window inside the image
    std::size_t divisor_override = 0;  // avg_pool2d only: divide every window's sum by this, if not 0
};
// Maximum over each window; the gradient goes to the window's (first) maximum.
Tensor max_pool2d(const Tensor& x, Size2 kernel, Pool2dOptions options = {});
// Mean over each window (padding counts as zeros, as PyTorch's default).
Tensor avg_pool2d(const Tensor& x, Size2 kernel, Pool2dOptions options = {});
// max_pool2d's values and, as PyTorch's return_indices, the int64 position
// of each maximum in its input plane, h * W + w (for max_unpool2d).
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, Size2 kernel, Pool2dOptions options = {});
// Means over an (OH, OW) grid of windows of each plane, PyTorch's
// adaptive_avg_pool2d: window i spans [floor(i H / OH), ceil((i + 1) H / OH)).
Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size);
// The gradient of avg_pool2d with respect to its input: grad (N, C, OH, OW)
// -> input_shape (N, C, H, W), each output's gradient shared by its window.
Tensor avg_pool2d_backward(const Tensor& grad, const Shape& input_shape, Size2 kernel, Pool2dOptions options = {});

// Output size of a convolution or pooling along one axis.
std::size_t conv_output_size(std::size_t input, std::size_t kernel, std::size_t stride, std::size_t padding,
                             std::size_t dilation, const char* op);

}  // namespace rg
