// Losses: values by hand, gradients by gradcheck, bad targets rejected.
#include "helpers.hpp"

using namespace rg::nn;
using rg::TensorList;
using test::check_values;
using test::f64;

TEST_CASE("mse, the course's half SSE, and l1 with every reduction") {
    auto y = rg::tensor({1.0, 2.0, 4.0});
    auto t = rg::tensor({1.0, 0.0, 1.0});
    CHECK(mse_loss(y, t).item() == doctest::Approx(13.0 / 3.0));
    CHECK(mse_loss(y, t, {.reduction = Reduction::sum}).item() == doctest::Approx(13.0));
    check_values(mse_loss(y, t, {.reduction = Reduction::none}), rg::tensor({0.0, 4.0, 9.0}));
    CHECK(half_sse(y, t).item() == doctest::Approx(6.5));
    CHECK(mse_loss(y, t, {.reduction = Reduction::sum, .scale = 0.5}).item() == doctest::Approx(6.5));
    CHECK(l1_loss(y, t).item() == doctest::Approx(5.0 / 3.0));
    CHECK(MSELoss{}(y, t).item() == doctest::Approx(13.0 / 3.0));
    auto p = rg::tensor({0.5, 2.0}, f64(true));
    auto q = rg::tensor({1.0, 1.0}, f64());
    test::check_gradients([q](const TensorList& v) { return mse_loss(v[0], q); }, {p});
    test::check_gradients([q](const TensorList& v) { return half_sse(v[0], q); }, {p});
    CHECK_THROWS_WITH_AS(mse_loss(rg::zeros({3}), rg::zeros({3, 1})),
                         "mse_loss: input has shape (3,) but target has shape (3, 1); they must match", rg::Error);
}

TEST_CASE("binary cross-entropy on probabilities and on logits agree") {
    auto z = rg::tensor({-1.0, 0.5, 3.0}, f64(true));
    auto t = rg::tensor({0.0, 1.0, 1.0}, f64());
    auto a = rg::sigmoid(z);
    const double expected =
        -(std::log(1 - a.value<double>()(0)) + std::log(a.value<double>()(1)) + std::log(a.value<double>()(2))) / 3;
    CHECK(binary_cross_entropy(a, t).item() == doctest::Approx(expected));
    CHECK(binary_cross_entropy_with_logits(z, t).item() == doctest::Approx(expected));
    // Poncelet's *Les réseaux de neurones*: for sigmoid + BCE, dC/dZ = A - y (over n samples: (A - y) / n).
    auto [gz] = rg::grad(binary_cross_entropy_with_logits(z, t), {z});
    check_values(gz, (rg::sigmoid(z.detach()) - t) / 3.0, 1e-12);
    test::check_gradients([t](const TensorList& v) { return binary_cross_entropy(rg::sigmoid(v[0]), t); }, {z});
    test::check_gradients([t](const TensorList& v) { return binary_cross_entropy_with_logits(v[0], t); }, {z});
    // Extreme inputs stay finite: logs are clamped at -100, logits are stable.
    CHECK(binary_cross_entropy(rg::tensor({0.0, 1.0}), rg::tensor({1.0, 0.0})).item() == doctest::Approx(100.0));
    auto p0 = rg::tensor({0.0}, {.requires_grad = true});
    binary_cross_entropy(p0, rg::tensor({0.0})).backward();
    CHECK(std::isfinite(p0.grad().item()));
    CHECK(binary_cross_entropy_with_logits(rg::tensor({1000.0}), rg::tensor({0.0})).item() == doctest::Approx(1000.0));
    CHECK_THROWS_WITH_AS(binary_cross_entropy(rg::tensor({1.5}), rg::tensor({1.0})),
                         "binary_cross_entropy: probabilities must lie in [0, 1], got 1.5 at flat index 0", rg::Error);
    CHECK_THROWS_WITH_AS(binary_cross_entropy_with_logits(rg::tensor({0.5}), rg::tensor({2.0})),
                         doctest::Contains("targets must lie in [0, 1], got 2"), rg::Error);
}

