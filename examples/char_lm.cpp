// A character language model in one file: a GRU reads a text one character at
// a time and learns to predict the next one; then it writes text of its own.
// The corpus is Debian's fortunes (sudo apt-get install fortunes) or any UTF-8
// file. `retrograd lm` is the same with checkpoints, resume and a Transformer.
//
// Usage: char_lm [corpus] [steps] [threads]
#include <retrograd/retrograd.hpp>

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <random>

namespace {

// ids (N, T) -> logits (N, T, V) of the next character.
struct CharGRU : rg::nn::Module {
    std::shared_ptr<rg::nn::Embedding> embed;
    std::shared_ptr<rg::nn::GRU> gru;
    std::shared_ptr<rg::nn::Linear> head;
    CharGRU(std::size_t vocabulary, std::size_t dim, std::size_t hidden)
        : embed(register_module("embed", std::make_shared<rg::nn::Embedding>(vocabulary, dim))),
          gru(register_module("gru",
                              std::make_shared<rg::nn::GRU>(dim, hidden, rg::nn::RNNOptions{.batch_first = true}))),
          head(register_module("head", std::make_shared<rg::nn::Linear>(hidden, vocabulary))) {}
    rg::Tensor forward(const rg::Tensor& ids) override { return (*head)(gru->forward((*embed)(ids)).output); }
};

// The next character, drawn from softmax(logits / temperature).
std::int64_t draw(const rg::Tensor& logits, double temperature, std::mt19937_64& engine) {
    const auto p = rg::softmax(logits / temperature, -1).to_vector();
    double u = std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    for (std::size_t i = 0; i < p.size(); ++i)
        if ((u -= p[i]) < 0) return static_cast<std::int64_t>(i);
    return static_cast<std::int64_t>(p.size() - 1);
}

}  // namespace

int main(int argc, char** argv) try {
    const std::string path = argc > 1 ? argv[1] : "/usr/share/games/fortunes/fortunes";
    const int steps = argc > 2 ? std::atoi(argv[2]) : 300;
    if (argc > 3) rg::set_num_threads(std::atoi(argv[3]));
    const std::size_t context = 64, batch = 32;

    // The text, its characters, and windows of `context` ids with the same windows one character on as targets.
    const auto corpus = rg::data::read_text_corpus(path);
    const rg::data::Vocabulary vocabulary(corpus.text);
    const auto ids = vocabulary.encode(corpus.text);
    const std::size_t held_out = ids.size() / 10;  // the last tenth measures the model on text it never saw
    const std::vector<std::int64_t> train_ids(ids.begin(), ids.end() - static_cast<long>(held_out));
    const std::vector<std::int64_t> val_ids(ids.end() - static_cast<long>(held_out), ids.end());
    rg::data::DataLoader train(rg::data::char_windows(train_ids, context, "the training text"),
                               {.batch_size = batch, .shuffle = true});
    const auto val = rg::data::char_windows(val_ids, context, "the held-out text");
    std::cout << corpus.text.size() << " characters, " << vocabulary.size() << " distinct\n";

    rg::manual_seed(0);
    CharGRU model(vocabulary.size(), 64, 256);
    rg::optim::Adam adam(model.parameters(), {.lr = 0.003});
    rg::data::Batch b;
    for (int step = 1; step <= steps; ++step) {
        if (!train.next(b)) {  // a new epoch
            train.reset();
            train.next(b);
        }
        // Cross-entropy in bits: log2 of how many equally likely characters the model hesitates between.
        auto loss = rg::nn::bits_per_character(model(b.inputs), b.targets);
        adam.zero_grad();
        loss.backward();
        rg::optim::clip_grad_norm_(model.parameters(), 1.0);
        adam.step();
        if (step % 100 == 0 || step == steps) {
            rg::NoGrad off;
            const double held = rg::nn::bits_per_character(model(val.inputs()), val.targets()).item();
            std::cout << "step " << step << ": train " << loss.item() << " bits/char, held-out " << held << "\n";
        }
    }

    // Text of its own: each character drawn given the ones before (the last `context`).
    rg::NoGrad off;
    std::mt19937_64 engine(1);
    std::vector<std::int64_t> text = vocabulary.encode(U"The ");
    for (int i = 0; i < 300; ++i) {
        const std::size_t from = text.size() > context ? text.size() - context : 0;
        const std::vector<std::int64_t> window(text.begin() + static_cast<long>(from), text.end());
        const auto t = static_cast<std::int64_t>(window.size());
        const auto logits = model(rg::from_indices(window, {1, t})).select(1, t - 1).reshape({-1});
        text.push_back(draw(logits, 0.8, engine));
    }
    std::cout << rg::data::utf8_encode(vocabulary.decode(text)) << "\n";
    return 0;
} catch (const std::exception& e) {
    std::cerr << "char_lm: " << e.what() << "\n";
    return 1;
}
