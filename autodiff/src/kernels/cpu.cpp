// The run-time choice between the baseline, AVX2 and AVX-512 versions of
// retrograd's own vector loops (retrograd/detail/cpu.hpp).
#include <retrograd/detail/cpu.hpp>

#include <cstdlib>
#include <string_view>

namespace rg::detail {
namespace {

// Whether the environment variable `off` (RETROGRAD_NO_AVX2, ...) is set to
// something other than "" or "0".
[[maybe_unused]] bool refused(const char* off) {
    const char* value = std::getenv(off);
    return value && *value && std::string_view(value) != "0";
}

}  // namespace

bool use_avx2() {
    static const bool chosen = [] {
#if RETROGRAD_AVX2_CODE
        if (refused("RETROGRAD_NO_AVX2")) return false;
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
        if (!use_avx2() || refused("RETROGRAD_NO_AVX512")) return false;
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") != 0;
#else
        return false;
#endif
    }();
    return chosen;
}

}  // namespace rg::detail
