#pragma once
// Transformer encoder and decoder layers and the encoder-decoder model with
// PyTorch's semantics and parameter names (torch.nn.TransformerEncoderLayer,
// TransformerEncoder, TransformerDecoderLayer, TransformerDecoder and
// Transformer of 1.13): self_attn.*, multihead_attn.*, linear1,
// linear2, norm1, norm2, norm3; layers.0.* and norm.* for the encoder stack.
// Dropout is applied in training only; eval() turns it off.
#include <retrograd/nn/attention.hpp>
#include <retrograd/nn/normalization.hpp>

#include <memory>
#include <vector>

namespace rg::nn {

/// The feed-forward block's activation.
enum class TransformerActivation {
    relu,  ///< relu, the default
    gelu  ///< exact gelu
};

/// The options of TransformerEncoderLayer and TransformerDecoderLayer, as PyTorch's arguments.
struct TransformerLayerOptions {
    /// The feed-forward block's hidden size, > 0.
    std::size_t dim_feedforward = 2048;
    /// In [0, 1]: dropout in the attention weights, after each block and inside the feed-forward block.
    double dropout = 0.1;
    /// The feed-forward block's activation.
    TransformerActivation activation = TransformerActivation::relu;
    /// The LayerNorms' eps, > 0.
    double layer_norm_eps = 1e-5;
    /// Inputs and output (N, T, E) rather than (T, N, E).
    bool batch_first = false;  // (N, T, E) rather than (T, N, E)
    /// LayerNorm before each block (pre-norm) rather than after the residual sum.
    bool norm_first = false;  // LayerNorm before each block (pre-norm) rather than after the residual sum
};

// Masks as MultiheadAttention reads them: bool true is masked out, float is added.
/// An encoder's masks, as MultiheadAttention reads them: bool true is masked out, float is added.
struct EncoderMasks {
    /// (S, S) or (N * nhead, S, S).
    Tensor src_mask;  // (S, S) or (N * nhead, S, S)
    /// (N, S): source positions to ignore.
    Tensor src_key_padding_mask;  // (N, S)
    /// A causal src_mask when none is given.
    bool is_causal = false;  // a causal src_mask when none is given
};

// x = norm1(x + self_attn(x)); x = norm2(x + linear2(dropout(activation(linear1(x)))))
// (norm_first: x = x + self_attn(norm1(x)); x = x + feed_forward(norm2(x))).
/// A Transformer encoder layer, as torch::nn::TransformerEncoderLayer (1.13):
/// x = norm1(x + self_attn(x)); x = norm2(x + linear2(dropout(activation(linear1(x)))))
/// (norm_first: x = x + self_attn(norm1(x)); x = x + feed_forward(norm2(x))).
class TransformerEncoderLayer : public Callable<TransformerEncoderLayer> {
public:
    /// @param d_model the feature size E, a multiple of nhead
    /// @param nhead the attention heads
    /// @param options dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first
    /// @throws rg::Error when d_model or nhead is 0, d_model is not a multiple of nhead,
    /// dim_feedforward is 0, dropout is outside [0, 1], or layer_norm_eps <= 0
    TransformerEncoderLayer(std::size_t d_model, std::size_t nhead, TransformerLayerOptions options = {});
    /// The layer applied to a sequence, shaped as src.
    /// @param src (T, N, d_model), (N, T, d_model) with batch_first, or unbatched (T, d_model)
    /// @param masks src_mask, src_key_padding_mask, is_causal
    /// @throws rg::Error as MultiheadAttention::forward, or when the last size is not d_model
    Tensor forward(const Tensor& src, const EncoderMasks& masks = {});
    // Takes a braced {.src_mask = ...}, which Callable's template operator() cannot.
    /// forward(src, masks); takes a braced {.src_mask = ...}, which Callable's template operator() cannot.
    /// @param src (T, N, d_model), (N, T, d_model) with batch_first, or unbatched (T, d_model)
    /// @param masks src_mask, src_key_padding_mask, is_causal
    /// @throws rg::Error as MultiheadAttention::forward, or when the last size is not d_model
    Tensor operator()(const Tensor& src, const EncoderMasks& masks = {}) { return forward(src, masks); }
    /// "TransformerEncoderLayer(d_model, nhead=..., dim_feedforward=..., dropout=..." and the options that differ, ")".
    std::string describe() const override;

