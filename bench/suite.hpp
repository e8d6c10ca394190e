#pragma once
// The side-by-side suite: each workload exists three times, in ours.cpp
// (retrograd), torch.cpp (LibTorch) and bounds.cpp (the raw BLAS calls or the
// memory copy that bound it). main.cpp registers them interleaved and prints
// the table. The two sides share their data through this header only, so
// neither translation unit sees the other library.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bench {

// Shapes of the workloads, one place for both sides.
inline constexpr int tape_steps = 1000;  // y = tanh(y * 0.5 + 0.1), 3 ops per step
inline constexpr std::size_t mlp_batch = 128;  // 784-256-128-10, Adam
inline constexpr std::size_t cnn_batch = 64;  // conv32-pool-conv64-pool-128-10, SGD momentum
// `retrograd train --model cnn-bn`'s network and defaults: two blocks of conv 3x3
// (padding 1, no bias)-BatchNorm2d-ReLU-maxpool 2, dropout 0.25-linear(3136,
// 128)-ReLU-dropout 0.25-linear(128, 10), Adam, batch 128, training mode.
inline constexpr std::size_t cnn_bn_batch = 128;
inline constexpr std::size_t elementwise_rows = 2048;  // (2048, 2048) * (2048,) + (2048,): 4M elements
inline constexpr std::size_t elementwise_cols = 2048;
inline constexpr int memory_steps = 1000;
inline constexpr int cnn_memory_steps = 200;
// Attention block, forward + backward, written with tensor ops: x (batch, seq,
// width) -> q, k, v projections -> heads (batch, heads, seq, head_width) ->
// softmax(q kᵀ / sqrt(head_width)) v -> heads merged -> output projection ->
// mean of squares. x and the four (width, width) weights need gradients.
inline constexpr std::size_t attention_batch = 32;
inline constexpr std::size_t attention_seq = 64;
inline constexpr std::size_t attention_width = 128;
inline constexpr std::size_t attention_heads = 4;
inline constexpr std::size_t attention_head_width = attention_width / attention_heads;

// Sequence models (ours_sequence.cpp, torch_sequence.cpp), in each library's
// own modules, default layout (sequence first), one thread:
// - LSTM step: LSTM(28, 128) over x (28 steps, batch 64, 28), loss the mean
//   of squares of its output, forward and backward.
// - encoder step: TransformerEncoderLayer(128, 4 heads, dim_feedforward 512,
//   dropout 0.1, post-norm: the defaults but the feed-forward width) over x
//   (64, 32, 128) in training mode, the mean of squares, forward and backward;
//   `encoder_layers` of them in a TransformerEncoder for the checkpoint rows.
// - LSTM classifier step: Fashion-MNIST rows (batch 64, 28 steps of 28
//   pixels) -> LSTM(28, 128) -> last h -> Linear(128, 10), cross-entropy, Adam.
// - ViT step: `retrograd train --model vit` (models::by_name("vit")): 7x7
//   patches cut and projected by a stride-7 Conv2d (16 tokens of 64), position
//   embedding, `vit_layers` pre-norm GELU encoder layers (4 heads,
//   dim_feedforward 128, dropout 0.1), LayerNorm, the mean of the tokens
//   through Linear(64, 10), cross-entropy, Adam.
inline constexpr std::size_t lstm_batch = 64, lstm_steps = 28, lstm_input = 28, lstm_hidden = 128;
inline constexpr std::size_t encoder_batch = 32, encoder_seq = 64, encoder_width = 128, encoder_heads = 4;
inline constexpr std::size_t encoder_feedforward = 512;
inline constexpr double encoder_dropout = 0.1;
inline constexpr std::size_t encoder_layers = 4;  // the checkpoint rows
inline constexpr std::size_t classifier_batch = 64;
inline constexpr std::size_t vit_width = 64, vit_heads = 4, vit_layers = 4, vit_feedforward = 128;
inline constexpr std::size_t vit_patch = 7, vit_tokens = 16;
inline constexpr double vit_dropout = 0.1;

// Normalised Fashion-MNIST training images, cut into `count` batches; both
// sides cycle through the same ones.
struct Batches {
    std::size_t batch = 0, count = 0;
    std::vector<float> images;  // count * batch * 784
    std::vector<std::int64_t> labels;  // count * batch
    const float* images_of(std::size_t i) const { return images.data() + (i % count) * batch * 784; }
    const std::int64_t* labels_of(std::size_t i) const { return labels.data() + (i % count) * batch; }
};
const Batches& fashion_batches(std::size_t batch);  // loaded once per batch size (ours.cpp)
// Random batches of the same shapes, for the memory runs: loading the data
// set would leave its freed buffers in the heap, and the steps would reuse
// them unseen (bounds.cpp).
const Batches& synthetic_batches(std::size_t batch);

