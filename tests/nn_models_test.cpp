// The models of `retrograd train --model NAME` (rg::nn::models): output
// shapes, one training step lowering the loss, a save/load round trip, and the
// messages for bad options and inputs. Their accuracies are measured by
// training them (docs/cli.md's Measured table), not here.
#include <unistd.h>

#include <filesystem>
#include <random>

#include "helpers.hpp"

using namespace rg::nn;
using namespace rg::nn::models;
using rg::Tensor;

namespace {

namespace fs = std::filesystem;

const std::vector<std::string> new_models{"cnn-bn", "lstm", "gru", "vit"};

// A file name unique per process and call (ctest runs test cases in parallel processes).
fs::path temp_file(const std::string& name) {
    std::random_device rd;
    return fs::temp_directory_path() / fmt::format("retrograd-models-{}-{}-{}", ::getpid(), rd(), name);
}

double loss_on(Module& model, const Tensor& x, const Tensor& y) {
    rg::manual_seed(7);  // the same dropout masks for every call
    return cross_entropy(model(x), y).item();
}

}  // namespace

TEST_CASE("every model maps images (N, 1, 28, 28) to (N, 10) scores") {
    CHECK(models::names() == std::vector<std::string>{"mlp", "cnn", "cnn-bn", "lstm", "gru", "vit"});
    for (const auto& name : models::names()) {
        CAPTURE(name);
        rg::manual_seed(0);
        auto model = models::by_name(name);
        const Tensor out = (*model)(rg::randn({3, 1, 28, 28}));
        CHECK(out.shape() == rg::Shape{3, 10});
        CHECK(model->parameter_count() > 0);
    }
}

TEST_CASE("the models' parameters have the names their documentation gives") {
    auto has = [](const Module& m, const std::string& name) {
        for (const auto& entry : m.named_parameters())
            if (entry.first == name) return true;
        return false;
    };
    const RowClassifier lstm({.cell = RowCell::lstm});
    CHECK(has(lstm, "rnn.weight_hh_l0"));
    CHECK(lstm.lstm->named_parameters()[1].second.shape() == rg::Shape{512, 128});  // 4 gates of 128
    CHECK(has(lstm, "head.weight"));
    const RowClassifier gru({.cell = RowCell::gru});
    CHECK(gru.named_parameters()[1].second.shape() == rg::Shape{384, 128});  // 3 gates of 128
    CHECK(gru.lstm == nullptr);
    const VisionTransformer vit;
    CHECK(vit.pos_embed.shape() == rg::Shape{1, 16, 64});
    CHECK(has(vit, "patch_embed.weight"));
    CHECK(has(vit, "encoder.layers.3.self_attn.in_proj_weight"));
    CHECK(!has(vit, "encoder.layers.4.self_attn.in_proj_weight"));
    CHECK(has(vit, "encoder.norm.weight"));
    CHECK(has(vit, "head.bias"));
    CHECK(vit.describe() == "VisionTransformer(patch 7, 16 tokens of 64, depth 4, 4 heads, mlp 128)");
    // Two BatchNorms' running mean, variance and batch count.
    CHECK(models::fashion_cnn_bn()->named_buffers().size() == 6);
}

TEST_CASE("the row classifiers read (N, H, W) as well as (N, 1, H, W), any number of rows") {
    rg::manual_seed(0);
    RowClassifier gru({.cell = RowCell::gru, .width = 5, .hidden = 6, .classes = 3});
    const Tensor x = rg::randn({2, 4, 5});
    const Tensor a = gru(x), b = gru(rg::unsqueeze(x, 1));
    CHECK(a.shape() == rg::Shape{2, 3});
    test::check_values(a, b, 0);
    // The last hidden state, not the first: changing the last row changes the output.
    const Tensor changed = rg::cat({rg::slice(x, 1, 0, 3), rg::zeros({2, 1, 5})}, 1);
    CHECK(rg::max(rg::abs(gru(changed) - a)).item() > 1e-4);
}

TEST_CASE("one training step lowers every model's loss on its batch") {
    for (const auto& name : new_models) {
        CAPTURE(name);
        rg::manual_seed(1);
        auto model = models::by_name(name);
        const Tensor x = rg::randn({16, 1, 28, 28});
        const Tensor y = rg::randint(0, 10, {16});
        const double before = loss_on(*model, x, y);
        rg::optim::Adam adam(model->parameters(), {.lr = 1e-3});
        rg::manual_seed(7);
        cross_entropy((*model)(x), y).backward();
        for (const auto& entry : model->named_parameters()) {  // not a structured binding: CAPTURE is a lambda
            CAPTURE(entry.first);
            REQUIRE(entry.second.grad().defined());  // every parameter takes part
        }
        adam.step();
        CHECK(loss_on(*model, x, y) < before);
    }
}

