// The sequence-model workloads in LibTorch (shapes in suite.hpp), written as
// a LibTorch user would: torch::nn::LSTM, TransformerEncoderLayer,
// TransformerEncoder, torch::optim::Adam. LibTorch's C++ TransformerEncoderLayer
// has no norm_first option, so the ViT's pre-norm layer is composed of its
// MultiheadAttention, LayerNorm and Linear modules as PyTorch's norm_first
// forward does.
#include "suite.hpp"
#include "torch_training.hpp"

#include <torch/torch.h>

#include <functional>
#include <stdexcept>

namespace bench {
namespace {

using torch::Tensor;

std::int64_t i64(std::size_t n) { return static_cast<std::int64_t>(n); }

torch::nn::TransformerEncoderLayerOptions encoder_options() {
    return torch::nn::TransformerEncoderLayerOptions(i64(encoder_width), i64(encoder_heads))
        .dim_feedforward(i64(encoder_feedforward))
        .dropout(encoder_dropout);
}

struct Step {
    std::function<Tensor()> loss;
    std::vector<Tensor> params;
    void operator()() const {
        loss().backward();
        for (auto p : params) p.mutable_grad().reset();  // set to none, as ours
    }
};

Step lstm_step() {
    torch::nn::LSTM lstm(torch::nn::LSTMOptions(i64(lstm_input), i64(lstm_hidden)));
    auto x = torch::randn({i64(lstm_steps), i64(lstm_batch), i64(lstm_input)});
    return {[lstm, x]() mutable { return std::get<0>(lstm->forward(x)).square().mean(); }, lstm->parameters()};
}

Step encoder_step() {
    torch::nn::TransformerEncoderLayer layer(encoder_options());
    auto x = torch::randn({i64(encoder_seq), i64(encoder_batch), i64(encoder_width)});
    return {[layer, x]() mutable { return layer->forward(x).square().mean(); }, layer->parameters()};
}

Step encoder_stack_step() {
    torch::nn::TransformerEncoder stack(
        torch::nn::TransformerEncoderOptions(torch::nn::TransformerEncoderLayer(encoder_options()),
                                             i64(encoder_layers)));
    auto x = torch::randn({i64(encoder_seq), i64(encoder_batch), i64(encoder_width)});
    return {[stack, x]() mutable { return stack->forward(x).square().mean(); }, stack->parameters()};
}

struct LSTMClassifierImpl : torch::nn::Module {
    torch::nn::LSTM lstm{nullptr};
    torch::nn::Linear head{nullptr};
    LSTMClassifierImpl() {
        lstm = register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(28, i64(lstm_hidden)).batch_first(true)));
        head = register_module("head", torch::nn::Linear(i64(lstm_hidden), 10));
    }
    Tensor forward(const Tensor& rows) {
        auto h = std::get<0>(std::get<1>(lstm->forward(rows)));
        return head->forward(h.select(0, 0));
    }
};
TORCH_MODULE(LSTMClassifier);

// PyTorch's TransformerEncoderLayer with norm_first=True, activation gelu,
// dropout `vit_dropout` (attention weights, dropout1, the feed-forward's and
// dropout2, as PyTorch's), sequence first (LibTorch's MultiheadAttention has
// no batch_first): x = x + dropout1(self_attn(norm1(x)));
// x = x + dropout2(linear2(dropout(gelu(linear1(norm2(x)))))).
struct PreNormLayerImpl : torch::nn::Module {
    torch::nn::MultiheadAttention self_attn{nullptr};
    torch::nn::Linear linear1{nullptr}, linear2{nullptr};
    torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
    torch::nn::Dropout dropout{nullptr}, dropout1{nullptr}, dropout2{nullptr};
    PreNormLayerImpl() {
        const auto w = i64(vit_width);
        self_attn = register_module("self_attn",
                                    torch::nn::MultiheadAttention(
                                        torch::nn::MultiheadAttentionOptions(w, i64(vit_heads)).dropout(vit_dropout)));
        linear1 = register_module("linear1", torch::nn::Linear(w, i64(vit_feedforward)));
        linear2 = register_module("linear2", torch::nn::Linear(i64(vit_feedforward), w));
        norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({w})));
        norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({w})));
        dropout = register_module("dropout", torch::nn::Dropout(vit_dropout));
        dropout1 = register_module("dropout1", torch::nn::Dropout(vit_dropout));
        dropout2 = register_module("dropout2", torch::nn::Dropout(vit_dropout));
    }
    Tensor forward(Tensor x) {
        auto h = norm1->forward(x);
        x = x + dropout1->forward(std::get<0>(self_attn->forward(h, h, h, {}, /*need_weights=*/false)));
        return x +
               dropout2->forward(linear2->forward(dropout->forward(torch::gelu(linear1->forward(norm2->forward(x))))));
    }
};
TORCH_MODULE(PreNormLayer);

