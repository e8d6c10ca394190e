// PyTorch's padding="same"/"valid" and padding modes for conv2d, composed:
// pad (any mode), then a convolution without padding.
#include "conv_padding.hpp"

#include <retrograd/error.hpp>

namespace rg {

std::array<std::int64_t, 4> conv2d_padding(Size2 kernel, const Conv2dOptions& o, const char* op) {
    using Rule = Conv2dOptions::Rule;
    if (o.padding_rule == Rule::valid) return {0, 0, 0, 0};
    if (o.padding_rule == Rule::explicit_sizes) {
        const auto h = static_cast<std::int64_t>(o.padding[0]), w = static_cast<std::int64_t>(o.padding[1]);
        return {w, w, h, h};
    }
    if (o.stride[0] != 1 || o.stride[1] != 1)
        fail("{}: padding \"same\" needs stride 1, as PyTorch, got stride ({}, {})", op, o.stride[0], o.stride[1]);
    // The total is dilation (k - 1); an odd total puts the extra pixel after, as PyTorch.
    std::array<std::int64_t, 4> pads{};
    for (std::size_t a = 0; a < 2; ++a) {
        const auto total = static_cast<std::int64_t>(o.dilation[a] * (kernel[a] - (kernel[a] > 0 ? 1 : 0)));
        const std::size_t slot = a == 0 ? 2 : 0;  // pad's order: width first
        pads[slot] = total / 2;
        pads[slot + 1] = total - total / 2;
    }
    return pads;
}

namespace detail {

Tensor conv2d_padded_first(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options) {
    Conv2dOptions inner = options;
    inner.padding_rule = Conv2dOptions::Rule::explicit_sizes;
    inner.padding_mode = PadMode::constant;
    if (weight.dim() != 4 || x.dim() != 4) return conv2d(x, weight, bias, inner);  // its own shape errors
    const auto pads = conv2d_padding({weight.shape()[2], weight.shape()[3]}, options, "conv2d");
    if (options.padding_mode == PadMode::constant && pads[0] == pads[1] && pads[2] == pads[3]) {
        inner.padding = {static_cast<std::size_t>(pads[2]), static_cast<std::size_t>(pads[0])};
        return conv2d(x, weight, bias, inner);
    }
    inner.padding = {0, 0};
    return conv2d(pad(x, {pads[0], pads[1], pads[2], pads[3]}, options.padding_mode), weight, bias, inner);
}

}  // namespace detail
}  // namespace rg