TEST_CASE("cross-entropy from logits with class indices, one-hot rows and label smoothing") {
    auto logits = rg::tensor({{2.0, 1.0, 0.1}, {0.5, 2.5, 0.3}}, f64(true));
    auto labels = rg::from_indices({0, 1});
    auto onehot = rg::tensor({{1.0, 0.0, 0.0}, {0.0, 1.0, 0.0}}, f64());
    auto lp = rg::log_softmax(logits.detach(), 1);
    const double expected = -(lp.value<double>()(0, 0) + lp.value<double>()(1, 1)) / 2;
    CHECK(cross_entropy(logits, labels).item() == doctest::Approx(expected));
    CHECK(cross_entropy(logits, onehot).item() == doctest::Approx(expected));
    CHECK(nll_loss(rg::log_softmax(logits, 1), labels).item() == doctest::Approx(expected));
    CHECK(CrossEntropyLoss{}(logits, labels).item() == doctest::Approx(expected));
    CHECK(cross_entropy(logits, labels, {.reduction = Reduction::sum}).item() == doctest::Approx(2 * expected));
    // Poncelet's *Les réseaux de neurones*: for softmax + cross-entropy, dC/dZ = A - y.
    auto [g] = rg::grad(cross_entropy(logits, labels, {.reduction = Reduction::sum}), {logits});
    check_values(g, rg::softmax(logits.detach(), 1) - onehot, 1e-12);
    // Label smoothing: targets (1 - ε) y + ε / C, for indices and for rows alike.
    const double eps = 0.1;
    auto smoothed = onehot * (1 - eps) + eps / 3;
    const double by_rows = -rg::sum(smoothed * lp).item() / 2;
    CHECK(cross_entropy(logits, labels, {.label_smoothing = eps}).item() == doctest::Approx(by_rows));
    CHECK(cross_entropy(logits, onehot, {.label_smoothing = eps}).item() == doctest::Approx(by_rows));
    test::check_gradients([labels](
                              const TensorList& v) { return cross_entropy(v[0], labels, {.label_smoothing = 0.2}); },
                          {logits});
    CHECK_THROWS_WITH_AS(cross_entropy(logits, rg::from_indices({0, 3})),
                         "cross_entropy: class index 3 at position 1 is out of range: expected a value in [0, 3) or "
                         "ignore_index -100",
                         rg::Error);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, rg::from_indices({0, 1, 2})),
                         "cross_entropy: class indices have shape (3,), expected (2,) for scores (2, 3)", rg::Error);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, rg::tensor({{1.2, 0.0, 0.0}, {0.0, 1.0, 0.0}}, f64())),
                         doctest::Contains("target probabilities must lie in [0, 1]"), rg::Error);
    CHECK_THROWS_WITH_AS(nll_loss(logits, rg::tensor({0.0, 1.0})),
                         "nll_loss: targets must be int64 class indices, got float32", rg::Error);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, labels, {.label_smoothing = 1.0}),
                         doctest::Contains("label_smoothing must be in [0, 1)"), rg::Error);
}

TEST_CASE("cross_entropy with labels stored as floats names the dtype, not the shape") {
    auto logits = rg::tensor({{2.0, 1.0, 0.1}, {0.5, 2.5, 0.3}});
    CHECK_THROWS_WITH_AS(cross_entropy(logits, rg::tensor({0.0, 1.0})),
                         "cross_entropy: targets of shape (2,) must be int64 class indices, got float32; convert them "
                         "with .to(rg::int64), or pass class probabilities of shape (2, 3)",
                         rg::Error);
    // Probabilities of the wrong shape still get the shape message.
    CHECK_THROWS_WITH_AS(cross_entropy(logits, rg::tensor({{1.0, 0.0}, {0.0, 1.0}})),
                         doctest::Contains("cross_entropy: input has shape (2, 3) but target has shape (2, 2)"),
                         rg::Error);
}

TEST_CASE("class weights and ignore_index: the mean divides by the weights of the targets kept") {
    auto logits = rg::tensor({{2.0, 1.0, 0.1}, {0.5, 2.5, 0.3}, {1.0, -1.0, 0.0}}, f64(true));
    auto labels = rg::from_indices({0, -100, 2});
    auto weight = rg::tensor({2.0, 1.0, 0.5}, f64());
    auto lp = rg::log_softmax(logits.detach(), 1);
    const double l0 = -lp.value<double>()(0, 0), l2 = -lp.value<double>()(2, 2);
    CHECK(cross_entropy(logits, labels, {.weight = weight}).item() == doctest::Approx((2.0 * l0 + 0.5 * l2) / 2.5));
    CHECK(nll_loss(rg::log_softmax(logits, 1), labels, {.reduction = Reduction::sum, .weight = weight}).item() ==
          doctest::Approx(2.0 * l0 + 0.5 * l2));
    check_values(NLLLoss{{.reduction = Reduction::none, .weight = weight}}(lp, labels),
                 rg::tensor({2.0 * l0, 0.0, 0.5 * l2}, f64()), 1e-12);
    // Another ignore_index: -100 is then an ordinary, out-of-range class.
    CHECK(cross_entropy(logits, rg::from_indices({0, 1, 2}), {.ignore_index = 1}).item() ==
          doctest::Approx((l0 + l2) / 2));
    // Every target ignored: 0 / 0, NaN, as PyTorch.
    CHECK(std::isnan(cross_entropy(logits, rg::from_indices({-100, -100, -100})).item()));
    test::check_gradients([labels, weight](
                              const TensorList&
                                  v) { return cross_entropy(v[0], labels, {.label_smoothing = 0.2, .weight = weight}); },
                          {logits});
    CHECK_THROWS_WITH_AS(cross_entropy(logits, rg::from_indices({0, -1, 2})),
                         "cross_entropy: class index -1 at position 1 is out of range: expected a value in [0, 3) or "
                         "ignore_index -100",
                         rg::Error);
    CHECK_THROWS_WITH_AS(nll_loss(lp, rg::from_indices({0, 1, -100}), {.ignore_index = 1}),
                         "nll_loss: class index -100 at position 2 is out of range: expected a value in [0, 3) or "
                         "ignore_index 1",
                         rg::Error);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, labels, {.weight = rg::ones({2}, f64())}),
                         "cross_entropy: weight has shape (2,), expected (3,): one weight per class", rg::Error);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, labels, {.weight = rg::ones({3})}),
                         "cross_entropy: weight is float32 but the scores are float64", rg::Error);
}

