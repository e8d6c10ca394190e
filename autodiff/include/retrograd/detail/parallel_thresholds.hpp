#pragma once
// Where retrograd's own loops start to split their work among threads
// (autodiff/src/kernels/threads.hpp runs them), in elements read. Below a
// threshold two threads took longer than one: a parallel region costs a few
// microseconds, and a second core reading data the first one wrote costs
// more. Measured per kind of loop with bench/threads_bench.cpp; the table is
// in docs/performance.md, "Threads". Public so that the tests can check that
// their tensors are large enough to take the parallel paths.
#include <cstddef>

namespace rg::detail {

/// Loops that stream through memory with a few operations per value:
/// elementwise arithmetic, copies, gradient accumulation, optimizer updates,
/// sums and other folds, pooling, gathers, batch normalisation.
inline constexpr std::size_t parallel_threshold = 131072;

/// Loops with more work per value: softmax and layer norm rows,
/// arg-extremes, scans, recurrent cells, im2col patches and their products.
inline constexpr std::size_t compute_parallel_threshold = 32768;

/// The vectorised transcendental functions (exp, log, tanh, erf and the
/// activations written on them).
inline constexpr std::size_t transcendental_parallel_threshold = 65536;

}  // namespace rg::detail
