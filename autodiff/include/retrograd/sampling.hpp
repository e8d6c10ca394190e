#pragma once
/// @file
/// Sampling from probabilities, as torch.multinomial and torch.bernoulli. Both
/// draw from the generator of rg::rand (seeded by rg::manual_seed), so a seed
/// gives the same samples again, and neither has a gradient.
#include <retrograd/tensor.hpp>

namespace rg {

/// Draws category indices from each row of weights, as torch.multinomial:
/// probs (K) or (N, K) of non-negative weights (they need not sum to 1) ->
/// int64 (num_samples) or (N, num_samples). Without replacement a row's
/// indices are distinct, each drawn from the weights not yet drawn.
/// @param probs non-negative, finite float32 or float64 weights, one row per distribution
/// @param num_samples how many indices each row draws
/// @param replacement whether an index may be drawn again
/// @throws rg::Error if probs is not 1-D or 2-D, not a float tensor, has a
///   negative, infinite or NaN weight or a row summing to zero, num_samples
///   is 0, or, without replacement, num_samples exceeds a row's non-zero weights
Tensor multinomial(const Tensor& probs, std::size_t num_samples, bool replacement = false);

/// Draws 1 with probability p and 0 otherwise, elementwise, as
/// torch.bernoulli: a tensor of p's shape and dtype.
/// @param p probabilities in [0, 1], float32 or float64
/// @throws rg::Error if p is not a float tensor or holds a value outside [0, 1] (NaN included)
Tensor bernoulli(const Tensor& p);

}  // namespace rg
