#pragma once
// The im2col + GEMM passes of a convolution (conv.cpp checks the shapes,
// allocates the buffers and says which kernel runs): image by image, each
// image's patches gathered into a buffer that stays in cache for the GEMM
// that reads them, group by group.
#include "../kernels.hpp"
#include "lane_sum.hpp"
#include "patches.hpp"
#include "pool_planes.hpp"
#include "threads.hpp"
#include "window_patches.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rg::detail {

// The shapes of a convolution in groups. With groups, the channels split
// into `groups` independent convolutions: group k's output channels
// [k O/G, (k+1) O/G) see its input channels [k C/G, (k+1) C/G).
struct ConvShapes {
    Geometry g;  // of one group: g.c is C / groups
    std::size_t groups, out_channels, patch, pixels;  // patch: one group's (C / groups) * kh * kw
    std::size_t group_out() const { return out_channels / groups; }
    std::size_t group_block() const { return g.c * g.h * g.w; }  // one group of one image
};

// The patches of every image and group, the values im2col would make.
inline std::size_t patch_values(const ConvShapes& s) { return s.g.n * s.groups * s.patch * s.pixels; }

// One image's patches as a (C*kh*kw, OH*OW) matrix in a buffer reused from
// image to image. A 1x1 kernel with unit stride and no padding needs no copy.
template <class T> class ImagePatches {
public:
    // `buffer` holds size(g) values (none needed when size(g) is 0).
    ImagePatches(const Geometry& g, T* buffer) : single_(g), buffer_(buffer) { single_.n = 1; }
    // The values one image's patches take, 0 when the image is its own patches.
    static std::size_t size(const Geometry& g) {
        const bool identity = g.kh == 1 && g.kw == 1 && g.o.stride == Size2{1, 1} && g.o.padding == Size2{0, 0};
        return identity ? 0 : g.c * g.kh * g.kw * g.oh * g.ow;
    }
    // The patches of `image` (one image, C*H*W values).
    const T* gather(const T* image) {
        if (!buffer_) return image;
        gather_patches(single_, image, buffer_);
        return buffer_;
    }
    // Where the caller writes patch gradients before scatter_add_to.
    T* scratch(T* image) { return buffer_ ? buffer_ : image; }
    // Adds the patch gradients in scratch() into `image` (zeroed by the caller).
    void scatter_add_to(T* image) {
        if (buffer_) scatter_patches(single_, buffer_, image);
    }

private:
    Geometry single_;
    T* buffer_;
};

// The patch buffers of the image ranges run at once: range r's buffer is
// `each` values from buffers + r * each (each 0: none needed).
template <class T> struct PatchSpace {
    T* buffers;
    std::size_t each;
    ImagePatches<T> for_range(const Geometry& g, std::size_t r) const {
        return ImagePatches<T>(g, each > 0 ? buffers + r * each : nullptr);
    }
};

// Calls body(range, first image, end image) for `ranges` ranges covering the
// images, in parallel; the caller's rg::Autocast state holds in every thread.
inline void for_image_ranges(std::size_t images, std::size_t ranges,
                             FunctionRef<void(std::size_t, std::size_t, std::size_t)> body) {
    const bool bf16 = autocast_products();
    parallel_blocks(
        ranges, ranges > 1 ? compute_parallel_threshold : 0,
        [&](std::size_t r) {
            const AutocastProducts products(bf16);
            body(r, images * r / ranges, images * (r + 1) / ranges);
        },
        compute_parallel_threshold);
}

// out = g where y > 0, else 0 (relu's VJP from its output), on buffers
// that do not overlap, so that it vectorises.
template <class T>
void keep_where_positive(const T* __restrict g, const T* __restrict y, T* __restrict out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const T gi = g[i];  // read whatever y says: a select, not a branch
        out[i] = y[i] > 0 ? gi : T{0};
    }
}

// max(v + shift, 0) in place, as relu (of the biased value).
template <class T> void relu_in_place(T* __restrict values, std::size_t n, T shift = T{0}) {
    for (std::size_t i = 0; i < n; ++i) {
        const T v = values[i] + shift;
        values[i] = v > 0 ? v : T{0};
    }
}

