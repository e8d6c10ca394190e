#pragma once
// Multi-head attention with PyTorch's semantics and parameter names
// (torch.nn.MultiheadAttention of 1.13): in_proj_weight, in_proj_bias,
// out_proj.weight, out_proj.bias, or q_proj_weight, k_proj_weight and
// v_proj_weight when key or value have other sizes than the embedding.
#include <retrograd/nn/layers.hpp>

#include <optional>
#include <utility>

namespace rg::nn {

/// The options of MultiheadAttention, as PyTorch's constructor arguments.
struct MultiheadAttentionOptions {
    /// In [0, 1]: dropout on the attention weights, in training only.
    double dropout = 0.0;  // on the attention weights, in training only
    /// Whether there are in_proj_bias and out_proj.bias (zeros at first).
    bool bias = true;  // in_proj_bias and out_proj.bias
    /// Not supported: true is an rg::Error (as add_zero_attn, which is absent).
    bool add_bias_kv = false;  // not supported: true is an rg::Error
    /// The key's feature size (default: embed_dim).
    std::optional<std::size_t> kdim;  // key's feature size (default: embed_dim)
    /// The value's feature size (default: embed_dim).
    std::optional<std::size_t> vdim;  // value's feature size (default: embed_dim)
    /// Inputs and output (N, L, E) rather than (L, N, E).
    bool batch_first = false;  // inputs (N, L, E) rather than (L, N, E)
};

// What forward takes besides query, key and value. A bool mask is true where a
// position may NOT be attended (as PyTorch's MultiheadAttention, the opposite
// of scaled_dot_product_attention's); a float mask is added to the scores.
/// What MultiheadAttention::forward takes besides query, key and value. A bool
/// mask is true where a position may NOT be attended (as PyTorch's
/// MultiheadAttention, the opposite of scaled_dot_product_attention's); a float
/// mask, of the query's dtype, is added to the scores.
struct MultiheadAttentionInputs {
    /// (N, S), or (S) unbatched: keys to ignore.
    Tensor key_padding_mask;  // (N, S), or (S) unbatched: keys to ignore
    /// Also return the attention weights.
    bool need_weights = true;  // also return the attention weights
    /// (L, S), or (N * num_heads, L, S).
    Tensor attn_mask;  // (L, S), or (N * num_heads, L, S)
    /// Weights (N, L, S) averaged over heads, else (N, num_heads, L, S).
    bool average_attn_weights = true;  // weights (N, L, S) averaged over heads, else (N, num_heads, L, S)
    // Query i attends keys 0..i when no attn_mask is given; with one, the mask
    // is used as given (PyTorch 2.x reads is_causal as a hint about it).
    /// Query i attends keys 0..i when no attn_mask is given; with one, the mask
    /// is used as given (PyTorch 2.x reads is_causal as a hint about it).
    bool is_causal = false;
};

// query (L, N, E), key (S, N, kdim), value (S, N, vdim), or (N, L, E)... with
// batch_first, or unbatched (L, E), (S, kdim), (S, vdim). forward returns the
// output, shaped as query, and the weights (undefined without need_weights).
/// Multi-head attention, as torch::nn::MultiheadAttention (1.13): query (L, N, E),
/// key (S, N, kdim), value (S, N, vdim), or (N, L, E)... with batch_first, or
/// unbatched (L, E), (S, kdim), (S, vdim). The projections start Xavier-uniform,
/// the biases at zeros, as PyTorch.
class MultiheadAttention : public Callable<MultiheadAttention> {
public:
    /// @param embed_dim E, > 0, a multiple of num_heads
    /// @param num_heads the heads, > 0; each attends with E / num_heads features
    /// @param options dropout, bias, kdim, vdim, batch_first
    /// @throws rg::Error when a size is 0, E is not a multiple of num_heads, add_bias_kv
    /// is set, or dropout is outside [0, 1]
    MultiheadAttention(std::size_t embed_dim, std::size_t num_heads, MultiheadAttentionOptions options = {});
    /// Attends each query over the keys, head by head, through the projections.
    /// @param query (L, N, E), or as batch_first and unbatched say
    /// @param key (S, N, kdim)
    /// @param value (S, N, vdim)
    /// @param inputs masks, need_weights, average_attn_weights, is_causal
    /// @return the output, shaped as query, and the weights (undefined without need_weights)
    /// @throws rg::Error when an input is undefined, the ranks or sizes do not match,
    /// the dtypes differ from each other or the layer's, or a mask has another shape or a dtype other
    /// than bool and the query's
    std::pair<Tensor, Tensor> forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                      const MultiheadAttentionInputs& inputs = {});
    // Callable's operator() cannot take a braced {.attn_mask = ...}: this one can.
    /// forward(query, key, value, inputs); Callable's operator() cannot take a
    /// braced {.attn_mask = ...}: this one can.
    /// @param query, key, value as forward
    /// @param inputs as forward
    /// @throws rg::Error as forward
    std::pair<Tensor, Tensor> operator()(const Tensor& query, const Tensor& key, const Tensor& value,
                                         const MultiheadAttentionInputs& inputs = {}) {
        return forward(query, key, value, inputs);
    }
    /// "MultiheadAttention(E, num_heads=..." and the options that differ, ")".
    std::string describe() const override;

    /// The packed q, k, v projections (3E, E) when kdim == vdim == embed_dim; else undefined.
    Tensor in_proj_weight;  // (3E, E), when kdim == vdim == embed_dim
    /// The query projection (E, E) when kdim or vdim differ from embed_dim; else undefined.
    Tensor q_proj_weight;
    /// The key projection (E, kdim) when kdim or vdim differ from embed_dim; else undefined.
    Tensor k_proj_weight;
    /// The value projection (E, vdim) when kdim or vdim differ from embed_dim; else undefined.
    Tensor v_proj_weight;
    /// The packed q, k, v biases (3E,); undefined without bias.
    Tensor in_proj_bias;  // (3E), with bias
    /// The output projection Linear(E, E) (out_proj.weight, out_proj.bias).
    std::shared_ptr<Linear> out_proj;

private:
    std::size_t embed_dim_, num_heads_, kdim_, vdim_;
    MultiheadAttentionOptions options_;
};

}  // namespace rg::nn
