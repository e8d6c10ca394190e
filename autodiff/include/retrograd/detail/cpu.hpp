#pragma once
// Which vector code retrograd's own loops run (softmax rows, Adam's update):
// each such loop is compiled twice from one source, for the baseline
// instruction set and for AVX2, and picks one at run time; a loop measured
// faster with AVX-512 (Adam's update) has a third build for it. Every
// version does the same operations in the same order (no fused
// multiply-adds: the files with an AVX-512 build are compiled with
// -ffp-contract=off), so results do not depend on the CPU.
// RETROGRAD_NO_AVX2=1 in the environment forces the baseline version,
// RETROGRAD_NO_AVX512=1 the AVX2 one where AVX-512 would run (the tests run
// each).

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define RETROGRAD_AVX2_CODE 1
// On a function: compile it for AVX2 (call it only when use_avx2()).
#define RETROGRAD_TARGET_AVX2 __attribute__((target("avx2")))
// On a function: compile it for AVX-512 (call it only when use_avx512()).
#define RETROGRAD_TARGET_AVX512 __attribute__((target("avx512f")))
#else
#define RETROGRAD_AVX2_CODE 0
#define RETROGRAD_TARGET_AVX2
#define RETROGRAD_TARGET_AVX512
#endif

namespace rg::detail {

// True when the CPU has AVX2, the code was built with its versions, and
// RETROGRAD_NO_AVX2 is unset (or "0"). Read once per process.
bool use_avx2();
// True when use_avx2() is, the CPU has AVX-512 (AVX512F), and
// RETROGRAD_NO_AVX512 is unset (or "0"). Read once per process.
bool use_avx512();

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

// The same with a third build, for AVX-512, run where use_avx512(). For a
// loop measured faster with it; its file is compiled with -ffp-contract=off
// (AVX-512 brings fused multiply-adds, which would change its results).
template <class Kernel, class... Args> RETROGRAD_TARGET_AVX512 void run_avx512_build(Args... args) {
    Kernel{}(args...);
}
template <class Kernel, class... Args> void widest_build(Args... args) {
    if (use_avx512())
        run_avx512_build<Kernel>(args...);
    else
        avx2_or_baseline<Kernel>(args...);
}

}  // namespace rg::detail