// retrograd's `vit` model (rg::nn::models::VisionTransformer) in torch::nn: a
// 7x7-stride-7 Conv2d cuts and projects the patches, a learned position
// embedding, pre-norm layers, a final LayerNorm, the mean over the tokens.
struct ViTImpl : torch::nn::Module {
    torch::nn::Conv2d embed{nullptr};
    torch::nn::Linear head{nullptr};
    Tensor position;
    std::vector<PreNormLayer> layers;
    torch::nn::LayerNorm norm{nullptr};
    ViTImpl() {
        const auto w = i64(vit_width);
        embed =
            register_module("embed",
                            torch::nn::Conv2d(torch::nn::Conv2dOptions(1, w, i64(vit_patch)).stride(i64(vit_patch))));
        position = register_parameter("position", torch::randn({1, i64(vit_tokens), w}) * 0.02);
        for (std::size_t i = 0; i < vit_layers; ++i)
            layers.push_back(register_module("layer" + std::to_string(i), PreNormLayer()));
        norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({w})));
        head = register_module("head", torch::nn::Linear(w, 10));
    }
    // images (N, 28, 28) -> tokens (16, N, 64), sequence first.
    Tensor forward(const Tensor& images) {
        auto tokens = embed->forward(images.unsqueeze(1)).flatten(2).transpose(1, 2) + position;
        auto x = tokens.transpose(0, 1);
        for (auto& layer : layers) x = layer->forward(x);
        return head->forward(norm->forward(x).mean(0));
    }
};
TORCH_MODULE(ViT);

template <class Model> void classifier_steps(benchmark::State& state, Model& model) {
    torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(1e-3));
    libtorch::train_steps(state, model, adam,
                          libtorch::batches_as_tensors(fashion_batches(classifier_batch), {28, 28}));
}

void run(benchmark::State& state, const Step& step) {
    for (auto _ : state) step();
}

void start_products() {
    const auto m = torch::ones({2, 2});
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            benchmark::DoNotOptimize(torch::matmul(ta ? m.t() : m, tb ? m.t() : m).data_ptr());
}

}  // namespace

void torch_lstm_step(benchmark::State& state) { run(state, lstm_step()); }
void torch_encoder_step(benchmark::State& state) { run(state, encoder_step()); }
void torch_encoder_stack_step(benchmark::State& state) { run(state, encoder_stack_step()); }

void torch_lstm_classifier_step(benchmark::State& state) {
    LSTMClassifier model;
    classifier_steps(state, model);
}

void torch_vit_step(benchmark::State& state) {
    ViT model;
    classifier_steps(state, model);
}

double torch_sequence_peak(const std::string& which, int steps) {
    const Step step = which == "lstm"            ? lstm_step()
                      : which == "encoder"       ? encoder_step()
                      : which == "encoder-stack" ? encoder_stack_step()
                                                 : Step{};
    if (!step.loss) throw std::runtime_error("no LibTorch sequence workload " + which);
    start_products();
    const double baseline = resident_mib();
    reset_peak_resident();
    for (int i = 0; i < steps; ++i) step();
    return peak_resident_mib() - baseline;
}

}  // namespace bench
