// rg::Autocast's per-thread flag, and what oneDNN says of the CPU.
#include <retrograd/autocast.hpp>

#include "kernels.hpp"

#include <oneapi/dnnl/dnnl.h>

#include <atomic>
#include <iostream>

namespace rg {
namespace {
thread_local bool autocast_on = false;
}  // namespace

Autocast::Autocast(AutocastOptions options) : previous_(autocast_on) {
    detail::check_dtype(options.dtype, "Autocast");
    if (options.dtype != Dtype::bfloat16)
        fail("Autocast: the CPU computes products in bfloat16 only, got dtype {}", dtype_name(options.dtype));
    autocast_on = options.enabled;
}
Autocast::~Autocast() { autocast_on = previous_; }

bool is_autocast_enabled() { return autocast_on; }

std::string onednn_isa() {
    switch (dnnl_get_effective_cpu_isa()) {
        case dnnl_cpu_isa_all: return "all";
        case dnnl_cpu_isa_sse41: return "sse41";
        case dnnl_cpu_isa_avx: return "avx";
        case dnnl_cpu_isa_avx2: return "avx2";
        case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
        case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
        case dnnl_cpu_isa_avx512_core: return "avx512_core";
        case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
        case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
        case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
        case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    }
    return "unknown";
}

bool bfloat16_supported() {
    // avx512_core and every ISA above it; avx2_vnni's value is not ordered with them.
    const auto isa = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
    const auto core = static_cast<unsigned>(dnnl_cpu_isa_avx512_core);
    return isa != static_cast<unsigned>(dnnl_cpu_isa_avx2_vnni) && (isa & core) == core;
}

namespace detail {
bool autocast_products() { return autocast_on; }

AutocastProducts::AutocastProducts(bool on) : previous_(autocast_on) { autocast_on = on; }
AutocastProducts::~AutocastProducts() { autocast_on = previous_; }

void bf16_unavailable(const char* op) {
    static std::atomic<bool> said{false};
    if (said.exchange(true)) return;
    std::cerr << "retrograd: oneDNN has no bfloat16 " << op << " on this CPU (ISA " << onednn_isa()
              << "); rg::Autocast computes in float32\n";
}
}  // namespace detail

}  // namespace rg
