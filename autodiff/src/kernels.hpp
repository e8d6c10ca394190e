#pragma once
// Internal helpers shared by the op files: dtype dispatch, argument checks and
// the strided loops that all elementwise, broadcasting and reduction kernels
// are built on. Arrays are always contiguous row-major (we create them), so the
// common cases are plain loops over raw pointers.
#include <retrograd/autograd.hpp>
#include <retrograd/ops.hpp>

#include <array>
#include <cstddef>
#include <type_traits>

namespace rg::detail {

using Strides = xt::svector<std::ptrdiff_t, 4>;

inline const Tensor& defined_or_fail(const Tensor& t, const char* op) {
    if (!t.defined()) fail("{}: got an undefined tensor (default-constructed rg::Tensor)", op);
    return t;
}

// Calls f(array) with the float32 or float64 array behind t.
template <class F>
decltype(auto) visit_float(const Tensor& t, const char* op, F&& f) {
    defined_or_fail(t, op);
    switch (t.dtype()) {
        case Dtype::float32: return f(t.value<float>());
        case Dtype::float64: return f(t.value<double>());
        default: break;
    }
    fail("{}: expected a float32 or float64 tensor, got {}", op, dtype_name(t.dtype()));
}

inline void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
    defined_or_fail(a, op);
    defined_or_fail(b, op);
    if (a.dtype() != b.dtype()) {
        fail("{}: dtype mismatch, {} and {}; convert one side with .to(rg::{})", op,
             dtype_name(a.dtype()), dtype_name(b.dtype()), dtype_name(a.dtype()));
    }
}

// Calls f(array_a, array_b) with both arrays of the same float dtype.
template <class F>
decltype(auto) visit_float2(const Tensor& a, const Tensor& b, const char* op, F&& f) {
    check_same_dtype(a, b, op);
    return visit_float(a, op, [&](const auto& av) -> decltype(auto) {
        using T = typename std::decay_t<decltype(av)>::value_type;
        return f(av, b.value<T>());
    });
}

Strides contiguous_strides(const Shape& shape);
// Strides that read an array of shape `from` as if broadcast to `to`.
Strides broadcast_strides(const Shape& from, const Shape& to);
// Row-major shape with `axes` (sorted, unique) set to 1 or removed.
Shape reduced_shape(const Shape& shape, const std::vector<std::size_t>& axes, bool keepdims);
// Normalises an axis list (negative, duplicates, range); empty means all axes.
std::vector<std::size_t> normalize_axes(const Axes& axes, std::size_t rank, const char* op);

// Calls f(offsets, inner_strides, count) for every innermost row of `shape`:
// element k of the row sits at offsets[i] + k * inner_strides[i] in operand i.
template <std::size_t N, class F>
void for_each_row(const Shape& shape, const std::array<Strides, N>& strides, F&& f) {
    const std::size_t rank = shape.size();
    std::array<std::ptrdiff_t, N> offsets{};
    std::array<std::ptrdiff_t, N> inner{};
    if (rank == 0) {
        f(offsets, inner, std::size_t{1});
        return;
    }
    if (shape_numel(shape) == 0) return;
    for (std::size_t i = 0; i < N; ++i) inner[i] = strides[i][rank - 1];
    const std::size_t count = shape[rank - 1];
    xt::svector<std::size_t, 4> index(rank, 0);
    while (true) {
        f(offsets, inner, count);
        std::ptrdiff_t d = static_cast<std::ptrdiff_t>(rank) - 2;
        for (; d >= 0; --d) {
            if (++index[d] < shape[d]) {
                for (std::size_t i = 0; i < N; ++i) offsets[i] += strides[i][d];
                break;
            }
            for (std::size_t i = 0; i < N; ++i)
                offsets[i] -= strides[i][d] * static_cast<std::ptrdiff_t>(shape[d] - 1);
            index[d] = 0;
        }
        if (d < 0) return;
    }
}

template <class T>
xt::xarray<T> uninitialized(const Shape& shape) {
    return xt::xarray<T>(shape);
}

// out[i] = f(a[i]) over a contiguous array.
template <class T, class F>
xt::xarray<T> map_values(const xt::xarray<T>& a, F f) {
    xt::xarray<T> out(a.shape());
    const T* in = a.data();
    T* o = out.data();
    const std::size_t n = a.size();
    for (std::size_t i = 0; i < n; ++i) o[i] = f(in[i]);
    return out;
}

// out = f(a, b) with NumPy broadcasting to out_shape.
template <class T, class F>
xt::xarray<T> zip_values(const xt::xarray<T>& a, const xt::xarray<T>& b, const Shape& out_shape,
                         F f) {
    xt::xarray<T> out(out_shape);
    T* o = out.data();
    const T* pa = a.data();
    const T* pb = b.data();
    const std::size_t n = out.size();
    const bool a_full = a.shape() == out_shape;
    const bool b_full = b.shape() == out_shape;
    if (a_full && b_full) {
        for (std::size_t i = 0; i < n; ++i) o[i] = f(pa[i], pb[i]);
    } else if (a_full && b.size() == 1) {
        const T s = pb[0];
        for (std::size_t i = 0; i < n; ++i) o[i] = f(pa[i], s);
    } else if (b_full && a.size() == 1) {
        const T s = pa[0];
        for (std::size_t i = 0; i < n; ++i) o[i] = f(s, pb[i]);
    } else {
        const std::array<Strides, 3> st{broadcast_strides(a.shape(), out_shape),
                                        broadcast_strides(b.shape(), out_shape),
                                        contiguous_strides(out_shape)};
        for_each_row(out_shape, st, [&](const auto& off, const auto& in, std::size_t count) {
            const T* ra = pa + off[0];
            const T* rb = pb + off[1];
            T* ro = o + off[2];
            for (std::size_t k = 0; k < count; ++k)
                ro[k] = f(ra[static_cast<std::ptrdiff_t>(k) * in[0]],
                          rb[static_cast<std::ptrdiff_t>(k) * in[1]]);
        });
    }
    return out;
}

// Splits `shape` around `axis` into (outer, size, inner) so that element
// (o, k, i) sits at (o * size + k) * inner + i.
struct AxisSplit {
    std::size_t outer = 1, size = 1, inner = 1;
};
AxisSplit split_at(const Shape& shape, std::size_t axis);

// Runs f with recording off: for values a VJP needs but never differentiates.
template <class F>
auto without_grad(F&& f) {
    NoGrad off;
    return f();
}

// C (m x n) = op(A) op(B), or C += op(A) op(B) when accumulating, through
// BLAS (float: retrograd's AVX-512 kernel where the CPU has it), row-major, inner size k; lda and ldb are the stored row lengths.
// Zero-sized products are handled.
void product(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
             const float* b, std::size_t ldb, float* c, bool accumulate);
void product(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
             const double* b, std::size_t ldb, double* c, bool accumulate);

// The float product on CPUs with AVX-512 (sgemm_avx512.cpp), same arguments
// as product(); false, having done nothing, where it does not run (no
// AVX-512, RETROGRAD_NO_AVX512=1, or an empty product).
bool avx512_sgemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
                  const float* b, std::size_t ldb, float* c, bool accumulate);

// Keeps freed memory in the heap for reuse (memory.cpp); false when opted out.
bool tune_heap();

// Raises when anomaly detection is on and values hold NaN or Inf.
void check_finite(const Tensor& t, const char* when, const std::string& op);

}  // namespace rg::detail
