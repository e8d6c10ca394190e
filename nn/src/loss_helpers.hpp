#pragma once
// What the loss files share: the shape check and the reduction (losses.cpp).
#include <retrograd/nn/losses.hpp>

namespace rg::nn::detail {

// The mean, the sum or the per-element losses themselves, times scale.
Tensor reduce(const Tensor& loss, Reduction reduction, double scale = 1.0);

// Refuses undefined tensors, and shapes or dtypes that differ, naming the loss:
// the losses do not broadcast where PyTorch would only warn.
void same_shape(const Tensor& input, const Tensor& target, const char* op);

}  // namespace rg::nn::detail
