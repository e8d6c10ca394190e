// MultiheadAttention and the Transformer layers beyond their PyTorch parity
// cases (nn_parity_test.cpp): parameter names, masks, dropout in training and
// eval, gradients at both orders, and every refusal's message.
#include "helpers.hpp"

using namespace rg::nn;
using rg::Tensor;

namespace {
std::vector<std::string> names_and_shapes(const Module& m) {
    std::vector<std::string> out;
    for (const auto& entry : m.named_parameters())
        out.push_back(entry.first + " " + rg::shape_str(entry.second.shape()));
    return out;
}
}  // namespace

TEST_CASE("MultiheadAttention has PyTorch's parameter names, packed or separate") {
    MultiheadAttention packed(8, 2);
    CHECK(names_and_shapes(packed) == std::vector<std::string>{"in_proj_weight (24, 8)", "in_proj_bias (24,)",
                                                               "out_proj.weight (8, 8)", "out_proj.bias (8,)"});
    CHECK(rg::sum(rg::abs(packed.in_proj_bias)).item() == 0.0);
    CHECK(rg::sum(rg::abs(packed.out_proj->bias)).item() == 0.0);
    MultiheadAttention separate(8, 4, {.bias = false, .kdim = 5, .vdim = 6});
    CHECK(names_and_shapes(separate) == std::vector<std::string>{"q_proj_weight (8, 8)", "k_proj_weight (8, 5)",
                                                                 "v_proj_weight (8, 6)", "out_proj.weight (8, 8)"});
    CHECK(separate.describe() == "MultiheadAttention(8, num_heads=4, bias=false, kdim=5, vdim=6)");
}

TEST_CASE("MultiheadAttention: weights per head or averaged, is_causal is the causal bool mask") {
    rg::manual_seed(2);
    MultiheadAttention attention(6, 3);
    attention.to(rg::float64);
    const Tensor x = test::rand64({4, 2, 6}, false);
    auto [out, per_head] = attention(x, x, x, {.average_attn_weights = false});
    CHECK(out.shape() == rg::Shape{4, 2, 6});
    CHECK(per_head.shape() == rg::Shape{2, 3, 4, 4});
    test::check_values(rg::sum(per_head, {-1}), rg::ones({2, 3, 4}, {.dtype = rg::float64}), 1e-12);
    auto [same, averaged] = attention(x, x, x);
    test::check_values(averaged, rg::mean(per_head, {1}), 1e-15);
    const Tensor future = rg::triu(rg::ones({4, 4}), 1) > 0.5;
    auto [causal, causal_weights] = attention(x, x, x, {.is_causal = true});
    auto [masked, masked_weights] = attention(x, x, x, {.attn_mask = future});
    test::check_values(causal, masked, 1e-15);
    test::check_values(rg::triu(causal_weights, 1), rg::zeros({2, 4, 4}, {.dtype = rg::float64}), 0);
    auto [unweighted, none] = attention(x, x, x, {.need_weights = false});
    CHECK_FALSE(none.defined());
    test::check_values(unweighted, out, 0);
}

TEST_CASE("MultiheadAttention: dropout in training only, gradients at both orders") {
    rg::manual_seed(4);
    MultiheadAttention attention(4, 2, {.dropout = 0.5});
    attention.to(rg::float64);
    const Tensor x = test::rand64({3, 2, 4}, false);
    attention.eval();
    const Tensor a = attention(x, x, x).first, b = attention(x, x, x).first;
    test::check_values(a, b, 0);
    attention.train();
    CHECK_FALSE(rg::allclose(attention(x, x, x).first, a, 1e-6, 1e-6));
    attention.eval();
    test::check_gradients(
        [&](const rg::TensorList& in) {
            auto [out, weights] =
                attention(in[0], in[1], in[2], {.key_padding_mask = rg::from_vector({0, 0, 1, 0, 0, 0}, {2, 3}) > 0.5});
            return rg::sum(out * out) + rg::sum(weights * weights);
        },
        {test::rand64({3, 2, 4}), test::rand64({3, 2, 4}), test::rand64({3, 2, 4})});
}

