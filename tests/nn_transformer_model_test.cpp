// Transformer (torch.nn.Transformer) beyond its PyTorch parity cases
// (nn_parity_test.cpp): names, the xavier re-initialisation, the causal mask,
// training and evaluation, the masks' routing, and every refusal's message.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "helpers.hpp"

using namespace rg::nn;
using rg::Tensor;

namespace {

// A small model: d_model 8, 2 heads, one or two layers per stack, feed-forward 16.
TransformerOptions small(std::size_t layers = 2, double dropout = 0.0) {
    return {.d_model = 8,
            .nhead = 2,
            .num_encoder_layers = layers,
            .num_decoder_layers = layers,
            .dim_feedforward = 16,
            .dropout = dropout};
}

double max_abs(const Tensor& t) {
    double out = 0.0;
    for (double v : t.to_vector()) out = std::max(out, std::abs(v));
    return out;
}

}  // namespace

TEST_CASE("Transformer has torch.nn.Transformer's options, defaults and state-dict names") {
    const TransformerOptions defaults;
    CHECK(defaults.d_model == 512);
    CHECK(defaults.nhead == 8);
    CHECK(defaults.num_encoder_layers == 6);
    CHECK(defaults.num_decoder_layers == 6);
    CHECK(defaults.dim_feedforward == 2048);
    CHECK(defaults.dropout == 0.1);
    CHECK(defaults.activation == TransformerActivation::relu);
    CHECK(defaults.layer_norm_eps == 1e-5);
    CHECK_FALSE(defaults.batch_first);
    CHECK_FALSE(defaults.norm_first);

    Transformer model(small());
    const auto named = model.named_parameters();
    // torch.nn.Transformer(8, 2, 2, 2, 16).state_dict() has 64 entries, these among them.
    CHECK(named.size() == 64);
    std::set<std::string> names;
    for (const auto& entry : named) names.insert(entry.first);
    for (const char* name : {"encoder.layers.0.self_attn.in_proj_weight", "encoder.layers.1.norm2.bias",
                             "encoder.norm.weight", "encoder.norm.bias", "decoder.layers.0.multihead_attn.in_proj_bias",
                             "decoder.layers.1.norm3.weight", "decoder.norm.weight", "decoder.norm.bias"})
        CHECK_MESSAGE(names.count(name) == 1, name);
    CHECK(named.front().first == "encoder.layers.0.self_attn.in_proj_weight");
    CHECK(named.back().first == "decoder.norm.bias");
    CHECK(model.describe() ==
          "Transformer(8, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16, dropout=0)");
    TransformerOptions options = small(1, 0.1);
    options.activation = TransformerActivation::gelu;
    options.batch_first = true;
    options.norm_first = true;
    CHECK(Transformer(options).describe() ==
          "Transformer(8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=16, dropout=0.1, "
          "activation=gelu, batch_first=true, norm_first=true)");
}

TEST_CASE("Transformer draws every matrix again by xavier_uniform_, as PyTorch's _reset_parameters") {
    rg::manual_seed(11);
    Transformer model(small());
    for (const auto& entry : model.named_parameters()) {
        const std::string& name = entry.first;
        const Tensor& p = entry.second;
        CAPTURE(name);
        if (p.dim() == 1) {
            // Vectors keep their layers' initial values: zero biases of the attention, LayerNorm's ones and zeros.
            if (name.find("in_proj_bias") != std::string::npos || name.find("out_proj.bias") != std::string::npos ||
                name.find("norm") != std::string::npos)
                CHECK(max_abs(p - (name.find("norm") != std::string::npos && name.ends_with("weight") ? 1.0 : 0.0)) ==
                      0.0);
            continue;
        }
        REQUIRE(p.dim() == 2);
        const double bound = std::sqrt(6.0 / static_cast<double>(p.shape()[0] + p.shape()[1]));
        CHECK(max_abs(p) <= bound);
        // At least 64 values: their largest is near the bound (the Linear's kaiming bound is 0.35 or 0.25 of 0.5).
        CHECK(max_abs(p) > 0.8 * bound);
    }
    // Drawn separately: the layers no longer start as copies of one another.
    CHECK_FALSE(
        rg::allclose(model.encoder->layers[0]->linear1->weight, model.encoder->layers[1]->linear1->weight, 1e-3, 1e-3));
    CHECK_FALSE(rg::allclose(model.decoder->layers[0]->self_attn->in_proj_weight,
                             model.decoder->layers[1]->self_attn->in_proj_weight, 1e-3, 1e-3));
}

