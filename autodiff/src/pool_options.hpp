#pragma once
// PyTorch's pooling options beyond stride and padding (dilation, ceil_mode,
// count_include_pad, divisor_override), composed from tape ops.
#include <retrograd/conv.hpp>

namespace rg::detail {

bool max_pool_needs_composition(const Pool2dOptions& options);
bool avg_pool_needs_composition(const Pool2dOptions& options);
Tensor max_pool2d_composed(const Tensor& x, Size2 kernel, const Pool2dOptions& options);
Tensor avg_pool2d_composed(const Tensor& x, Size2 kernel, const Pool2dOptions& options);

}  // namespace rg::detail
