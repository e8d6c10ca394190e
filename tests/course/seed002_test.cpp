// *Machine Learning : Réseaux de Neurones* (slides): the error E = ½(o* - o)², the update Δw = -γ ∂E/∂w, the
// derivatives of σ and tanh, and the softmax Jacobian.
#include "../helpers.hpp"

using rg::Tensor;
using rg::TensorList;
using test::check_values;

namespace {
rg::TensorOptions f64(bool g = false) { return {.dtype = rg::float64, .requires_grad = g}; }
}  // namespace

TEST_CASE("Machine Learning slides, error: E = ½ (o* - o)² has ∂E/∂o = o - o*") {
    auto o = rg::tensor({0.3, 0.9}, f64(true));
    auto target = rg::tensor({1.0, 0.0}, f64());
    auto report = rg::check_formula([&](const TensorList& v) { return rg::nn::half_sse(v[0], target); }, {o},
                                    [&](const TensorList& v) { return TensorList{v[0] - target}; });
    CHECK_MESSAGE(report.ok, report.text());
}

TEST_CASE("Machine Learning slides, backward: Δw = -γ ∂E/∂w is one SGD step") {
    auto w = rg::tensor({0.5, -0.2}, f64(true));
    auto x = rg::tensor({1.0, 2.0}, f64());
    auto e = 0.5 * rg::square(1.0 - rg::dot(w, x));
    e.backward();
    auto expected = w.detach() - w.grad() * 0.1;
    rg::optim::SGD({w}, {.lr = 0.1}).step();
    check_values(w, expected, 1e-15);
}

TEST_CASE("Machine Learning slides, activations: σ' = σ(1 - σ) and tanh' = 1 - tanh²") {
    auto sig = rg::check_formula([](const TensorList& v) { return rg::sigmoid(v[0]); }, {rg::Shape{6}},
                                 [](const TensorList& v) {
                                     auto s = rg::sigmoid(v[0]);
                                     return TensorList{s * (1.0 - s)};
                                 });
    CHECK_MESSAGE(sig.ok, sig.text());
    auto th = rg::check_formula([](const TensorList& v) { return rg::tanh(v[0]); }, {rg::Shape{6}},
                                [](const TensorList& v) {
                                    auto t = rg::tanh(v[0]);
                                    return TensorList{1.0 - t * t};
                                });
    CHECK_MESSAGE(th.ok, th.text());
}

TEST_CASE("Machine Learning slides, softmax: the softmax Jacobian D_j S_i = S_i (δ_ij - S_j), compared in full") {
    auto report = rg::check_formula([](const TensorList& v) { return rg::softmax(v[0]); }, {rg::Shape{5}},
                                    [](const TensorList& v) {
                                        auto s = rg::softmax(v[0]);
                                        return TensorList{rg::unsqueeze(s, 1) *
                                                          (rg::eye(5, {.dtype = rg::float64}) - rg::unsqueeze(s, 0))};
                                    },
                                    {.kind = rg::Derivative::jacobian});
    CHECK_MESSAGE(report.ok, report.text());
}

TEST_CASE("Machine Learning slides, softmax: Σ_i softmax(x)_i = 1") {
    rg::manual_seed(21);
    auto x = rg::randn({4, 7}, f64()) * 10.0;
    check_values(rg::sum(rg::softmax(x, 1), {1}), rg::ones({4}, f64()), 1e-14);
}
