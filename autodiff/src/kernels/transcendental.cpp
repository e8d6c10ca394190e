// float32 exp, log, tanh and erf a vector at a time, through the GNU C
// library's vector math library, libmvec (its _ZGV... functions, each a
// whole SSE, AVX2 or AVX-512 register of arguments; within 4 ulp of the
// correctly rounded result, infinities, NaN and subnormals handled), and the
// activations written on them with plain vector arithmetic.
//
// Why libmvec and not oneDNN's eltwise primitives, the other maintained
// kernels at hand: on the LSTM step's gate tensors (64 x 128 to 64 x 512
// values, mostly rows of a wider matrix) libmvec's AVX-512 tanhf took as
// long as oneDNN's JIT kernel on dense data (0.46 ns a value), without
// oneDNN's per-call cost (memory objects and argument map, about 1 us: four
// times the work on 512 values) and on strided rows in place, where oneDNN's
// fast kernels want dense memory. The scalar C library took 14 ns a value.
// With no setup per call there is no size below which the scalar loop wins:
// a 4-value tensor is one vector call, zero-padded.
//
// The functions are called directly, by their vector-ABI names, not through
// the compiler's auto-vectorisation (which needs -ffast-math's promises in
// GCC and another flag in clang): the same code for both compilers, and no
// assumption about NaN or infinities. Each instruction set's loop is its own
// function, compiled for it, picked at run time (chosen_vector_isa); libmvec
// itself falls back to narrower code where the CPU lacks what it prefers.
// Results may differ by an ulp between instruction sets (libmvec's
// algorithms differ), as oneDNN's products do. Without libmvec (another C
// library or CPU) the same formulas run on the C library's scalar functions.
#include <retrograd/detail/cpu.hpp>
#include <retrograd/detail/transcendental.hpp>

#include "threads.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numbers>

#if RETROGRAD_HAVE_LIBMVEC
// The vector types the vector ABI passes in SSE, AVX and AVX-512 registers,
// and their lane masks.
typedef float rg_f32x4 __attribute__((vector_size(16)));
typedef float rg_f32x8 __attribute__((vector_size(32)));
typedef float rg_f32x16 __attribute__((vector_size(64)));
typedef int rg_i32x4 __attribute__((vector_size(16)));
typedef int rg_i32x8 __attribute__((vector_size(32)));
typedef int rg_i32x16 __attribute__((vector_size(64)));

// libmvec's names are reserved ones, which are its to declare.
#ifdef __clang__
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wreserved-identifier"
#endif
extern "C" {
// x86-64 vector ABI names: b = SSE, d = AVX2, e = AVX-512; N4v = 4 lanes,
// unmasked, one vector argument. Declared for the instruction set whose
// registers pass their vectors, as the callers are.
rg_f32x4 _ZGVbN4v_expf(rg_f32x4);
rg_f32x4 _ZGVbN4v_logf(rg_f32x4);
rg_f32x4 _ZGVbN4v_tanhf(rg_f32x4);
rg_f32x4 _ZGVbN4v_erff(rg_f32x4);
rg_f32x4 _ZGVbN4v_erfcf(rg_f32x4);
RETROGRAD_TARGET_AVX2 rg_f32x8 _ZGVdN8v_expf(rg_f32x8);
RETROGRAD_TARGET_AVX2 rg_f32x8 _ZGVdN8v_logf(rg_f32x8);
RETROGRAD_TARGET_AVX2 rg_f32x8 _ZGVdN8v_tanhf(rg_f32x8);
RETROGRAD_TARGET_AVX2 rg_f32x8 _ZGVdN8v_erff(rg_f32x8);
RETROGRAD_TARGET_AVX2 rg_f32x8 _ZGVdN8v_erfcf(rg_f32x8);
__attribute__((target("avx512f"))) rg_f32x16 _ZGVeN16v_expf(rg_f32x16);
__attribute__((target("avx512f"))) rg_f32x16 _ZGVeN16v_logf(rg_f32x16);
__attribute__((target("avx512f"))) rg_f32x16 _ZGVeN16v_tanhf(rg_f32x16);
__attribute__((target("avx512f"))) rg_f32x16 _ZGVeN16v_erff(rg_f32x16);
__attribute__((target("avx512f"))) rg_f32x16 _ZGVeN16v_erfcf(rg_f32x16);
}
#ifdef __clang__
#pragma clang diagnostic pop
#endif
#endif

