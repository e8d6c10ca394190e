// One neuron without activation (*Réseau de neurones, rétropropagation du gradient de l'erreur*, §2.4): y = w x + b
// fitted by gradient descent on E = Σ (y - u)², the gradients coming from the tape. Usage: linear_regression [steps]
#include <retrograd/retrograd.hpp>

#include <iostream>
#include <string>

int main(int argc, char** argv) try {
    const int steps = argc > 1 ? std::stoi(argv[1]) : 200;
    rg::manual_seed(1);
    // Noisy samples of u = 3x - 1.
    auto x = rg::reshape(rg::linspace(-1, 1, 50, {.dtype = rg::float64}), rg::Shape{50, 1});
    auto u = x * 3.0 - 1.0 + rg::randn({50, 1}, {.dtype = rg::float64}) * 0.1;
    auto w = rg::zeros({1, 1}, {.dtype = rg::float64, .requires_grad = true});
    auto b = rg::zeros({1}, {.dtype = rg::float64, .requires_grad = true});
    rg::optim::SGD opt({w, b}, {.lr = 0.01});
    for (int step = 1; step <= steps; ++step) {
        auto y = rg::matmul(x, w) + b;
        auto error = rg::sum(rg::square(y - u));  // the course's E = Σ (y - u)²
        opt.zero_grad();
        error.backward();
        opt.step();
        if (step % (steps / 5 > 0 ? steps / 5 : 1) == 0)
            std::cout << fmt::format("step {:>4}  E = {:.4f}\n", step, error.item());
    }
    std::cout << fmt::format("fitted y = {:.3f} x + {:.3f}   (data: y = 3 x - 1 + noise)\n", w.item(), b.item());
    return std::abs(w.item() - 3.0) < 0.1 && std::abs(b.item() + 1.0) < 0.1 ? 0 : 1;
} catch (const std::exception& e) {
    std::cerr << "linear_regression: " << e.what() << "\n";
    return 1;
}
