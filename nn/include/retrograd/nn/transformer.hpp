#pragma once
// Transformer encoder and decoder layers with PyTorch's semantics and
// parameter names (torch.nn.TransformerEncoderLayer, TransformerEncoder and
// TransformerDecoderLayer of 1.13): self_attn.*, multihead_attn.*, linear1,
// linear2, norm1, norm2, norm3; layers.0.* and norm.* for the encoder stack.
// Dropout is applied in training only; eval() turns it off.
#include <retrograd/nn/attention.hpp>
#include <retrograd/nn/normalization.hpp>

#include <memory>
#include <vector>

namespace rg::nn {

enum class TransformerActivation { relu, gelu };

struct TransformerLayerOptions {
    std::size_t dim_feedforward = 2048;
    double dropout = 0.1;
    TransformerActivation activation = TransformerActivation::relu;
    double layer_norm_eps = 1e-5;
    bool batch_first = false;  // (N, T, E) rather than (T, N, E)
    bool norm_first = false;  // LayerNorm before each block (pre-norm) rather than after the residual sum
};

// Masks as MultiheadAttention reads them: bool true is masked out, float is added.
struct EncoderMasks {
    Tensor src_mask;  // (S, S) or (N * nhead, S, S)
    Tensor src_key_padding_mask;  // (N, S)
    bool is_causal = false;  // a causal src_mask when none is given
};

// x = norm1(x + self_attn(x)); x = norm2(x + linear2(dropout(activation(linear1(x)))))
// (norm_first: x = x + self_attn(norm1(x)); x = x + feed_forward(norm2(x))).
class TransformerEncoderLayer : public Callable<TransformerEncoderLayer> {
public:
    TransformerEncoderLayer(std::size_t d_model, std::size_t nhead, TransformerLayerOptions options = {});
    Tensor forward(const Tensor& src, const EncoderMasks& masks = {});
    // Takes a braced {.src_mask = ...}, which Callable's template operator() cannot.
    Tensor operator()(const Tensor& src, const EncoderMasks& masks = {}) { return forward(src, masks); }
    std::string describe() const override;

    std::shared_ptr<MultiheadAttention> self_attn;
    std::shared_ptr<Linear> linear1, linear2;
    std::shared_ptr<LayerNorm> norm1, norm2;

    std::size_t d_model() const { return d_model_; }
    std::size_t nhead() const { return nhead_; }
    const TransformerLayerOptions& options() const { return options_; }

private:
    std::size_t d_model_, nhead_;
    TransformerLayerOptions options_;
};

struct TransformerEncoderOptions {
    std::shared_ptr<Module> norm;  // applied after the last layer (a one-tensor module, e.g. LayerNorm)
};

// num_layers copies of `layer` (same options, same initial values, as
// PyTorch's deep copies), named layers.0, layers.1...; then `norm` if given.
class TransformerEncoder : public Callable<TransformerEncoder> {
public:
    TransformerEncoder(const TransformerEncoderLayer& layer, std::size_t num_layers,
                       TransformerEncoderOptions options = {});
    Tensor forward(const Tensor& src, const EncoderMasks& masks = {});
    Tensor operator()(const Tensor& src, const EncoderMasks& masks = {}) { return forward(src, masks); }
    std::string describe() const override;

    std::vector<std::shared_ptr<TransformerEncoderLayer>> layers;
    std::shared_ptr<Module> norm;
};

struct DecoderMasks {
    Tensor tgt_mask;  // (T, T) or (N * nhead, T, T): which target positions each may see
    Tensor memory_mask;  // (T, S) or (N * nhead, T, S)
    Tensor tgt_key_padding_mask;  // (N, T)
    Tensor memory_key_padding_mask;  // (N, S)
    bool tgt_is_causal = false;  // a causal tgt_mask when none is given
};

// x = norm1(x + self_attn(x)); x = norm2(x + multihead_attn(x, memory));
// x = norm3(x + feed_forward(x)) (norm_first: each block reads normK(x) and adds to x).
class TransformerDecoderLayer : public Callable<TransformerDecoderLayer> {
public:
    TransformerDecoderLayer(std::size_t d_model, std::size_t nhead, TransformerLayerOptions options = {});
    Tensor forward(const Tensor& tgt, const Tensor& memory, const DecoderMasks& masks = {});
    Tensor operator()(const Tensor& tgt, const Tensor& memory, const DecoderMasks& masks = {}) {
        return forward(tgt, memory, masks);
    }
    std::string describe() const override;

    std::shared_ptr<MultiheadAttention> self_attn, multihead_attn;
    std::shared_ptr<Linear> linear1, linear2;
    std::shared_ptr<LayerNorm> norm1, norm2, norm3;

    /// The model width E given to the constructor.
    std::size_t d_model() const { return d_model_; }
    /// The number of attention heads given to the constructor.
    std::size_t nhead() const { return nhead_; }
    /// The options given to the constructor.
    const TransformerLayerOptions& options() const { return options_; }

private:
    std::size_t d_model_, nhead_;
    TransformerLayerOptions options_;
};

/// The options of a TransformerDecoder, as torch.nn.TransformerDecoder's `norm` argument.
struct TransformerDecoderOptions {
    std::shared_ptr<Module> norm;  ///< applied after the last layer (a one-tensor module, e.g. LayerNorm); none if null
};

/// A stack of decoder layers, as torch.nn.TransformerDecoder: num_layers
/// copies of `layer` (same options, same initial values, as PyTorch's deep
/// copies), named layers.0, layers.1..., each reading the output of the one
/// before and the same memory; then `norm` (named norm) if given.
class TransformerDecoder : public Callable<TransformerDecoder> {
public:
    /// @param layer the layer copied num_layers times (its values and training mode)
    /// @param num_layers how many layers
    /// @param options the optional final norm
    /// @throws rg::Error if num_layers is 0
    TransformerDecoder(const TransformerDecoderLayer& layer, std::size_t num_layers,
                       TransformerDecoderOptions options = {});
    /// Each layer in turn, then the norm: tgt (T, N, E) or (N, T, E) with
    /// batch_first, memory (S, N, E) or (N, S, E); unbatched (T, E) and (S, E) too.
    /// @param tgt the target sequence
    /// @param memory the encoder's output, read by every layer's multihead_attn
    /// @param masks the masks every layer applies (tgt_mask, memory_mask, padding masks)
    /// @throws rg::Error as TransformerDecoderLayer::forward for inputs or masks of the wrong shape
    Tensor forward(const Tensor& tgt, const Tensor& memory, const DecoderMasks& masks = {});
    /// forward(tgt, memory, masks); takes a braced {.tgt_mask = ...}.
    /// @param tgt the target sequence
    /// @param memory the encoder's output
    /// @param masks the masks every layer applies
    /// @throws rg::Error as forward
    Tensor operator()(const Tensor& tgt, const Tensor& memory, const DecoderMasks& masks = {}) {
        return forward(tgt, memory, masks);
    }
    /// "TransformerDecoder(num_layers x layer)".
    std::string describe() const override;

    std::vector<std::shared_ptr<TransformerDecoderLayer>> layers;  ///< the stack, layers.0 first
    std::shared_ptr<Module> norm;  ///< the final norm, null if none
};

}  // namespace rg::nn
