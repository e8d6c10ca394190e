#pragma once
// Attention as torch.nn.functional.scaled_dot_product_attention (PyTorch 2.x),
// composed of registered ops, so that its gradients at every order are theirs.
#include <retrograd/ops.hpp>

#include <optional>
#include <utility>

namespace rg {

// softmax(q kᵀ · scale + mask) v: q (..., L, E), k (..., S, E), v (..., S, Ev)
// of one rank, batch axes broadcasting; scale defaults to 1/√E. A bool
// attn_mask says which keys take part (true: attend); a float one (q's dtype)
// is added to the scores; either broadcasts to (..., L, S). is_causal lets
// query i see keys 0..i (not together with attn_mask). Dropout of the weights
// applies whenever dropout_p > 0, as PyTorch's. A query row left with no key
// gives zeros, as PyTorch 2.5's math path (earlier versions give NaN).
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& attn_mask = {},
                                    double dropout_p = 0.0, bool is_causal = false,
                                    std::optional<double> scale = std::nullopt);

namespace detail {
// The same attention and its weights (after dropout), for the layers that
// return them (nn::MultiheadAttention's need_weights).
std::pair<Tensor, Tensor> attention_with_weights(const Tensor& q, const Tensor& k, const Tensor& v,
                                                 const Tensor& attn_mask, double dropout_p, bool is_causal,
                                                 std::optional<double> scale);
}  // namespace detail

}  // namespace rg
