#pragma once
// The MNIST networks of *Réseaux de neurones en pratique*, modernised, on Fashion-MNIST: an MLP or a CNN
// trained with the library's training loop (shared by fashion_mnist_mlp.cpp
// and fashion_mnist_cnn.cpp).
// Usage: fashion_mnist_mlp|fashion_mnist_cnn [epochs] [training images (0: all)]
#include <retrograd/retrograd.hpp>

#include <iostream>
#include <string>

inline int run_fashion_mnist(const char* model_name, int argc, char** argv) try {
    const std::size_t epochs = argc > 1 ? std::stoul(argv[1]) : 5;
    const std::size_t limit = argc > 2 ? std::stoul(argv[2]) : 0;
    rg::manual_seed(0);
    auto load = [&](bool train, std::size_t n) {
        auto set = rg::data::load_fashion_mnist(train);
        auto x = rg::data::normalize_fashion_mnist(set.images);
        auto y = set.labels;
        if (n > 0) x = rg::slice(x, 0, 0, static_cast<long>(n)), y = rg::slice(y, 0, 0, static_cast<long>(n));
        return rg::data::TensorDataset(x, y);
    };
    rg::data::DataLoader train(load(true, limit), {.batch_size = 64, .shuffle = true});
    rg::data::DataLoader test(load(false, limit > 0 ? limit / 2 : 0), {.batch_size = 1000});
    auto model = rg::nn::models::by_name(model_name);
    rg::optim::Adam opt(model->parameters(), {.lr = 1e-3});
    auto loss = [](const rg::Tensor& out, const rg::Tensor& y) { return rg::nn::cross_entropy(out, y); };
    rg::nn::train(*model, opt, loss, train, nullptr, {.epochs = epochs});
    auto result = rg::nn::evaluate(*model, loss, test, 10);
    std::cout << fmt::format("{}: test accuracy {:.2f}% on {} images\n", model_name, 100 * result.accuracy,
                             test.samples());
    return 0;
} catch (const std::exception& e) {
    std::cerr << "fashion_mnist: " << e.what() << "\n";
    return 1;
}
