// Matrix products: C = op(A) op(B) (+ C), row-major. float32 goes to oneDNN's
// sgemm, which picks its code for the CPU at run time (SSE4.1, AVX2, AVX-512;
// ONEDNN_MAX_CPU_ISA caps it) and costs less per call than OpenBLAS on small
// products such as attention heads (docs/performance.md has the
// measurements); float64 goes to OpenBLAS. Every op that multiplies matrices
// (matmul, gemm_sum, the convolutions) goes through detail::product, so the
// backend changes here and nowhere else. Under rg::Autocast, float32 products
// run oneDNN's bfloat16 matmul or sgemm on operands rounded to bfloat16
// (bf16.hpp says which).
#include "../kernels.hpp"
#include "bf16.hpp"
#include "onednn.hpp"
#include "threads.hpp"

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

#include <limits>

namespace rg {
namespace {

// An empty inner dimension: the product is zero.
template <class T> void empty_sum(std::size_t m, std::size_t n, T* c, bool accumulate) {
    if (!accumulate) std::fill(c, c + m * n, T{0});
}

// C = op(A) op(B) (+ C) in float32, m, n and k not zero.
void sgemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
           const float* b, std::size_t ldb, float* c, bool accumulate) {
    const auto dim = [](std::size_t v) { return static_cast<dnnl_dim_t>(std::max<std::size_t>(v, 1)); };
    const dnnl_status_t status = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', dim(m), dim(n), dim(k), 1.0f, a, dim(lda),
                                            b, dim(ldb), accumulate ? 1.0f : 0.0f, c, dim(n));
    if (status == dnnl_out_of_memory)
        fail("matmul: oneDNN's sgemm ran out of memory for a {}x{} by {}x{} product", m, k, k, n);
    if (status != dnnl_success)
        fail("matmul: oneDNN's sgemm refused a {}x{} by {}x{} product (leading dimensions {} and {}; status {})", m, k,
             k, n, lda, ldb, static_cast<int>(status));
}

}  // namespace

void detail::product(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
                     const float* b, std::size_t ldb, float* c, bool accumulate) {
    if (m == 0 || n == 0) return;
    if (k == 0) return empty_sum(m, n, c, accumulate);
    match_thread_count();  // oneDNN sizes its threads by the calling thread's OpenMP count
    switch (product_mode()) {  // rg::Autocast: bfloat16 operands, float32 accumulation (bf16.hpp)
        case ProductMode::float32: return sgemm(ta, tb, m, n, k, a, lda, b, ldb, c, accumulate);
        case ProductMode::native: {
            const auto i64 = [](std::size_t v) { return static_cast<std::int64_t>(v); };
            if (onednn_matmul_bf16({i64(m), i64(n), i64(k), i64(std::max<std::size_t>(lda, 1)),
                                    i64(std::max<std::size_t>(ldb, 1)), ta, tb, accumulate},
                                   a, b, c))
                return;
            bf16_unavailable("matmul");
            break;
        }
        case ProductMode::rounded: break;
    }
    // The operands as stored (transposed ones too), rounded into packed copies.
    const std::size_t a_rows = ta ? k : m, a_cols = ta ? m : k, b_rows = tb ? n : k, b_cols = tb ? k : n;
    const Tensor ra = empty_dense<float>(Shape{a_rows * a_cols}, "matmul"),
                 rb = empty_dense<float>(Shape{b_rows * b_cols}, "matmul");
    round_to_bf16_values(a, a_rows, a_cols, lda, ra.data_ptr<float>());
    round_to_bf16_values(b, b_rows, b_cols, ldb, rb.data_ptr<float>());
    sgemm(ta, tb, m, n, k, ra.data_ptr<float>(), a_cols, rb.data_ptr<float>(), b_cols, c, accumulate);
}

void detail::product(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
                     const double* b, std::size_t ldb, double* c, bool accumulate) {
    if (m == 0 || n == 0) return;
    if (k == 0) return empty_sum(m, n, c, accumulate);
    constexpr std::size_t most = std::numeric_limits<int>::max();
    if (m > most || n > most || k > most || lda > most || ldb > most)
        fail("matmul: a {}x{} by {}x{} float64 product exceeds the BLAS's 32-bit sizes", m, k, k, n);
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
                static_cast<int>(n), static_cast<int>(k), 1.0, a, static_cast<int>(std::max<std::size_t>(lda, 1)), b,
                static_cast<int>(std::max<std::size_t>(ldb, 1)), accumulate ? 1.0 : 0.0, c, static_cast<int>(n));
}

}  // namespace rg