TEST_CASE("MultiheadAttention: bad arguments are rg::Errors saying what was expected") {
    CHECK_THROWS_WITH_AS(MultiheadAttention(10, 3),
                         "MultiheadAttention: embed_dim 10 is not divisible by num_heads 3; expected a multiple of "
                         "num_heads",
                         rg::Error);
    CHECK_THROWS_WITH_AS(MultiheadAttention(8, 2, {.add_bias_kv = true}),
                         "MultiheadAttention: add_bias_kv is not supported; expected add_bias_kv = false (the default)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(MultiheadAttention(0, 2),
                         "MultiheadAttention: embed_dim 0, num_heads 2, kdim 0 and vdim 0; expected positive sizes",
                         rg::Error);
    CHECK_THROWS_WITH_AS(MultiheadAttention(8, 2, {.dropout = 2}),
                         "MultiheadAttention: dropout must be in [0, 1], got 2", rg::Error);
    MultiheadAttention attention(8, 2);
    const Tensor q = rg::randn({3, 2, 8}), kv = rg::randn({4, 2, 8});
    CHECK_THROWS_WITH_AS(attention(q, rg::randn({4, 2, 5}), kv),
                         "MultiheadAttention: query (3, 2, 8), key (4, 2, 5) and value (4, 2, 8); expected (L, N, E), "
                         "(S, N, kdim) and (S, N, vdim) for embed_dim 8, kdim 8, vdim 8",
                         rg::Error);
    CHECK_THROWS_WITH_AS(attention(q, rg::randn({4, 8}), kv),
                         "MultiheadAttention: query (3, 2, 8), key (4, 8) and value (4, 2, 8); expected (L, N, E), "
                         "(S, N, kdim) and (S, N, vdim)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(attention(q, kv, kv, {.attn_mask = rg::ones({3, 3}) > 0.5}),
                         "MultiheadAttention: attn_mask of shape (3, 3); expected (3, 4) or (4, 3, 4) (N * num_heads, "
                         "L, S)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(attention(q, kv, kv, {.key_padding_mask = rg::ones({4, 2}) > 0.5}),
                         "MultiheadAttention: key_padding_mask of shape (4, 2); expected (2, 4)", rg::Error);
    CHECK_THROWS_WITH_AS(attention(q, kv, kv, {.attn_mask = rg::zeros({3, 4}, {.dtype = rg::int64})}),
                         "MultiheadAttention: attn_mask of dtype int64; expected bool (true: masked out) or float32, "
                         "the dtype of query",
                         rg::Error);
    CHECK_THROWS_WITH_AS(attention(q.to(rg::float64), kv, kv),
                         "MultiheadAttention: query, key and value of dtypes float64, float32 and float32, the layer "
                         "float32; expected one float dtype",
                         rg::Error);
    MultiheadAttention batch_first(8, 2, {.batch_first = true});
    CHECK_THROWS_WITH_AS(batch_first(rg::randn({2, 3, 8}), rg::randn({3, 4, 8}), rg::randn({3, 4, 8})),
                         "MultiheadAttention: query (2, 3, 8), key (3, 4, 8) and value (3, 4, 8); expected (N, L, E), "
                         "(N, S, kdim) and (N, S, vdim) with batch_first for embed_dim 8, kdim 8, vdim 8",
                         rg::Error);
}

TEST_CASE("TransformerEncoder copies its layer: same initial values, separate tensors, PyTorch's names") {
    TransformerEncoderLayer layer(8, 2, {.dim_feedforward = 16});
    TransformerEncoder encoder(layer, 2, {.norm = std::make_shared<LayerNorm>(8)});
    const auto params = encoder.named_parameters();
    CHECK(params.front().first == "layers.0.self_attn.in_proj_weight");
    CHECK(params.back().first == "norm.bias");
    const Tensor first = encoder.layers[0]->linear1->weight, second = encoder.layers[1]->linear1->weight;
    test::check_values(first, layer.linear1->weight, 0);
    test::check_values(second, layer.linear1->weight, 0);
    CHECK(first.impl_ptr() != second.impl_ptr());
    CHECK(encoder.describe() ==
          "TransformerEncoder(2 x TransformerEncoderLayer(8, nhead=2, dim_feedforward=16, dropout=0.1))");
}

TEST_CASE("Transformer layers: dropout off in eval, on in training; gradients at both orders") {
    rg::manual_seed(6);
    TransformerDecoderLayer decoder(4, 2, {.dim_feedforward = 8, .dropout = 0.3});
    decoder.to(rg::float64);
    const Tensor tgt = test::rand64({3, 2, 4}, false), memory = test::rand64({5, 2, 4}, false);
    decoder.eval();
    const Tensor a = decoder(tgt, memory);
    test::check_values(decoder(tgt, memory), a, 0);
    decoder.train();
    CHECK_FALSE(rg::allclose(decoder(tgt, memory), a, 1e-6, 1e-6));
    decoder.eval();
    test::check_gradients([&](const rg::TensorList& in) { return decoder(in[0], in[1], {.tgt_is_causal = true}); },
                          {test::rand64({3, 2, 4}), test::rand64({5, 2, 4})});
    TransformerEncoderLayer encoder(4, 2,
                                    {.dim_feedforward = 8,
                                     .activation = TransformerActivation::gelu,
                                     .norm_first = true});
    encoder.to(rg::float64);
    encoder.eval();
    test::check_gradients([&](const rg::TensorList& in) { return encoder(in[0], {.is_causal = true}); },
                          {test::rand64({3, 2, 4})});
}