TEST_CASE("Transformer uses custom stacks as given, drawing their matrices again as PyTorch does") {
    auto encoder = std::make_shared<TransformerEncoder>(TransformerEncoderLayer(8, 2, {.dim_feedforward = 16}), 3);
    TransformerOptions options = small(1);
    options.custom_encoder = encoder;
    const Tensor before = encoder->layers[2]->linear2->weight.detach().clone();
    Transformer model(options);
    CHECK(model.encoder == encoder);
    CHECK(model.encoder->layers.size() == 3);
    CHECK(model.encoder->norm == nullptr);  // as PyTorch: the custom stack's own norm, here none
    CHECK(model.decoder->layers.size() == 1);
    CHECK_FALSE(rg::allclose(encoder->layers[2]->linear2->weight, before, 1e-3, 1e-3));
    CHECK(model.describe() == "Transformer(8, nhead=2, num_encoder_layers=3, num_decoder_layers=1, "
                              "dim_feedforward=16, dropout=0, custom_encoder=true)");
    model.eval();
    CHECK(model(rg::randn({4, 2, 8}), rg::randn({3, 2, 8})).shape() == rg::Shape{3, 2, 8});
}

TEST_CASE("Transformer::generate_square_subsequent_mask: 0 on and below the diagonal, -inf above") {
    const Tensor mask = Transformer::generate_square_subsequent_mask(3, rg::float64);
    CHECK(mask.dtype() == rg::float64);
    const double inf = std::numeric_limits<double>::infinity();
    CHECK(mask.to_vector() == std::vector<double>{0, -inf, -inf, 0, 0, -inf, 0, 0, 0});
    CHECK(Transformer::generate_square_subsequent_mask(1).to_vector() == std::vector<double>{0});
    CHECK(Transformer::generate_square_subsequent_mask(0).shape() == rg::Shape{0, 0});
    CHECK_THROWS_WITH_AS(Transformer::generate_square_subsequent_mask(3, rg::int64),
                         "Transformer::generate_square_subsequent_mask: dtype int64; expected float32 or float64",
                         rg::Error);
}

TEST_CASE("Transformer: the masks reach the encoder and decoder; the causal flags are the causal masks") {
    rg::manual_seed(12);
    Transformer model(small());
    model.to(rg::float64);
    model.eval();
    const Tensor src = test::rand64({4, 2, 8}, false), tgt = test::rand64({5, 2, 8}, false);
    const Tensor padding = rg::from_vector({0, 0, 0, 0, 0, 0, 1, 1}, {2, 4}) > 0.5;
    const Tensor out = model(src, tgt,
                             {.tgt_mask = Transformer::generate_square_subsequent_mask(5, rg::float64),
                              .src_key_padding_mask = padding,
                              .memory_key_padding_mask = padding});
    // The same as the two stacks called by hand.
    const Tensor memory = (*model.encoder)(src, {.src_key_padding_mask = padding});
    test::check_values(out, (*model.decoder)(tgt, memory, {.memory_key_padding_mask = padding, .tgt_is_causal = true}),
                       1e-12);
    test::check_values(model(src, tgt,
                             {.src_key_padding_mask = padding,
                              .memory_key_padding_mask = padding,
                              .tgt_is_causal = true}),
                       out, 1e-12);
    test::check_values(model(src, tgt, {.src_mask = Transformer::generate_square_subsequent_mask(4, rg::float64)}),
                       model(src, tgt, {.src_is_causal = true}), 1e-12);
    // Causal: the first target position's output does not depend on the later targets.
    const Tensor changed = rg::cat({rg::narrow(tgt, 0, 0, 1), test::rand64({4, 2, 8}, false)}, 0);
    const Tensor first = rg::narrow(model(src, changed, {.tgt_is_causal = true}), 0, 0, 1);
    test::check_values(first, rg::narrow(model(src, tgt, {.tgt_is_causal = true}), 0, 0, 1), 1e-12);
}

