// The run-time choice between the baseline and AVX2 versions of retrograd's
// own vector loops (retrograd/detail/cpu.hpp).
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

}  // namespace rg::detail
