#pragma once
// float32 convolution and pooling through oneDNN's own kernels (its JIT
// direct convolutions in blocked layouts, its pooling), on retrograd's dense
// NCHW buffers. Each function builds its oneDNN primitive once per shape and
// keeps it in a bounded cache shared by every thread; it returns false when
// oneDNN offers no primitive for the shape, and the caller then computes the
// result itself.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <vector>

namespace rg::detail {

// A 2-D convolution: input (n, c, h, w), weight (o, c / groups, kh, kw),
// output (n, o, oh, ow). Dilation counts as PyTorch's (1: adjacent taps).
struct ConvSpec {
    std::int64_t n, c, h, w, o, kh, kw, oh, ow;
    std::int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups;
    // oneDNN's Winograd algorithm (float32 3x3 convolutions with unit stride,
    // AVX-512 only) instead of its direct one; with no Winograd kernel for
    // the CPU, the call returns false.
    bool winograd = false;
    bool operator==(const ConvSpec&) const = default;
};

// Inside rg::Autocast with the native kernel (bf16.hpp) the three
// convolutions read their inputs rounded to bfloat16 and accumulate in
// float32; where oneDNN has no bfloat16 convolution for the shape, or the
// kernel is rounded and the operands were not rounded first, they return
// false (the caller's products round them).
bool onednn_conv_forward(const ConvSpec& s, const float* x, const float* weight, const float* bias, float* y);
bool onednn_conv_backward_data(const ConvSpec& s, const float* grad, const float* weight, float* dx);
bool onednn_conv_backward_weights(const ConvSpec& s, const float* grad, const float* x, float* dweight);
// The input gradient (dx, with data_spec) and the weight gradient (dweight,
// with weights_spec; with dbias, the bias gradient from the same primitive)
// from one output gradient, reordered into oneDNN's layout once when both
// passes read the same one. Either of dx and dweight may be null, dbias only
// with dweight. In bfloat16 under rg::Autocast's native kernel. False, having
// written nothing, when oneDNN has no primitive for a pass or under its
// rounded kernel (the callers' separate passes handle it).
// With grad_block (8 or 16), grad is already in the layout both passes read,
// channels in blocks of grad_block (onednn_conv_backward_block), and of the
// type they read: rg::BFloat16 under rg::Autocast's native kernel, float
// otherwise. Without it, grad is float (N, O, OH, OW).
// With input (onednn_conv_forward_blocked kept it), the weight-gradient pass
// reads that copy of x where it wants the same layout and type.
struct ConvInputCopy;
bool onednn_conv_backward(const ConvSpec& data_spec, const ConvSpec& weights_spec, const void* grad,
                          const float* weight, const float* x, float* dx, float* dweight, float* dbias,
                          std::int64_t grad_block = 0, const ConvInputCopy* input = nullptr);

// oneDNN's channel-blocked layouts (aBcd8b, aBcd16b): (N, C, H, W) stored as
// (N, ceil(C / block), H, W, block), the channels past C zero. A caller that
// reads a convolution's output or writes its gradient in that layout saves
// the reorder to and from NCHW. Under rg::Autocast's native kernel these are
// the bfloat16 convolutions: the output is still float32, and the backward
// passes read a bfloat16 blocked gradient (onednn_conv_backward). Under its
// rounded kernel nothing is blocked.
// The block of the output the forward pass writes (0: another layout, or no primitive):
std::int64_t onednn_conv_forward_block(const ConvSpec& s, bool bias);
// The forward pass writing that layout into y_blocked; false when it is not
// blocked. With keep_input, where the pass converts x into another layout
// or type (bfloat16 under rg::Autocast), that copy is kept there for the
// weight-gradient pass (onednn_conv_backward), which would convert x again.
bool onednn_conv_forward_blocked(const ConvSpec& s, const float* x, const float* weight, const float* bias,
                                 float* y_blocked, std::shared_ptr<const ConvInputCopy>* keep_input = nullptr);
// The block of the output-gradient layout the asked-for backward passes read
// (0: not blocked, or the two passes read different layouts).
std::int64_t onednn_conv_backward_block(const ConvSpec& data_spec, const ConvSpec& weights_spec, bool data,
                                        bool weights);

// A pooling window over (n, c, h, w) images, output (n, c, oh, ow); average
// pooling divides by the whole window, padding included (PyTorch's default).
struct PoolSpec {
    std::int64_t n, c, h, w, kh, kw, oh, ow, stride_h, stride_w, pad_h, pad_w;
    bool operator==(const PoolSpec&) const = default;
};

bool onednn_avg_pool_forward(const PoolSpec& s, const float* x, float* y);
bool onednn_avg_pool_backward(const PoolSpec& s, const float* grad, float* dx);

// Max pooling, padding never chosen. The forward writes, besides y, a
// workspace of onednn_max_pool_workspace_bytes(s) bytes (where each maximum
// is, in oneDNN's format) that the backward reads; nullopt when oneDNN has
// no forward or backward primitive for the shape. A window's first maximum
// takes the gradient, as in PyTorch, but a NaN in a window is not
// propagated: callers keep NaN inputs off this path.
std::optional<std::size_t> onednn_max_pool_workspace_bytes(const PoolSpec& s);
bool onednn_max_pool_forward(const PoolSpec& s, const float* x, float* y, void* workspace);
bool onednn_max_pool_backward(const PoolSpec& s, const float* grad, const void* workspace, float* dx);

// C (m x n, row-major, leading dimension n) = op(A) op(B), or C += with
// accumulate: A (m x k) and B (k x n) as BLAS reads them (transposed flags,
// leading dimensions), rounded to bfloat16, multiplied with float32
// accumulation (rg::Autocast). False when oneDNN has no bfloat16 matmul for
// this CPU; C is untouched then.
struct MatmulSpec {
    std::int64_t m, n, k, lda, ldb;
    bool ta, tb, accumulate;
    bool operator==(const MatmulSpec&) const = default;
};
bool onednn_matmul_bf16(const MatmulSpec& s, const float* a, const float* b, float* c);

// Operands of bfloat16 products converted once. While a Bf16ImageScope is
// active on the calling thread, onednn_matmul_bf16 keeps in its Bf16Images
// the conversion of each operand whose first element the scope allows (the
// packed bfloat16 image of the matrix as stored, whichever way a product
// reads it), and takes a kept image instead of converting the same stored
// matrix again. The caller vouches that allowed memory stays alive and
// unchanged while the images may be read: a product's operands, saved for
// its backward pass, and that pass's output gradient (linalg.cpp, gemm).
class Bf16Images;
// Empty images, or a copy of `seed`'s, to which a backward pass adds its own.
std::shared_ptr<Bf16Images> bf16_images(const Bf16Images* seed = nullptr);
class Bf16ImageScope {
public:
    Bf16ImageScope(Bf16Images* images, std::initializer_list<const void*> allowed);
    ~Bf16ImageScope();
    Bf16ImageScope(const Bf16ImageScope&) = delete;
    Bf16ImageScope& operator=(const Bf16ImageScope&) = delete;

private:
    Bf16Images* previous_images_;
    std::vector<const void*> previous_allowed_;
};

// Whether oneDNN runs its AVX-512 kernels here (avx512_core or above, under
// ONEDNN_MAX_CPU_ISA's cap). Its Winograd convolution and its bfloat16
// kernels exist only there, and its direct kernels compare differently with
// im2col + GEMM on AVX-512 and on AVX2 (conv.cpp's choice,
// docs/performance.md "Convolutions").
bool onednn_avx512();
// Whether it runs AVX2 kernels or better (avx2 or above): below, on SSE4.1,
// its direct convolution's backward passes lose to im2col + GEMM.
bool onednn_avx2();
// Whether it runs them with the CPU's bfloat16 instructions (avx512_core_bf16
// or above); below that, its bfloat16 kernels emulate them.
bool onednn_avx512_bf16();

// The most primitives the cache holds (onednn_cached_primitives, conv_kernel.hpp: how many it holds).
constexpr std::size_t onednn_cache_capacity = 128;

}  // namespace rg::detail
