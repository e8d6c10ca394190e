// Binary classification with one sigmoid neuron and binary cross-entropy
// (Poncelet's *Les réseaux de neurones*): the decision boundary w·x + b = 0 is a line.
// Usage: logistic_regression [epochs]
#include <retrograd/retrograd.hpp>

#include <iostream>
#include <string>

int main(int argc, char** argv) try {
    const int epochs = argc > 1 ? std::stoi(argv[1]) : 300;
    rg::manual_seed(2);
    // Two clouds: class 1 around (1, 1), class 0 around (-1, -1).
    const std::size_t n = 200;
    auto labels = rg::gt(rg::rand({n, 1}), 0.5).to(rg::float32);  // a bool mask, as 0/1 targets
    auto x = rg::randn({n, 2}) * 0.7 + (labels * 2.0 - 1.0);
    rg::nn::Linear neuron(2, 1);
    rg::optim::SGD opt(neuron.parameters(), {.lr = 0.5});
    for (int epoch = 1; epoch <= epochs; ++epoch) {
        auto loss = rg::nn::binary_cross_entropy(rg::sigmoid(neuron(x)), labels);
        opt.zero_grad();
        loss.backward();
        opt.step();
        if (epoch % (epochs / 5 > 0 ? epochs / 5 : 1) == 0)
            std::cout << fmt::format("epoch {:>4}  BCE = {:.4f}\n", epoch, loss.item());
    }
    rg::NoGrad off;
    const double accuracy = rg::mean(rg::eq(rg::gt(neuron(x), 0.0), labels).to(rg::float32)).item();
    auto w = neuron.weight.to_vector();
    std::cout << fmt::format("boundary: {:.3f} x1 + {:.3f} x2 + {:.3f} = 0, training accuracy {:.1f}%\n", w[0], w[1],
                             neuron.bias.item(), 100 * accuracy);
    return accuracy > 0.9 ? 0 : 1;
} catch (const std::exception& e) {
    std::cerr << "logistic_regression: " << e.what() << "\n";
    return 1;
}
