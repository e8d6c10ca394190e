// XOR with the course's 2-3-1 tanh network (*Réseaux de neurones en pratique*, part XI), trained sample by
// sample with plain gradient descent. The gradients come from the tape: no
// backward pass is written here.
//
// Usage: xor [epochs] [learning_rate]
#include <retrograd/retrograd.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

namespace {

struct Layer {
    rg::Tensor weights, bias;
};

// The seed initialises every parameter uniformly in [-0.5, 0.5).
Layer dense(std::size_t in, std::size_t out) {
    return {rg::uniform({in, out}, -0.5, 0.5, {.requires_grad = true}),
            rg::uniform({1, out}, -0.5, 0.5, {.requires_grad = true})};
}

rg::Tensor forward(const Layer& l1, const Layer& l2, const rg::Tensor& x) {
    auto hidden = rg::tanh(rg::matmul(x, l1.weights) + l1.bias);
    return rg::tanh(rg::matmul(hidden, l2.weights) + l2.bias);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const int epochs = argc > 1 ? std::stoi(argv[1]) : 1000;
        const double learning_rate = argc > 2 ? std::stod(argv[2]) : 0.1;
        if (epochs <= 0 || learning_rate <= 0) throw std::invalid_argument("epochs and learning rate must be positive");

        rg::manual_seed(0);
        const auto x = rg::tensor({{0, 0}, {0, 1}, {1, 0}, {1, 1}});
        const auto y = rg::tensor({{0}, {1}, {1}, {0}});
        Layer l1 = dense(2, 3), l2 = dense(3, 1);
        const rg::TensorList params{l1.weights, l1.bias, l2.weights, l2.bias};

        for (int epoch = 1; epoch <= epochs; ++epoch) {
            double error = 0;
            for (long i = 0; i < 4; ++i) {
                auto xi = rg::slice(x, 0, i, i + 1);
                auto yi = rg::slice(y, 0, i, i + 1);
                auto loss = rg::mean(rg::square(forward(l1, l2, xi) - yi));  // the course's mse
                error += loss.item();
                for (auto p : params) p.zero_grad();
                loss.backward();
                rg::NoGrad no_grad;
                for (auto p : params) p.value() -= static_cast<float>(learning_rate) * p.grad().value();
            }
            if (epoch == 1 || epoch % (epochs / 10 > 0 ? epochs / 10 : 1) == 0)
                std::cout << fmt::format("epoch {:>4}/{}  error={:.6f}\n", epoch, epochs, error / 4);
        }
        rg::NoGrad no_grad;
        std::cout << "predictions for (0,0) (0,1) (1,0) (1,1):\n" << forward(l1, l2, x) << "\n";
    } catch (const std::exception& e) {
        std::cerr << "xor: " << e.what() << "\n";
        return 1;
    }
}