// y = conv2d(x, w) + b (b may be null), in `ranges` image ranges; with
// `relu`, each image's output goes through max(., 0) while it is still in
// cache (conv2d_relu).
template <class T>
void forward_by_patches(const ConvShapes& s, std::size_t ranges, PatchSpace<T> space, const T* x, const T* w,
                        const T* b, T* y, bool relu = false) {
    const std::size_t og = s.group_out();
    for_image_ranges(s.g.n, ranges, [&](std::size_t r, std::size_t first, std::size_t end) {
        ImagePatches<T> patches = space.for_range(s.g, r);
        for (std::size_t n = first; n < end; ++n) {
            for (std::size_t k = 0; k < s.groups; ++k) {
                // The output starts from the bias, so that the GEMM adds onto it.
                T* dst = y + (n * s.groups + k) * og * s.pixels;
                if (b)
                    for (std::size_t o = 0; o < og; ++o) std::fill_n(dst + o * s.pixels, s.pixels, b[k * og + o]);
                product(false, false, og, s.pixels, s.patch, w + k * og * s.patch, s.patch,
                        patches.gather(x + (n * s.groups + k) * s.group_block()), s.pixels, dst, b != nullptr);
            }
            if (relu) relu_in_place(y + n * s.out_channels * s.pixels, s.out_channels * s.pixels);
        }
    });
}

// dx from the output gradient g, in `ranges` image ranges: per image and
// group, the patch gradients Wᵀ G, summed back into the image while they
// are still in cache.
template <class T>
void input_grad_by_patches(const ConvShapes& s, std::size_t ranges, PatchSpace<T> space, const T* g, const T* w,
                           T* dx) {
    const std::size_t og = s.group_out();
    for_image_ranges(s.g.n, ranges, [&](std::size_t r, std::size_t first, std::size_t end) {
        ImagePatches<T> patches = space.for_range(s.g, r);
        std::fill(dx + first * s.groups * s.group_block(), dx + end * s.groups * s.group_block(), T{0});
        for (std::size_t n = first; n < end; ++n) {
            for (std::size_t k = 0; k < s.groups; ++k) {
                T* image = dx + (n * s.groups + k) * s.group_block();
                product(true, false, s.patch, s.pixels, og, w + k * og * s.patch, s.patch,
                        g + (n * s.groups + k) * og * s.pixels, s.pixels, patches.scratch(image), false);
                patches.scatter_add_to(image);
            }
        }
    });
}

// Whether the weight gradient's products take the patches as their left
// factor (dWᵀ = Σ im2col(X) Gᵀ, transposed at the end) rather than G (dW =
// Σ G im2col(X)ᵀ, no transposition); both read one factor transposed along
// the pixels. On oneDNN's sgemm, one thread (docs/performance.md,
// "Convolutions"), G on the left measured as fast or faster on every shape
// with up to 784 output pixels, and up to twice as fast (a batch of one, a
// depthwise layer); with 1024 pixels and fewer output channels than patch
// rows (3->16 channels, 5x5, 32x32), the patches on the left ran twice as
// fast.
inline bool weight_grad_patches_left(const ConvShapes& s) { return s.group_out() < s.patch && s.pixels >= 1024; }

// Whether weight_grad_by_patches needs `partials`: for several blocks, or for
// products that sum dW transposed. Otherwise its one block sums into dw.
inline bool weight_grad_partial_sums(const ConvShapes& s, std::size_t blocks) {
    return blocks > 1 || weight_grad_patches_left(s);
}

