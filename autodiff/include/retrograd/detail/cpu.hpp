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

// Runs Kernel{}(args...) compiled for AVX2 or for the baseline, as
// use_avx2(). Kernel is a class whose call operator is [[gnu::always_inline]]:
// each of the two functions below inlines it and compiles it for its own
// instruction set, so one source gives both machine codes. Where there is
// no AVX2 code (not x86), both are the baseline and use_avx2() is false.
template <class Kernel, class... Args> RETROGRAD_TARGET_AVX2 void run_avx2_build(Args... args) { Kernel{}(args...); }
template <class Kernel, class... Args> void run_baseline_build(Args... args) { Kernel{}(args...); }
template <class Kernel, class... Args> void avx2_or_baseline(Args... args) {
    if (use_avx2())
        run_avx2_build<Kernel>(args...);
    else
        run_baseline_build<Kernel>(args...);
}

}  // namespace rg::detail
