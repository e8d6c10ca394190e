// The sequence-model workloads in retrograd (shapes in suite.hpp): an LSTM and
// a TransformerEncoderLayer step, the encoder stack with and without
// rg::checkpoint around its layers, an LSTM classifier and a small ViT.
#include "ours_training.hpp"
#include "suite.hpp"

#include <retrograd/nn/models.hpp>

#include <retrograd/retrograd.hpp>

#include <cmath>
#include <functional>
#include <memory>

namespace bench {
namespace {

using rg::Tensor;
using rg::TensorList;

std::int64_t i64(std::size_t n) { return static_cast<std::int64_t>(n); }

rg::nn::TransformerLayerOptions encoder_options() {
    return {.dim_feedforward = encoder_feedforward, .dropout = encoder_dropout};
}

void drop_grads(const TensorList& params) {
    for (Tensor p : params) p.zero_grad();
}

// One forward and backward of a model over a fixed input, gradients dropped between.
struct Step {
    std::function<Tensor()> loss;
    TensorList params;
    void operator()() const {
        loss().backward();
        drop_grads(params);
    }
};

Step lstm_step() {
    auto lstm = std::make_shared<rg::nn::LSTM>(lstm_input, lstm_hidden);
    auto x = rg::randn({i64(lstm_steps), i64(lstm_batch), i64(lstm_input)});
    return {[lstm, x] { return rg::mean(rg::square(lstm->forward(x).output)); }, lstm->parameters()};
}

Step encoder_step() {
    auto layer = std::make_shared<rg::nn::TransformerEncoderLayer>(encoder_width, encoder_heads, encoder_options());
    auto x = rg::randn({i64(encoder_seq), i64(encoder_batch), i64(encoder_width)});
    return {[layer, x] { return rg::mean(rg::square((*layer)(x))); }, layer->parameters()};
}

// The stack as a TransformerEncoder, or with every layer but the last inside
// rg::checkpoint, as torch.utils.checkpoint_sequential leaves its last
// segment out: backward starts at the last layer, so a checkpoint there would
// recompute what is freed right after. (The input then needs grad, so that
// the first checkpoint has one.)
Step encoder_stack_step(bool checkpointed) {
    rg::nn::TransformerEncoderLayer prototype(encoder_width, encoder_heads, encoder_options());
    auto stack = std::make_shared<rg::nn::TransformerEncoder>(prototype, encoder_layers);
    auto x = rg::randn({i64(encoder_seq), i64(encoder_batch), i64(encoder_width)}, {.requires_grad = checkpointed});
    if (!checkpointed) return {[stack, x] { return rg::mean(rg::square((*stack)(x))); }, stack->parameters()};
    TensorList params = stack->parameters();
    params.push_back(x);
    return {[stack, x] {
                Tensor h = x;
                const auto& layers = stack->layers;
                for (std::size_t i = 0; i + 1 < layers.size(); ++i)
                    h = rg::checkpoint([&layer = layers[i]](const TensorList& in) { return (*layer)(in[0]); }, {h});
                return rg::mean(rg::square((*layers.back())(h)));
            },
            params};
}

class LSTMClassifier : public rg::nn::Module {
public:
    LSTMClassifier() {
        lstm = register_module("lstm", std::make_shared<rg::nn::LSTM>(28, lstm_hidden,
                                                                      rg::nn::RNNOptions{.batch_first = true}));
        head = register_module("head", std::make_shared<rg::nn::Linear>(lstm_hidden, 10));
    }
    Tensor forward(const Tensor& rows) override { return (*head)(rg::select(lstm->forward(rows).state.h, 0, 0)); }
    std::string describe() const override { return "LSTMClassifier"; }
    std::shared_ptr<rg::nn::LSTM> lstm;
    std::shared_ptr<rg::nn::Linear> head;
};

// `retrograd train --model vit` itself (models::by_name), fed (N, 1, 28, 28) images.
class ViT : public rg::nn::Module {
public:
    ViT() { model = register_module("vit", rg::nn::models::by_name("vit")); }
    Tensor forward(const Tensor& images) override { return (*model)(rg::unsqueeze(images, 1)); }
    std::string describe() const override { return "ViT"; }
    std::shared_ptr<rg::nn::Module> model;
};

void classifier_steps(benchmark::State& state, rg::nn::Module& model) {
    rg::optim::Adam adam(model.parameters(), {.lr = 1e-3});
    ours::train_steps(state, model, adam, ours::batches_as_tensors(fashion_batches(classifier_batch), {28, 28}));
}

void run(benchmark::State& state, const Step& step) {
    for (auto _ : state) step();
}

// The product backend's one-off start belongs to the process image (as in ours.cpp).
void start_products() {
    const auto m = rg::ones({2, 2});
    for (bool ta : {false, true})
        for (bool tb : {false, true}) benchmark::DoNotOptimize(rg::gemm(m, m, ta, tb).data_ptr());
}

}  // namespace

void ours_lstm_step(benchmark::State& state) { run(state, lstm_step()); }
void ours_encoder_step(benchmark::State& state) { run(state, encoder_step()); }
void ours_encoder_stack_step(benchmark::State& state) { run(state, encoder_stack_step(false)); }
void ours_encoder_stack_checkpointed(benchmark::State& state) { run(state, encoder_stack_step(true)); }

void ours_lstm_classifier_step(benchmark::State& state) {
    LSTMClassifier model;
    classifier_steps(state, model);
}

void ours_vit_step(benchmark::State& state) {
    ViT model;
    classifier_steps(state, model);
}

double ours_sequence_peak(const std::string& which, int steps) {
    const Step step = which == "lstm"                         ? lstm_step()
                      : which == "encoder"                    ? encoder_step()
                      : which == "encoder-stack"              ? encoder_stack_step(false)
                      : which == "encoder-stack-checkpointed" ? encoder_stack_step(true)
                                                              : Step{};
    if (!step.loss) throw std::runtime_error("no sequence workload " + which);
    start_products();
    const double baseline = resident_mib();
    reset_peak_resident();
    for (int i = 0; i < steps; ++i) step();
    return peak_resident_mib() - baseline;
}

}  // namespace bench
