// TransformerEncoderLayer, TransformerEncoder, TransformerDecoderLayer: the
// attention, feed-forward and LayerNorm modules composed as PyTorch's forward.
#include <retrograd/nn/containers.hpp>
#include <retrograd/nn/transformer.hpp>
#include <retrograd/ops.hpp>

#include <fmt/format.h>

#include <utility>

namespace rg::nn {
namespace {

void check_options(const char* layer, std::size_t d_model, std::size_t nhead, const TransformerLayerOptions& o) {
    if (o.dim_feedforward == 0) fail("{}: dim_feedforward must be positive, got 0", layer);
    if (!(o.dropout >= 0.0 && o.dropout <= 1.0)) fail("{}: dropout must be in [0, 1], got {}", layer, o.dropout);
    if (!(o.layer_norm_eps > 0.0)) fail("{}: layer_norm_eps must be positive, got {}", layer, o.layer_norm_eps);
    if (d_model == 0 || nhead == 0 || d_model % nhead != 0)
        fail("{}: d_model {} and nhead {}; expected positive sizes, d_model a multiple of nhead", layer, d_model,
             nhead);
}

std::string describe_layer(const char* layer, std::size_t d_model, std::size_t nhead,
                           const TransformerLayerOptions& o) {
    std::string out = fmt::format("{}({}, nhead={}, dim_feedforward={}, dropout={}", layer, d_model, nhead,
                                  o.dim_feedforward, o.dropout);
    if (o.activation == TransformerActivation::gelu) out += ", activation=gelu";
    if (o.batch_first) out += ", batch_first=true";
    if (o.norm_first) out += ", norm_first=true";
    return out + ")";
}

MultiheadAttentionOptions attention_options(const TransformerLayerOptions& o) {
    return {.dropout = o.dropout, .batch_first = o.batch_first};
}

// linear2(dropout(activation(linear1(x)))), then dropout: the feed-forward block.
Tensor feed_forward(Module& owner, Linear& linear1, Linear& linear2, const TransformerLayerOptions& o,
                    const Tensor& x) {
    const bool training = owner.is_training();
    Tensor hidden = linear1(x);
    hidden = o.activation == TransformerActivation::gelu ? gelu(hidden) : relu(hidden);
    return dropout(linear2(dropout(hidden, o.dropout, training)), o.dropout, training);
}

// The attention block's output, dropped out as PyTorch's dropout1/dropout2.
Tensor attend(Module& owner, MultiheadAttention& attention, const Tensor& x, const Tensor& memory, const Tensor& mask,
              const Tensor& padding, bool causal, double p) {
    auto out = attention(x, memory, memory,
                         {.key_padding_mask = padding, .need_weights = false, .attn_mask = mask, .is_causal = causal})
                   .first;
    return dropout(out, p, owner.is_training());
}

// `count` copies of `layer` with its values and training mode (PyTorch's
// deep copies), appended to `list`, so that their names are PyTorch's: layers.0.self_attn.in_proj_weight...
template <class Layer>
std::vector<std::shared_ptr<Layer>> list_of_copies(const Layer& layer, std::size_t count, ModuleList& list) {
    const NamedTensors prototype = layer.named_parameters();
    std::vector<std::shared_ptr<Layer>> copies;
    for (std::size_t i = 0; i < count; ++i) {
        auto copy = std::make_shared<Layer>(layer.d_model(), layer.nhead(), layer.options());
        {
            NoGrad no_grad;
            const NamedTensors fresh = copy->named_parameters();
            for (std::size_t p = 0; p < fresh.size(); ++p) {
                Tensor target = fresh[p].second;
                target.copy_(prototype[p].second);
            }
        }
        copy->train(layer.is_training());
        list.push_back(copy);
        copies.push_back(copy);
    }
    return copies;
}

}  // namespace

TransformerEncoderLayer::TransformerEncoderLayer(std::size_t d_model, std::size_t nhead,
                                                 TransformerLayerOptions options)
    : d_model_(d_model), nhead_(nhead), options_(options) {
    check_options("TransformerEncoderLayer", d_model, nhead, options);
    self_attn =
        register_module("self_attn", std::make_shared<MultiheadAttention>(d_model, nhead, attention_options(options)));
    linear1 = register_module("linear1", std::make_shared<Linear>(d_model, options.dim_feedforward));
    linear2 = register_module("linear2", std::make_shared<Linear>(options.dim_feedforward, d_model));
    const LayerNormOptions norm{.eps = options.layer_norm_eps};
    norm1 = register_module("norm1", std::make_shared<LayerNorm>(d_model, norm));
    norm2 = register_module("norm2", std::make_shared<LayerNorm>(d_model, norm));
}

std::string TransformerEncoderLayer::describe() const {
    return describe_layer("TransformerEncoderLayer", d_model_, nhead_, options_);
}

Tensor TransformerEncoderLayer::forward(const Tensor& src, const EncoderMasks& masks) {
    const auto self_attention = [&](const Tensor& x) {
        return attend(*this, *self_attn, x, x, masks.src_mask, masks.src_key_padding_mask, masks.is_causal,
                      options_.dropout);
    };
    const auto ff = [&](const Tensor& x) { return feed_forward(*this, *linear1, *linear2, options_, x); };
    Tensor x = src;
    if (options_.norm_first) {
        x = x + self_attention((*norm1)(x));
        return x + ff((*norm2)(x));
    }
    x = (*norm1)(x + self_attention(x));
    return (*norm2)(x + ff(x));
}

TransformerEncoder::TransformerEncoder(const TransformerEncoderLayer& layer, std::size_t num_layers,
                                       TransformerEncoderOptions options) {
    if (num_layers == 0) fail("TransformerEncoder: num_layers must be positive, got 0");
    layers = list_of_copies(layer, num_layers, *register_module("layers", std::make_shared<ModuleList>()));
    if (options.norm) norm = register_module("norm", std::move(options.norm));
}

std::string TransformerEncoder::describe() const {
    return fmt::format("TransformerEncoder({} x {})", layers.size(), layers.front()->describe());
}

Tensor TransformerEncoder::forward(const Tensor& src, const EncoderMasks& masks) {
    Tensor x = src;
    for (const auto& layer : layers) x = (*layer)(x, masks);
    return norm ? (*norm)(x) : x;
}

TransformerDecoderLayer::TransformerDecoderLayer(std::size_t d_model, std::size_t nhead,
                                                 TransformerLayerOptions options)
    : d_model_(d_model), nhead_(nhead), options_(options) {
    check_options("TransformerDecoderLayer", d_model, nhead, options);
    self_attn =
        register_module("self_attn", std::make_shared<MultiheadAttention>(d_model, nhead, attention_options(options)));
    multihead_attn = register_module("multihead_attn",
                                     std::make_shared<MultiheadAttention>(d_model, nhead, attention_options(options)));
    linear1 = register_module("linear1", std::make_shared<Linear>(d_model, options.dim_feedforward));
    linear2 = register_module("linear2", std::make_shared<Linear>(options.dim_feedforward, d_model));
    const LayerNormOptions norm{.eps = options.layer_norm_eps};
    norm1 = register_module("norm1", std::make_shared<LayerNorm>(d_model, norm));
    norm2 = register_module("norm2", std::make_shared<LayerNorm>(d_model, norm));
    norm3 = register_module("norm3", std::make_shared<LayerNorm>(d_model, norm));
}

std::string TransformerDecoderLayer::describe() const {
    return describe_layer("TransformerDecoderLayer", d_model_, nhead_, options_);
}

Tensor TransformerDecoderLayer::forward(const Tensor& tgt, const Tensor& memory, const DecoderMasks& masks) {
    const double p = options_.dropout;
    const auto self_attention = [&](const Tensor& x) {
        return attend(*this, *self_attn, x, x, masks.tgt_mask, masks.tgt_key_padding_mask, masks.tgt_is_causal, p);
    };
    const auto cross_attention = [&](const Tensor& x) {
        return attend(*this, *multihead_attn, x, memory, masks.memory_mask, masks.memory_key_padding_mask, false, p);
    };
    const auto ff = [&](const Tensor& x) { return feed_forward(*this, *linear1, *linear2, options_, x); };
    Tensor x = tgt;
    if (options_.norm_first) {
        x = x + self_attention((*norm1)(x));
        x = x + cross_attention((*norm2)(x));
        return x + ff((*norm3)(x));
    }
    x = (*norm1)(x + self_attention(x));
    x = (*norm2)(x + cross_attention(x));
    return (*norm3)(x + ff(x));
}

TransformerDecoder::TransformerDecoder(const TransformerDecoderLayer& layer, std::size_t num_layers,
                                       TransformerDecoderOptions options) {
    if (num_layers == 0) fail("TransformerDecoder: num_layers must be positive, got 0");
    layers = list_of_copies(layer, num_layers, *register_module("layers", std::make_shared<ModuleList>()));
    if (options.norm) norm = register_module("norm", std::move(options.norm));
}

std::string TransformerDecoder::describe() const {
    return fmt::format("TransformerDecoder({} x {})", layers.size(), layers.front()->describe());
}

Tensor TransformerDecoder::forward(const Tensor& tgt, const Tensor& memory, const DecoderMasks& masks) {
    Tensor x = tgt;
    for (const auto& layer : layers) x = (*layer)(x, memory, masks);
    return norm ? (*norm)(x) : x;
}

}  // namespace rg::nn
