// Poncelet's *Les réseaux de neurones* (slides, LIRMM): the activation table with its derivatives, leaky ReLU, binary
// cross-entropy, ∂C/∂Z = A - y, the summary table for the last layer L and a
// hidden layer l (column convention: Z[l] = W[l] A[l-1] + b[l]), and a stable
// softmax.
#include <limits>

#include "../helpers.hpp"

using rg::Tensor;
using rg::TensorList;
using test::check_values;

namespace {
rg::TensorOptions f64(bool g = false) { return {.dtype = rg::float64, .requires_grad = g}; }

// Points away from 0, where every row of the table is differentiable.
Tensor sample() { return rg::tensor({-2.5, -1.0, -0.3, 0.4, 1.2, 3.0}, f64()); }

void check_row(const char* name, const rg::Function& f, const rg::Formula& derivative) {
    CAPTURE(name);
    auto report = rg::check_formula(f, {sample()}, derivative);
    CHECK_MESSAGE(report.ok, report.text());
}
}  // namespace

TEST_CASE("Poncelet, activation table: each function's stated derivative") {
    check_row(
        "identity f' = 1", [](const TensorList& v) { return rg::nn::identity(v[0]); },
        [](const TensorList& v) { return TensorList{rg::ones_like(v[0])}; });
    check_row(
        "binary step f' = 0 for x ≠ 0", [](const TensorList& v) { return rg::step(v[0]); },
        [](const TensorList& v) { return TensorList{rg::zeros_like(v[0])}; });
    check_row(
        "logistic f' = f(1 - f)", [](const TensorList& v) { return rg::sigmoid(v[0]); },
        [](const TensorList& v) {
            auto f = rg::sigmoid(v[0]);
            return TensorList{f * (1.0 - f)};
        });
    check_row(
        "tanh f' = 1 - f²", [](const TensorList& v) { return rg::tanh(v[0]); },
        [](const TensorList& v) {
            auto f = rg::tanh(v[0]);
            return TensorList{1.0 - f * f};
        });
    check_row(
        "arctan f' = 1 / (x² + 1)", [](const TensorList& v) { return rg::atan(v[0]); },
        [](const TensorList& v) { return TensorList{1.0 / (v[0] * v[0] + 1.0)}; });
    check_row(
        "ReLU f' = 0 for x < 0, 1 for x > 0", [](const TensorList& v) { return rg::relu(v[0]); },
        [](const TensorList& v) { return TensorList{rg::gt(v[0], 0.0)}; });
    const double alpha = 0.25;
    check_row(
        "PReLU f' = α for x < 0, 1 for x > 0",
        [alpha](const TensorList& v) { return rg::nn::prelu(v[0], rg::tensor({alpha}, f64())); },
        [alpha](const TensorList& v) {
            return TensorList{rg::where(rg::gt(v[0], 0.0), rg::ones_like(v[0]), rg::full_like(v[0], alpha))};
        });
    check_row(
        "ELU f' = f(x) + α for x < 0, 1 for x > 0", [](const TensorList& v) { return rg::elu(v[0], 0.7); },
        [](const TensorList& v) {
            return TensorList{rg::where(rg::gt(v[0], 0.0), rg::ones_like(v[0]), rg::elu(v[0], 0.7) + 0.7)};
        });
    check_row(
        "SoftPlus f' = 1 / (1 + e^{-x})", [](const TensorList& v) { return rg::softplus(v[0]); },
        [](const TensorList& v) { return TensorList{1.0 / (1.0 + rg::exp(-v[0]))}; });
    check_row(
        "leaky ReLU f' = 0.01 for x < 0, 1 for x > 0", [](const TensorList& v) { return rg::leaky_relu(v[0]); },
        [](const TensorList& v) {
            return TensorList{rg::where(rg::gt(v[0], 0.0), rg::ones_like(v[0]), rg::full_like(v[0], 0.01))};
        });
}

TEST_CASE("Poncelet, activation table at x = 0: the conventions where the derivative is undefined") {
    // The table leaves the binary step's derivative at 0 as '?', and defines
    // the step as 1 for x >= 0: we use step(0) = 1 and step'(0) = 0.
    // For ReLU the table writes f'(x) = 1 for x >= 0; ReLU has no derivative
    // at 0 and we follow PyTorch, f'(0) = 0. PReLU and leaky ReLU give the
    // negative side's slope at 0, ELU gives α (the left limit), as PyTorch.
    auto zero = rg::tensor({0.0}, f64(true));
    auto d = [&](auto f) { return rg::grad(rg::sum(f(zero)), {zero}, {})[0].item(); };
    CHECK(rg::step(zero).item() == 1.0);
    CHECK(d([](const Tensor& x) { return rg::step(x); }) == 0.0);
    CHECK(d([](const Tensor& x) { return rg::relu(x); }) == 0.0);
    CHECK(d([](const Tensor& x) { return rg::leaky_relu(x, 0.1); }) == doctest::Approx(0.1));
    CHECK(d([](const Tensor& x) { return rg::nn::prelu(x, rg::tensor({0.25}, f64())); }) == doctest::Approx(0.25));
    CHECK(d([](const Tensor& x) { return rg::elu(x, 0.7); }) == doctest::Approx(0.7));
}