// Floating-point operations of one step, counting the GEMMs only (they are
// all but a few percent of the work): forward, weight gradients, and input
// gradients where an input needs one.
double mlp_step_flops();
double cnn_step_flops();
double attention_flops();

// Buffers of 64 KiB and more allocated by each op of one attention forward
// (the sizes retrograd's caching allocator counts; every activation of the
// block is at least that large). Counted on both sides: ours through
// rg::cache_stats(), LibTorch through a counting wrapper around its CPU
// allocator. Shows which ops copy.
struct OpAllocations {
    std::string op;
    std::size_t buffers = 0;
};

// Resident memory over `memory_steps` MLP (or `cnn_memory_steps` CNN) training steps, in MiB.
struct MemoryReport {
    double baseline = 0;  // after the model and data are set up
    double at_step_100 = 0;
    double at_last_step = 0;
    double peak = 0;  // high-water mark since the baseline
};
double resident_mib();
void reset_peak_resident();  // best effort: /proc/self/clear_refs
double peak_resident_mib();

// -- retrograd ---------------------------------------------------------------
void ours_tape(benchmark::State&);
void ours_mlp_step(benchmark::State&);
void ours_cnn_step(benchmark::State&);
void ours_cnn_bn_step(benchmark::State&);
void ours_matmul(benchmark::State&);  // args: n, k, m
void ours_elementwise(benchmark::State&);
void ours_elementwise_fused(benchmark::State&);  // the same expression as one addcmul
void ours_mlp_hvp(benchmark::State&);
MemoryReport ours_mlp_memory();
MemoryReport ours_cnn_memory();
void ours_attention(benchmark::State&);
std::vector<OpAllocations> ours_attention_allocations();

// Sequence models (ours_sequence.cpp).
void ours_lstm_step(benchmark::State&);
void ours_encoder_step(benchmark::State&);
void ours_encoder_stack_step(benchmark::State&);  // encoder_layers layers
void ours_encoder_stack_checkpointed(benchmark::State&);  // the same, rg::checkpoint around all layers but the last
void ours_lstm_classifier_step(benchmark::State&);
void ours_vit_step(benchmark::State&);
// Peak resident memory of `steps` steps of a workload above the resident
// size before the first, in MiB (run in a child process of its own).
// `which`: lstm, encoder, encoder-stack, encoder-stack-checkpointed.
double ours_sequence_peak(const std::string& which, int steps);

// -- LibTorch ----------------------------------------------------------------
void torch_set_threads(int threads);
// The losses of `steps` SGD steps of LibTorch's MLP or CNN from seed 0 (to
// check that its results do not change with OpenBLAS's kernels).
std::vector<double> torch_losses(bool cnn, int steps);
void torch_tape(benchmark::State&);
void torch_mlp_step(benchmark::State&);
void torch_cnn_step(benchmark::State&);
void torch_cnn_bn_step(benchmark::State&);
void torch_matmul(benchmark::State&);
void torch_elementwise(benchmark::State&);
void torch_elementwise_fused(benchmark::State&);
void torch_mlp_hvp(benchmark::State&);
MemoryReport torch_mlp_memory();
MemoryReport torch_cnn_memory();
void torch_attention(benchmark::State&);
std::vector<OpAllocations> torch_attention_allocations();

void torch_lstm_step(benchmark::State&);
void torch_encoder_step(benchmark::State&);
void torch_encoder_stack_step(benchmark::State&);
void torch_lstm_classifier_step(benchmark::State&);
void torch_vit_step(benchmark::State&);
double torch_sequence_peak(const std::string& which, int steps);  // lstm, encoder, encoder-stack

// -- bounds ------------------------------------------------------------------
void blas_set_threads(int threads);
std::string blas_core();  // the CPU core OpenBLAS chose its kernels for (openblas_get_corename)
void blas_mlp_gemms(benchmark::State&);
void blas_cnn_gemms(benchmark::State&);
void blas_attention_gemms(benchmark::State&);
void blas_matmul(benchmark::State&);
void memory_copy(benchmark::State&);  // the elementwise bound: read and write as many bytes

}  // namespace bench
