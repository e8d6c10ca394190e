// The run-time choice between the baseline, AVX2 and AVX-512 versions of
// retrograd's own vector loops (retrograd/detail/cpu.hpp).
#include <retrograd/detail/cpu.hpp>

#include <cstdlib>
#include <string_view>

namespace rg::detail {

bool use_avx2() {
    static const bool chosen = [] {
#if RETROGRAD_AVX2_CODE
        const char* off = std::getenv("RETROGRAD_NO_AVX2");
        if (off && *off && std::string_view(off) != "0") return false;
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") != 0;
#else
        return false;
#endif
    }();
    return chosen;
}

bool use_avx512() {
    static const bool chosen = [] {
#if RETROGRAD_AVX2_CODE
        if (!use_avx2()) return false;
        const char* off = std::getenv("RETROGRAD_NO_AVX512");
        if (off && *off && std::string_view(off) != "0") return false;
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") != 0;
#else
        return false;
#endif
    }();
    return chosen;
}

}  // namespace rg::detail
