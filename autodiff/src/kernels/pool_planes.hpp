#pragma once
// Max and average pooling over the n * c image planes of a batch, and their
// gradients (pool.cpp says which runs): each plane is computed whole by one
// thread (pool_windows.hpp's loops), several planes at a time when large,
// so the values do not depend on the thread count.
#include "../window_geometry.hpp"
#include "pool_windows.hpp"
#include "threads.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace rg::detail {

// Each window's maximum into `out` and its position in its plane into
// `at_max` (one per output), for images x laid out as g says.
template <class T> void max_pool(const T* x, const Geometry& g, T* out, std::int32_t* at_max) {
    const std::size_t planes = g.n * g.c, plane_in = g.h * g.w, plane_out = g.oh * g.ow;
    const bool windows_2x2 = two_by_two(g);
    parallel_blocks(planes, planes * plane_in, [&](std::size_t p) {
        const T* image = x + p * plane_in;
        T* dst = out + p * plane_out;
        std::int32_t* at = at_max + p * plane_out;
        if (windows_2x2)
            max_pool_2x2(image, static_cast<std::int32_t>(g.w), static_cast<std::int32_t>(g.oh),
                         static_cast<std::int32_t>(g.ow), dst, at);
        else
            max_pool_plane(image, g, dst, at);
    });
}

// The gradient of max_pool: each plane of `dx` gets its outputs' gradients
// `grad` at their maxima `at_max` (positions within the plane, as max_pool
// gives them) and zeros elsewhere.
template <class T> void max_unpool(const T* grad, const std::int32_t* at_max, const Geometry& g, T* dx) {
    const std::size_t planes = g.n * g.c, plane_in = g.h * g.w, plane_out = g.oh * g.ow;
    const bool windows_2x2 = two_by_two(g);
    parallel_blocks(planes, planes * plane_in, [&](std::size_t p) {
        T* plane = dx + p * plane_in;
        const T* from = grad + p * plane_out;
        const std::int32_t* at = at_max + p * plane_out;
        if (windows_2x2) {
            // The windows cover every input at most once: write each window whole.
            unpool_2x2(from, at, g.oh, g.ow, g.h, g.w, plane);
            return;
        }
        // Overlapping windows may share a maximum: their gradients add up.
        std::fill_n(plane, plane_in, T{0});
        for (std::size_t k = 0; k < plane_out; ++k) plane[at[k]] += from[k];
    });
}

// Each window's sum times `scale` into `out`.
template <class T> void avg_pool(const T* x, const Geometry& g, T scale, T* out) {
    const std::size_t planes = g.n * g.c, plane_in = g.h * g.w, plane_out = g.oh * g.ow;
    parallel_blocks(planes, planes * plane_in,
                    [&](std::size_t p) { avg_pool_plane(x + p * plane_in, g, scale, out + p * plane_out); });
}

// avg_pool's adjoint: each output's gradient times `scale`, added to its
// window's pixels of `dx`, zero elsewhere.
template <class T> void avg_unpool(const T* grad, const Geometry& g, T scale, T* dx) {
    const std::size_t planes = g.n * g.c, plane_in = g.h * g.w, plane_out = g.oh * g.ow;
    parallel_blocks(planes, planes * plane_in,
                    [&](std::size_t p) { avg_unpool_plane(grad + p * plane_out, g, scale, dx + p * plane_in); });
}

}  // namespace rg::detail
