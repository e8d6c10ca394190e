#pragma once
// Elementwise kernels on whole tensors: the loops behind op_defs.hpp's
// map_float, zip_float and in-place gradient helpers, addcmul's strided rows
// and where's selection. The caller has checked dtypes and shapes and made
// the dense result; these only walk the values.
#include "../kernels.hpp"

namespace rg::detail {

// out (dense, x's shape, dtype T) = f(x), x read in place with its strides.
template <class T, class F> void map_into(const Tensor& x, const Tensor& out, F f) {
    map_values(Strided<T>(x), out.data_ptr<T>(), f);
}

// out (dense, dtype T) = f(a, b), a and b broadcast to out's shape and read in place.
template <class T, class F> void zip_into(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
    zip_values(Strided<T>(a), Strided<T>(b), out.shape(), out.data_ptr<T>(), f);
}

// g = f(g, y) elementwise in g's own buffer (g dense, y of g's shape, read
// with its strides).
template <class T, class F> void zip_into_first(const Tensor& g, const Tensor& y, F f) {
    T* out = g.data_ptr<T>();
    const T* in = y.data_ptr<T>();
    if (y.is_contiguous()) {
        elementwise(g.numel(), [&](std::size_t i) { out[i] = f(out[i], in[i]); });
        return;
    }
    const std::array<Strides, 2> st{y.strides(), g.strides()};
    for_each_row_parallel(g.shape(), st, [&](const auto& off, const auto& inner, std::size_t count) {
        const T* row = in + off[0];
        T* dst = out + off[1];
        for (std::size_t k = 0; k < count; ++k) dst[k] = f(dst[k], row[static_cast<std::ptrdiff_t>(k) * inner[0]]);
    });
}

// x = f(x) in x's own buffer (x dense).
template <class T, class F> void map_in_place(const Tensor& x, F f) {
    T* values = x.data_ptr<T>();
    elementwise(x.numel(), [&](std::size_t i) { values[i] = f(values[i]); });
}

// g *= factor in g's own buffer (g dense), rounded as mul(g, factor) rounds:
// the product in double, then to T.
template <class T> void scale_in_place(const Tensor& g, double factor) {
    T* values = g.data_ptr<T>();
    elementwise(g.numel(), [&](std::size_t i) { values[i] = static_cast<T>(values[i] * factor); });
}

// out = input + value * t1 * t2 broadcast to out's shape (out dense), the
// three read in place; contiguous rows go through addcmul_row (streaming
// stores when `stream`, fenced here).
template <class T>
void addcmul_into(const Strided<T>& input, const Strided<T>& t1, const Strided<T>& t2, T value, const Tensor& out,
                  bool stream) {
    const Shape& shape = out.shape();
    T* o = out.data_ptr<T>();
    const std::array<Strides, 4> strides{broadcast_strides(input.shape, input.strides, shape),
                                         broadcast_strides(t1.shape, t1.strides, shape),
                                         broadcast_strides(t2.shape, t2.strides, shape), contiguous_strides(shape)};
    for_each_row(shape, strides, [&](const auto& offset, const auto& step, std::size_t count) {
        const T* pi = input.data + offset[0];
        const T* pa = t1.data + offset[1];
        const T* pb = t2.data + offset[2];
        T* po = o + offset[3];
        if (step[0] == 1 && step[1] == 1 && step[2] == 1) {
            addcmul_row(pi, pa, pb, value, po, count, stream);
            return;
        }
        for (std::size_t k = 0; k < count; ++k) {
            const auto i = static_cast<std::ptrdiff_t>(k);
            po[k] = pi[i * step[0]] + value * pa[i * step[1]] * pb[i * step[2]];
        }
    });
    if (stream) streaming_fence();
}

// out = mask ? a : b, the three dense and broadcast to out's shape (out dense).
template <class T> void where_into(const Dense<bool>& mask, const Dense<T>& a, const Dense<T>& b, const Tensor& out) {
    const Shape& shape = out.shape();
    T* o = out.data_ptr<T>();
    const std::array<Strides, 4> st{broadcast_strides(mask.shape(), shape), broadcast_strides(a.shape(), shape),
                                    broadcast_strides(b.shape(), shape), contiguous_strides(shape)};
    for_each_row_parallel(shape, st, [&](const auto& off, const auto& in, std::size_t count) {
        for (std::size_t k = 0; k < count; ++k) {
            const auto kk = static_cast<std::ptrdiff_t>(k);
            o[off[3] + kk * in[3]] =
                mask.data()[off[0] + kk * in[0]] ? a.data()[off[1] + kk * in[1]] : b.data()[off[2] + kk * in[2]];
        }
    });
}

}  // namespace rg::detail
