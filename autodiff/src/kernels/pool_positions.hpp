#pragma once
// Where max pooling's maxima sit in their input planes (pool.cpp and
// pool_options.cpp say what each op computes): a gradient added back at
// those positions, and a window's element mapped to its input position.
#include "../window_geometry.hpp"
#include "pool_windows.hpp"
#include "threads.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace rg::detail {

// The gradient of a max pool over the n * c planes of g: each plane of `dx`
// gets its outputs' gradients `grad` at their maxima `at_max` (one position
// per output, within its plane) and zeros elsewhere. Planes on several
// threads when large, each written whole by one, so the values do not
// depend on the thread count.
template <class T>
void max_unpool(const T* grad, const std::int32_t* at_max, const Geometry& g, bool windows_2x2, T* dx) {
    const std::size_t planes = g.n * g.c, plane_in = g.h * g.w, plane_out = g.oh * g.ow;
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

// One axis of a grid of pooling windows over a padded input: output i's
// window starts at i * stride - padding, and its element k lies k * dilation
// further; `in` pixels, `out` windows of `kernel` elements.
struct WindowAxis {
    std::int64_t in, kernel, stride, padding, dilation, out;
};

// The input position of one element of each window: for e < count,
// element[e] (row-major in its h.kernel x w.kernel window) of window
// e % (h.out * w.out) (row-major in its plane) sits at row * w.in + column
// of its input plane, written to position[e].
inline void window_element_positions(const std::int64_t* element, std::size_t count, const WindowAxis& h,
                                     const WindowAxis& w, std::int64_t* position) {
    const auto windows = static_cast<std::size_t>(h.out * w.out);
    for (std::size_t e = 0; e < count; ++e) {
        const auto q = static_cast<std::int64_t>(e % windows), k = element[e];
        const std::int64_t row = (q / w.out) * h.stride - h.padding + (k / w.kernel) * h.dilation;
        const std::int64_t col = (q % w.out) * w.stride - w.padding + (k % w.kernel) * w.dilation;
        position[e] = row * w.in + col;
    }
}

}  // namespace rg::detail
