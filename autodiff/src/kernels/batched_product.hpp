#pragma once
// Batches of matrix products over detail::product (kernels/blas.cpp): the
// loops of matmul's broadcast batch and of gemm_sum (linalg.cpp says what
// each computes and checks the shapes).
#include "../kernels.hpp"

namespace rg::detail {

// One operand of a batch: its first matrix, whether it is read transposed,
// its stored row length, and its batch strides (in elements) broadcast to
// the batch's shape.
template <class T> struct BatchOperand {
    const T* data;
    bool transposed;
    std::size_t ld;
    Strides batch_strides;
};

// out[b] (m x n, dense, batch index b in row-major order over `batch`) =
// op(a[b]) op(b[b]) with inner size k: one product per matrix of the batch.
template <class T>
void product_batch(const BatchOperand<T>& a, const BatchOperand<T>& b, const Shape& batch, std::size_t m, std::size_t n,
                   std::size_t k, T* out) {
    const std::array<Strides, 3> st{a.batch_strides, b.batch_strides, contiguous_strides(batch)};
    const auto matrix = static_cast<std::ptrdiff_t>(m * n);
    for_each_row(batch, st, [&](const auto& off, const auto& inner, std::size_t count) {
        for (std::size_t i = 0; i < count; ++i) {
            const auto ii = static_cast<std::ptrdiff_t>(i);
            product(a.transposed, b.transposed, m, n, k, a.data + off[0] + ii * inner[0], a.ld,
                    b.data + off[1] + ii * inner[1], b.ld, out + (off[2] + ii * inner[2]) * matrix, false);
        }
    });
}

// out (m x n) = the sum over `batch` dense pairs of op(a[i]) op(b[i]), each
// a[i] holding a_size values of row length lda and b[i] b_size values of row
// length ldb, accumulated in order of i (zeros for an empty batch).
template <class T>
void product_sum(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t a_size,
                 std::size_t lda, const T* b, std::size_t b_size, std::size_t ldb, std::size_t batch, T* out) {
    if (batch == 0) std::fill_n(out, m * n, T{0});
    for (std::size_t i = 0; i < batch; ++i)
        product(ta, tb, m, n, k, a + i * a_size, lda, b + i * b_size, ldb, out, i > 0);
}

}  // namespace rg::detail
