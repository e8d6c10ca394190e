#pragma once
// Which kernels float32 convolutions and pooling run, for tests and
// benchmarks that compare them: by default the faster for the shape
// (oneDNN's, or retrograd's own: im2col + GEMM for convolutions, window
// loops for pooling; measured in docs/performance.md); forced, every float32
// convolution and average pooling of the process runs the one named. float64
// always runs retrograd's own (oneDNN has no float64 kernels).
#include <cstddef>

namespace rg::detail {

enum class ConvKernel { automatic, onednn, own };
void force_conv_kernel(ConvKernel kernel);
ConvKernel forced_conv_kernel();

// How many oneDNN primitives (convolution, pooling) the shape cache holds.
std::size_t onednn_cached_primitives();
// How many the process has made so far: unlike the cache's size, which stops
// at its capacity, this counts every one, so a test can tell "made one" from
// "reused one" however full the cache is.
std::size_t onednn_primitives_made();

}  // namespace rg::detail
