// *Réseaux de neurones en pratique* (chapter 8, the layer-by-layer network): the FC and activation layers'
// backward formulas, MSE and its derivative, convolution gradients (the
// correlation of X with ∂E/∂O, and the full convolution with the rotated
// filter), and the XOR run. The worked exercise of part XV is in
// seed004_exercise_test.cpp, with both bias values.
#include "../helpers.hpp"

using rg::Tensor;
using rg::TensorList;
using test::check_values;

namespace {
rg::TensorOptions f64(bool g = false) { return {.dtype = rg::float64, .requires_grad = g}; }

// Valid cross-correlation of a (h, w) image with a (kh, kw) kernel, by loops.
Tensor correlate(const Tensor& x, const Tensor& k) {
    const auto& a = x.value<double>();
    const auto& f = k.value<double>();
    const std::size_t oh = a.shape()[0] - f.shape()[0] + 1, ow = a.shape()[1] - f.shape()[1] + 1;
    xt::xarray<double> out = xt::zeros<double>({oh, ow});
    for (std::size_t i = 0; i < oh; ++i)
        for (std::size_t j = 0; j < ow; ++j)
            for (std::size_t p = 0; p < f.shape()[0]; ++p)
                for (std::size_t q = 0; q < f.shape()[1]; ++q) out(i, j) += a(i + p, j + q) * f(p, q);
    return Tensor(out);
}
// Full convolution: pad by (k - 1) on each side, then correlate with the kernel rotated 180°.
Tensor full_convolution(const Tensor& g, const Tensor& k) {
    const std::size_t kh = k.shape()[0], kw = k.shape()[1];
    auto padded = rg::pad(g, {kw - 1, kw - 1, kh - 1, kh - 1});
    const auto& f = k.value<double>();
    xt::xarray<double> rotated = xt::zeros<double>({kh, kw});
    for (std::size_t p = 0; p < kh; ++p)
        for (std::size_t q = 0; q < kw; ++q) rotated(p, q) = f(kh - 1 - p, kw - 1 - q);
    return correlate(padded, Tensor(rotated));
}
}  // namespace

TEST_CASE("Réseaux de neurones en pratique V, FC layer: ∂E/∂X = ∂E/∂Y Wᵀ, ∂E/∂W = Xᵀ ∂E/∂Y, ∂E/∂B = ∂E/∂Y") {
    rg::manual_seed(41);
    auto x = rg::randn({1, 3}, f64(true));
    auto w = rg::randn({3, 2}, f64(true));  // the notes' layout: (input_size, output_size)
    auto b = rg::randn({1, 2}, f64(true));
    auto y = rg::matmul(x, w) + b;
    y.retain_grad();
    rg::sum(rg::square(y - 1.0)).backward();
    check_values(x.grad(), rg::matmul(y.grad(), rg::transpose(w.detach())), 1e-14);
    check_values(w.grad(), rg::matmul(rg::transpose(x.detach()), y.grad()), 1e-14);
    check_values(b.grad(), y.grad(), 1e-14);
}

TEST_CASE("Réseaux de neurones en pratique VI, activation layer: ∂E/∂X = ∂E/∂Y ⊙ f'(X)") {
    rg::manual_seed(42);
    auto x = rg::randn({1, 4}, f64(true));
    auto y = rg::tanh(x);
    y.retain_grad();
    rg::sum(rg::square(y - 0.3)).backward();
    auto t = rg::tanh(x.detach());
    check_values(x.grad(), y.grad() * (1.0 - t * t), 1e-14);
}

TEST_CASE("Réseaux de neurones en pratique IX: MSE = mean (Y - Y*)² and its derivative 2 (Y - Y*) / n") {
    auto target = rg::tensor({{1.0, 0.0, 2.0}}, f64());
    auto report =
        rg::check_formula([&](const TensorList& v) { return rg::nn::mse_loss(v[0], target); }, {rg::Shape{1, 3}},
                          [&](const TensorList& v) { return TensorList{(v[0] - target) * (2.0 / 3.0)}; });
    CHECK_MESSAGE(report.ok, report.text());
}

TEST_CASE("Réseaux de neurones en pratique VII, convolution: ∂E/∂F = correlate(X, ∂E/∂O) and ∂E/∂X = full convolution "
          "of ∂E/∂O with the rotated "
          "filter") {
    rg::manual_seed(43);
    auto x = rg::randn({1, 1, 5, 4}, f64(true));
    auto f = rg::randn({1, 1, 2, 3}, f64(true));
    auto o = rg::conv2d(x, f);
    o.retain_grad();
    rg::sum(rg::square(o) * 0.5 + o).backward();
    auto image = rg::select(rg::select(x.detach(), 0, 0), 0, 0);
    auto kernel = rg::select(rg::select(f.detach(), 0, 0), 0, 0);
    auto go = rg::select(rg::select(o.grad(), 0, 0), 0, 0);
    check_values(rg::select(rg::select(f.grad(), 0, 0), 0, 0), correlate(image, go), 1e-12);
    check_values(rg::select(rg::select(x.grad(), 0, 0), 0, 0), full_convolution(go, kernel), 1e-12);
}

TEST_CASE("Réseaux de neurones en pratique XI: the XOR network trains to the notes' result") {
    rg::manual_seed(0);
    auto x = rg::tensor({{0, 0}, {0, 1}, {1, 0}, {1, 1}});
    auto y = rg::tensor({{0}, {1}, {1}, {0}});
    rg::nn::Network net;
    net.add(rg::nn::Linear(2, 3)).add(rg::nn::Tanh()).add(rg::nn::Linear(3, 1)).add(rg::nn::Tanh());
    net.use(rg::nn::mse_loss);
    net.fit(x, y, {.epochs = 1000, .learning_rate = 0.1, .verbose = false});
    auto out = net.predict(x).to_vector();
    const std::vector<double> expected{0, 1, 1, 0};
    for (std::size_t i = 0; i < 4; ++i) CHECK(std::abs(out[i] - expected[i]) < 0.05);
}
