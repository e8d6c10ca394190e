// Multi-class classification with softmax and cross-entropy (*Machine Learning : Réseaux de Neurones*; Poncelet's *Les
// réseaux de neurones*) on a synthetic set of three spirals' arms. Usage: softmax_classification [epochs]
#include <retrograd/retrograd.hpp>

#include <cmath>
#include <iostream>
#include <string>

int main(int argc, char** argv) try {
    const int epochs = argc > 1 ? std::stoi(argv[1]) : 300;
    rg::manual_seed(3);
    const std::size_t per_class = 100, classes = 3;
    std::vector<double> points;
    std::vector<std::int64_t> labels;
    for (std::size_t c = 0; c < classes; ++c)
        for (std::size_t i = 0; i < per_class; ++i) {
            const double r = static_cast<double>(i) / per_class;
            const double t = 4.0 * static_cast<double>(c) + 4.0 * r + 0.2 * rg::randn({1}).item();
            points.push_back(r * std::sin(t));
            points.push_back(r * std::cos(t));
            labels.push_back(static_cast<std::int64_t>(c));
        }
    auto x = rg::from_vector(points, {per_class * classes, 2});
    auto y = rg::from_indices(labels);
    rg::nn::Sequential net{rg::nn::Linear(2, 64), rg::nn::Tanh(), rg::nn::Linear(64, classes)};
    rg::optim::Adam opt(net.parameters(), {.lr = 0.02});
    for (int epoch = 1; epoch <= epochs; ++epoch) {
        auto loss = rg::nn::cross_entropy(net(x), y);
        opt.zero_grad();
        loss.backward();
        opt.step();
        if (epoch % (epochs / 5 > 0 ? epochs / 5 : 1) == 0)
            std::cout << fmt::format("epoch {:>4}  cross-entropy = {:.4f}\n", epoch, loss.item());
    }
    rg::NoGrad off;
    auto probabilities = rg::softmax(net(x), 1);
    const double accuracy = rg::mean(rg::eq(rg::argmax(probabilities, 1), y).to(rg::float32)).item();
    std::cout << fmt::format("rows of softmax sum to {:.6f}; training accuracy {:.1f}%\n",
                             rg::mean(rg::sum(probabilities, {1})).item(), 100 * accuracy);
    return accuracy > 0.9 ? 0 : 1;
} catch (const std::exception& e) {
    std::cerr << "softmax_classification: " << e.what() << "\n";
    return 1;
}