TEST_CASE("a saved model loads into a fresh one and gives the same outputs") {
    for (const auto& name : new_models) {
        CAPTURE(name);
        rg::manual_seed(2);
        auto trained = models::by_name(name);
        {  // one step, so that BatchNorm's running statistics differ from their initial values
            rg::optim::Adam adam(trained->parameters(), {.lr = 1e-2});
            cross_entropy((*trained)(rg::randn({8, 1, 28, 28})), rg::randint(0, 10, {8})).backward();
            adam.step();
        }
        const fs::path path = temp_file(name + ".safetensors");
        save(*trained, path.string());
        rg::manual_seed(3);
        auto fresh = models::by_name(name);
        load(*fresh, path.string());
        fs::remove(path);
        trained->eval();
        fresh->eval();
        const Tensor x = rg::randn({4, 1, 28, 28});
        rg::NoGrad off;
        test::check_values((*fresh)(x), (*trained)(x), 0);
    }
}

TEST_CASE("the models' bad options and inputs are refused, naming them") {
    CHECK_THROWS_WITH_AS(models::by_name("transformer"),
                         "unknown model 'transformer' (expected mlp, cnn, cnn-bn, lstm, gru or vit)", rg::Error);
    CHECK_THROWS_WITH_AS(models::training_defaults("rnn"),
                         "unknown model 'rnn' (expected mlp, cnn, cnn-bn, lstm, gru or vit)", rg::Error);
    CHECK_THROWS_WITH_AS(RowClassifier({.hidden = 0}),
                         "RowClassifier: width 28, hidden 0 and classes 10; expected positive sizes", rg::Error);
    RowClassifier lstm;
    CHECK_THROWS_WITH_AS(lstm(rg::zeros({2, 3, 28, 28})),
                         "RowClassifier(LSTM(28, 128, batch_first=true) -> Linear(128, 10)): expected images (N, 1, "
                         "H, 28) or (N, H, 28) with H > 0, got (2, 3, 28, 28)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(lstm(rg::zeros({2, 28, 27})), doctest::Contains("got (2, 28, 27)"), rg::Error);
    CHECK_THROWS_WITH_AS(lstm(rg::zeros({2, 0, 28})), doctest::Contains("with H > 0, got (2, 0, 28)"), rg::Error);
    CHECK_THROWS_WITH_AS(VisionTransformer({.patch_size = 5}),
                         "VisionTransformer: image_size 28 is not a multiple of patch_size 5", rg::Error);
    CHECK_THROWS_WITH_AS(VisionTransformer({.heads = 5}), "VisionTransformer: dim 64 is not a multiple of heads 5",
                         rg::Error);
    CHECK_THROWS_WITH_AS(VisionTransformer({.depth = 0}),
                         "VisionTransformer: image_size 28, patch_size 7, channels 1, dim 64, depth 0, heads 4, "
                         "mlp_dim 128, classes 10; expected positive sizes",
                         rg::Error);
    VisionTransformer vit({.depth = 1});
    CHECK_THROWS_WITH_AS(vit(rg::zeros({2, 28, 28})),
                         "VisionTransformer(patch 7, 16 tokens of 64, depth 1, 4 heads, mlp 128): expected images (N, "
                         "1, 28, 28), got (2, 28, 28)",
                         rg::Error);
}

TEST_CASE("each model's default training is the documented one") {
    const auto mlp = models::training_defaults("mlp");
    CHECK(mlp.epochs == 5);
    CHECK(mlp.batch == 128);
    CHECK(mlp.lr == 1e-3);
    CHECK(mlp.optimizer == "adam");
    CHECK(mlp.schedule == "cosine");
    CHECK(models::training_defaults("cnn").epochs == 5);
    CHECK(models::training_defaults("cnn-bn").epochs == 15);
    CHECK(models::training_defaults("lstm").lr == 2e-3);
    CHECK(models::training_defaults("gru").lr == 2e-3);
    CHECK(models::training_defaults("vit").optimizer == "adamw");
    CHECK(models::training_defaults("vit").epochs == 15);
    // The tool's vit drops out in its encoder layers (VisionTransformer's own default does not).
    const auto vit = std::dynamic_pointer_cast<VisionTransformer>(models::by_name("vit"));
    REQUIRE(vit);
    CHECK(vit->encoder->layers.front()->options().dropout == 0.1);
    CHECK(VisionTransformer().encoder->layers.front()->options().dropout == 0.0);
}