namespace rg::detail {
namespace {

constexpr float inv_sqrt2 = static_cast<float>(1.0 / std::numbers::sqrt2);
constexpr float inv_sqrt_2pi = static_cast<float>(std::numbers::inv_sqrtpi / std::numbers::sqrt2);  // φ(0)
constexpr float gelu_k = static_cast<float>(std::numbers::sqrt2 * std::numbers::inv_sqrtpi);  // sqrt(2 / π)
constexpr float gelu_c = 0.044715f;

#if !RETROGRAD_HAVE_LIBMVEC
// One value at a time, as the vector kernels compute it: the fallback
// without libmvec.
float scalar_value(VectorMath f, float x) {
    // σ(x) = num / (1 + e^-|x|), num = 1 for x >= 0, else e^-|x| (never overflows).
    const auto sigmoid_parts = [](float v, float scale) {
        const float e = std::exp(-std::abs(v));
        return (v >= 0 ? scale : scale * e) / (1.0f + e);
    };
    switch (f) {
        case VectorMath::exp: return std::exp(x);
        case VectorMath::log: return std::log(x);
        case VectorMath::tanh: return std::tanh(x);
        case VectorMath::sigmoid: return sigmoid_parts(x, 1.0f);
        case VectorMath::silu: return sigmoid_parts(x, x);
        case VectorMath::erf: return std::erf(x);
        case VectorMath::gelu: return 0.5f * x * std::erfc(-x * inv_sqrt2);
        case VectorMath::gelu_tanh: {
            const float u2 = 2.0f * gelu_k * (x + gelu_c * x * x * x);
            const float e = std::exp(-std::abs(u2));
            return (u2 >= 0 ? x : x * e) / (1.0f + e);
        }
        case VectorMath::gelu_slope:
            return 0.5f * std::erfc(-x * inv_sqrt2) + x * inv_sqrt_2pi * std::exp(-0.5f * x * x);
    }
    return x;
}

void scalar_rows(VectorMath f, const float* in, float* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = scalar_value(f, in[i]);
}
#else
// One instruction set's loops, from one source included once per
// instruction set: every function that passes vectors is compiled for the
// instruction set whose registers carry them (the vector ABI differs).
#define RG_LANES_NAMESPACE sse
#define RG_TARGET
#define RG_FLOATS rg_f32x4
#define RG_INTS rg_i32x4
#define RG_MVEC(name) _ZGVbN4v_##name
#include "transcendental_lanes.inc"

#define RG_LANES_NAMESPACE avx2
#define RG_TARGET RETROGRAD_TARGET_AVX2
#define RG_FLOATS rg_f32x8
#define RG_INTS rg_i32x8
#define RG_MVEC(name) _ZGVdN8v_##name
#include "transcendental_lanes.inc"

#define RG_LANES_NAMESPACE avx512
#define RG_TARGET __attribute__((target("avx512f")))
#define RG_FLOATS rg_f32x16
#define RG_INTS rg_i32x16
#define RG_MVEC(name) _ZGVeN16v_##name
#include "transcendental_lanes.inc"

bool cpu_has(VectorIsa isa) {
    __builtin_cpu_init();
    switch (isa) {
        case VectorIsa::baseline: return true;
        case VectorIsa::avx2: return __builtin_cpu_supports("avx2") != 0;
        case VectorIsa::avx512: return __builtin_cpu_supports("avx512f") != 0;
    }
    return false;
}
#endif

}  // namespace

bool vector_isa_available(VectorIsa isa) {
#if RETROGRAD_HAVE_LIBMVEC
    return cpu_has(isa);
#else
    return isa == VectorIsa::baseline;
#endif
}

VectorIsa chosen_vector_isa() {
    static const VectorIsa chosen = [] {
        if (!use_avx2()) return VectorIsa::baseline;
        return use_avx512() && vector_isa_available(VectorIsa::avx512) ? VectorIsa::avx512 : VectorIsa::avx2;
    }();
    return chosen;
}

void vector_math(VectorMath f, const float* in, float* out, std::size_t n, VectorIsa isa) {
#if RETROGRAD_HAVE_LIBMVEC
    if (isa == VectorIsa::avx512 && vector_isa_available(isa)) return avx512::rows(f, in, out, n);
    if (isa == VectorIsa::avx2 && vector_isa_available(isa)) return avx2::rows(f, in, out, n);
    return sse::rows(f, in, out, n);
#else
    (void)isa;
    scalar_rows(f, in, out, n);
#endif
}

void vector_math(VectorMath f, const float* in, float* out, std::size_t n) {
    const VectorIsa isa = chosen_vector_isa();
    parallel_for(
        n, [&](std::size_t begin, std::size_t end) { vector_math(f, in + begin, out + begin, end - begin, isa); },
        transcendental_parallel_threshold);
}

}  // namespace rg::detail
