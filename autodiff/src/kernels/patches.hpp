#pragma once
// The patch loops of convolution (conv.cpp says which run): im2col's gather
// of image patches into columns and its adjoint, the scatter back.
#include "../window_geometry.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace rg::detail {

// Walks the (patch row, output pixel) pairs that fall inside the image as
// runs: f(column_offset, image_offset, count, image_step) covers `count`
// consecutive output pixels of one output row, reading the image every
// `image_step` elements. Positions in the padding are never visited.
template <class F> void for_each_run(const Geometry& g, F f) {
    const std::size_t rows = g.c * g.kh * g.kw, cols = g.oh * g.ow;
    const long w = static_cast<long>(g.w), sw = static_cast<long>(g.o.stride[1]);
    for (std::size_t n = 0; n < g.n; ++n) {
        for (std::size_t c = 0; c < g.c; ++c) {
            const std::size_t img_base = (n * g.c + c) * g.h * g.w;
            for (std::size_t i = 0; i < g.kh; ++i) {
                for (std::size_t j = 0; j < g.kw; ++j) {
                    const std::size_t col_base = (n * rows + (c * g.kh + i) * g.kw + j) * cols;
                    // ix = x * sw + shift lies in [0, w) for x in [x_lo, x_hi).
                    const long shift = static_cast<long>(j * g.o.dilation[1]) - static_cast<long>(g.o.padding[1]);
                    const long x_lo = shift >= 0 ? 0 : (-shift + sw - 1) / sw;
                    const long x_hi = std::min(static_cast<long>(g.ow), w - shift <= 0 ? 0 : (w - shift + sw - 1) / sw);
                    if (x_hi <= x_lo) continue;
                    for (std::size_t y = 0; y < g.oh; ++y) {
                        const long iy = static_cast<long>(y * g.o.stride[0] + i * g.o.dilation[0]) -
                                        static_cast<long>(g.o.padding[0]);
                        if (iy < 0 || iy >= static_cast<long>(g.h)) continue;
                        f(col_base + y * g.ow + static_cast<std::size_t>(x_lo),
                          img_base + static_cast<std::size_t>(iy * w + x_lo * sw + shift),
                          static_cast<std::size_t>(x_hi - x_lo), static_cast<std::size_t>(sw));
                    }
                }
            }
        }
    }
}

// One run of for_each_run, image to columns and back; unit steps (stride 1,
// the usual case) get their own loops, which vectorise.
template <class T>
void copy_run(const T* __restrict image, std::size_t step, T* __restrict columns, std::size_t count) {
    constexpr std::size_t block = 8;
    if (step == 1 && count >= block) {
        // Fixed-size copies compile to a few vector moves; a loop of `count`
        // becomes a call to memmove, which costs more than these short runs.
        // The last block may overlap the one before: it writes the same values.
        for (std::size_t k = 0; k + block < count; k += block) std::memcpy(columns + k, image + k, block * sizeof(T));
        std::memcpy(columns + count - block, image + count - block, block * sizeof(T));
    } else if (step == 1)
        for (std::size_t k = 0; k < count; ++k) columns[k] = image[k];
    else
        for (std::size_t k = 0; k < count; ++k) columns[k] = image[k * step];
}
template <class T> void add_run(const T* __restrict columns, T* __restrict image, std::size_t step, std::size_t count) {
    if (step == 1)
        for (std::size_t k = 0; k < count; ++k) image[k] += columns[k];
    else
        for (std::size_t k = 0; k < count; ++k) image[k * step] += columns[k];
}

// gather_patches without padding, stride or dilation (the usual 3x3
// convolution): each patch row is OH runs of OW pixels, copied without
// for_each_run's bounds per run, which cost more than these short copies.
template <class T> void gather_dense_patches(const Geometry& g, const T* images, T* columns) {
    const std::size_t oh = g.oh, ow = g.ow, w = g.w;
    for (std::size_t plane = 0; plane < g.n * g.c; ++plane) {
        const T* image = images + plane * g.h * w;
        for (std::size_t i = 0; i < g.kh; ++i) {
            for (std::size_t j = 0; j < g.kw; ++j, columns += oh * ow) {
                const T* from = image + i * w + j;
                for (std::size_t y = 0; y < oh; ++y) copy_run(from + y * w, 1, columns + y * ow, ow);
            }
        }
    }
}

