#pragma once
// The window loops of max and average pooling over one image plane
// (pool.cpp says which run, and keeps max pooling's positions for its VJP).
#include "../window_geometry.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace rg::detail {

// The first NaN wins, as in PyTorch: it propagates.
template <class T> bool replaces(T candidate, T best) {
    return (candidate > best) | ((candidate != candidate) & (best == best));
}

// The common 2x2 window with stride 2 and no padding, one image plane: the
// four candidates of a window side by side, no loop over window offsets.
template <class T>
void max_pool_2x2(const T* image, std::int32_t w, std::int32_t oh, std::int32_t ow, T* out, std::int32_t* at_max) {
    for (std::int32_t y = 0; y < oh; ++y, out += ow, at_max += ow) {
        const T* top = image + 2 * y * w;
        const T* bottom = top + w;
        for (std::int32_t x = 0; x < ow; ++x) {
            const std::int32_t left = 2 * x;
            const std::int32_t at = 2 * y * w + left;
            T best = top[left];
            std::int32_t best_at = at;
            const T candidates[3] = {top[left + 1], bottom[left], bottom[left + 1]};
            const std::int32_t offsets[3] = {1, w, w + 1};
            for (int k = 0; k < 3; ++k) {
                const bool take = replaces(candidates[k], best);
                best = select(take, candidates[k], best);
                best_at = select(take, at + offsets[k], best_at);
            }
            out[x] = best;
            at_max[x] = best_at;
        }
    }
}

inline bool two_by_two(const Geometry& g) {
    return g.kh == 2 && g.kw == 2 && g.o.stride == Size2{2, 2} && g.o.padding == Size2{0, 0};
}

// The VJP of max_pool_2x2 on an h x w plane: each window gets its output's
// gradient at its maximum and zeros elsewhere, written whole; the last row
// and column that an odd side leaves outside every window get zeros.
template <class T>
void unpool_2x2(const T* grad, const std::int32_t* at_max, std::size_t oh, std::size_t ow, std::size_t h, std::size_t w,
                T* plane) {
    const auto width = static_cast<std::int32_t>(w);
    for (std::size_t y = 0; y < oh; ++y) {
        T* top = plane + 2 * y * w;
        T* bottom = top + w;
        for (std::size_t x = 0; x < ow; ++x, ++grad, ++at_max) {
            const auto at = static_cast<std::int32_t>(2 * y * w + 2 * x);
            top[2 * x] = select(*at_max == at, *grad, T{0});
            top[2 * x + 1] = select(*at_max == at + 1, *grad, T{0});
            bottom[2 * x] = select(*at_max == at + width, *grad, T{0});
            bottom[2 * x + 1] = select(*at_max == at + width + 1, *grad, T{0});
        }
        if (w > 2 * ow) {
            top[w - 1] = T{0};
            bottom[w - 1] = T{0};
        }
    }
    std::fill(plane + 2 * oh * w, plane + h * w, T{0});
}