    /// The self-attention block, MultiheadAttention(d_model, nhead).
    std::shared_ptr<MultiheadAttention> self_attn;
    /// The feed-forward block's first layer, Linear(d_model, dim_feedforward).
    std::shared_ptr<Linear> linear1;
    /// The feed-forward block's second layer, Linear(dim_feedforward, d_model).
    std::shared_ptr<Linear> linear2;
    /// The LayerNorm of the attention block.
    std::shared_ptr<LayerNorm> norm1;
    /// The LayerNorm of the feed-forward block.
    std::shared_ptr<LayerNorm> norm2;

    /// The feature size E.
    std::size_t d_model() const { return d_model_; }
    /// The attention heads.
    std::size_t nhead() const { return nhead_; }
    /// The options it was made with.
    const TransformerLayerOptions& options() const { return options_; }

private:
    std::size_t d_model_, nhead_;
    TransformerLayerOptions options_;
};

/// The options of TransformerEncoder.
struct TransformerEncoderOptions {
    /// Applied after the last layer (a one-tensor module, e.g. LayerNorm); none when null.
    std::shared_ptr<Module> norm;  // applied after the last layer (a one-tensor module, e.g. LayerNorm)
};

// num_layers copies of `layer` (same options, same initial values, as
// PyTorch's deep copies), named layers.0, layers.1...; then `norm` if given.
/// A stack of encoder layers, as torch::nn::TransformerEncoder: num_layers copies
/// of `layer` (same options, same initial values, as PyTorch's deep copies), named
/// layers.0, layers.1...; then `norm` if given.
class TransformerEncoder : public Callable<TransformerEncoder> {
public:
    /// @param layer the prototype, copied (its own parameters are not shared)
    /// @param num_layers the copies, > 0
    /// @param options the final norm
    /// @throws rg::Error when num_layers is 0
    TransformerEncoder(const TransformerEncoderLayer& layer, std::size_t num_layers,
                       TransformerEncoderOptions options = {});
    /// Each layer in turn with the same masks, then norm.
    /// @param src (T, N, d_model), (N, T, d_model) with batch_first, or unbatched (T, d_model)
    /// @param masks src_mask, src_key_padding_mask, is_causal
    /// @throws rg::Error as MultiheadAttention::forward, or when the last size is not d_model
    Tensor forward(const Tensor& src, const EncoderMasks& masks = {});
    /// forward(src, masks), taking a braced {.src_mask = ...}.
    /// @param src (T, N, d_model), (N, T, d_model) with batch_first, or unbatched (T, d_model)
    /// @param masks src_mask, src_key_padding_mask, is_causal
    /// @throws rg::Error as MultiheadAttention::forward, or when the last size is not d_model
    Tensor operator()(const Tensor& src, const EncoderMasks& masks = {}) { return forward(src, masks); }
    /// "TransformerEncoder(num_layers x layer's description)".
    std::string describe() const override;

