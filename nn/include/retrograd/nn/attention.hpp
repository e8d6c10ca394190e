#pragma once
// Multi-head attention with PyTorch's semantics and parameter names
// (torch.nn.MultiheadAttention of 1.13): in_proj_weight, in_proj_bias,
// out_proj.weight, out_proj.bias, or q_proj_weight, k_proj_weight and
// v_proj_weight when key or value have other sizes than the embedding.
#include <retrograd/nn/layers.hpp>

#include <optional>
#include <utility>

namespace rg::nn {

struct MultiheadAttentionOptions {
    double dropout = 0.0;  // on the attention weights, in training only
    bool bias = true;  // in_proj_bias and out_proj.bias
    bool add_bias_kv = false;  // not supported: true is an rg::Error
    std::optional<std::size_t> kdim;  // key's feature size (default: embed_dim)
    std::optional<std::size_t> vdim;  // value's feature size (default: embed_dim)
    bool batch_first = false;  // inputs (N, L, E) rather than (L, N, E)
};

// What forward takes besides query, key and value. A bool mask is true where a
// position may NOT be attended (as PyTorch's MultiheadAttention, the opposite
// of scaled_dot_product_attention's); a float mask is added to the scores.
struct MultiheadAttentionInputs {
    Tensor key_padding_mask;  // (N, S), or (S) unbatched: keys to ignore
    bool need_weights = true;  // also return the attention weights
    Tensor attn_mask;  // (L, S), or (N * num_heads, L, S)
    bool average_attn_weights = true;  // weights (N, L, S) averaged over heads, else (N, num_heads, L, S)
    // Query i attends keys 0..i when no attn_mask is given; with one, the mask
    // is used as given (PyTorch 2.x reads is_causal as a hint about it).
    bool is_causal = false;
};

// query (L, N, E), key (S, N, kdim), value (S, N, vdim), or (N, L, E)... with
// batch_first, or unbatched (L, E), (S, kdim), (S, vdim). forward returns the
// output, shaped as query, and the weights (undefined without need_weights).
class MultiheadAttention : public Callable<MultiheadAttention> {
public:
    MultiheadAttention(std::size_t embed_dim, std::size_t num_heads, MultiheadAttentionOptions options = {});
    std::pair<Tensor, Tensor> forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                      const MultiheadAttentionInputs& inputs = {});
    // Callable's operator() cannot take a braced {.attn_mask = ...}: this one can.
    std::pair<Tensor, Tensor> operator()(const Tensor& query, const Tensor& key, const Tensor& value,
                                         const MultiheadAttentionInputs& inputs = {}) {
        return forward(query, key, value, inputs);
    }
    std::string describe() const override;

    Tensor in_proj_weight;  // (3E, E), when kdim == vdim == embed_dim
    Tensor q_proj_weight, k_proj_weight, v_proj_weight;  // otherwise: (E, E), (E, kdim), (E, vdim)
    Tensor in_proj_bias;  // (3E), with bias
    std::shared_ptr<Linear> out_proj;

private:
    std::size_t embed_dim_, num_heads_, kdim_, vdim_;
    MultiheadAttentionOptions options_;
};

}  // namespace rg::nn