TEST_CASE("Transformer: dropout in training only; train() and eval() reach every layer") {
    rg::manual_seed(13);
    Transformer model(small(2, 0.3));
    const Tensor src = rg::randn({4, 2, 8}), tgt = rg::randn({5, 2, 8});
    CHECK(model.decoder->layers[1]->multihead_attn->is_training());
    CHECK_FALSE(rg::allclose(model(src, tgt), model(src, tgt), 1e-6, 1e-6));
    model.eval();
    CHECK_FALSE(model.encoder->layers[0]->self_attn->is_training());
    CHECK_FALSE(model.decoder->norm->is_training());
    const Tensor a = model(src, tgt);
    test::check_values(model(src, tgt), a, 0);
    CHECK(test::all_finite(a));
}

TEST_CASE("Transformer: bad inputs and options are rg::Errors naming the shapes") {
    Transformer model(small(1));
    CHECK_THROWS_WITH_AS(model(rg::randn({4, 2, 8}), rg::randn({5, 3, 8})),
                         "Transformer: src (4, 2, 8) and tgt (5, 3, 8); expected the same batch size N (dim 1)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(model(rg::randn({4, 2, 6}), rg::randn({5, 2, 8})),
                         "Transformer: src (4, 2, 6) and tgt (5, 2, 8); expected last size d_model 8", rg::Error);
    CHECK_THROWS_WITH_AS(model(rg::randn({4, 8}), rg::randn({5, 7})),
                         "Transformer: src (4, 8) and tgt (5, 7); expected last size d_model 8", rg::Error);
    CHECK_THROWS_WITH_AS(model(rg::randn({4, 2, 8}), rg::randn({5, 8})),
                         "Transformer: src (4, 2, 8) and tgt (5, 8); expected both of rank 3 (batched) or both of "
                         "rank 2 (unbatched)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(model(rg::randn({8}), rg::randn({8})),
                         "Transformer: src (8,) and tgt (8,); expected both of rank 3 (batched) or both of rank 2 "
                         "(unbatched)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(model(Tensor{}, rg::randn({5, 8})), "Transformer: src and tgt must be defined tensors",
                         rg::Error);
    CHECK_THROWS_WITH_AS(model(rg::randn({4, 2, 8}), rg::randn({5, 2, 8}),
                               {.tgt_mask = Transformer::generate_square_subsequent_mask(4)}),
                         "MultiheadAttention: attn_mask of shape (4, 4); expected (5, 5) or (4, 5, 5) "
                         "(N * num_heads, L, S)",
                         rg::Error);
    TransformerOptions batch_first = small(1);
    batch_first.batch_first = true;
    Transformer by_batch(batch_first);
    CHECK_THROWS_WITH_AS(by_batch(rg::randn({2, 4, 8}), rg::randn({3, 4, 8})),
                         "Transformer: src (2, 4, 8) and tgt (3, 4, 8); expected the same batch size N (dim 0, "
                         "batch_first)",
                         rg::Error);

    TransformerOptions options = small(1);
    options.num_encoder_layers = 0;
    CHECK_THROWS_WITH_AS(Transformer{options}, "Transformer: num_encoder_layers must be positive, got 0", rg::Error);
    options = small(1);
    options.num_decoder_layers = 0;
    CHECK_THROWS_WITH_AS(Transformer{options}, "Transformer: num_decoder_layers must be positive, got 0", rg::Error);
    options = small(1);
    options.nhead = 3;
    CHECK_THROWS_WITH_AS(Transformer{options},
                         "TransformerEncoderLayer: d_model 8 and nhead 3; expected positive sizes, d_model a multiple "
                         "of nhead",
                         rg::Error);
}

TEST_CASE("the Transformer example of docs/nn.md runs and gives the shapes it says") {
    rg::nn::Transformer model({.d_model = 64,
                               .nhead = 4,
                               .num_encoder_layers = 2,
                               .num_decoder_layers = 2,
                               .dim_feedforward = 128,
                               .batch_first = true});
    auto src = rg::randn({8, 12, 64});  // (N, S, E)
    auto tgt = rg::randn({8, 10, 64});  // (N, T, E)
    auto padding = rg::zeros({8, 12}) > 0.5;  // true: a source position to ignore
    auto out = model(src, tgt,
                     {.tgt_mask = rg::nn::Transformer::generate_square_subsequent_mask(10),
                      .src_key_padding_mask = padding,
                      .memory_key_padding_mask = padding});
    CHECK(out.shape() == rg::Shape{8, 10, 64});
}
