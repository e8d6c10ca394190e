// MultiheadAttention: the in-projections, the heads as strided views of them,
// scaled_dot_product_attention over (N, heads, L, head_dim), the out-projection.
#include <retrograd/attention.hpp>
#include <retrograd/nn/attention.hpp>
#include <retrograd/nn/init.hpp>

#include <fmt/format.h>

#include <limits>

namespace rg::nn {
namespace {

constexpr const char* layer = "MultiheadAttention";

Tensor project(const Tensor& x, const Tensor& weight, const Tensor& bias) {
    Tensor y = matmul(x, transpose(weight));
    return bias.defined() ? y + bias : y;
}

// (T, N, E) -> (N, heads, T, E / heads): a view, no copy.
Tensor split_heads(const Tensor& x, std::size_t heads) {
    const auto t = static_cast<std::int64_t>(x.shape()[0]), n = static_cast<std::int64_t>(x.shape()[1]);
    const auto h = static_cast<std::int64_t>(heads);
    return permute(reshape(x, {t, n, h, -1}), {1, 2, 0, 3});
}

// A mask as PyTorch's MultiheadAttention reads it (bool: true is masked out),
// made additive: 0 or -inf for bool, the values for float.
Tensor additive(const Tensor& mask, Dtype dtype, const char* name) {
    if (mask.dtype() == Dtype::bool_)
        return where(mask, full({}, -std::numeric_limits<double>::infinity(), {.dtype = dtype}),
                     zeros({}, {.dtype = dtype}));
    if (mask.dtype() != dtype)
        fail("{}: {} of dtype {}; expected bool (true: masked out) or {}, the dtype of query", layer, name,
             dtype_name(mask.dtype()), dtype_name(dtype));
    return mask;
}

std::string sizes(std::initializer_list<std::size_t> values) { return shape_str(Shape(values)); }

}  // namespace

MultiheadAttention::MultiheadAttention(std::size_t embed_dim, std::size_t num_heads, MultiheadAttentionOptions options)
    : embed_dim_(embed_dim),
      num_heads_(num_heads),
      kdim_(options.kdim.value_or(embed_dim)),
      vdim_(options.vdim.value_or(embed_dim)),
      options_(options) {
    if (embed_dim == 0 || num_heads == 0 || kdim_ == 0 || vdim_ == 0)
        fail("{}: embed_dim {}, num_heads {}, kdim {} and vdim {}; expected positive sizes", layer, embed_dim,
             num_heads, kdim_, vdim_);
    if (embed_dim % num_heads != 0)
        fail("{}: embed_dim {} is not divisible by num_heads {}; expected a multiple of num_heads", layer, embed_dim,
             num_heads);
    if (options.add_bias_kv)
        fail("{}: add_bias_kv is not supported; expected add_bias_kv = false (the default)", layer);
    if (!(options.dropout >= 0.0 && options.dropout <= 1.0))
        fail("{}: dropout must be in [0, 1], got {}", layer, options.dropout);
    // PyTorch's initialisation: Xavier-uniform projections, zero biases.
    const auto xavier = [](const Shape& shape) {
        Tensor w = zeros(shape);
        init::xavier_uniform_(w);
        return w;
    };
    if (kdim_ == embed_dim && vdim_ == embed_dim) {
        in_proj_weight = register_parameter("in_proj_weight", xavier({3 * embed_dim, embed_dim}));
    } else {
        q_proj_weight = register_parameter("q_proj_weight", xavier({embed_dim, embed_dim}));
        k_proj_weight = register_parameter("k_proj_weight", xavier({embed_dim, kdim_}));
        v_proj_weight = register_parameter("v_proj_weight", xavier({embed_dim, vdim_}));
    }
    if (options.bias) in_proj_bias = register_parameter("in_proj_bias", zeros({3 * embed_dim}));
    out_proj = register_module("out_proj", std::make_shared<Linear>(embed_dim, embed_dim, options.bias));
    if (options.bias) init::zeros_(out_proj->bias);
}

std::string MultiheadAttention::describe() const {
    std::string out = fmt::format("MultiheadAttention({}, num_heads={}", embed_dim_, num_heads_);
    if (options_.dropout > 0) out += fmt::format(", dropout={}", options_.dropout);
    if (!options_.bias) out += ", bias=false";
    if (kdim_ != embed_dim_) out += fmt::format(", kdim={}", kdim_);
    if (vdim_ != embed_dim_) out += fmt::format(", vdim={}", vdim_);
    if (options_.batch_first) out += ", batch_first=true";
    return out + ")";
}

std::pair<Tensor, Tensor> MultiheadAttention::forward(const Tensor& query_in, const Tensor& key_in,
                                                      const Tensor& value_in, const MultiheadAttentionInputs& in) {
    for (const Tensor* t : {&query_in, &key_in, &value_in})
        if (!t->defined()) fail("{}: query, key and value must be defined tensors", layer);
    const std::size_t rank = query_in.dim();
    const bool batched = rank == 3;
    const auto shape_error = [&](const char* expected) {
        fail("{}: query {}, key {} and value {}; expected {}", layer, shape_str(query_in.shape()),
             shape_str(key_in.shape()), shape_str(value_in.shape()), expected);
    };
    const char* expected = !batched               ? "(L, E), (S, kdim) and (S, vdim) unbatched"
                           : options_.batch_first ? "(N, L, E), (N, S, kdim) and (N, S, vdim) with batch_first"
                                                  : "(L, N, E), (S, N, kdim) and (S, N, vdim)";
    if ((rank != 2 && rank != 3) || key_in.dim() != rank || value_in.dim() != rank) shape_error(expected);
    // (L, N, E) from here on: unbatched inputs get a batch of one.
    const auto canonical = [&](const Tensor& x) {
        return !batched ? unsqueeze(x, 1) : options_.batch_first ? transpose(x, 0, 1) : x;
    };
    const Tensor query = canonical(query_in), key = canonical(key_in), value = canonical(value_in);
    const std::size_t l = query.shape()[0], n = query.shape()[1], s = key.shape()[0];
    if (query.shape()[2] != embed_dim_ || key.shape()[2] != kdim_ || value.shape()[2] != vdim_ || key.shape()[1] != n ||
        value.shape()[1] != n || value.shape()[0] != s)
        shape_error(fmt::format("{} for embed_dim {}, kdim {}, vdim {}", expected, embed_dim_, kdim_, vdim_).c_str());
    const Dtype dtype = query.dtype();
    const Tensor& weight_probe = in_proj_weight.defined() ? in_proj_weight : q_proj_weight;
    if (!query.is_floating() || key.dtype() != dtype || value.dtype() != dtype || weight_probe.dtype() != dtype)
        fail("{}: query, key and value of dtypes {}, {} and {}, the layer {}; expected one float dtype", layer,
             dtype_name(dtype), dtype_name(key.dtype()), dtype_name(value.dtype()), dtype_name(weight_probe.dtype()));

    // The additive mask over (N, heads, L, S).
    Tensor mask;
    if (in.attn_mask.defined()) {
        const Shape& m = in.attn_mask.shape();
        if (m == Shape{l, s})
            mask = additive(in.attn_mask, dtype, "attn_mask");
        else if (m == Shape{n * num_heads_, l, s})
            mask = reshape(additive(in.attn_mask, dtype, "attn_mask"),
                           {static_cast<std::int64_t>(n), static_cast<std::int64_t>(num_heads_),
                            static_cast<std::int64_t>(l), static_cast<std::int64_t>(s)});
        else
            fail("{}: attn_mask of shape {}; expected {} or {} (N * num_heads, L, S)", layer, shape_str(m),
                 sizes({l, s}), sizes({n * num_heads_, l, s}));
    } else if (in.is_causal) {
        mask = additive(gt(triu(ones({static_cast<std::int64_t>(l), static_cast<std::int64_t>(s)}), 1), 0.5), dtype,
                        "attn_mask");
    }
    if (in.key_padding_mask.defined()) {
        const Shape& m = in.key_padding_mask.shape();
        if (batched ? m != Shape{n, s} : m != Shape{s})
            fail("{}: key_padding_mask of shape {}; expected {}", layer, shape_str(m),
                 batched ? sizes({n, s}) : sizes({s}));
        const Tensor padding = reshape(additive(in.key_padding_mask, dtype, "key_padding_mask"),
                                       {static_cast<std::int64_t>(n), 1, 1, static_cast<std::int64_t>(s)});
        mask = mask.defined() ? mask + padding : padding;
    }

    const std::int64_t e = static_cast<std::int64_t>(embed_dim_);
    const auto bias = [&](std::int64_t part) {
        return in_proj_bias.defined() ? narrow(in_proj_bias, 0, part * e, e) : Tensor{};
    };
    const auto weight = [&](std::int64_t part, const Tensor& separate) {
        return in_proj_weight.defined() ? narrow(in_proj_weight, 0, part * e, e) : separate;
    };
    Tensor q, k, v;
    if (in_proj_weight.defined() && query_in.impl() == key_in.impl() && key_in.impl() == value_in.impl()) {
        // Self-attention: one product with the packed (3E, E) weight, as
        // PyTorch's in_projection_packed, rather than three; q, k and v are
        // views of its result.
        const Tensor qkv = project(query, in_proj_weight, in_proj_bias);
        q = split_heads(narrow(qkv, 2, 0, e), num_heads_);
        k = split_heads(narrow(qkv, 2, e, e), num_heads_);
        v = split_heads(narrow(qkv, 2, 2 * e, e), num_heads_);
    } else {
        q = split_heads(project(query, weight(0, q_proj_weight), bias(0)), num_heads_);
        k = split_heads(project(key, weight(1, k_proj_weight), bias(1)), num_heads_);
        v = split_heads(project(value, weight(2, v_proj_weight), bias(2)), num_heads_);
    }
    const double p = is_training() ? options_.dropout : 0.0;
    auto [heads, weights] = rg::detail::attention_with_weights(q, k, v, mask, p, false, std::nullopt);

    // (N, heads, L, D) -> (L, N, E), or (N, L, E) with batch_first.
    Tensor out = options_.batch_first && batched ? permute(heads, {0, 2, 1, 3}) : permute(heads, {2, 0, 1, 3});
    out = (*out_proj)(reshape(out, {static_cast<std::int64_t>(options_.batch_first && batched ? n : l),
                                    static_cast<std::int64_t>(options_.batch_first && batched ? l : n), e}));
    if (!batched) out = squeeze(out, 1);
    if (!in.need_weights) return {out, Tensor{}};
    if (in.average_attn_weights) weights = mean(weights, {1});
    if (!batched) weights = squeeze(weights, 0);
    return {out, weights};
}

}  // namespace rg::nn
