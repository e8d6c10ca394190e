#pragma once
// A convolution's outputs in the order of the 2x2 max pool that follows it
// (conv2d_relu_max_pool2d): for a unit-stride, undilated convolution and a
// pool with 2x2 windows and stride 2, the output pixel (2y + dy, 2x + dx) is
// column k * Q + q of one image's output, k = 2 dy + dx its place in its
// window and q = y * PW + x its window (Q = PH * PW windows). The pool is
// then an elementwise maximum of four contiguous blocks, and its gradient
// four selects, loops that vectorise however narrow the image; the pixels
// of an odd last row or column, which no window reads, are not computed.
#include "../window_geometry.hpp"
#include "patches.hpp"
#include "pool_windows.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace rg::detail {

// Whether a convolution of geometry `conv` followed by a max pool of
// geometry `pool` can run in window order.
inline bool window_order_applies(const Geometry& conv, const Geometry& pool) {
    return conv.o.stride == Size2{1, 1} && conv.o.dilation == Size2{1, 1} && two_by_two(pool) && pool.oh > 0 &&
           pool.ow > 0;
}

// One image's patches (C*kh*kw rows of 4Q columns) in window order, the
// entries in the padding zero: the interface of ImagePatches (conv_patches.hpp).
template <class T> class WindowPatches {
public:
    // `g`: one group of one image (n = 1); ph x pw windows; `buffer` holds
    // size(g, ph, pw) values.
    WindowPatches(const Geometry& g, std::size_t ph, std::size_t pw, T* buffer)
        : g_(g), ph_(ph), pw_(pw), buffer_(buffer) {}
    static std::size_t size(const Geometry& g, std::size_t ph, std::size_t pw) {
        return g.c * g.kh * g.kw * 4 * ph * pw;
    }
    // The patches of `image` (C*H*W values).
    const T* gather(const T* image) {
        for_each_block(image, [](T* out, const T* row, std::size_t before, std::size_t count, std::size_t after) {
            std::fill_n(out, before, T{0});
            if (row) copy_run(row, 2, out + before, count);
            std::fill_n(out + before + count, after, T{0});
        });
        return buffer_;
    }
    // Where the caller writes patch gradients before scatter_add_to.
    T* scratch(T*) { return buffer_; }
    // Adds the patch gradients in scratch() into `image` (zeroed by the caller).
    void scatter_add_to(T* image) {
        for_each_block(image, [](T* columns, T* row, std::size_t before, std::size_t count, std::size_t) {
            if (row) add_run(columns + before, row, 2, count);
        });
    }

private:
    // f(one window row of the buffer, the image row from the first pixel it
    // reads or null, zeros before, pixels read, zeros after) for each patch
    // row, place in the window and window row. Window x of a row reads
    // image column 2x + shift; the reads outside the image are the zeros.
    template <class Pixel, class F> void for_each_block(Pixel* image, F f) const {
        const long h = static_cast<long>(g_.h), w = static_cast<long>(g_.w);
        const long pad_h = static_cast<long>(g_.o.padding[0]), pad_w = static_cast<long>(g_.o.padding[1]);
        const long pw = static_cast<long>(pw_);
        const std::size_t q = ph_ * pw_;
        T* out = buffer_;
        for (std::size_t c = 0; c < g_.c; ++c)
            for (long i = 0; i < static_cast<long>(g_.kh); ++i)
                for (long j = 0; j < static_cast<long>(g_.kw); ++j)
                    for (long dy = 0; dy < 2; ++dy)
                        for (long dx = 0; dx < 2; ++dx, out += q) {
                            const long shift = dx + j - pad_w;
                            // 2x + shift lies in [0, w) for x in [lo, hi).
                            const long lo = std::clamp(shift >= 0 ? 0L : (1 - shift) / 2, 0L, pw);
                            const long hi = std::clamp(w - shift > 0 ? (w - shift + 1) / 2 : 0L, lo, pw);
                            for (long y = 0; y < static_cast<long>(ph_); ++y) {
                                const long iy = 2 * y + dy + i - pad_h;
                                T* at = out + y * pw;
                                if (iy < 0 || iy >= h) {
                                    f(at, static_cast<Pixel*>(nullptr), 0, 0, pw_);
                                    continue;
                                }
                                Pixel* row = image + (c * g_.h + static_cast<std::size_t>(iy)) * g_.w;
                                f(at, row + (2 * lo + shift), static_cast<std::size_t>(lo),
                                  static_cast<std::size_t>(hi - lo), static_cast<std::size_t>(pw - hi));
                            }
                        }
    }

    Geometry g_;
    std::size_t ph_, pw_;
    T* buffer_;
};