// Calls f(column row, image row or null, zeros before, count, zeros after)
// for each output row of each patch row of a unit-stride, undilated
// convolution with padding: `count` pixels copied from the image row (from
// its column `zeros before - padding + j`), the pixels that fall in the
// padding on either side zero, and rows wholly in the padding all zeros.
template <class F> void for_each_padded_row(const Geometry& g, F f) {
    const long h = static_cast<long>(g.h), w = static_cast<long>(g.w), ow = static_cast<long>(g.ow);
    const long ph = static_cast<long>(g.o.padding[0]), pw = static_cast<long>(g.o.padding[1]);
    std::size_t column_row = 0;
    for (std::size_t plane = 0; plane < g.n * g.c; ++plane) {
        for (long i = 0; i < static_cast<long>(g.kh); ++i) {
            for (long j = 0; j < static_cast<long>(g.kw); ++j, column_row += g.oh * g.ow) {
                // Output x reads image column x + j - pw, inside the image for x in [lo, hi).
                const long lo = std::clamp(pw - j, 0L, ow), hi = std::clamp(w + pw - j, lo, ow);
                for (long y = 0; y < static_cast<long>(g.oh); ++y) {
                    const long iy = y + i - ph;
                    const std::size_t at = column_row + static_cast<std::size_t>(y) * g.ow;
                    if (iy < 0 || iy >= h)
                        f(at, std::size_t{0}, false, std::size_t{0}, g.ow, std::size_t{0});
                    else
                        f(at, plane * g.h * g.w + static_cast<std::size_t>(iy * w + lo + j - pw), true,
                          static_cast<std::size_t>(lo), static_cast<std::size_t>(hi - lo),
                          static_cast<std::size_t>(ow - hi));
                }
            }
        }
    }
}

// The patch columns of every image of `g` (each C*kh*kw rows of OH*OW), the
// entries that fall in the padding zero.
template <class T> void gather_patches(const Geometry& g, const T* images, T* columns) {
    if (g.o.stride == Size2{1, 1} && g.o.dilation == Size2{1, 1}) {
        if (g.o.padding == Size2{0, 0}) {
            gather_dense_patches(g, images, columns);
            return;
        }
        // Each column written once: the padding's zeros beside each copied run.
        for_each_padded_row(g, [&](std::size_t at, std::size_t from, bool inside, std::size_t before, std::size_t count,
                                   std::size_t after) {
            T* row = columns + at;
            if (!inside) {
                std::fill_n(row, count, T{0});
                return;
            }
            std::fill_n(row, before, T{0});
            copy_run(images + from, 1, row + before, count);
            std::fill_n(row + before + count, after, T{0});
        });
        return;
    }
    if (g.o.padding != Size2{0, 0}) std::fill_n(columns, g.n * g.c * g.kh * g.kw * g.oh * g.ow, T{0});
    for_each_run(g, [&](std::size_t col, std::size_t img, std::size_t count, std::size_t step) {
        copy_run(images + img, step, columns + col, count);
    });
}

// scatter_patches without padding, stride or dilation: gather_dense_patches's
// runs, added back.
template <class T> void scatter_dense_patches(const Geometry& g, const T* columns, T* images) {
    const std::size_t oh = g.oh, ow = g.ow, w = g.w;
    for (std::size_t plane = 0; plane < g.n * g.c; ++plane) {
        T* image = images + plane * g.h * w;
        for (std::size_t i = 0; i < g.kh; ++i) {
            for (std::size_t j = 0; j < g.kw; ++j, columns += oh * ow) {
                T* to = image + i * w + j;
                for (std::size_t y = 0; y < oh; ++y) add_run(columns + y * ow, to + y * w, 1, ow);
            }
        }
    }
}

// The adjoint: adds patch columns back into `images` (zeroed by the caller).
template <class T> void scatter_patches(const Geometry& g, const T* columns, T* images) {
    if (g.o.stride == Size2{1, 1} && g.o.dilation == Size2{1, 1}) {
        if (g.o.padding == Size2{0, 0}) {
            scatter_dense_patches(g, columns, images);
            return;
        }
        for_each_padded_row(g, [&](std::size_t at, std::size_t to, bool inside, std::size_t before, std::size_t count,
                                   std::size_t) {
            if (inside) add_run(columns + at + before, images + to, 1, count);
        });
        return;
    }
    for_each_run(g, [&](std::size_t col, std::size_t img, std::size_t count, std::size_t step) {
        add_run(columns + col, images + img, step, count);
    });
}

// col2im: the patch columns summed into `images`, which start from zero.
template <class T> void patches_to_images(const Geometry& g, const T* columns, T* images) {
    std::fill_n(images, g.n * g.c * g.h * g.w, T{0});
    scatter_patches(g, columns, images);
}

}  // namespace rg::detail
