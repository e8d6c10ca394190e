// The loops of blocked_pool.hpp. A block's channels sit side by side in the
// blocked layout and one plane apart in NCHW: the loops take a row's windows
// a tile at a time, compute a tile with the channels in the vector lanes,
// and transpose it while it is in cache, instead of storing every value a
// plane away from the last. Compiled for the baseline instruction set and
// for AVX2, chosen at run time (retrograd/detail/cpu.hpp).
#include "blocked_pool.hpp"

#include <retrograd/detail/cpu.hpp>
#include <retrograd/error.hpp>

#include "../window_geometry.hpp"
#include "bf16.hpp"
#include "pool_windows.hpp"
#include "threads.hpp"

#include <algorithm>
#include <bit>

namespace rg::detail {
namespace {

constexpr std::size_t tile = 16;  // windows of a row taken at once

// One image's block of B channels: plane (H, W, B) in, its pooled values and
// positions out for the block's `channels` real channels, q = PH x PW apart.
template <std::size_t B> struct PoolBlock {
    [[gnu::always_inline]] void operator()(const float* plane, const BlockedPlanes* shape, std::size_t channels,
                                           float* dst, std::int32_t* at) const {
        const BlockedPlanes& p = *shape;
        const std::size_t q = p.ph * p.pw;
        const auto width = static_cast<std::int32_t>(p.w);
        alignas(64) float best[tile][B];
        alignas(64) std::int32_t place[tile][B];
        for (std::size_t py = 0; py < p.ph; ++py)
            for (std::size_t px0 = 0; px0 < p.pw; px0 += tile) {
                const std::size_t count = std::min(tile, p.pw - px0);
                for (std::size_t j = 0; j < count; ++j) {
                    const auto corner = static_cast<std::int32_t>(2 * py * p.w + 2 * (px0 + j));
                    const float* a = plane + static_cast<std::size_t>(corner) * B;
                    const float* right = a + B;
                    const float* below = a + p.w * B;
                    const float* diagonal = below + B;
                    for (std::size_t i = 0; i < B; ++i) {
                        float v = a[i];
                        std::int32_t where = corner;
                        bool take = replaces(right[i], v);
                        v = select(take, right[i], v);
                        where = select(take, corner + 1, where);
                        take = replaces(below[i], v);
                        v = select(take, below[i], v);
                        where = select(take, corner + width, where);
                        take = replaces(diagonal[i], v);
                        v = select(take, diagonal[i], v);
                        where = select(take, corner + width + 1, where);
                        best[j][i] = v > 0 ? v : 0.0f;
                        place[j][i] = where;
                    }
                }
                const std::size_t window = py * p.pw + px0;
                for (std::size_t i = 0; i < channels; ++i)
                    for (std::size_t j = 0; j < count; ++j) {
                        dst[i * q + window + j] = best[j][i];
                        at[i * q + window + j] = place[j][i];
                    }
            }
    }
};

// The value stored in dz: the float itself, or its bfloat16 bits.
[[gnu::always_inline]] inline float stored(float v, float*) { return v; }
[[gnu::always_inline]] inline BFloat16 stored(float v, BFloat16*) {
    return BFloat16::from_bits(static_cast<std::uint16_t>(bf16_bits(std::bit_cast<std::uint32_t>(v)) >> 16));
}

// One image's block of B channels of dz (H, W, B), from the `channels` real
// channels' window gradients and positions, q = PH x PW apart.
template <std::size_t B, class D> struct UnpoolBlock {
    [[gnu::always_inline]] void operator()(const float* from, const std::int32_t* at, const BlockedPlanes* shape,
                                           std::size_t channels, D* plane) const {
        const BlockedPlanes& p = *shape;
        const std::size_t q = p.ph * p.pw, row = p.w * B;
        const auto width = static_cast<std::int32_t>(p.w);
        alignas(64) float value[tile][B];
        alignas(64) std::int32_t place[tile][B];
        for (std::size_t py = 0; py < p.ph; ++py) {
            D* top = plane + 2 * py * row;
            D* bottom = top + row;
            for (std::size_t px0 = 0; px0 < p.pw; px0 += tile) {
                const std::size_t count = std::min(tile, p.pw - px0), window = py * p.pw + px0;
                for (std::size_t i = 0; i < B; ++i)
                    for (std::size_t j = 0; j < count; ++j) {
                        value[j][i] = i < channels ? from[i * q + window + j] : 0.0f;
                        place[j][i] = i < channels ? at[i * q + window + j] : -1;
                    }
                for (std::size_t j = 0; j < count; ++j) {
                    const auto corner = static_cast<std::int32_t>(2 * py * p.w + 2 * (px0 + j));
                    D* a = top + 2 * (px0 + j) * B;
                    D* below = bottom + 2 * (px0 + j) * B;
                    for (std::size_t i = 0; i < B; ++i) {
                        const float v = value[j][i];
                        const std::int32_t where = place[j][i];
                        a[i] = stored(where == corner ? v : 0.0f, plane);
                        a[B + i] = stored(where == corner + 1 ? v : 0.0f, plane);
                        below[i] = stored(where == corner + width ? v : 0.0f, plane);
                        below[B + i] = stored(where == corner + width + 1 ? v : 0.0f, plane);
                    }
                }
            }
            // The last column an odd width leaves outside every window.
            std::fill(top + 2 * p.pw * B, top + row, D{});
            std::fill(bottom + 2 * p.pw * B, bottom + row, D{});
        }
        // The last row an odd height leaves outside every window.
        std::fill(plane + 2 * p.ph * row, plane + p.h * row, D{});
    }
};

template <std::size_t B> void pool_blocks(const float* y, const BlockedPlanes& p, float* out, std::int32_t* at_max) {
    const std::size_t q = p.ph * p.pw;
    // Each block of channels of each image whole on one thread.
    parallel_blocks(p.n * p.blocks(), p.values(), [&](std::size_t nk) {
        const std::size_t n = nk / p.blocks(), k = nk % p.blocks(), first = (n * p.c + k * B) * q;
        avx2_or_baseline<PoolBlock<B>>(y + nk * p.h * p.w * B, &p, std::min(B, p.c - k * B), out + first,
                                       at_max + first);
    });
}

template <std::size_t B, class D>
void unpool_blocks(const float* kept, const std::int32_t* at_max, const BlockedPlanes& p, D* dz) {
    const std::size_t q = p.ph * p.pw;
    parallel_blocks(p.n * p.blocks(), p.values(), [&](std::size_t nk) {
        const std::size_t n = nk / p.blocks(), k = nk % p.blocks(), first = (n * p.c + k * B) * q;
        avx2_or_baseline<UnpoolBlock<B, D>>(kept + first, at_max + first, &p, std::min(B, p.c - k * B),
                                            dz + nk * p.h * p.w * B);
    });
}

template <class D> void unpool(const float* kept, const std::int32_t* at_max, const BlockedPlanes& p, D* dz) {
    if (p.block == 16) return unpool_blocks<16>(kept, at_max, p, dz);
    if (p.block == 8) return unpool_blocks<8>(kept, at_max, p, dz);
    fail("conv2d_relu_max_pool2d: a gradient in channel blocks of {}; expected 8 or 16", p.block);
}

}  // namespace

void relu_max_pool_2x2_blocked(const float* y, const BlockedPlanes& p, float* out, std::int32_t* at_max) {
    if (p.block == 16) return pool_blocks<16>(y, p, out, at_max);
    if (p.block == 8) return pool_blocks<8>(y, p, out, at_max);
    fail("conv2d_relu_max_pool2d: an output in channel blocks of {}; expected 8 or 16", p.block);
}

void unpool_2x2_blocked(const float* kept, const std::int32_t* at_max, const BlockedPlanes& p, float* dz) {
    unpool(kept, at_max, p, dz);
}
void unpool_2x2_blocked(const float* kept, const std::int32_t* at_max, const BlockedPlanes& p, BFloat16* dz) {
    unpool(kept, at_max, p, dz);
}

}  // namespace rg::detail