// dw = Σ over images of G im2col(X)ᵀ per group, the images split into
// `blocks` ranges of consecutive images: a number fixed by the shape alone
// (conv.cpp), each range summed apart into `partials` (blocks * O * patch
// values, unused unless weight_grad_partial_sums(s, blocks)) and the
// ranges added in order, so that the result does not depend on the thread
// count.
template <class T>
void weight_grad_by_patches(const ConvShapes& s, std::size_t blocks, PatchSpace<T> space, T* partials, const T* g,
                            const T* x, T* dw) {
    const std::size_t og = s.group_out(), size = s.out_channels * s.patch;
    if (blocks == 0) {
        std::fill_n(dw, size, T{0});
        return;
    }
    const bool patches_left = weight_grad_patches_left(s);
    const bool direct = !weight_grad_partial_sums(s, blocks);
    for_image_ranges(s.g.n, blocks, [&](std::size_t r, std::size_t first, std::size_t end) {
        ImagePatches<T> patches = space.for_range(s.g, r);
        T* sum = direct ? dw : partials + r * size;
        for (std::size_t k = 0; k < s.groups; ++k) {
            T* sum_k = sum + k * og * s.patch;  // (og, patch), or (patch, og) with the patches on the left
            for (std::size_t n = first; n < end; ++n) {
                const T* g_n = g + (n * s.groups + k) * og * s.pixels;
                const T* cols = patches.gather(x + (n * s.groups + k) * s.group_block());
                if (patches_left)
                    product(false, true, s.patch, og, s.pixels, cols, s.pixels, g_n, s.pixels, sum_k, n > first);
                else
                    product(false, true, og, s.patch, s.pixels, g_n, s.pixels, cols, s.pixels, sum_k, n > first);
            }
        }
    });
    if (direct) return;
    if (!patches_left) {
        std::copy_n(partials, size, dw);
        for (std::size_t b = 1; b < blocks; ++b) add_into(dw, partials + b * size, size);
        return;
    }
    for (std::size_t k = 0; k < s.groups; ++k) {
        T* dw_k = dw + k * og * s.patch;
        for (std::size_t c = 0; c < og; ++c)
            for (std::size_t r = 0; r < s.patch; ++r) {
                const std::size_t at = k * og * s.patch + r * og + c;
                T total = partials[at];
                for (std::size_t b = 1; b < blocks; ++b) total += partials[b * size + at];
                dw_k[c * s.patch + r] = total;
            }
    }
}

// out[o] = the sum of `values` (images x channels x per_channel) over images
// and positions: image by image, each in lanes (lane_sum.hpp).
template <class T>
void sum_channels(const T* values, std::size_t images, std::size_t channels, std::size_t per_channel, T* out) {
    for (std::size_t o = 0; o < channels; ++o) {
        T total = 0;
        for (std::size_t n = 0; n < images; ++n) {
            const T* row = values + (n * channels + o) * per_channel;
            total += lane_sum<T>(per_channel, [row](std::size_t i) { return row[i]; });
        }
        out[o] = total;
    }
}

// Where a fused convolution's outputs go: in the pixel order of its output
// plane, or in window order (window_patches.hpp) for a pool of ph x pw
// windows.
struct OutputOrder {
    std::size_t ph = 0, pw = 0;  // 0: plane order
    bool windows() const { return ph > 0; }
    // The columns one image's outputs take per channel.
    std::size_t columns(const ConvShapes& s) const { return windows() ? 4 * ph * pw : s.pixels; }
    // The values one range's patch buffer holds.
    template <class T> std::size_t patch_buffer(const ConvShapes& s) const {
        return windows() ? WindowPatches<T>::size(s.g, ph, pw) : ImagePatches<T>::size(s.g);
    }
};

// Calls body(patches) with range r's patches in `order` (patches: an
// ImagePatches or a WindowPatches, which share their interface).
template <class T, class Body>
void with_patches(const ConvShapes& s, OutputOrder order, PatchSpace<T> space, std::size_t r, Body body) {
    if (order.windows())
        body(WindowPatches<T>(s.g, order.ph, order.pw, space.buffers + r * space.each));
    else
        body(space.for_range(s.g, r));
}

// max_pool(relu(conv2d(x, w) + b)) (b may be null), in `ranges` image
// ranges: each image's convolution written into `scratch` (one image's
// outputs per range), where the ReLU and the pool read it while it is in
// cache; only the pooled values `out` and their positions `at_max` (as
// max_pool gives them) are written. `pool` is the pool's geometry for one
// image (n = 1, c = O); in window order, `corner` holds its windows'
// top-left positions.
template <class T>
void relu_pool_forward_by_patches(const ConvShapes& s, OutputOrder order, std::size_t ranges, PatchSpace<T> space,
                                  T* scratch, const Geometry& pool, const std::int32_t* corner, const T* x, const T* w,
                                  const T* b, T* out, std::int32_t* at_max) {
    const std::size_t og = s.group_out(), columns = order.columns(s), outputs = s.out_channels * columns;
    const std::size_t pooled = s.out_channels * pool.oh * pool.ow;
    for_image_ranges(s.g.n, ranges, [&](std::size_t r, std::size_t first, std::size_t end) {
        with_patches(s, order, space, r, [&](auto patches) {
            T* image = scratch + r * outputs;
            for (std::size_t n = first; n < end; ++n) {
                for (std::size_t k = 0; k < s.groups; ++k)
                    product(false, false, og, columns, s.patch, w + k * og * s.patch, s.patch,
                            patches.gather(x + (n * s.groups + k) * s.group_block()), columns, image + k * og * columns,
                            false);
                // The bias added in the ReLU's pass rather than written first for the GEMM to add to.
                for (std::size_t o = 0; o < s.out_channels; ++o)
                    relu_in_place(image + o * columns, columns, b ? b[o] : T{0});
                if (order.windows())
                    max_pool_window_order(image, s.out_channels, pool.oh * pool.ow, corner,
                                          static_cast<std::int32_t>(s.g.ow), out + n * pooled, at_max + n * pooled);
                else
                    max_pool(image, pool, out + n * pooled, at_max + n * pooled);
            }
        });
    });
}

