// The rows of the fused elementwise ops (fused.cpp says what they compute).
#include "../kernels.hpp"

#include <retrograd/detail/cpu.hpp>

#include <cstdint>
#include <type_traits>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

namespace rg::detail {
namespace {

template <class T> T addcmul_value(T input, T t1, T t2, T value) { return input + value * t1 * t2; }

#if defined(__x86_64__) && defined(__GNUC__)
// Streaming rows, 32 bytes a store where use_avx2() (retrograd/detail/cpu.hpp),
// else 16 (SSE2 is part of x86-64). Each writes unaligned elements one by
// one up to the first aligned one.
template <class T>
RETROGRAD_TARGET_AVX2 std::size_t stream_avx2(const T* input, const T* t1, const T* t2, T value, T* out,
                                              std::size_t count) {
    std::size_t k = 0;
    for (; k < count && reinterpret_cast<std::uintptr_t>(out + k) % 32 != 0; ++k)
        out[k] = addcmul_value(input[k], t1[k], t2[k], value);
    constexpr std::size_t lanes = 32 / sizeof(T);
    for (; k + lanes <= count; k += lanes) {
        if constexpr (std::is_same_v<T, float>) {
            const __m256 product =
                _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(value), _mm256_loadu_ps(t1 + k)), _mm256_loadu_ps(t2 + k));
            _mm256_stream_ps(out + k, _mm256_add_ps(_mm256_loadu_ps(input + k), product));
        } else {
            const __m256d product =
                _mm256_mul_pd(_mm256_mul_pd(_mm256_set1_pd(value), _mm256_loadu_pd(t1 + k)), _mm256_loadu_pd(t2 + k));
            _mm256_stream_pd(out + k, _mm256_add_pd(_mm256_loadu_pd(input + k), product));
        }
    }
    return k;
}

template <class T>
std::size_t stream_sse2(const T* input, const T* t1, const T* t2, T value, T* out, std::size_t count) {
    std::size_t k = 0;
    for (; k < count && reinterpret_cast<std::uintptr_t>(out + k) % 16 != 0; ++k)
        out[k] = addcmul_value(input[k], t1[k], t2[k], value);
    constexpr std::size_t lanes = 16 / sizeof(T);
    for (; k + lanes <= count; k += lanes) {
        if constexpr (std::is_same_v<T, float>) {
            const __m128 product =
                _mm_mul_ps(_mm_mul_ps(_mm_set1_ps(value), _mm_loadu_ps(t1 + k)), _mm_loadu_ps(t2 + k));
            _mm_stream_ps(out + k, _mm_add_ps(_mm_loadu_ps(input + k), product));
        } else {
            const __m128d product =
                _mm_mul_pd(_mm_mul_pd(_mm_set1_pd(value), _mm_loadu_pd(t1 + k)), _mm_loadu_pd(t2 + k));
            _mm_stream_pd(out + k, _mm_add_pd(_mm_loadu_pd(input + k), product));
        }
    }
    return k;
}
#define RG_STREAMING_STORES 1
#endif

}  // namespace

template <class T>
void addcmul_row(const T* input, const T* t1, const T* t2, T value, T* out, std::size_t count, bool stream) {
    std::size_t k = 0;
#if RG_STREAMING_STORES
    if (stream)
        k = use_avx2() ? stream_avx2(input, t1, t2, value, out, count) : stream_sse2(input, t1, t2, value, out, count);
#else
    (void)stream;
#endif
    for (; k < count; ++k) out[k] = addcmul_value(input[k], t1[k], t2[k], value);
}

template void addcmul_row(const float*, const float*, const float*, float, float*, std::size_t, bool);
template void addcmul_row(const double*, const double*, const double*, double, double*, std::size_t, bool);

void streaming_fence() {
#if RG_STREAMING_STORES
    _mm_sfence();  // streaming stores are weakly ordered
#endif
}

}  // namespace rg::detail
