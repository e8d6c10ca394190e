#pragma once
// Which vector code retrograd's own loops run (softmax rows, Adam's update):
// each such loop is compiled twice from one source, for the baseline
// instruction set and for AVX2, and picks one at run time. Both versions do
// the same operations in the same order (no fused multiply-adds), so results
// do not depend on the CPU. RETROGRAD_NO_AVX2=1 in the environment forces
// the baseline version (the tests run both).

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define RETROGRAD_AVX2_CODE 1
// On a function: compile it for AVX2 (call it only when use_avx2()).
#define RETROGRAD_TARGET_AVX2 __attribute__((target("avx2")))
#else
#define RETROGRAD_AVX2_CODE 0
#define RETROGRAD_TARGET_AVX2
#endif

namespace rg::detail {

// True when the CPU has AVX2, the code was built with its versions, and
// RETROGRAD_NO_AVX2 is unset (or "0"). Read once per process.
bool use_avx2();

// Calls the AVX2 version of a function or its baseline version, as use_avx2().
template <class F, class... Args> void avx2_or_baseline(F avx2, F baseline, Args... args) {
    (use_avx2() ? avx2 : baseline)(args...);
}

}  // namespace rg::detail
