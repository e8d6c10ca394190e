// rg::Autocast's per-thread flag, what oneDNN says of the CPU, and the choice
// of the kernel autocast products run (native or rounded).
#include <retrograd/autocast.hpp>
#include <retrograd/detail/autocast_kernel.hpp>

#include "kernels/bf16.hpp"
#include "kernels/onednn.hpp"

#include <oneapi/dnnl/dnnl.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <string_view>

namespace rg {
namespace {
thread_local bool autocast_on = false;
thread_local bool operands_rounded = false;  // a RoundedOperands lives on this thread

// oneDNN has bfloat16 primitives from avx512_core up: below avx512_core_bf16,
// it emulates the bfloat16 instructions with AVX-512 integer code.
bool onednn_has_bf16_kernels() { return detail::onednn_avx512(); }

constexpr int unforced = -1;
std::atomic<int> forced{unforced};

// A kernel asked for (by RETROGRAD_AUTOCAST_KERNEL or forced) that oneDNN
// cannot run gives rounded: the numerics are the same.
AutocastKernel runnable(AutocastKernel wanted) {
    return wanted == AutocastKernel::native && !onednn_has_bf16_kernels() ? AutocastKernel::rounded : wanted;
}

struct Choice {
    AutocastKernel kernel;
    std::string why;
};

Choice choose(std::optional<AutocastKernel> wanted, std::string_view asked_by) {
    const std::string isa = onednn_isa();
    if (!wanted) {
        if (bfloat16_supported())
            return {AutocastKernel::native, fmt::format("oneDNN's ISA {} has bfloat16 instructions", isa)};
        return {AutocastKernel::rounded, fmt::format("oneDNN's ISA {} has no bfloat16 instructions", isa)};
    }
    const AutocastKernel kernel = runnable(*wanted);
    const char* name = *wanted == AutocastKernel::native ? "native" : "rounded";
    if (kernel != *wanted)
        return {kernel, fmt::format("{}{}, but oneDNN's ISA {} has no bfloat16 kernels", asked_by, name, isa)};
    if (kernel == AutocastKernel::native && !bfloat16_supported())
        return {kernel, fmt::format("{}{}; oneDNN's ISA {} emulates the bfloat16 instructions", asked_by, name, isa)};
    return {kernel, fmt::format("{}{}; oneDNN's ISA {}", asked_by, name, isa)};
}

constexpr const char* kernel_variable = "RETROGRAD_AUTOCAST_KERNEL";

// Made once per process; a bad RETROGRAD_AUTOCAST_KERNEL throws on every call.
const Choice& process_choice() {
    static const Choice choice =
        choose(detail::parse_autocast_kernel(std::getenv(kernel_variable)), fmt::format("{}=", kernel_variable));
    return choice;
}

Choice current_choice() {
    const int kernel = forced.load(std::memory_order_relaxed);
    if (kernel == unforced) return process_choice();
    return choose(static_cast<AutocastKernel>(kernel), "forced ");
}
}  // namespace

Autocast::Autocast(AutocastOptions options) : previous_(autocast_on) {
    detail::check_dtype(options.dtype, "Autocast");
    if (options.dtype != Dtype::bfloat16)
        fail("Autocast: the CPU computes products in bfloat16 only, got dtype {}", dtype_name(options.dtype));
    if (options.enabled) autocast_kernel();  // a bad RETROGRAD_AUTOCAST_KERNEL fails here, before any product
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

// avx512_core_bf16 and avx512_core_amx. oneDNN 2, which the library builds
// against, has no AVX2 bfloat16 instructions (oneDNN 3's avx2_vnni_2).
bool bfloat16_supported() { return detail::onednn_avx512_bf16(); }

AutocastKernel autocast_kernel() {
    const int kernel = forced.load(std::memory_order_relaxed);
    if (kernel == unforced) return process_choice().kernel;
    return runnable(static_cast<AutocastKernel>(kernel));
}

std::string autocast_kernel_description() {
    const Choice choice = current_choice();
    if (choice.kernel == AutocastKernel::native)
        return fmt::format("native: oneDNN's bfloat16 kernels ({})", choice.why);
    return fmt::format("rounded: operands rounded to bfloat16, float32 kernels ({})", choice.why);
}

namespace detail {
bool autocast_products() { return autocast_on; }

AutocastProducts::AutocastProducts(bool on) : previous_(autocast_on) { autocast_on = on; }
AutocastProducts::~AutocastProducts() { autocast_on = previous_; }

ProductMode product_mode() {
    if (!autocast_on || operands_rounded) return ProductMode::float32;
    return autocast_kernel() == AutocastKernel::native ? ProductMode::native : ProductMode::rounded;
}

namespace {
Tensor bf16_values(const Tensor& t) {
    const Dense<float> values(t);
    Tensor out = empty_dense<float>(t.shape(), "Autocast");
    round_to_bf16_values(values.data(), 1, values.size(), values.size(), out.data_ptr<float>());
    return out;
}
}  // namespace

RoundedOperands::RoundedOperands(const Tensor& a, const Tensor& b)
    : rounding_(product_mode() == ProductMode::rounded && a.dtype() == Dtype::float32 && b.dtype() == Dtype::float32),
      previous_(operands_rounded),
      a_(rounding_ ? bf16_values(a) : a),
      b_(rounding_ ? bf16_values(b) : b) {
    operands_rounded = previous_ || rounding_;
}
RoundedOperands::~RoundedOperands() { operands_rounded = previous_; }

void force_autocast_kernel(std::optional<AutocastKernel> kernel) {
    forced.store(kernel ? static_cast<int>(*kernel) : unforced, std::memory_order_relaxed);
}

std::optional<AutocastKernel> parse_autocast_kernel(const char* value) {
    if (!value || !*value) return std::nullopt;
    const std::string_view v(value);
    if (v == "native") return AutocastKernel::native;
    if (v == "rounded") return AutocastKernel::rounded;
    fail("Autocast: {} is \"{}\"; expected native or rounded (or unset: the CPU decides)", kernel_variable, v);
}

void bf16_unavailable(const char* op) {
    static std::atomic<bool> said{false};
    if (said.exchange(true)) return;
    std::cerr << "retrograd: oneDNN has no bfloat16 " << op << " on this CPU (ISA " << onednn_isa()
              << "); rg::Autocast rounds the operands for the float32 kernels instead\n";
}
}  // namespace detail

}  // namespace rg
