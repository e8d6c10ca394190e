// retrograd's own float32 GEMM for CPUs with AVX-512. OpenBLAS runs whatever
// kernels the environment gives it (this machine pins OPENBLAS_CORETYPE=Haswell:
// AVX2), while LibTorch convolves with oneDNN's AVX-512 code. Here: an 8 x 32
// tile of C in 16 registers, a 32-column panel of B copied contiguous and
// aligned (transposed while copied when B is stored by columns), A read in
// place by rows or by columns. On the benchmarks' shapes it is 1.5-2x
// OpenBLAS's Haswell sgemm, 1.7x on 1024^3 (one thread).
#include "../kernels.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define RG_AVX512_KERNEL 1
#endif

namespace rg::detail {
namespace {

#if RG_AVX512_KERNEL
constexpr std::size_t tile_rows = 8, panel_columns = 32, depth_block = 256;

#define RG_AVX512 __attribute__((target("avx512f"), always_inline)) inline

// One step of A's row i against the panel row: two FMAs into the row's pair.
RG_AVX512 void fma_row(float a, __m512 left, __m512 right, __m512& l, __m512& r) {
    const __m512 broadcast = _mm512_set1_ps(a);
    l = _mm512_fmadd_ps(broadcast, left, l);
    r = _mm512_fmadd_ps(broadcast, right, r);
}

RG_AVX512 void store_row(float* c, __m512 l, __m512 r, __mmask16 m0, __mmask16 m1, bool accumulate) {
    if (accumulate) {
        l = _mm512_add_ps(l, _mm512_maskz_loadu_ps(m0, c));
        r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m1, c + 16));
    }
    _mm512_mask_storeu_ps(c, m0, l);
    _mm512_mask_storeu_ps(c + 16, m1, r);
}

// Rows [0, rows) of an 8 x 32 tile: C (+)= A B over `depth` steps, B a packed
// panel (32 floats a step), the columns past `m0`/`m1` masked off.
template <std::size_t rows>
__attribute__((target("avx512f"))) void tile(std::size_t depth, const float* a, std::ptrdiff_t a_row,
                                             std::ptrdiff_t a_col, const float* panel, float* c, std::size_t ldc,
                                             __mmask16 m0, __mmask16 m1, bool accumulate) {
    static_assert(rows == tile_rows || rows == 1);
    // Named accumulators, not an array: GCC keeps arrays of vectors in memory.
    __m512 l0 = _mm512_setzero_ps(), r0 = l0, l1 = l0, r1 = l0, l2 = l0, r2 = l0, l3 = l0, r3 = l0, l4 = l0, r4 = l0,
           l5 = l0, r5 = l0, l6 = l0, r6 = l0, l7 = l0, r7 = l0;
    for (std::size_t k = 0; k < depth; ++k) {
        const __m512 left = _mm512_load_ps(panel + k * panel_columns);
        const __m512 right = _mm512_load_ps(panel + k * panel_columns + 16);
        const float* ak = a + static_cast<std::ptrdiff_t>(k) * a_col;
        fma_row(ak[0], left, right, l0, r0);
        if constexpr (rows == tile_rows) {
            fma_row(ak[a_row], left, right, l1, r1);
            fma_row(ak[2 * a_row], left, right, l2, r2);
            fma_row(ak[3 * a_row], left, right, l3, r3);
            fma_row(ak[4 * a_row], left, right, l4, r4);
            fma_row(ak[5 * a_row], left, right, l5, r5);
            fma_row(ak[6 * a_row], left, right, l6, r6);
            fma_row(ak[7 * a_row], left, right, l7, r7);
        }
    }
    store_row(c, l0, r0, m0, m1, accumulate);
    if constexpr (rows == tile_rows) {
        store_row(c + ldc, l1, r1, m0, m1, accumulate);
        store_row(c + 2 * ldc, l2, r2, m0, m1, accumulate);
        store_row(c + 3 * ldc, l3, r3, m0, m1, accumulate);
        store_row(c + 4 * ldc, l4, r4, m0, m1, accumulate);
        store_row(c + 5 * ldc, l5, r5, m0, m1, accumulate);
        store_row(c + 6 * ldc, l6, r6, m0, m1, accumulate);
        store_row(c + 7 * ldc, l7, r7, m0, m1, accumulate);
    }
}