TEST_CASE("Transformer layers: bad options are rg::Errors") {
    CHECK_THROWS_WITH_AS(TransformerEncoderLayer(6, 4),
                         "TransformerEncoderLayer: d_model 6 and nhead 4; expected positive sizes, d_model a multiple "
                         "of nhead",
                         rg::Error);
    CHECK_THROWS_WITH_AS(TransformerDecoderLayer(8, 2, {.dropout = -0.5}),
                         "TransformerDecoderLayer: dropout must be in [0, 1], got -0.5", rg::Error);
    CHECK_THROWS_WITH_AS(TransformerEncoderLayer(8, 2, {.dim_feedforward = 0}),
                         "TransformerEncoderLayer: dim_feedforward must be positive, got 0", rg::Error);
    CHECK_THROWS_WITH_AS(TransformerEncoder(TransformerEncoderLayer(8, 2), 0),
                         "TransformerEncoder: num_layers must be positive, got 0", rg::Error);
    TransformerEncoderLayer layer(8, 2);
    CHECK_THROWS_WITH_AS(layer(rg::randn({3, 2, 8}), {.src_mask = rg::ones({2, 2}) > 0.5}),
                         "MultiheadAttention: attn_mask of shape (2, 2); expected (3, 3) or (4, 3, 3) (N * num_heads, "
                         "L, S)",
                         rg::Error);
}

TEST_CASE("the attention examples of docs/nn.md and docs/autodiff.md run and give the shapes they say") {
    rg::nn::MultiheadAttention attention(64, 8, {.dropout = 0.1, .batch_first = true});
    auto x = rg::randn({4, 10, 64});
    auto [out, weights] = attention(x, x, x);
    CHECK(out.shape() == rg::Shape{4, 10, 64});
    CHECK(weights.shape() == rg::Shape{4, 10, 10});
    auto padding = rg::from_vector({0, 0, 0, 1, 1, 0, 0, 0, 0, 0}, {1, 10}) > 0.5;
    auto [y, per_head] =
        attention(x, x, x,
                  {.key_padding_mask = padding.expand({4, 10}), .average_attn_weights = false, .is_causal = true});
    CHECK(per_head.shape() == rg::Shape{4, 8, 10, 10});

    rg::nn::TransformerEncoderLayer layer(64, 8,
                                          {.dim_feedforward = 256,
                                           .dropout = 0.1,
                                           .activation = rg::nn::TransformerActivation::gelu,
                                           .batch_first = true,
                                           .norm_first = true});
    rg::nn::TransformerEncoder encoder(layer, 6, {.norm = std::make_shared<rg::nn::LayerNorm>(64)});
    auto h = encoder(x, {.src_key_padding_mask = padding.expand({4, 10}), .is_causal = true});
    CHECK(h.shape() == rg::Shape{4, 10, 64});
    rg::nn::TransformerDecoderLayer decoder(64, 8, {.batch_first = true});
    auto tgt = rg::randn({4, 7, 64});
    auto z = decoder(tgt, h, {.memory_key_padding_mask = padding.expand({4, 10}), .tgt_is_causal = true});
    CHECK(z.shape() == rg::Shape{4, 7, 64});

    auto q = rg::randn({2, 8, 10, 16}, {.requires_grad = true});
    auto k = rg::randn({2, 8, 12, 16}), v = rg::randn({2, 8, 12, 32});
    CHECK(rg::scaled_dot_product_attention(q, k, v).shape() == rg::Shape{2, 8, 10, 32});
    CHECK(rg::scaled_dot_product_attention(q, q, q, {}, 0.0, true).shape() == rg::Shape{2, 8, 10, 16});
    auto keep = rg::ones({10, 12}) > 0.5;
    CHECK(rg::scaled_dot_product_attention(q, k, v, keep, 0.0, false, 0.1).shape() == rg::Shape{2, 8, 10, 32});
}
