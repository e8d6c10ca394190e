#pragma once
// Where an element of a pooling window sits in its input plane
// (pool_options.cpp: max_pool2d_with_indices's positions, PyTorch's).
#include <cstddef>
#include <cstdint>

namespace rg::detail {

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
