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

}  // namespace

Transformer::Transformer(TransformerOptions options) : options_(std::move(options)) {
    const TransformerOptions& o = options_;
    const LayerNormOptions norm{.eps = o.layer_norm_eps};
    if (o.custom_encoder) {
        encoder = register_module("encoder", o.custom_encoder);
    } else {
        if (o.num_encoder_layers == 0) fail("Transformer: num_encoder_layers must be positive, got 0");
        encoder =
            register_module("encoder",
                            std::make_shared<TransformerEncoder>(TransformerEncoderLayer(o.d_model, o.nhead,
                                                                                         layer_options(o)),
                                                                 o.num_encoder_layers,
                                                                 TransformerEncoderOptions{
                                                                     .norm = std::make_shared<LayerNorm>(o.d_model,
                                                                                                         norm)}));
    }
    if (o.custom_decoder) {
        decoder = register_module("decoder", o.custom_decoder);
    } else {
        if (o.num_decoder_layers == 0) fail("Transformer: num_decoder_layers must be positive, got 0");
        decoder =
            register_module("decoder",
                            std::make_shared<TransformerDecoder>(TransformerDecoderLayer(o.d_model, o.nhead,
                                                                                         layer_options(o)),
                                                                 o.num_decoder_layers,
                                                                 TransformerDecoderOptions{
                                                                     .norm = std::make_shared<LayerNorm>(o.d_model,
                                                                                                         norm)}));
    }
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
