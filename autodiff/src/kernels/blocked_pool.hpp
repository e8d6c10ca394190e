#pragma once
// The 2x2 max pool (stride 2) of conv2d_relu_max_pool2d read straight from
// oneDNN's channel-blocked layout, and its gradient written into it
// (onednn.hpp: (N, C, H, W) stored as (N, ceil(C / B), H, W, B)), so that a
// convolution through oneDNN needs no reorder of its output to NCHW, nor of
// its output gradient back. Positions are within an H x W plane, as max_pool
// gives them; the B channels of a block sit side by side, and the loops run
// along them.
#include <retrograd/bfloat16.hpp>

#include <cstddef>
#include <cstdint>

namespace rg::detail {

// The layout's shape: n images of c channels in blocks of `block` (8 or 16),
// h x w pixels, pooled to ph x pw windows.
struct BlockedPlanes {
    std::size_t n, c, block, h, w, ph, pw;
    std::size_t blocks() const { return (c + block - 1) / block; }
    std::size_t values() const { return n * blocks() * block * h * w; }
};

// out (N, C, PH, PW) = relu of each window's maximum (the first in the
// window's row-major order, or its first NaN, as max_pool_2x2), and at_max
// its position: relu(max) is max_pool(relu(x))'s value, and where the
// maximum is not positive its gradient is zero wherever it points.
void relu_max_pool_2x2_blocked(const float* y, const BlockedPlanes& p, float* out, std::int32_t* at_max);

// dz in the blocked layout: each window's gradient `kept` (N, C, PH, PW) at
// its maximum at_max, zeros everywhere else (the padding channels and the
// pixels no window reads included), written whole so that nothing clears it
// first. In bfloat16 for the bfloat16 convolutions, each value rounded once
// as a conversion would round it.
void unpool_2x2_blocked(const float* kept, const std::int32_t* at_max, const BlockedPlanes& p, float* dz);
void unpool_2x2_blocked(const float* kept, const std::int32_t* at_max, const BlockedPlanes& p, BFloat16* dz);

}  // namespace rg::detail
