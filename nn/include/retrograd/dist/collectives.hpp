#pragma once
/// @file
/// Collectives on tensors, across every rank of the live rg::dist::Environment.
/// float32, float64 and int64 tensors of any shape. Every rank must call the
/// same collectives in the same order with tensors of the same shape and
/// dtype; each call first exchanges a small description of its arguments, so
/// a mismatch is an rg::Error naming both ranks' shapes on every rank, not
/// undefined behaviour. They block until every rank has arrived (at most the
/// Environment's timeout).
#include <retrograd/tensor.hpp>

namespace rg::dist {

/// How all_reduce() combines the ranks' values.
enum class ReduceOp {
    sum,  ///< elementwise sum
    mean,  ///< elementwise mean (float dtypes only)
    max,  ///< elementwise maximum
    min,  ///< elementwise minimum
};

/// In place: every rank ends with the elementwise sum (mean, max, min) of all
/// ranks' tensors.
/// @param tensor this rank's tensor, overwritten with the result
/// @param op how to combine; mean is for float dtypes only
/// @throws rg::Error when no Environment lives, the ranks' shapes or dtypes
///         differ (naming both), mean is asked of int64, or a rank does not arrive in time
void all_reduce(Tensor& tensor, ReduceOp op = ReduceOp::sum);
/// In place: every rank ends with root's values.
/// @param tensor this rank's tensor, overwritten on every rank but root
/// @param root the rank whose values are sent
/// @throws rg::Error as all_reduce(), or when root is not a rank
void broadcast(Tensor& tensor, int root = 0);
/// Every rank's tensor, in rank order (world_size tensors of tensor's shape and dtype).
/// @param tensor this rank's tensor
/// @throws rg::Error as all_reduce()
TensorList all_gather(const Tensor& tensor);
/// Returns once every rank has called it.
/// @throws rg::Error when no Environment lives, or a rank does not arrive in time
void barrier();

}  // namespace rg::dist