__mmask16 first_lanes(std::size_t count) {
    return count >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << count) - 1);
}

// Rows [k0, k0 + depth) and columns [j, j + width) of B, zero-padded to 32
// columns: a masked copy of each row, or when B is stored by columns a
// transposing copy that reads each of its columns in order.
__attribute__((target("avx512f"))) void pack_panel(const float* b, std::size_t b_row, std::size_t b_col, std::size_t k0,
                                                   std::size_t depth, std::size_t j, std::size_t width, float* panel) {
    if (b_col == 1) {
        const __mmask16 m0 = first_lanes(width), m1 = width > 16 ? first_lanes(width - 16) : __mmask16(0);
        for (std::size_t kk = 0; kk < depth; ++kk) {
            const float* from = b + (k0 + kk) * b_row + j;
            _mm512_store_ps(panel + kk * panel_columns, _mm512_maskz_loadu_ps(m0, from));
            _mm512_store_ps(panel + kk * panel_columns + 16, _mm512_maskz_loadu_ps(m1, from + 16));
        }
        return;
    }
    // Columns past `width` keep stale values: their sums land in lanes the
    // masked stores skip.
    for (std::size_t jj = 0; jj < width; ++jj) {
        const float* column = b + k0 * b_row + (j + jj) * b_col;
        for (std::size_t kk = 0; kk < depth; ++kk) panel[kk * panel_columns + jj] = column[kk * b_row];
    }
}

__attribute__((target("avx512f"))) void avx512_product(std::size_t m, std::size_t n, std::size_t k, const float* a,
                                                       std::size_t a_row, std::size_t a_col, const float* b,
                                                       std::size_t b_row, std::size_t b_col, float* c,
                                                       bool accumulate) {
    thread_local std::vector<float> storage;
    storage.resize(depth_block * panel_columns + 16);
    float* panel =
        reinterpret_cast<float*>((reinterpret_cast<std::uintptr_t>(storage.data()) + 63) & ~std::uintptr_t{63});
    const auto row = static_cast<std::ptrdiff_t>(a_row), col = static_cast<std::ptrdiff_t>(a_col);
    for (std::size_t j = 0; j < n; j += panel_columns) {
        const std::size_t width = std::min(panel_columns, n - j);
        const __mmask16 m0 = first_lanes(width), m1 = width > 16 ? first_lanes(width - 16) : __mmask16(0);
        for (std::size_t k0 = 0; k0 < k; k0 += depth_block) {
            const std::size_t depth = std::min(depth_block, k - k0);
            pack_panel(b, b_row, b_col, k0, depth, j, width, panel);
            const bool add = accumulate || k0 > 0;
            const float* ak = a + k0 * a_col;
            std::size_t i = 0;
            for (; i + tile_rows <= m; i += tile_rows)
                tile<tile_rows>(depth, ak + i * a_row, row, col, panel, c + i * n + j, n, m0, m1, add);
            for (; i < m; ++i) tile<1>(depth, ak + i * a_row, row, col, panel, c + i * n + j, n, m0, m1, add);
        }
    }
}

// AVX-512 in the CPU and the OS, and not turned off with RETROGRAD_NO_AVX512=1
// (to compare with OpenBLAS, or to get its rounding).
bool use_avx512() {
    static const bool yes = [] {
        const char* off = std::getenv("RETROGRAD_NO_AVX512");
        return __builtin_cpu_supports("avx512f") && !(off && *off && std::string_view(off) != "0");
    }();
    return yes;
}
#endif

}  // namespace

bool avx512_sgemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
                  const float* b, std::size_t ldb, float* c, bool accumulate) {
#if RG_AVX512_KERNEL
    if (m == 0 || n == 0 || k == 0 || !use_avx512()) return false;
    // op(A)(i, k) and op(B)(k, j) as strides over the stored matrices.
    avx512_product(m, n, k, a, ta ? 1 : lda, ta ? lda : 1, b, tb ? 1 : ldb, tb ? ldb : 1, c, accumulate);
    return true;
#else
    return false;
#endif
}

}  // namespace rg::detail