TEST_CASE("class losses over (N, C, d1, d2) scores and unbatched (C,) scores") {
    auto x = rg::randn({2, 3, 2, 2}, f64(true));
    auto t = rg::from_indices({0, 1, 2, 1, 2, 2, 0, 1}, {2, 2, 2});
    // The same as moving the classes last and flattening the positions.
    auto rows = rg::reshape(rg::permute(x.detach(), {0, 2, 3, 1}), {8, 3});
    CHECK(cross_entropy(x, t).item() == doctest::Approx(cross_entropy(rows, rg::reshape(t, {8})).item()));
    CHECK(cross_entropy(x, t, {.reduction = Reduction::none}).shape() == rg::Shape{2, 2, 2});
    test::check_gradients([t](const TensorList& v) { return cross_entropy(v[0], t, {.label_smoothing = 0.1}); }, {x});
    auto v = rg::tensor({1.0, 2.0, 0.5}, f64());
    CHECK(cross_entropy(v, rg::from_indices({1}, {})).item() ==
          doctest::Approx(-rg::log_softmax(v, 0).value<double>()(1)));
    CHECK(cross_entropy(v, rg::from_indices({1}, {}), {.reduction = Reduction::none}).shape() == rg::Shape{});
    CHECK_THROWS_WITH_AS(cross_entropy(x, rg::from_indices({0, 1}, {2, 1})),
                         "cross_entropy: class indices have shape (2, 1), expected (2, 2, 2) for scores (2, 3, 2, 2)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(nll_loss(rg::tensor(1.0), rg::from_indices({0}, {})),
                         "nll_loss: expected scores of shape (N, C), (N, C, d1, ...) or (C,), got ()", rg::Error);
}

TEST_CASE("binary cross-entropy with logits: pos_weight over the last axis and an element weight") {
    auto z = rg::tensor({{-1.0, 0.5, 3.0}, {2.0, -0.5, 0.0}}, f64(true));
    auto t = rg::tensor({{0.0, 1.0, 0.3}, {1.0, 0.0, 1.0}}, f64());
    auto pw = rg::tensor({2.0, 0.5, 3.0}, f64());
    auto w = rg::tensor({{1.0}, {0.25}}, f64());
    // The textbook form: -w (p t log σ(z) + (1 - t) log(1 - σ(z))).
    auto s = rg::sigmoid(z.detach());
    auto expected = -w * (pw * t * rg::log(s) + (1.0 - t) * rg::log(1.0 - s));
    check_values(binary_cross_entropy_with_logits(z, t, {.reduction = Reduction::none, .weight = w, .pos_weight = pw}),
                 expected, 1e-12);
    CHECK(BCEWithLogitsLoss{{.reduction = Reduction::sum, .weight = w, .pos_weight = pw}}(z, t).item() ==
          doctest::Approx(rg::sum(expected).item()));
    test::
        check_gradients([t, pw,
                         w](const TensorList&
                                v) { return binary_cross_entropy_with_logits(v[0], t, {.weight = w, .pos_weight = pw}); },
                        {z});
    CHECK_THROWS_WITH_AS(binary_cross_entropy_with_logits(z, t, {.pos_weight = rg::ones({2}, f64())}),
                         "binary_cross_entropy_with_logits: pos_weight of shape (2,) does not broadcast to the "
                         "logits' shape (2, 3)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(binary_cross_entropy_with_logits(z, t, {.weight = rg::ones({3})}),
                         "binary_cross_entropy_with_logits: weight is float32 but the logits are float64", rg::Error);
}
