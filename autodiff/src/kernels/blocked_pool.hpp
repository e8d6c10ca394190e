#pragma once
// The 2x2 max pool (stride 2) of conv2d_relu_max_pool2d read straight from
// oneDNN's channel-blocked layout, and its gradient written into it
// (onednn.hpp: (N, C, H, W) stored as (N, ceil(C / B), H, W, B)), so that a
// convolution through oneDNN needs no reorder of its output to NCHW, nor of
// its output gradient back. Positions are within an H x W plane, as max_pool
// gives them; the B channels of a block sit side by side, and the loops run
// along them.
#include "../window_geometry.hpp"
#include "pool_windows.hpp"
#include "threads.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace rg::detail {

// The layout's shape: n images of c channels in blocks of `block`, h x w
// pixels, pooled to ph x pw windows.
struct BlockedPlanes {
    std::size_t n, c, block, h, w, ph, pw;
    std::size_t blocks() const { return (c + block - 1) / block; }
    std::size_t values() const { return n * blocks() * block * h * w; }
};

// out (N, C, PH, PW) = relu of each window's maximum (the first in the
// window's row-major order, or its first NaN, as max_pool_2x2), and at_max
// its position: relu(max) is max_pool(relu(x))'s value, and where the
// maximum is not positive its gradient is zero wherever it points.
template <class T> void relu_max_pool_2x2_blocked(const T* y, const BlockedPlanes& p, T* out, std::int32_t* at_max) {
    const std::size_t b = p.block, q = p.ph * p.pw;
    const auto width = static_cast<std::int32_t>(p.w);
    // Each block of channels of each image whole on one thread.
    parallel_blocks(p.n * p.blocks(), p.values(), [&](std::size_t nk) {
        const std::size_t n = nk / p.blocks(), k = nk % p.blocks();
        const std::size_t channels = std::min(b, p.c - k * b);
        const T* plane = y + (n * p.blocks() + k) * p.h * p.w * b;
        T* dst = out + (n * p.c + k * b) * q;
        std::int32_t* at = at_max + (n * p.c + k * b) * q;
        for (std::size_t py = 0; py < p.ph; ++py)
            for (std::size_t px = 0; px < p.pw; ++px) {
                const auto corner = static_cast<std::int32_t>(2 * py * p.w + 2 * px);
                const T* a = plane + static_cast<std::size_t>(corner) * b;
                const T* right = a + b;
                const T* below = a + p.w * b;
                const T* diagonal = below + b;
                const std::size_t window = py * p.pw + px;
                for (std::size_t i = 0; i < channels; ++i) {
                    T best = a[i];
                    std::int32_t place = corner;
                    bool take = replaces(right[i], best);
                    best = select(take, right[i], best);
                    place = select(take, corner + 1, place);
                    take = replaces(below[i], best);
                    best = select(take, below[i], best);
                    place = select(take, corner + width, place);
                    take = replaces(diagonal[i], best);
                    best = select(take, diagonal[i], best);
                    place = select(take, corner + width + 1, place);
                    dst[i * q + window] = best > 0 ? best : T{0};
                    at[i * q + window] = place;
                }
            }
    });
}

// dz in the blocked layout: each window's gradient `kept` (N, C, PH, PW) at
// its maximum at_max, zeros everywhere else (the padding channels and the
// pixels no window reads included).
template <class T> void unpool_2x2_blocked(const T* kept, const std::int32_t* at_max, const BlockedPlanes& p, T* dz) {
    const std::size_t b = p.block, q = p.ph * p.pw, image = p.blocks() * b * p.h * p.w;
    // Each image whole on one thread.
    parallel_blocks(p.n, p.values(), [&](std::size_t n) {
        std::fill_n(dz + n * image, image, T{0});
        for (std::size_t c = 0; c < p.c; ++c) {
            T* plane = dz + n * image + (c / b) * p.h * p.w * b + c % b;
            const T* from = kept + (n * p.c + c) * q;
            const std::int32_t* at = at_max + (n * p.c + c) * q;
            for (std::size_t i = 0; i < q; ++i) plane[static_cast<std::size_t>(at[i]) * b] = from[i];
        }
    });
}

}  // namespace rg::detail