// Any window, stride and padding, one image plane.
template <class T> void max_pool_plane(const T* image, const Geometry& g, T* out, std::int32_t* at_max) {
    const long h = static_cast<long>(g.h), w = static_cast<long>(g.w);
    const long sy = static_cast<long>(g.o.stride[0]), sx = static_cast<long>(g.o.stride[1]);
    const long py = static_cast<long>(g.o.padding[0]), px = static_cast<long>(g.o.padding[1]);
    const long kh = static_cast<long>(g.kh), kw = static_cast<long>(g.kw);
    const long oh = static_cast<long>(g.oh), ow = static_cast<long>(g.ow);
    for (long y = 0; y < oh; ++y, out += ow, at_max += ow) {
        if (py == 0 && px == 0) {
            // Every window is inside the image: sweep the window's offsets
            // outermost, so the outputs of a row are independent updates the
            // CPU overlaps.
            for (long xo = 0; xo < ow; ++xo) {
                at_max[xo] = static_cast<std::int32_t>(y * sy * w + xo * sx);
                out[xo] = image[at_max[xo]];
            }
            for (long i = 0; i < kh; ++i) {
                for (long j = 0; j < kw; ++j) {
                    const long base = (y * sy + i) * w + j;
                    for (long xo = 0; xo < ow; ++xo) {
                        const auto at = static_cast<std::int32_t>(base + xo * sx);
                        const T v = image[at];
                        const bool take = replaces(v, out[xo]);
                        out[xo] = select(take, v, out[xo]);
                        at_max[xo] = select(take, at, at_max[xo]);
                    }
                }
            }
            continue;
        }
        const long top = y * sy - py;
        const long y0 = std::max(top, 0L), y1 = std::min(top + kh, h);
        // One window, clipped to the image, element by element.
        const auto clipped = [&](long xo) {
            const long left = xo * sx - px;
            const long x0 = std::max(left, 0L), x1 = std::min(left + kw, w);
            auto best_at = static_cast<std::int32_t>(y0 * w + x0);  // padding is at most half the kernel: never empty
            T best = image[best_at];
            for (long iy = y0; iy < y1; ++iy) {
                for (long ix = x0; ix < x1; ++ix) {
                    const auto at = static_cast<std::int32_t>(iy * w + ix);
                    const bool take = replaces(image[at], best);
                    best = select(take, image[at], best);
                    best_at = select(take, at, best_at);
                }
            }
            out[xo] = best;
            at_max[xo] = best_at;
        };
        // Columns [inner_begin, inner_end) have their window inside the image
        // horizontally: sweep the window's offsets outermost for them, as
        // without padding; the few border columns go window by window.
        const long inner_begin = std::min(ow, (px + sx - 1) / sx);
        const long inner_end = w - kw + px < 0 ? inner_begin : std::clamp((w - kw + px) / sx + 1, inner_begin, ow);
        for (long xo = 0; xo < inner_begin; ++xo) clipped(xo);
        for (long xo = inner_begin; xo < inner_end; ++xo) {
            at_max[xo] = static_cast<std::int32_t>(y0 * w + xo * sx - px);
            out[xo] = image[at_max[xo]];
        }
        for (long iy = y0; iy < y1; ++iy) {
            for (long j = 0; j < kw; ++j) {
                const long base = iy * w + j - px;
                for (long xo = inner_begin; xo < inner_end; ++xo) {
                    const auto at = static_cast<std::int32_t>(base + xo * sx);
                    const T v = image[at];
                    const bool take = replaces(v, out[xo]);
                    out[xo] = select(take, v, out[xo]);
                    at_max[xo] = select(take, at, at_max[xo]);
                }
            }
        }
        for (long xo = inner_end; xo < ow; ++xo) clipped(xo);
    }
}

// Calls f(output index, input index) for every (window, pixel inside the
// image) pair of one image plane; pixels in the padding count in the window's
// size but have no input.
template <class F> void for_each_window_pixel(const Geometry& g, F f) {
    const long h = static_cast<long>(g.h), w = static_cast<long>(g.w);
    for (std::size_t y = 0; y < g.oh; ++y) {
        const long top = static_cast<long>(y * g.o.stride[0]) - static_cast<long>(g.o.padding[0]);
        const long y0 = std::max(top, 0L), y1 = std::min(top + static_cast<long>(g.kh), h);
        for (std::size_t x = 0; x < g.ow; ++x) {
            const long left = static_cast<long>(x * g.o.stride[1]) - static_cast<long>(g.o.padding[1]);
            const long x0 = std::max(left, 0L), x1 = std::min(left + static_cast<long>(g.kw), w);
            for (long iy = y0; iy < y1; ++iy)
                for (long ix = x0; ix < x1; ++ix) f(y * g.ow + x, static_cast<std::size_t>(iy * w + ix));
        }
    }
}

// One plane of average pooling: each window's sum times `scale`.
template <class T> void avg_pool_plane(const T* image, const Geometry& g, T scale, T* out) {
    std::fill_n(out, g.oh * g.ow, T{0});
    for_each_window_pixel(g, [&](std::size_t o, std::size_t in) { out[o] += image[in]; });
    for (std::size_t k = 0, n = g.oh * g.ow; k < n; ++k) out[k] *= scale;
}

// Its adjoint: each output's gradient times `scale`, added to its window's pixels.
template <class T> void avg_unpool_plane(const T* grad, const Geometry& g, T scale, T* image) {
    std::fill_n(image, g.h * g.w, T{0});
    for_each_window_pixel(g, [&](std::size_t o, std::size_t in) { image[in] += grad[o] * scale; });
}

}  // namespace rg::detail
