// *Réseau de neurones, rétropropagation du gradient de l'erreur* (§1.1, §1.4, §1.6, §2.1-§2.5): the formal neuron, the
// gradient of the squared error, the back-propagated sum over successors, the chain rule, a shared-weight 1-D
// convolution, softmax, and mini-batches.
#include "../helpers.hpp"

using rg::Tensor;
using rg::TensorList;
using test::check_values;

namespace {
rg::TensorOptions f64(bool g = false) { return {.dtype = rg::float64, .requires_grad = g}; }
Tensor s_prime(const Tensor& sigma) {  // S = tanh here
    auto t = rg::tanh(sigma.detach());
    return 1.0 - t * t;
}
}  // namespace

TEST_CASE("rétropropagation du gradient §1.1: the formal neuron y = S(Σ_i w_i x_i)") {
    auto x = rg::tensor({0.5, -1.0, 2.0}, f64());
    auto w = rg::tensor({0.1, 0.4, -0.3}, f64());
    CHECK(rg::tanh(rg::dot(w, x)).item() == doctest::Approx(std::tanh(0.05 - 0.4 - 0.6)));
}

TEST_CASE(
    "rétropropagation du gradient §2.4: ∂E/∂w_ij = y_i S'(σ_j) ∂E/∂y_j and ∂E/∂y_j = 2(y_j - u_j) for E = Σ(y - u)²") {
    rg::manual_seed(11);
    auto y_in = rg::randn({1, 3}, f64());  // y_i, the predecessors' outputs
    auto w = rg::randn({3, 2}, f64(true));  // w_ij
    auto u = rg::randn({1, 2}, f64());  // targets
    auto sigma = rg::matmul(y_in, w);  // σ_j = Σ_i w_ij y_i
    auto y = rg::tanh(sigma);
    y.retain_grad();
    rg::sum(rg::square(y - u)).backward();
    check_values(y.grad(), (y.detach() - u) * 2.0, 1e-14);
    auto expected = rg::matmul(rg::transpose(y_in), s_prime(sigma) * y.grad());  // y_i S'(σ_j) ∂E/∂y_j
    check_values(w.grad(), expected, 1e-14);
}

TEST_CASE("rétropropagation du gradient §2.5: a hidden neuron's ∂E/∂y_i is the sum over its successors j of w_ij "
          "S'(σ_j) ∂E/∂y_j") {
    rg::manual_seed(12);
    auto x = rg::randn({1, 2}, f64());
    auto w1 = rg::randn({2, 3}, f64(true));
    auto w2 = rg::randn({3, 4}, f64(true));
    auto hidden = rg::tanh(rg::matmul(x, w1));
    hidden.retain_grad();
    auto sigma = rg::matmul(hidden, w2);
    auto out = rg::tanh(sigma);
    out.retain_grad();
    rg::sum(rg::square(out - 0.5)).backward();
    const auto& w = w2.value<double>();
    for (std::size_t i = 0; i < 3; ++i) {
        double total = 0;
        for (std::size_t j = 0; j < 4; ++j)
            total += w(i, j) * s_prime(sigma).value<double>()(0, j) * out.grad().value<double>()(0, j);
        CHECK(hidden.grad().value<double>()(0, i) == doctest::Approx(total).epsilon(1e-12));
    }
}

TEST_CASE("rétropropagation du gradient §2.2: the chain rule for t = h∘g∘f, t' = h'(g(f(x))) g'(f(x)) f'(x)") {
    // f(x) = x², g = sin, h = exp.
    auto x = rg::tensor({0.7, -1.3}, f64(true));
    rg::sum(rg::exp(rg::sin(rg::square(x)))).backward();
    auto xv = x.detach();
    check_values(x.grad(), rg::exp(rg::sin(xv * xv)) * rg::cos(xv * xv) * xv * 2.0, 1e-14);
}

TEST_CASE("rétropropagation du gradient §1.6: shared weights in y_j = x_{j-1} w1 + x_j w2 + x_{j+1} w3 sum their "
          "gradients over positions") {
    rg::manual_seed(13);
    auto x = rg::randn({8}, f64());
    auto w = rg::randn({3}, f64(true));
    // Written as the notes write it, position by position (j = 1 .. 6).
    auto y = rg::slice(x, 0, 0, 6) * rg::select(w, 0, 0) + rg::slice(x, 0, 1, 7) * rg::select(w, 0, 1) +
             rg::slice(x, 0, 2, 8) * rg::select(w, 0, 2);
    y.retain_grad();
    rg::sum(rg::square(y)).backward();
    const auto dy = y.grad().to_vector(), xv = x.to_vector();
    for (std::size_t k = 0; k < 3; ++k) {
        double total = 0;
        for (std::size_t j = 0; j < 6; ++j) total += dy[j] * xv[j + k];  // ∂E/∂w_k = Σ_j ∂E/∂y_j x_{j+k-1}
        CHECK(w.grad().to_vector()[k] == doctest::Approx(total).epsilon(1e-12));
    }
    // The same layer as a library convolution gives the same gradient.
    auto w_conv = w.detach().requires_grad_();
    auto y_conv = rg::conv2d(rg::reshape(x, rg::Shape{1, 1, 1, 8}), rg::reshape(w_conv, rg::Shape{1, 1, 1, 3}));
    rg::sum(rg::square(y_conv)).backward();
    check_values(w_conv.grad(), w.grad(), 1e-12);
}

TEST_CASE("rétropropagation du gradient §1.4: softmax s_i = e^{x_i} / Σ_j e^{x_j}") {
    auto x = rg::tensor({1.0, 2.0, 0.5}, f64());
    const double total = std::exp(1.0) + std::exp(2.0) + std::exp(0.5);
    check_values(rg::softmax(x),
                 rg::tensor({std::exp(1.0) / total, std::exp(2.0) / total, std::exp(0.5) / total}, f64()), 1e-15);
}

TEST_CASE("rétropropagation du gradient §2.1: the mini-batch gradient is the sum of the per-sample gradients") {
    rg::manual_seed(14);
    auto x = rg::randn({5, 3}, f64());
    auto u = rg::randn({5, 2}, f64());
    auto w = rg::randn({3, 2}, f64(true));
    auto batch = rg::grad(rg::sum(rg::square(rg::tanh(rg::matmul(x, w)) - u)), {w})[0];
    Tensor total = rg::zeros({3, 2}, f64());
    for (long i = 0; i < 5; ++i) {
        auto xi = rg::slice(x, 0, i, i + 1), ui = rg::slice(u, 0, i, i + 1);
        total = total + rg::grad(rg::sum(rg::square(rg::tanh(rg::matmul(xi, w)) - ui)), {w})[0];
    }
    check_values(batch, total, 1e-12);
}