    /// The layers, in order.
    std::vector<std::shared_ptr<TransformerEncoderLayer>> layers;
    /// The final norm, or null.
    std::shared_ptr<Module> norm;
};

/// A decoder's masks, as MultiheadAttention reads them: bool true is masked out, float is added.
struct DecoderMasks {
    /// (T, T) or (N * nhead, T, T): which target positions each may see.
    Tensor tgt_mask;  // (T, T) or (N * nhead, T, T): which target positions each may see
    /// (T, S) or (N * nhead, T, S).
    Tensor memory_mask;  // (T, S) or (N * nhead, T, S)
    /// (N, T): target positions to ignore.
    Tensor tgt_key_padding_mask;  // (N, T)
    /// (N, S): memory positions to ignore.
    Tensor memory_key_padding_mask;  // (N, S)
    /// A causal tgt_mask when none is given.
    bool tgt_is_causal = false;  // a causal tgt_mask when none is given
};

// x = norm1(x + self_attn(x)); x = norm2(x + multihead_attn(x, memory));
// x = norm3(x + feed_forward(x)) (norm_first: each block reads normK(x) and adds to x).
/// A Transformer decoder layer, as torch::nn::TransformerDecoderLayer (1.13):
/// x = norm1(x + self_attn(x)); x = norm2(x + multihead_attn(x, memory));
/// x = norm3(x + feed_forward(x)) (norm_first: each block reads normK(x) and adds to x).
class TransformerDecoderLayer : public Callable<TransformerDecoderLayer> {
public:
    /// @param d_model the feature size E, a multiple of nhead
    /// @param nhead the attention heads
    /// @param options dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first
    /// @throws rg::Error when d_model or nhead is 0, d_model is not a multiple of nhead,
    /// dim_feedforward is 0, dropout is outside [0, 1], or layer_norm_eps <= 0
    TransformerDecoderLayer(std::size_t d_model, std::size_t nhead, TransformerLayerOptions options = {});
    /// The layer applied to a target sequence attending to the memory, shaped as tgt.
    /// @param tgt (T, N, d_model), (N, T, d_model) with batch_first, or unbatched (T, d_model)
    /// @param memory the encoder's output (S, N, d_model), likewise
    /// @param masks tgt and memory masks, tgt_is_causal
    /// @throws rg::Error as MultiheadAttention::forward, or when a last size is not d_model
    Tensor forward(const Tensor& tgt, const Tensor& memory, const DecoderMasks& masks = {});
    /// forward(tgt, memory, masks), taking a braced {.tgt_mask = ...}.
    /// @param tgt (T, N, d_model), (N, T, d_model) with batch_first, or unbatched (T, d_model)
    /// @param memory the encoder's output (S, N, d_model), likewise
    /// @param masks tgt and memory masks, tgt_is_causal
    /// @throws rg::Error as MultiheadAttention::forward, or when a last size is not d_model
    Tensor operator()(const Tensor& tgt, const Tensor& memory, const DecoderMasks& masks = {}) {
        return forward(tgt, memory, masks);
    }
    /// "TransformerDecoderLayer(d_model, nhead=..., dim_feedforward=..., dropout=..." and the options that differ, ")".
    std::string describe() const override;