// The backward pass of a convolution from its output gradient dZ, image by
// image: fill_dz(range, image, m, sums) writes one image's dZ into m (a buffer of
// `masked`, one image's outputs per block, so it stays in cache), where the
// bias gradient (sums over pixels), the weight gradient (as
// weight_grad_by_patches, in the same blocks of images, added in order) and
// the input gradient (as input_grad_by_patches) read it. With `sums` not
// null (the bias gradient asked for), fill_dz may write the image's sums of
// dZ over pixels there, one per channel, and return true (the pool's kept
// gradient has a quarter of the values); false: they are summed from m. A null db, dw or dx
// is not computed. `partials` holds blocks * (O * patch + O) values when
// blocks > 1, else nothing. The caller keeps weight_grad_patches_left(s)
// cases on the unfused path.
template <class T>
void conv_backward_by_patches(const ConvShapes& s, OutputOrder order, std::size_t blocks, PatchSpace<T> space,
                              T* masked, T* partials, FunctionRef<bool(std::size_t, std::size_t, T*, T*)> fill_dz,
                              const T* x, const T* w, T* dx, T* dw, T* db) {
    const std::size_t og = s.group_out(), columns = order.columns(s), outputs = s.out_channels * columns;
    const std::size_t weights = s.out_channels * s.patch, part = weights + s.out_channels;
    if (s.g.n == 0 || blocks == 0) {
        if (dw) std::fill_n(dw, weights, T{0});
        if (db) std::fill_n(db, s.out_channels, T{0});
        return;
    }
    for_image_ranges(s.g.n, blocks, [&](std::size_t r, std::size_t first, std::size_t end) {
        with_patches(s, order, space, r, [&](auto patches) {
            T* m = masked + r * outputs;
            T* dw_sum = blocks > 1 ? partials + r * part : dw;
            T* db_sum = blocks > 1 ? partials + r * part + weights : db;
            if (dx) std::fill(dx + first * s.groups * s.group_block(), dx + end * s.groups * s.group_block(), T{0});
            std::vector<T> sums(db ? s.out_channels : 0);
            for (std::size_t n = first; n < end; ++n) {
                const bool summed = fill_dz(r, n, m, db ? sums.data() : nullptr);
                if (db) {
                    if (!summed) sum_channels<T>(m, 1, s.out_channels, columns, sums.data());
                    for (std::size_t o = 0; o < s.out_channels; ++o)
                        db_sum[o] = n > first ? db_sum[o] + sums[o] : sums[o];
                }
                for (std::size_t k = 0; k < s.groups; ++k) {
                    const T* m_k = m + k * og * columns;
                    if (dw)
                        product(false, true, og, s.patch, columns, m_k, columns,
                                patches.gather(x + (n * s.groups + k) * s.group_block()), columns,
                                dw_sum + k * og * s.patch, n > first);
                    if (dx) {
                        T* image = dx + (n * s.groups + k) * s.group_block();
                        product(true, false, s.patch, columns, og, w + k * og * s.patch, s.patch, m_k, columns,
                                patches.scratch(image), false);
                        patches.scatter_add_to(image);
                    }
                }
            }
        });
    });
    if (blocks == 1) return;
    if (dw) std::copy_n(partials, weights, dw);
    if (db) std::copy_n(partials + weights, s.out_channels, db);
    for (std::size_t b = 1; b < blocks; ++b) {
        if (dw) add_into(dw, partials + b * part, weights);
        if (db) add_into(db, partials + b * part + weights, s.out_channels);
    }
}

}  // namespace rg::detail
