#pragma once
// Attention as torch.nn.functional.scaled_dot_product_attention (PyTorch 2.x),
// composed of registered ops, so that its gradients at every order are theirs.
#include <retrograd/ops.hpp>

#include <optional>
#include <utility>

namespace rg {

/// softmax(q kᵀ · scale + mask) v, batch axes broadcasting. A query row left
/// with no key gives zeros, as PyTorch 2.5's math path (earlier versions give NaN).
/// @param q queries (..., L, E)
/// @param k keys (..., S, E), of q's rank
/// @param v values (..., S, Ev), of q's rank
/// @param attn_mask bool: which keys take part (true: attend); float (q's dtype):
///        added to the scores; either broadcasts to (..., L, S)
/// @param dropout_p dropout of the weights, applied whenever > 0, as PyTorch's
/// @param is_causal query i sees keys 0..i (not together with attn_mask)
/// @param scale defaults to 1/√E
/// @return (..., L, Ev)
/// @throws rg::Error on shapes that disagree, a mask of the wrong shape or dtype,
///         or is_causal together with attn_mask
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