// One channel's windows: the maximum of b0[i], b1[i], b2[i], b3[i] (the
// window's row-major order; the first on ties, or the first NaN, as
// max_pool_2x2) and its position corner[i] + {0, 1, width, width + 1}.
// Selects through bit masks, on buffers that do not overlap: the loop
// vectorises (a call of its own keeps the compiler sure of the latter).
template <class T>
[[gnu::noinline]] void max_of_four(const T* __restrict b0, const T* __restrict b1, const T* __restrict b2,
                                   const T* __restrict b3, const std::int32_t* __restrict corner, std::int32_t width,
                                   std::size_t q, T* __restrict out, std::int32_t* __restrict at_max) {
    for (std::size_t i = 0; i < q; ++i) {
        const T v1 = b1[i], v2 = b2[i], v3 = b3[i];
        T best = b0[i];
        std::int32_t at = 0;
        bool take = replaces(v1, best);
        best = select(take, v1, best);
        at = select(take, std::int32_t{1}, at);
        take = replaces(v2, best);
        best = select(take, v2, best);
        at = select(take, width, at);
        take = replaces(v3, best);
        best = select(take, v3, best);
        at = select(take, width + 1, at);
        out[i] = best;
        at_max[i] = corner[i] + at;
    }
}

// The pool over one image's outputs `z` in window order (O rows of 4Q):
// each window's maximum into `out` and its position in the output plane
// (of width `width`) into `at_max`, as max_pool gives them. `corner[q]` is
// window q's top-left position in the plane.
template <class T>
void max_pool_window_order(const T* z, std::size_t channels, std::size_t q, const std::int32_t* corner,
                           std::int32_t width, T* out, std::int32_t* at_max) {
    for (std::size_t o = 0; o < channels; ++o, z += 4 * q, out += q, at_max += q)
        max_of_four(z, z + q, z + 2 * q, z + 3 * q, corner, width, q, out, at_max);
}

// dst[i] = grad[i] where window i's maximum is at corner[i] + offset, else 0.
template <class T>
[[gnu::noinline]] void unpool_one_place(const T* __restrict grad, const std::int32_t* __restrict at_max,
                                        const std::int32_t* __restrict corner, std::int32_t offset, std::size_t q,
                                        T* __restrict dst) {
    for (std::size_t i = 0; i < q; ++i) {
        const T value = grad[i];
        dst[i] = at_max[i] - corner[i] == offset ? value : T{0};
    }
}

// Its gradient: each window's gradient `grad` at its maximum `at_max`, the
// other three places zero, into `m` in window order.
template <class T>
void unpool_window_order(const T* grad, const std::int32_t* at_max, std::size_t channels, std::size_t q,
                         const std::int32_t* corner, std::int32_t width, T* m) {
    const std::int32_t offsets[4] = {0, 1, width, width + 1};
    for (std::size_t o = 0; o < channels; ++o, grad += q, at_max += q)
        for (std::size_t k = 0; k < 4; ++k, m += q) unpool_one_place(grad, at_max, corner, offsets[k], q, m);
}

}  // namespace rg::detail