TEST_CASE("Poncelet, backward propagation: binary cross-entropy and ∂C/∂A = -y/A + (1 - y)/(1 - A)") {
    auto y = rg::tensor({1.0, 0.0, 1.0, 0.0}, f64());
    auto a = rg::tensor({0.9, 0.2, 0.4, 0.7}, f64(true));
    // C = -y log A - (1 - y) log(1 - A), summed over the samples.
    auto report = rg::
        check_formula([&](const TensorList&
                              v) { return rg::nn::binary_cross_entropy(v[0], y, {.reduction = rg::nn::Reduction::sum}); },
                      {a}, [&](const TensorList& v) { return TensorList{-y / v[0] + (1.0 - y) / (1.0 - v[0])}; });
    CHECK_MESSAGE(report.ok, report.text());
}

TEST_CASE(
    "Poncelet, backward propagation and softmax: ∂C/∂Z = A - y for sigmoid + BCE and for softmax + cross-entropy") {
    auto y = rg::tensor({1.0, 0.0, 1.0}, f64());
    auto sigmoid_bce = rg::check_formula(
        [&](const TensorList& v) {
            return rg::nn::binary_cross_entropy(rg::sigmoid(v[0]), y, {.reduction = rg::nn::Reduction::sum});
        },
        {rg::Shape{3}}, [&](const TensorList& v) { return TensorList{rg::sigmoid(v[0]) - y}; });
    CHECK_MESSAGE(sigmoid_bce.ok, sigmoid_bce.text());
    auto onehot = rg::tensor({{0.0, 1.0, 0.0}, {1.0, 0.0, 0.0}}, f64());
    auto softmax_ce = rg::
        check_formula([&](const TensorList&
                              v) { return rg::nn::cross_entropy(v[0], onehot, {.reduction = rg::nn::Reduction::sum}); },
                      {rg::Shape{2, 3}},
                      [&](const TensorList& v) { return TensorList{rg::softmax(v[0], 1) - onehot}; });
    CHECK_MESSAGE(softmax_ce.ok, softmax_ce.text());
}

TEST_CASE("Poncelet, summary table (\"Pour résumer\"): layer L and layer l in the column convention") {
    // Two layers on m samples as columns: Z1 = W1 X + b1, A1 = σ(Z1), Z2 = W2 A1 + b2, A2 = σ(Z2),
    // C = Σ BCE(A2, y).
    rg::manual_seed(31);
    auto x = rg::randn({3, 5}, f64());
    auto y = rg::gt(rg::rand({1, 5}, f64()), 0.5).to(rg::float64);
    auto w1 = rg::randn({4, 3}, f64(true)), b1 = rg::randn({4, 1}, f64(true));
    auto w2 = rg::randn({1, 4}, f64(true)), b2 = rg::randn({1, 1}, f64(true));
    auto z1 = rg::matmul(w1, x) + b1;
    auto a1 = rg::sigmoid(z1);
    auto z2 = rg::matmul(w2, a1) + b2;
    auto a2 = rg::sigmoid(z2);
    for (Tensor* t : {&z1, &a1, &z2, &a2}) t->retain_grad();
    rg::nn::binary_cross_entropy(a2, y, {.reduction = rg::nn::Reduction::sum}).backward();
    auto A2 = a2.detach(), A1 = a1.detach();
    // Layer L.
    check_values(a2.grad(), -y / A2 + (1.0 - y) / (1.0 - A2), 1e-12);  // ∂C/∂A[L]
    check_values(z2.grad(), A2 - y, 1e-12);  // ∂C/∂Z[L] = A[L] - y
    check_values(w2.grad(), rg::matmul(z2.grad(), rg::transpose(A1)), 1e-12);  // ∂C/∂W[L] = ∂C/∂Z[L] A[L-1]ᵀ
    check_values(b2.grad(), rg::sum(z2.grad(), {1}, true), 1e-12);  // ∂C/∂b[L] = ∂C/∂Z[L] (summed over samples)
    // Layer l.
    check_values(z1.grad(), rg::matmul(rg::transpose(w2.detach()), z2.grad()) * A1 * (1.0 - A1),
                 1e-12);  // W[l+1]ᵀ ∂C/∂Z[l+1] * σ'(Z[l])
    check_values(w1.grad(), rg::matmul(z1.grad(), rg::transpose(x)), 1e-12);
    check_values(b1.grad(), rg::sum(z1.grad(), {1}, true), 1e-12);
}

TEST_CASE(
    "Poncelet, softmax: a stable softmax turns [4000, 5000, 6000] into [0, 0, 1] while the naive form overflows") {
    auto x = rg::tensor({4000.0, 5000.0, 6000.0}, f64());
    check_values(rg::softmax(x), rg::tensor({0.0, 0.0, 1.0}, f64()));
    auto naive = rg::exp(x) / rg::sum(rg::exp(x));
    CHECK(std::isnan(naive.to_vector()[2]));  // inf / inf
    auto x32 = rg::tensor({4000.0, 5000.0, 6000.0});
    check_values(rg::softmax(x32), rg::tensor({0.0, 0.0, 1.0}));
}
