// Matrix products: C = op(A) op(B) (+ C), row-major, through retrograd's
// AVX-512 float32 kernel where the CPU has it and OpenBLAS otherwise. Every
// op that multiplies matrices (matmul, gemm_sum, the convolutions) goes
// through detail::product, so the backend changes here and nowhere else.
#include "../kernels.hpp"

#include <cblas.h>

namespace rg {
namespace {

void blas_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
               const float* b, std::size_t ldb, float* c, bool accumulate) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
                static_cast<int>(n), static_cast<int>(k), 1.0f, a, static_cast<int>(lda), b, static_cast<int>(ldb),
                accumulate ? 1.0f : 0.0f, c, static_cast<int>(n));
}
void blas_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
               const double* b, std::size_t ldb, double* c, bool accumulate) {
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
                static_cast<int>(n), static_cast<int>(k), 1.0, a, static_cast<int>(lda), b, static_cast<int>(ldb),
                accumulate ? 1.0 : 0.0, c, static_cast<int>(n));
}

template <class T>
void product_impl(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t lda,
                  const T* b, std::size_t ldb, T* c, bool accumulate) {
    if (m == 0 || n == 0) return;
    if (k == 0) {
        if (!accumulate) std::fill(c, c + m * n, T{0});
        return;
    }
    blas_gemm(ta, tb, m, n, k, a, std::max<std::size_t>(lda, 1), b, std::max<std::size_t>(ldb, 1), c, accumulate);
}

}  // namespace

void detail::product(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
                     const float* b, std::size_t ldb, float* c, bool accumulate) {
    if (avx512_sgemm(ta, tb, m, n, k, a, lda, b, ldb, c, accumulate)) return;
    product_impl(ta, tb, m, n, k, a, lda, b, ldb, c, accumulate);
}
void detail::product(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
                     const double* b, std::size_t ldb, double* c, bool accumulate) {
    product_impl(ta, tb, m, n, k, a, lda, b, ldb, c, accumulate);
}

}  // namespace rg