    /// The self-attention block over the target, MultiheadAttention(d_model, nhead).
    std::shared_ptr<MultiheadAttention> self_attn;
    /// The attention block over the memory (cross-attention).
    std::shared_ptr<MultiheadAttention> multihead_attn;
    /// The feed-forward block's first layer, Linear(d_model, dim_feedforward).
    std::shared_ptr<Linear> linear1;
    /// The feed-forward block's second layer, Linear(dim_feedforward, d_model).
    std::shared_ptr<Linear> linear2;
    /// The LayerNorm of the self-attention block.
    std::shared_ptr<LayerNorm> norm1;
    /// The LayerNorm of the cross-attention block.
    std::shared_ptr<LayerNorm> norm2;
    /// The LayerNorm of the feed-forward block.
    std::shared_ptr<LayerNorm> norm3;

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

/// The options of Transformer, as torch.nn.Transformer's arguments (1.13) and their defaults.
struct TransformerOptions {
    /// The feature size E of src, tgt and the output, a multiple of nhead.
    std::size_t d_model = 512;
    /// The attention heads of every layer.
    std::size_t nhead = 8;
    /// The encoder's layers, > 0 (unused with custom_encoder).
    std::size_t num_encoder_layers = 6;
    /// The decoder's layers, > 0 (unused with custom_decoder).
    std::size_t num_decoder_layers = 6;
    /// The feed-forward blocks' hidden size, > 0.
    std::size_t dim_feedforward = 2048;
    /// In [0, 1]: every layer's dropout.
    double dropout = 0.1;
    /// The feed-forward blocks' activation.
    TransformerActivation activation = TransformerActivation::relu;
    /// Used instead of the stack of num_encoder_layers layers and LayerNorm when given.
    std::shared_ptr<TransformerEncoder> custom_encoder;
    /// Used instead of the stack of num_decoder_layers layers and LayerNorm when given.
    std::shared_ptr<TransformerDecoder> custom_decoder;
    /// The LayerNorms' eps, > 0.
    double layer_norm_eps = 1e-5;
    /// Inputs and output (N, S or T, E) rather than (S or T, N, E).
    bool batch_first = false;
    /// LayerNorm before each block (pre-norm) rather than after the residual sum.
    bool norm_first = false;
};

/// The masks of Transformer::forward, as torch.nn.Transformer.forward's: bool true is masked out, float is added.
struct TransformerMasks {
    /// The encoder's self-attention mask, (S, S) or (N * nhead, S, S).
    Tensor src_mask;
    /// The decoder's self-attention mask, (T, T) or (N * nhead, T, T), e.g. generate_square_subsequent_mask(T).
    Tensor tgt_mask;
    /// The decoder's mask over the memory, (T, S) or (N * nhead, T, S).
    Tensor memory_mask;
    /// (N, S), or (S) unbatched: source positions to ignore in the encoder.
    Tensor src_key_padding_mask;
    /// (N, T), or (T) unbatched: target positions to ignore in the decoder's self-attention.
    Tensor tgt_key_padding_mask;
    /// (N, S), or (S) unbatched: memory positions to ignore in the decoder's cross-attention (usually
    /// src_key_padding_mask).
    Tensor memory_key_padding_mask;
    /// A causal src_mask when none is given (PyTorch 2.x's src_is_causal, read as the mask itself).
    bool src_is_causal = false;
    /// A causal tgt_mask when none is given (PyTorch 2.x's tgt_is_causal, read as the mask itself).
    bool tgt_is_causal = false;
};

/// The encoder-decoder model, as torch.nn.Transformer (1.13): a TransformerEncoder
/// of num_encoder_layers layers and a final LayerNorm (named encoder), and a
/// TransformerDecoder of num_decoder_layers layers and a final LayerNorm (named
/// decoder), so that PyTorch's state dicts load unchanged. Every parameter of
/// more than one dimension is then drawn again by xavier_uniform_, as PyTorch's
/// _reset_parameters.
class Transformer : public Callable<Transformer> {
public:
    /// @param options d_model, nhead, the layer counts, the layers' options, custom stacks
    /// @throws rg::Error when num_encoder_layers or num_decoder_layers is 0 (without a custom stack),
    /// or as TransformerEncoderLayer's constructor for the other options
    explicit Transformer(TransformerOptions options = {});
    /// The decoder's output for tgt attending to the encoder's output for src.
    /// @param src (S, N, d_model), (N, S, d_model) with batch_first, or unbatched (S, d_model)
    /// @param tgt (T, N, d_model), (N, T, d_model) with batch_first, or unbatched (T, d_model)
    /// @param masks the src, tgt and memory masks and padding masks
    /// @return shaped as tgt
    /// @throws rg::Error when src and tgt differ in rank or batch size, either is not rank 2 or 3,
    /// their last size is not d_model, or as MultiheadAttention::forward for a mask of the wrong shape
    Tensor forward(const Tensor& src, const Tensor& tgt, const TransformerMasks& masks = {});
    /// forward(src, tgt, masks); takes a braced {.tgt_mask = ...}.
    /// @param src (S, N, d_model), (N, S, d_model) with batch_first, or unbatched (S, d_model)
    /// @param tgt (T, N, d_model), (N, T, d_model) with batch_first, or unbatched (T, d_model)
    /// @param masks the src, tgt and memory masks and padding masks
    /// @throws rg::Error as forward
    Tensor operator()(const Tensor& src, const Tensor& tgt, const TransformerMasks& masks = {}) {
        return forward(src, tgt, masks);
    }
    /// "Transformer(d_model, nhead=..., num_encoder_layers=..., num_decoder_layers=...,
    /// dim_feedforward=..., dropout=..." and the options that differ, ")".
    std::string describe() const override;

    /// A float (size, size) mask, -inf above the diagonal and 0 elsewhere: position i
    /// sees positions 0..i, as torch.nn.Transformer.generate_square_subsequent_mask.
    /// @param size the sequence length T
    /// @param dtype float32 (PyTorch's default) or float64
    /// @throws rg::Error when dtype is not float32 or float64
    static Tensor generate_square_subsequent_mask(std::size_t size, Dtype dtype = float32);

    /// The encoder stack (encoder.layers.*, encoder.norm.*).
    std::shared_ptr<TransformerEncoder> encoder;
    /// The decoder stack (decoder.layers.*, decoder.norm.*).
    std::shared_ptr<TransformerDecoder> decoder;

    /// The feature size E.
    std::size_t d_model() const { return options_.d_model; }
    /// The attention heads.
    std::size_t nhead() const { return options_.nhead; }
    /// The options it was made with.
    const TransformerOptions& options() const { return options_; }

private:
    TransformerOptions options_;
};

}  // namespace rg::nn
