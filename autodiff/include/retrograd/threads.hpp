#pragma once
// How many threads retrograd computes on. One pool serves everything:
// OpenMP's, which retrograd's own parallel loops, oneDNN's kernels (float32
// products, convolutions, pooling) and OpenBLAS's float64 products follow.
namespace rg {

/// Computes on `n` threads from now on: OpenMP's thread count of the calling
/// thread and of threads started later, and OpenBLAS's. Nothing else in the
/// process changes.
/// @param n the thread count, at least 1
/// @throws rg::Error when n < 1
void set_num_threads(int n);
/// The thread count: the last set_num_threads, else OpenMP's default (the
/// cores available to the process, or OMP_NUM_THREADS when set).
int get_num_threads();

}  // namespace rg
