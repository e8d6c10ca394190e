// Transformer: the encoder and decoder stacks composed as torch.nn.Transformer
// (1.13), with its names, its xavier re-initialisation and its input checks.
#include <retrograd/nn/init.hpp>
#include <retrograd/nn/transformer.hpp>
#include <retrograd/ops.hpp>

#include <fmt/format.h>

#include <limits>
#include <utility>
#include <vector>

namespace rg::nn {
namespace {

TransformerLayerOptions layer_options(const TransformerOptions& o) {
    return {.dim_feedforward = o.dim_feedforward,
            .dropout = o.dropout,
            .activation = o.activation,
            .layer_norm_eps = o.layer_norm_eps,
            .batch_first = o.batch_first,
            .norm_first = o.norm_first};
}

// `custom`, or num_layers layers of the options' kind and a LayerNorm, as PyTorch builds either stack.
template <class Layer, class StackOptions, class Stack>
std::shared_ptr<Stack> custom_or_default(std::shared_ptr<Stack> custom, const TransformerOptions& o,
                                         std::size_t num_layers, const char* option) {
    if (custom) return custom;
    if (num_layers == 0) fail("Transformer: {} must be positive, got 0", option);
    const LayerNormOptions norm{.eps = o.layer_norm_eps};
    return std::make_shared<Stack>(Layer(o.d_model, o.nhead, layer_options(o)), num_layers,
                                   StackOptions{.norm = std::make_shared<LayerNorm>(o.d_model, norm)});
}

}  // namespace

Transformer::Transformer(TransformerOptions options) : options_(std::move(options)) {
    const TransformerOptions& o = options_;
    encoder =
        register_module("encoder",
                        custom_or_default<TransformerEncoderLayer, TransformerEncoderOptions>(o.custom_encoder, o,
                                                                                              o.num_encoder_layers,
                                                                                              "num_encoder_layers"));
    decoder =
        register_module("decoder",
                        custom_or_default<TransformerDecoderLayer, TransformerDecoderOptions>(o.custom_decoder, o,
                                                                                              o.num_decoder_layers,
                                                                                              "num_decoder_layers"));
    // PyTorch's _reset_parameters: every matrix (custom stacks' too) drawn
    // again, so the layers no longer start as copies of one another.
    for (const auto& entry : named_parameters()) {
        Tensor weight = entry.second;
        if (weight.dim() > 1) init::xavier_uniform_(weight);
    }
}

std::string Transformer::describe() const {
    const TransformerOptions& o = options_;
    std::string out = fmt::
        format("Transformer({}, nhead={}, num_encoder_layers={}, num_decoder_layers={}, dim_feedforward={}, dropout={}",
               o.d_model, o.nhead, encoder->layers.size(), decoder->layers.size(), o.dim_feedforward, o.dropout);
    if (o.activation == TransformerActivation::gelu) out += ", activation=gelu";
    if (o.custom_encoder) out += ", custom_encoder=true";
    if (o.custom_decoder) out += ", custom_decoder=true";
    if (o.batch_first) out += ", batch_first=true";
    if (o.norm_first) out += ", norm_first=true";
    return out + ")";
}

Tensor Transformer::forward(const Tensor& src, const Tensor& tgt, const TransformerMasks& masks) {
    if (!src.defined() || !tgt.defined()) fail("Transformer: src and tgt must be defined tensors");
    const Shape& s = src.shape();
    const Shape& t = tgt.shape();
    if (s.size() != t.size() || (s.size() != 2 && s.size() != 3))
        fail("Transformer: src {} and tgt {}; expected both of rank 3 (batched) or both of rank 2 (unbatched)",
             shape_str(s), shape_str(t));
    const std::size_t batch_dim = options_.batch_first ? 0 : 1;
    if (s.size() == 3 && s[batch_dim] != t[batch_dim])
        fail("Transformer: src {} and tgt {}; expected the same batch size N (dim {}{})", shape_str(s), shape_str(t),
             batch_dim, options_.batch_first ? ", batch_first" : "");
    if (s.back() != options_.d_model || t.back() != options_.d_model)
        fail("Transformer: src {} and tgt {}; expected last size d_model {}", shape_str(s), shape_str(t),
             options_.d_model);
    const Tensor memory = (*encoder)(src, {.src_mask = masks.src_mask,
                                           .src_key_padding_mask = masks.src_key_padding_mask,
                                           .is_causal = masks.src_is_causal});
    return (*decoder)(tgt, memory,
                      {.tgt_mask = masks.tgt_mask,
                       .memory_mask = masks.memory_mask,
                       .tgt_key_padding_mask = masks.tgt_key_padding_mask,
                       .memory_key_padding_mask = masks.memory_key_padding_mask,
                       .tgt_is_causal = masks.tgt_is_causal});
}

Tensor Transformer::generate_square_subsequent_mask(std::size_t size, Dtype dtype) {
    if (dtype != float32 && dtype != float64)
        fail("Transformer::generate_square_subsequent_mask: dtype {}; expected float32 or float64", dtype_name(dtype));
    std::vector<double> values(size * size, 0.0);
    for (std::size_t i = 0; i < size; ++i)
        for (std::size_t j = i + 1; j < size; ++j) values[(i * size) + j] = -std::numeric_limits<double>::infinity();
    const auto n = static_cast<std::int64_t>(size);
    return from_vector(values, {n, n}, {.dtype = dtype});
}

}  // namespace rg::nn
