#pragma once
// Mixed precision on the CPU, as torch.autocast("cpu", dtype=torch.bfloat16):
// inside an rg::Autocast scope the matrix products (matmul, mm, bmm, gemm,
// Linear) and the 2-D convolutions read their float32 operands rounded to
// bfloat16 and accumulate in float32, through oneDNN's bfloat16 kernels where
// the CPU has bfloat16 instructions and through the float32 kernels on
// rounded copies elsewhere (autocast_kernel()); the other ops run in float32
// as before. See docs/autodiff.md, "bfloat16 and Autocast".
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
/// unchanged in dtype. float64 products are never autocast. Every CPU gets
/// the same numerics; autocast_kernel() says how this one computes them.
class Autocast {
public:
    /// Starts the scope.
    /// @param options the dtype (bfloat16) and whether autocasting is on
    /// @throws rg::Error when options.dtype is not bfloat16 (no other dtype has CPU kernels),
    ///         or when RETROGRAD_AUTOCAST_KERNEL holds something else than native or rounded
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
/// oneDNN names it: "avx512_core_bf16" (bfloat16 instructions),
/// "avx512_core" (AVX-512 without them), "avx2", ...; ONEDNN_MAX_CPU_ISA
/// lowers it.
std::string onednn_isa();

/// True when the CPU has bfloat16 instructions that oneDNN uses
/// (onednn_isa() avx512_core_bf16 or avx512_core_amx): rg::Autocast's products
/// then run oneDNN's bfloat16 kernels, faster than float32's. False on other
/// CPUs, AVX-512 ones included (oneDNN would emulate the instructions there,
/// slower than float32), and under ONEDNN_MAX_CPU_ISA below them.
bool bfloat16_supported();

/// How rg::Autocast computes a product. Both kernels give the product of the
/// operands rounded to bfloat16 (to nearest even), accumulated in float32.
enum class AutocastKernel {
    /// oneDNN's bfloat16 matmul and convolutions, on the CPU's bfloat16
    /// instructions (bfloat16_supported()).
    native,
    /// The operands rounded to bfloat16 values held in float32, then the
    /// float32 kernels (sgemm, convolutions): float32's speed, bfloat16's
    /// numerics, on any CPU.
    rounded,
};

/// The kernel rg::Autocast's products run in this process, chosen once, on
/// first use: native where bfloat16_supported(), rounded elsewhere. The
/// environment variable RETROGRAD_AUTOCAST_KERNEL=native or =rounded
/// overrides the choice (native then also runs where oneDNN emulates
/// bfloat16, on AVX-512 CPUs without the instructions; where oneDNN has no
/// bfloat16 kernels at all, below AVX-512, the products stay rounded).
/// @throws rg::Error when RETROGRAD_AUTOCAST_KERNEL holds something else than native or rounded
AutocastKernel autocast_kernel();

/// One line saying which kernel autocast_kernel() chose and why, with the
/// instruction set oneDNN dispatches to: "rounded: operands rounded to
/// bfloat16, float32 kernels (oneDNN's ISA avx512_core has no bfloat16
/// instructions)". `retrograd train --bf16` prints it.
/// @throws rg::Error as autocast_kernel()
std::string autocast_kernel_description();

}  // namespace rg
