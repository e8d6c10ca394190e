// Fused elementwise ops: one pass over memory where the same expression
// written with single ops makes several. `input + t1 * t2` reads t1 and t2,
// writes a temporary, reads it back and writes the result; on tensors larger
// than the caches that is twice the memory traffic of addcmul.
#include "op_defs.hpp"

#include <cstdint>
#include <type_traits>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

namespace rg {
namespace {

// Results at least this large bypass the caches (streaming stores): they
// would only evict the operands' lines and then be evicted themselves, and
// a streaming store saves the read of the destination line a cached store
// makes first.
constexpr std::size_t streaming_bytes = 8u << 20;

template <class T> T addcmul_value(T input, T t1, T t2, T value) { return input + value * t1 * t2; }

#if defined(__x86_64__) && defined(__GNUC__)
// Streaming rows, 32 bytes a store where the CPU has AVX2, else 16 (SSE2 is
// part of x86-64). Each writes unaligned elements one by one up to the
// first aligned one.
template <class T>
__attribute__((target("avx2"))) std::size_t stream_avx2(const T* input, const T* t1, const T* t2, T value, T* out,
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

template <class T>
void addcmul_row(const T* input, const T* t1, const T* t2, T value, T* out, std::size_t count, bool stream) {
    std::size_t k = 0;
#if RG_STREAMING_STORES
    static const bool avx2 = __builtin_cpu_supports("avx2");
    if (stream)
        k = avx2 ? stream_avx2(input, t1, t2, value, out, count) : stream_sse2(input, t1, t2, value, out, count);
#else
    (void)stream;
#endif
    for (; k < count; ++k) out[k] = addcmul_value(input[k], t1[k], t2[k], value);
}

}  // namespace

const OpDef& addcmul_def = define_op({.name = "addcmul",
                                      .signature = "addcmul(input, t1, t2, value = 1)",
                                      .doc = "input + value * t1 * t2 in one pass, broadcasting all three",
                                      .rule = "y = x + v * t1 * t2: dx = g, dt1 = v * g * t2, dt2 = v * g * t1",
                                      .kind = OpKind::elementwise,
                                      .call = [](const TensorList& v) { return addcmul(v[0], v[1], v[2], 0.5); },
                                      .samples = {{{Shape{2, 3}, Shape{2, 3}, Shape{2, 3}}, -2.0, 2.0},
                                                  {{Shape{3}, Shape{2, 1}, Shape{2, 3}}, -2.0, 2.0}}});
Tensor addcmul(const Tensor& input, const Tensor& t1, const Tensor& t2, double value) {
    detail::check_same_dtype(input, t1, "addcmul");
    detail::check_same_dtype(input, t2, "addcmul");
    const Shape shape = broadcast_shapes(input.shape(), broadcast_shapes(t1.shape(), t2.shape(), "addcmul"), "addcmul");
    Tensor out = detail::visit_dtype(input.dtype(), [&](auto zero) {
        using T = decltype(zero);
        if constexpr (std::is_integral_v<T>) {
            fail("addcmul: expected float32 or float64 tensors, got {}", dtype_name(input.dtype()));
            return Tensor{};
        } else if constexpr (std::is_same_v<T, BFloat16>) {  // in float32, rounded once
            return detail::float32_as_bf16(detail::without_grad([&] {
                return addcmul(detail::bf16_as_float32(input), detail::bf16_as_float32(t1), detail::bf16_as_float32(t2),
                               value);
            }));
        } else {
            const detail::Strided<T> in(input), a(t1), b(t2);  // read in place, with their strides
            const T v = static_cast<T>(value);
            Tensor result = detail::empty_dense<T>(shape, "addcmul");
            T* o = result.data_ptr<T>();
            const bool stream = result.numel() * sizeof(T) >= streaming_bytes;
            const std::array<detail::Strides, 4> strides{detail::broadcast_strides(in.shape, in.strides, shape),
                                                         detail::broadcast_strides(a.shape, a.strides, shape),
                                                         detail::broadcast_strides(b.shape, b.strides, shape),
                                                         detail::contiguous_strides(shape)};
            detail::for_each_row(shape, strides, [&](const auto& offset, const auto& step, std::size_t count) {
                const T* pi = in.data + offset[0];
                const T* pa = a.data + offset[1];
                const T* pb = b.data + offset[2];
                T* po = o + offset[3];
                if (step[0] == 1 && step[1] == 1 && step[2] == 1) {
                    addcmul_row(pi, pa, pb, v, po, count, stream);
                    return;
                }
                for (std::size_t k = 0; k < count; ++k) {
                    const auto i = static_cast<std::ptrdiff_t>(k);
                    po[k] = pi[i * step[0]] + v * pa[i * step[1]] * pb[i * step[2]];
                }
            });
#if RG_STREAMING_STORES
            if (stream) _mm_sfence();  // streaming stores are weakly ordered
#endif
            return result;
        }
    });
    if (!needs_grad(input, t1) && !needs_grad(t2)) return out;
    // t1's gradient reads t2 and t2's reads t1: each is saved for the other.
    return record(addcmul_def, out, {input, t1, t2}, {.inputs = {false, needs_grad(t2), needs_grad(t1)}},
                  [value](const OpContext& c, const Tensor& g) {
                      const Tensor scaled = value == 1.0 ? g : g * value;
                      return GradList{c.needs_grad(0) ? sum_to(g, c.input_shape(0)) : Tensor{},
                                      c.needs_grad(1) ? sum_to(scaled * c.input(2), c.input_shape(1)) : Tensor{},
                                      c.needs_grad(2) ? sum_to(scaled * c.input(1), c.input_shape(2)) : Tensor{}};
                  });
}

void detail::link_fused() {}  // see registry.cpp

}  // namespace rg
