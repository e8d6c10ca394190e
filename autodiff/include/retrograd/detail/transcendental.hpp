#pragma once
// float32 exp, log, tanh, erf and the activations built on them, a vector of
// values at a time (autodiff/src/kernels/transcendental.cpp says through
// what, and why). The float32 ops (exp, log, tanh, sigmoid, silu, erf, gelu)
// run on these; float64 keeps the C library's one value at a time.
#include <cstddef>

namespace rg::detail {

/// The functions the kernels compute.
enum class VectorMath {
    exp,  ///< e^x
    log,  ///< the natural logarithm
    tanh,  ///< the hyperbolic tangent
    sigmoid,  ///< 1 / (1 + e^-x), from e^-|x| (no overflow)
    silu,  ///< x σ(x)
    erf,  ///< the error function
    gelu,  ///< x Φ(x) = x/2 erfc(-x/√2)
    gelu_tanh,  ///< x/2 (1 + tanh(u)) = x σ(2u), u = √(2/π) (x + 0.044715 x³)
    gelu_slope,  ///< gelu's derivative Φ(x) + x φ(x) = erfc(-x/√2)/2 + x e^(-x²/2)/√(2π)
};

/// The vector widths the kernels are built for: SSE (x86-64's baseline, or
/// any CPU without the C library's vector functions), AVX2 and AVX-512.
enum class VectorIsa { baseline, avx2, avx512 };

/// True when `isa`'s kernels can run here: built in, and the CPU has the
/// instructions (baseline always).
/// @param isa the instruction set asked about
bool vector_isa_available(VectorIsa isa);

/// The widest available instruction set, or baseline when
/// RETROGRAD_NO_AVX2 is set (retrograd/detail/cpu.hpp). Read once per process.
VectorIsa chosen_vector_isa();

/// out[i] = f(in[i]) for i < n with `isa`'s kernels, on the calling thread.
/// in and out may be the same array, not otherwise overlapping ones.
/// @param f the function
/// @param in the n arguments
/// @param out the n results
/// @param n the element count
/// @param isa the instruction set; baseline's kernels run where it is unavailable
void vector_math(VectorMath f, const float* in, float* out, std::size_t n, VectorIsa isa);

/// out[i] = f(in[i]) for i < n with chosen_vector_isa()'s kernels, split
/// among rg's threads when n is large.
/// @param f the function
/// @param in the n arguments
/// @param out the n results
/// @param n the element count
void vector_math(VectorMath f, const float* in, float* out, std::size_t n);

}  // namespace rg::detail
