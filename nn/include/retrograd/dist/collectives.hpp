#pragma once
// Collectives on tensors, across every rank of the live rg::dist::Environment.
// float32, float64 and int64 tensors of any shape. Every rank must call the
// same collectives in the same order with tensors of the same shape and
// dtype; each call first exchanges a small description of its arguments, so
// a mismatch is an rg::Error naming both ranks' shapes on every rank, not
// undefined behaviour. They block until every rank has arrived (at most the
// Environment's timeout).
#include <retrograd/tensor.hpp>

namespace rg::dist {

enum class ReduceOp { sum, mean, max, min };

// In place: every rank ends with the elementwise sum (mean, max, min) of all
// ranks' tensors. mean is for float dtypes only.
void all_reduce(Tensor& tensor, ReduceOp op = ReduceOp::sum);
// In place: every rank ends with root's values.
void broadcast(Tensor& tensor, int root = 0);
// Every rank's tensor, in rank order (world_size tensors of tensor's shape and dtype).
TensorList all_gather(const Tensor& tensor);
// Returns once every rank has called it.
void barrier();

}  // namespace rg::dist
