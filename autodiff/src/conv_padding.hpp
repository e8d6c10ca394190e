#pragma once
// conv2d with padding="same"/"valid" or a padding mode other than zeros: the
// input is padded first (pad_modes.cpp), then convolved without padding.
#include <retrograd/conv.hpp>

namespace rg::detail {

Tensor conv2d_padded_first(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options);

}  // namespace rg::detail
