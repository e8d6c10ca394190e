#pragma once
// Mixed precision on the CPU, as torch.autocast("cpu", dtype=torch.bfloat16):
// inside an rg::Autocast scope the matrix products (matmul, mm, bmm, gemm,
// Linear) and the 2-D convolutions read their float32 operands rounded to
// bfloat16 and accumulate in float32 through oneDNN's bfloat16 kernels; the
// other ops run in float32 as before. See docs/autodiff.md, "bfloat16 and
// Autocast".
#include <retrograd/tensor.hpp>

#include <string>

namespace rg {

/// What an rg::Autocast scope sets.
struct AutocastOptions {
    /// The dtype products compute in; bfloat16 is the one the CPU kernels offer.
    Dtype dtype = Dtype::bfloat16;
    /// false: the scope turns autocasting off (inside an enabled scope, for a
    /// part that must stay in float32), as torch.autocast(enabled=False).
    bool enabled = true;
};

/// Turns autocasting on (or off, with enabled = false) for the calling thread
/// until the scope ends; scopes nest, and the end of one restores what the
/// enclosing scope had set. Inside, float32 matmul/mm/bmm/gemm (so Linear) and
/// conv2d (so Conv2d) round their operands to bfloat16 and multiply them with
/// float32 accumulation; their results stay float32 (the library does not mix
/// dtypes implicitly, so a bfloat16 result would need a cast before every bias
/// or loss). Their backward passes, run later, compute in bfloat16 too, as
/// they were recorded inside the scope. Gradients reach the float32 tensors
/// unchanged in dtype. float64 products are never autocast. Where oneDNN has
/// no bfloat16 kernel for the CPU (bfloat16_supported() false), products stay
/// in float32 and one message says so on stderr.
class Autocast {
public:
    /// Starts the scope.
    /// @param options the dtype (bfloat16) and whether autocasting is on
    /// @throws rg::Error when options.dtype is not bfloat16 (no other dtype has CPU kernels)
    explicit Autocast(AutocastOptions options = {});
    /// Restores the enclosing scope's setting.
    ~Autocast();
    Autocast(const Autocast&) = delete;
    Autocast& operator=(const Autocast&) = delete;

private:
    bool previous_;
};

/// True inside an enabled rg::Autocast scope on the calling thread.
bool is_autocast_enabled();

/// The instruction set oneDNN dispatches its kernels to on this CPU, as
/// oneDNN names it: "avx512_core_bf16" (native bfloat16 instructions),
/// "avx512_core" (bfloat16 emulated with AVX-512 integer instructions),
/// "avx2", ...; ONEDNN_MAX_CPU_ISA lowers it.
std::string onednn_isa();

/// True when oneDNN runs bfloat16 products on this CPU (it needs AVX-512 at
/// least: on avx512_core it emulates the bfloat16 instructions, on
/// avx512_core_bf16 and later it has them). False under AVX2 alone, where
/// rg::Autocast computes in float32.
bool bfloat16_supported();

}  // namespace rg
