#pragma once
// Index kernels: the loops of index_select, index_add, gather, scatter_add
// and concat (shape.cpp says what each computes and checks the indices'
// shapes). Every array is dense row-major; an axis is split (outer, size,
// inner) by split_at.
#include "../kernels.hpp"

#include <optional>

namespace rg::detail {

// The first index outside [0, size), if any.
inline std::optional<std::int64_t> index_out_of_range(const Dense<std::int64_t>& indices, std::size_t size) {
    for (const std::int64_t v : indices)
        if (v < 0 || static_cast<std::size_t>(v) >= size) return v;
    return std::nullopt;
}

// out[o, j, i] = in[o, indices[j], i]; `in` split by `split`, out holding
// split.outer * count * split.inner values. Outer blocks on several threads
// when large (each writes its own block).
template <class T>
void select_along(const T* in, const AxisSplit& split, const std::int64_t* indices, std::size_t count, T* out) {
    const std::size_t block = std::max<std::size_t>(count * split.inner, 1);
    parallel_for(
        split.outer,
        [&](std::size_t first, std::size_t last) {
            for (std::size_t b = first; b < last; ++b) {
                T* dst = out + b * count * split.inner;
                for (std::size_t j = 0; j < count; ++j) {
                    const T* src = in + (b * split.size + static_cast<std::size_t>(indices[j])) * split.inner;
                    dst = std::copy(src, src + split.inner, dst);
                }
            }
        },
        std::max<std::size_t>(2, parallel_threshold / block));
}

// out = zeros, then out[o, indices[j], i] += source[o, j, i] in order of j
// (repeated indices add up); out split by `split`.
template <class T>
void add_along(const T* source, const AxisSplit& split, const std::int64_t* indices, std::size_t count, T* out) {
    std::fill_n(out, split.outer * split.size * split.inner, T{0});
    const std::size_t block = std::max<std::size_t>(count * split.inner, 1);
    parallel_for(
        split.outer,
        [&](std::size_t first, std::size_t last) {
            for (std::size_t b = first; b < last; ++b) {
                const T* src = source + b * count * split.inner;
                for (std::size_t j = 0; j < count; ++j, src += split.inner) {
                    T* dst = out + (b * split.size + static_cast<std::size_t>(indices[j])) * split.inner;
                    for (std::size_t k = 0; k < split.inner; ++k) dst[k] += src[k];
                }
            }
        },
        std::max<std::size_t>(2, parallel_threshold / block));
}

// Visits every position p of `index` (dense, x's rank, checked by the caller)
// in order, with the flat offset in a dense x of shape x_shape where axis
// `axis` is replaced by index[p]: f(p, x_offset).
template <class F>
void for_each_gathered(const Shape& x_shape, const Dense<std::int64_t>& index, std::size_t axis, F f) {
    Strides xs = contiguous_strides(x_shape);
    const std::ptrdiff_t axis_stride = xs[axis];
    xs[axis] = 0;
    const std::int64_t* idx = index.data();
    const std::array<Strides, 2> st{xs, contiguous_strides(index.shape())};
    for_each_row(index.shape(), st, [&](const auto& off, const auto& inner, std::size_t count) {
        for (std::size_t k = 0; k < count; ++k) {
            const auto kk = static_cast<std::ptrdiff_t>(k);
            const auto pos = off[1] + kk;
            f(static_cast<std::size_t>(pos), off[0] + kk * inner[0] + idx[pos] * axis_stride);
        }
    });
}

// out[p] = x[p with axis replaced by index[p]] (torch.gather), out of index's shape.
template <class T>
void gather_values(const T* x, const Shape& x_shape, const Dense<std::int64_t>& index, std::size_t axis, T* out) {
    for_each_gathered(x_shape, index, axis, [&](std::size_t p, std::ptrdiff_t src) { out[p] = x[src]; });
}

// out = zeros of out_shape, then source[p] added at p with axis replaced by
// index[p], in order of p (repeats add up).
template <class T>
void scatter_add_values(const T* source, const Shape& out_shape, const Dense<std::int64_t>& index, std::size_t axis,
                        T* out) {
    std::fill_n(out, shape_numel(out_shape), T{0});
    for_each_gathered(out_shape, index, axis, [&](std::size_t p, std::ptrdiff_t dst) { out[dst] += source[p]; });
}

// out = the tensors (of dtype T, checked by the caller) one after the other
// along `axis`, out being split around it by `out_split`.
template <class T> void concat_values(const TensorList& tensors, const AxisSplit& out_split, std::size_t axis, T* out) {
    const std::size_t row = out_split.size * out_split.inner;
    std::size_t offset = 0;
    for (const Tensor& t : tensors) {
        const Dense<T> part(t);
        const std::size_t block = t.shape()[axis] * out_split.inner;
        for (std::size_t b = 0; b < out_split.outer; ++b)
            std::copy(part.data() + b * block, part.data() + (b + 1) * block, out + b * row + offset);
        offset += block;
    }
}

// values[at[k]] = 0 for k < n (values dense, the positions checked by the caller).
template <class T> void zero_positions(T* values, const std::int64_t* at, std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) values[at[k]] = T{0};
}

}  // namespace rg::detail
