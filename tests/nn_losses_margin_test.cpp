// The margin, embedding and likelihood losses (losses_margin.hpp): values by hand on small cases,
// every reduction, gradients at first and second order in float64, modules against functions,
// and bad input by message. tests/nn_functional_parity_test.cpp checks them against PyTorch 1.13.
#include "helpers.hpp"

#include <cmath>
#include <numbers>

using namespace rg::nn;
using rg::TensorList;
using test::all_finite;
using test::check_values;
using test::f64;

namespace {
double softplus(double v) { return std::log1p(std::exp(v)); }
}  // namespace

TEST_CASE("margin_ranking_loss: max(0, -y (x1 - x2) + margin), every reduction") {
    auto x1 = rg::tensor({1.0, 2.0, 0.5, -1.0}, f64());
    auto x2 = rg::tensor({2.0, 1.0, 0.5, 0.0}, f64());
    auto y = rg::tensor({1.0, 1.0, -1.0, -1.0}, f64());
    // margin 0.5: 1 + 0.5, -1 + 0.5 -> 0, 0 + 0.5, -1 + 0.5 -> 0.
    check_values(margin_ranking_loss(x1, x2, y, {.reduction = Reduction::none, .margin = 0.5}),
                 rg::tensor({1.5, 0.0, 0.5, 0.0}, f64()), 1e-12);
    CHECK(margin_ranking_loss(x1, x2, y, {.reduction = Reduction::sum, .margin = 0.5}).item() == doctest::Approx(2.0));
    CHECK(margin_ranking_loss(x1, x2, y, {.margin = 0.5}).item() == doctest::Approx(0.5));
    CHECK(margin_ranking_loss(x1, x2, y).item() == doctest::Approx(0.25));  // margin 0: only the first pair costs 1
    MarginRankingLoss module{{.reduction = Reduction::sum, .margin = 0.5}};
    check_values(module(x1, x2, y), margin_ranking_loss(x1, x2, y, {.reduction = Reduction::sum, .margin = 0.5}),
                 1e-12);
    // Gradients away from the hinge: -y (x1 - x2) + 0.1 is 2.1, -0.9, 1.4, 1.5, 0.6, 1.1.
    auto a = rg::tensor({{1.0, 0.5, -0.3}, {0.2, -0.4, 1.0}}, f64(true));
    auto b = rg::tensor({{-1.0, 1.5, 1.0}, {-1.2, 0.1, 2.0}}, f64(true));
    auto labels = rg::tensor({{-1.0, -1.0, 1.0}, {-1.0, 1.0, 1.0}}, f64());
    for (auto reduction : {Reduction::mean, Reduction::sum, Reduction::none})
        test::check_gradients(
            [&labels, reduction](const TensorList& v) {
                return margin_ranking_loss(v[0], v[1], labels, {.reduction = reduction, .margin = 0.1});
            },
            {a, b});
    CHECK_THROWS_WITH_AS(margin_ranking_loss(rg::zeros({3}), rg::zeros({2}), rg::zeros({3})),
                         "margin_ranking_loss: x1 has shape (3,) but x2 has shape (2,); they must match", rg::Error);
    CHECK_THROWS_WITH_AS(margin_ranking_loss(rg::zeros({3}), rg::zeros({3}), rg::zeros({3, 1})),
                         "margin_ranking_loss: x1 has shape (3,) but y has shape (3, 1); they must match", rg::Error);
    CHECK_THROWS_WITH_AS(margin_ranking_loss(rg::zeros({2}), rg::zeros({2}), rg::from_indices({1, -1})),
                         "margin_ranking_loss: y must be float32 or float64, got int64; convert it with "
                         ".to(rg::float32)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(margin_ranking_loss(rg::zeros({2}), rg::zeros({2}, f64()), rg::zeros({2})),
                         "margin_ranking_loss: x1 is float32 but x2 is float64; convert x2 with .to(rg::float32)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(margin_ranking_loss(rg::Tensor{}, rg::zeros({2}), rg::zeros({2})),
                         "margin_ranking_loss: x1 is an undefined tensor", rg::Error);
}

TEST_CASE("hinge_embedding_loss: x for y = 1, max(0, margin - x) for y = -1, both for other labels") {
    auto x = rg::tensor({0.3, 0.3, 2.0, 1.5, 0.3}, f64());
    auto y = rg::tensor({1.0, -1.0, -1.0, 1.0, 0.0}, f64());
    // The label 0 gets both terms, as PyTorch: 0.3 + 0.7.
    check_values(hinge_embedding_loss(x, y, {.reduction = Reduction::none}),
                 rg::tensor({0.3, 0.7, 0.0, 1.5, 1.0}, f64()), 1e-12);
    CHECK(hinge_embedding_loss(x, y, {.reduction = Reduction::sum}).item() == doctest::Approx(3.5));
    CHECK(hinge_embedding_loss(x, y).item() == doctest::Approx(0.7));
    check_values(hinge_embedding_loss(x, y, {.reduction = Reduction::none, .margin = 2.5}),
                 rg::tensor({0.3, 2.2, 0.5, 1.5, 2.5}, f64()), 1e-12);
    HingeEmbeddingLoss module{{.reduction = Reduction::none, .margin = 2.5}};
    check_values(module(x, y), hinge_embedding_loss(x, y, {.reduction = Reduction::none, .margin = 2.5}), 1e-12);
    // Gradients away from x = margin where y = -1.
    auto d = rg::tensor({{0.2, 1.7, 0.6}, {2.4, 0.4, 1.1}}, f64(true));
    auto labels = rg::tensor({{-1.0, -1.0, 1.0}, {1.0, -1.0, -1.0}}, f64());
    for (auto reduction : {Reduction::mean, Reduction::sum, Reduction::none})
        test::check_gradients(
            [&labels, reduction](const TensorList& v) {
                return hinge_embedding_loss(v[0], labels, {.reduction = reduction, .margin = 1.3});
            },
            {d});
    CHECK_THROWS_WITH_AS(hinge_embedding_loss(rg::zeros({2, 3}), rg::zeros({3})),
                         "hinge_embedding_loss: x has shape (2, 3) but y has shape (3,); they must match", rg::Error);
    CHECK_THROWS_WITH_AS(hinge_embedding_loss(rg::from_indices({1, 2}), rg::zeros({2})),
                         "hinge_embedding_loss: x must be float32 or float64, got int64; convert it with "
                         ".to(rg::float32)",
                         rg::Error);
}

TEST_CASE("soft_margin_loss: log(1 + exp(-y x)), finite for large margins") {
    auto x = rg::tensor({0.0, 2.0, -1.0, 1000.0}, f64());
    auto y = rg::tensor({1.0, -1.0, 1.0, -1.0}, f64());
    const double each[] = {std::log(2.0), softplus(2.0), softplus(1.0), 1000.0};
    check_values(soft_margin_loss(x, y, {.reduction = Reduction::none}),
                 rg::tensor({each[0], each[1], each[2], each[3]}, f64()), 1e-12);
    const double total = each[0] + each[1] + each[2] + each[3];
    CHECK(soft_margin_loss(x, y, {.reduction = Reduction::sum}).item() == doctest::Approx(total));
    CHECK(soft_margin_loss(x, y).item() == doctest::Approx(total / 4));
    CHECK(soft_margin_loss(x, y, {.reduction = Reduction::sum, .scale = 0.5}).item() == doctest::Approx(total / 2));
    SoftMarginLoss module{{.reduction = Reduction::sum}};
    CHECK(module(x, y).item() == doctest::Approx(total));
    // -y x = 1000: PyTorch's log1p(exp(1000)) is inf; here the loss is 1000 and its gradient -y.
    auto big = rg::tensor({1000.0}, f64(true));
    soft_margin_loss(big, rg::tensor({-1.0}, f64()), {.reduction = Reduction::sum}).backward();
    check_values(big.grad(), rg::tensor({1.0}, f64()), 1e-12);
    auto s = rg::tensor({{0.4, -1.2, 0.7}, {1.1, 0.3, -0.5}}, f64(true));
    auto labels = rg::tensor({{1.0, -1.0, -1.0}, {1.0, 1.0, -1.0}}, f64(true));
    test::check_gradients([](const TensorList& v) { return soft_margin_loss(v[0], v[1]); }, {s, labels});
    CHECK_THROWS_WITH_AS(soft_margin_loss(rg::zeros({2}), rg::zeros({3})),
                         "soft_margin_loss: x has shape (2,) but y has shape (3,); they must match", rg::Error);
}

TEST_CASE("cosine_embedding_loss: 1 - cos for y = 1, max(0, cos - margin) for y = -1") {
    auto x1 = rg::tensor({{1.0, 0.0}, {3.0, 4.0}, {1.0, 2.0}, {0.0, 0.0}, {1.0, 1.0}}, f64());
    auto x2 = rg::tensor({{0.0, 1.0}, {6.0, 8.0}, {-1.0, -2.0}, {1.0, 1.0}, {2.0, 2.0}}, f64());
    // cos 0, 1, -1, 0 (a zero vector: PyTorch's 1e-12 on each squared norm), 1; the last label is
    // neither 1 nor -1 and costs 0, as PyTorch.
    auto y = rg::tensor({1.0, 1.0, -1.0, -1.0, 0.0}, f64());
    check_values(cosine_embedding_loss(x1, x2, y, {.reduction = Reduction::none}),
                 rg::tensor({1.0, 0.0, 0.0, 0.0, 0.0}, f64()), 1e-9);
    check_values(cosine_embedding_loss(x1, x2, y, {.reduction = Reduction::none, .margin = -0.5}),
                 rg::tensor({1.0, 0.0, 0.0, 0.5, 0.0}, f64()), 1e-9);
    CHECK(cosine_embedding_loss(x1, x2, y, {.reduction = Reduction::sum, .margin = -0.5}).item() ==
          doctest::Approx(1.5));
    CHECK(cosine_embedding_loss(x1, x2, y, {.margin = -0.5}).item() == doctest::Approx(0.3));
    // One unbatched pair and a 0-D label.
    auto u = rg::tensor({1.0, 2.0, 2.0}, f64()), w = rg::tensor({2.0, 0.0, 1.0}, f64());
    const double cos = 4.0 / (3.0 * std::sqrt(5.0));
    CHECK(cosine_embedding_loss(u, w, rg::tensor(1.0, f64())).item() == doctest::Approx(1.0 - cos));
    CHECK(cosine_embedding_loss(u, w, rg::tensor(-1.0, f64()), {.margin = 0.1}).item() == doctest::Approx(cos - 0.1));
    CosineEmbeddingLoss module{{.reduction = Reduction::none, .margin = -0.5}};
    check_values(module(x1, x2, y), cosine_embedding_loss(x1, x2, y, {.reduction = Reduction::none, .margin = -0.5}),
                 1e-12);
    // A zero vector has a finite gradient.
    auto zero = rg::zeros({1, 3}, f64(true));
    cosine_embedding_loss(zero, rg::ones({1, 3}, f64()), rg::tensor({1.0}, f64())).backward();
    CHECK(all_finite(zero.grad()));
    // Gradients: cosines 0.45, -0.63, 0.80; rows 1 and 2 are labelled -1, and margin -0.9 keeps both hinges open.
    auto a = rg::tensor({{0.4, -1.2, 0.7}, {1.1, 0.3, -0.5}, {0.2, 0.8, 1.0}}, f64(true));
    auto b = rg::tensor({{0.9, 0.2, 1.3}, {-0.7, 0.6, 0.4}, {0.5, 1.0, 0.3}}, f64(true));
    auto labels = rg::tensor({1.0, -1.0, -1.0}, f64());
    for (auto reduction : {Reduction::mean, Reduction::sum, Reduction::none})
        test::check_gradients(
            [&labels, reduction](const TensorList& v) {
                return cosine_embedding_loss(v[0], v[1], labels, {.reduction = reduction, .margin = -0.9});
            },
            {a, b});
    CHECK_THROWS_WITH_AS(cosine_embedding_loss(x1, x2, rg::zeros({3}, f64())),
                         "cosine_embedding_loss: y has shape (3,), expected (5,): one label per row of x1 (5, 2)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(cosine_embedding_loss(u, w, rg::ones({1}, f64())),
                         "cosine_embedding_loss: y has shape (1,), expected (): one label per vector of x1 (3,)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(cosine_embedding_loss(rg::zeros({2, 2, 2}), rg::zeros({2, 2, 2}), rg::zeros({2})),
                         "cosine_embedding_loss: x1 and x2 have shape (2, 2, 2), expected rows (N, D) or one vector "
                         "(D,)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(cosine_embedding_loss(x1, x2, rg::ones({5})),
                         "cosine_embedding_loss: x1 is float64 but y is float32; convert y with .to(rg::float64)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(cosine_embedding_loss(x1, rg::zeros({5, 3}, f64()), y),
                         "cosine_embedding_loss: x1 has shape (5, 2) but x2 has shape (5, 3); they must match",
                         rg::Error);
}

TEST_CASE("triplet_margin_loss: max(0, margin + d(a, p) - d(a, n)), swap, p = 1") {
    auto anchor = rg::tensor({{0.0, 0.0}, {1.0, 1.0}, {0.0, 0.0}}, f64());
    auto positive = rg::tensor({{3.0, 4.0}, {1.0, 1.0}, {3.0, 4.0}}, f64());
    auto negative = rg::tensor({{0.0, 1.0}, {4.0, 5.0}, {3.0, 5.0}}, f64());
    // d(a, p) = 5, 0, 5; d(a, n) = 1, 5, √34; d(p, n) = √18, 5, 1.
    const double third = 1.0 + 5.0 - std::sqrt(34.0);
    check_values(triplet_margin_loss(anchor, positive, negative, {.reduction = Reduction::none, .eps = 0.0}),
                 rg::tensor({5.0, 0.0, third}, f64()), 1e-12);
    // swap: the third negative is nearer the positive (1) than the anchor.
    check_values(triplet_margin_loss(anchor, positive, negative,
                                     {.reduction = Reduction::none, .eps = 0.0, .swap = true}),
                 rg::tensor({5.0, 0.0, 5.0}, f64()), 1e-12);
    CHECK(triplet_margin_loss(anchor, positive, negative, {.reduction = Reduction::sum, .eps = 0.0}).item() ==
          doctest::Approx(5.0 + third));
    CHECK(triplet_margin_loss(anchor, positive, negative, {.eps = 0.0}).item() == doctest::Approx((5.0 + third) / 3));
    // p = 1, margin 2: 2 + 7 - 1, 2 + 0 - 7 -> 0, 2 + 7 - 8.
    check_values(triplet_margin_loss(anchor, positive, negative,
                                     {.reduction = Reduction::none, .margin = 2.0, .p = 1.0, .eps = 0.0}),
                 rg::tensor({8.0, 0.0, 1.0}, f64()), 1e-12);
    // eps is added to each difference, as pairwise_distance: d(a, p) of the first row is ‖(-3 + eps, -4 + eps)‖.
    const double e = 1e-3;
    CHECK(triplet_margin_loss(rg::select(anchor, 0, 0), rg::select(positive, 0, 0), rg::select(negative, 0, 0),
                              {.eps = e})
              .item() == doctest::Approx(1.0 + std::hypot(-3.0 + e, -4.0 + e) - std::hypot(e, -1.0 + e)));
    TripletMarginLoss module{{.reduction = Reduction::none, .swap = true}};
    check_values(module(anchor, positive, negative),
                 triplet_margin_loss(anchor, positive, negative, {.reduction = Reduction::none, .swap = true}), 1e-12);
    auto a = rg::tensor({{0.4, -1.2, 0.7}, {1.1, 0.3, -0.5}}, f64(true));
    auto p = rg::tensor({{0.9, -0.2, 1.3}, {0.7, 0.6, -0.1}}, f64(true));
    auto n = rg::tensor({{0.1, -0.9, 0.2}, {-0.4, 1.4, 0.6}}, f64(true));
    for (double norm_p : {1.0, 2.0})
        for (bool swap : {false, true})
            test::check_gradients(
                [norm_p, swap](const TensorList& v) {
                    return triplet_margin_loss(v[0], v[1], v[2],
                                               {.reduction = Reduction::none, .p = norm_p, .swap = swap});
                },
                {a, p, n});
    CHECK_THROWS_WITH_AS(triplet_margin_loss(rg::zeros({2, 3}), rg::zeros({2, 3}), rg::zeros({3})),
                         "triplet_margin_loss: anchor has shape (2, 3) but negative has shape (3,); they must match",
                         rg::Error);
    CHECK_THROWS_WITH_AS(triplet_margin_loss(rg::zeros({2, 3}), rg::zeros({2, 3}, f64()), rg::zeros({2, 3})),
                         "triplet_margin_loss: anchor is float32 but positive is float64; convert positive with "
                         ".to(rg::float32)",
                         rg::Error);
}

TEST_CASE("multi_margin_loss: Σ_{j ≠ y} weight[y] max(0, margin - x[y] + x[j])^p / C") {
    auto x = rg::tensor({{0.1, 0.2, 0.4, 0.8}, {0.5, 0.1, 0.3, 0.2}}, f64());
    auto t = rg::from_indices({3, 0});
    // Row 0: (0.3 + 0.4 + 0.6) / 4; row 1: (0.6 + 0.8 + 0.7) / 4.
    check_values(multi_margin_loss(x, t, {.reduction = Reduction::none}), rg::tensor({0.325, 0.525}, f64()), 1e-12);
    CHECK(multi_margin_loss(x, t, {.reduction = Reduction::sum}).item() == doctest::Approx(0.85));
    CHECK(multi_margin_loss(x, t).item() == doctest::Approx(0.425));
    // p = 2, margin 0.5, weights: row 0 keeps 0.1² times weight[3] = 4; row 1 (0.1² + 0.3² + 0.2²) times 1.
    auto weight = rg::tensor({1.0, 2.0, 3.0, 4.0}, f64());
    check_values(multi_margin_loss(x, t, {.reduction = Reduction::none, .p = 2, .margin = 0.5, .weight = weight}),
                 rg::tensor({0.01, 0.035}, f64()), 1e-12);
    // Unbatched: a 0-D target gives a 0-D loss, a (1,) target a (1,) one, as PyTorch.
    auto row = rg::select(x, 0, 0);
    auto unbatched = multi_margin_loss(row, rg::from_indices({3}, {}), {.reduction = Reduction::none});
    CHECK(unbatched.shape() == rg::Shape{});
    CHECK(unbatched.item() == doctest::Approx(0.325));
    CHECK(multi_margin_loss(row, rg::from_indices({3}), {.reduction = Reduction::none}).shape() == rg::Shape{1});
    // An empty batch: the mean of no samples is NaN (0 / 0), the sum 0 (PyTorch 1.13 returns uninitialised memory).
    auto none = rg::zeros({0, 4}, f64()), no_classes = rg::from_indices({}, {0});
    CHECK(std::isnan(multi_margin_loss(none, no_classes).item()));
    CHECK(multi_margin_loss(none, no_classes, {.reduction = Reduction::sum}).item() == 0.0);
    CHECK(multi_margin_loss(none, no_classes, {.reduction = Reduction::none}).shape() == rg::Shape{0});
    MultiMarginLoss module{{.p = 2, .weight = weight}};
    CHECK(module(x, t).item() == doctest::Approx(multi_margin_loss(x, t, {.p = 2, .weight = weight}).item()));
    // Gradients: every term's hinge at least 0.05 away from 0 (margin 1 and 0.7).
    auto s =
        rg::tensor({{0.3, -1.2, 0.8, 1.5, -0.4}, {1.1, 0.2, -0.7, 0.5, 0.9}, {-0.6, 0.4, 1.3, -1.0, 0.05}}, f64(true));
    auto classes = rg::from_indices({2, 0, 4});
    auto w = rg::tensor({0.5, 1.0, 1.5, 2.0, 2.5}, f64());
    for (int p : {1, 2})
        for (auto reduction : {Reduction::mean, Reduction::none})
            test::check_gradients(
                [&classes, &w, p, reduction](const TensorList& v) {
                    return multi_margin_loss(v[0], classes,
                                             {.reduction = reduction,
                                              .p = p,
                                              .margin = p == 1 ? 1.0 : 0.7,
                                              .weight = w});
                },
                {s});
    CHECK_THROWS_WITH_AS(multi_margin_loss(x, t, {.p = 3}), "multi_margin_loss: p must be 1 or 2, got 3", rg::Error);
    CHECK_THROWS_WITH_AS(multi_margin_loss(x, rg::from_indices({3, 4})),
                         "multi_margin_loss: class index 4 at position 1 is out of range: expected a value in [0, 4)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(multi_margin_loss(x, rg::from_indices({-1, 0})),
                         "multi_margin_loss: class index -1 at position 0 is out of range: expected a value in [0, 4)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(multi_margin_loss(x, rg::from_indices({1, 2, 3})),
                         "multi_margin_loss: target has shape (3,), expected one class index per sample of x (2, 4): "
                         "shape "
                         "(2,)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(multi_margin_loss(row, rg::from_indices({1, 2}, {1, 2})),
                         "multi_margin_loss: target has shape (1, 2), expected one class index per sample of x (4,): "
                         "shape (1,) or ()",
                         rg::Error);
    CHECK_THROWS_WITH_AS(multi_margin_loss(x, rg::tensor({3.0, 0.0}, f64())),
                         "multi_margin_loss: target must be int64 class indices, got float64; convert it with "
                         ".to(rg::int64)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(multi_margin_loss(x, t, {.weight = rg::ones({3}, f64())}),
                         "multi_margin_loss: weight has shape (3,), expected (4,): one weight per class", rg::Error);
    CHECK_THROWS_WITH_AS(multi_margin_loss(x, t, {.weight = rg::ones({4})}),
                         "multi_margin_loss: weight is float32 but x is float64", rg::Error);
    CHECK_THROWS_WITH_AS(multi_margin_loss(rg::zeros({2, 3, 4}), t),
                         "multi_margin_loss: x has shape (2, 3, 4), expected scores (N, C) or (C,) with C at least 1",
                         rg::Error);
    CHECK_THROWS_WITH_AS(multi_margin_loss(rg::zeros({2, 0}), t),
                         "multi_margin_loss: x has shape (2, 0), expected scores (N, C) or (C,) with C at least 1",
                         rg::Error);
}

TEST_CASE("multilabel_soft_margin_loss: one-versus-all log-loss, averaged over the classes") {
    auto x = rg::tensor({{0.0, 2.0, -1.0}, {1.0, -0.5, 3.0}}, f64());
    auto y = rg::tensor({{1.0, 0.0, 1.0}, {0.0, 0.0, 1.0}}, f64());
    // -log σ(x) = softplus(-x) for a 1, -log σ(-x) = softplus(x) for a 0.
    const double row0[] = {softplus(0.0), softplus(2.0), softplus(1.0)};
    const double row1[] = {softplus(1.0), softplus(-0.5), softplus(-3.0)};
    const double first = (row0[0] + row0[1] + row0[2]) / 3, second = (row1[0] + row1[1] + row1[2]) / 3;
    check_values(multilabel_soft_margin_loss(x, y, {.reduction = Reduction::none}), rg::tensor({first, second}, f64()),
                 1e-12);
    CHECK(multilabel_soft_margin_loss(x, y, {.reduction = Reduction::sum}).item() == doctest::Approx(first + second));
    CHECK(multilabel_soft_margin_loss(x, y).item() == doctest::Approx((first + second) / 2));
    auto weight = rg::tensor({1.0, 2.0, 3.0}, f64());
    const double weighted = (row0[0] + 2 * row0[1] + 3 * row0[2]) / 3;
    CHECK(
        rg::select(multilabel_soft_margin_loss(x, y, {.reduction = Reduction::none, .weight = weight}), 0, 0).item() ==
        doctest::Approx(weighted));
    // A 1-D input is one sample; a weight of (2, 1) weights the rows.
    CHECK(
        multilabel_soft_margin_loss(rg::select(x, 0, 0), rg::select(y, 0, 0), {.reduction = Reduction::none}).item() ==
        doctest::Approx(first));
    CHECK(multilabel_soft_margin_loss(x, y, {.reduction = Reduction::sum, .weight = rg::tensor({{2.0}, {0.0}}, f64())})
              .item() == doctest::Approx(2 * first));
    MultiLabelSoftMarginLoss module{{.weight = weight}};
    CHECK(module(x, y).item() == doctest::Approx(multilabel_soft_margin_loss(x, y, {.weight = weight}).item()));
    auto s = rg::tensor({{0.4, -1.2, 0.7}, {1.1, 0.3, -0.5}}, f64(true));
    auto targets = rg::tensor({{1.0, 0.0, 0.3}, {0.0, 1.0, 1.0}}, f64(true));
    test::check_gradients([&weight](const TensorList&
                                        v) { return multilabel_soft_margin_loss(v[0], v[1], {.weight = weight}); },
                          {s, targets});
    CHECK_THROWS_WITH_AS(multilabel_soft_margin_loss(x, y, {.weight = rg::ones({2}, f64())}),
                         "multilabel_soft_margin_loss: weight of shape (2,) does not broadcast to x's shape (2, 3)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(multilabel_soft_margin_loss(x, y, {.weight = rg::ones({3})}),
                         "multilabel_soft_margin_loss: weight is float32 but x is float64", rg::Error);
    CHECK_THROWS_WITH_AS(multilabel_soft_margin_loss(rg::tensor(1.0), rg::tensor(1.0)),
                         "multilabel_soft_margin_loss: x is 0-D, expected scores (..., C) with the classes on the "
                         "last axis",
                         rg::Error);
    CHECK_THROWS_WITH_AS(multilabel_soft_margin_loss(x, rg::zeros({2, 2}, f64())),
                         "multilabel_soft_margin_loss: x has shape (2, 3) but y has shape (2, 2); they must match",
                         rg::Error);
}

TEST_CASE("multilabel_margin_loss: listed classes against the others, rows ending at -1") {
    auto x = rg::tensor({{0.1, 0.2, 0.4, 0.8}, {0.1, 0.2, 0.4, 0.8}}, f64());
    // Row 0 lists 3 and 0: (1 - 0.8 + 0.2) + (1 - 0.8 + 0.4) + (1 - 0.1 + 0.2) + (1 - 0.1 + 0.4) = 3.4, / 4.
    // Row 1 lists 3 twice, which counts twice as in PyTorch: 2 (0.3 + 0.4 + 0.6) / 4.
    auto t = rg::from_indices({3, 0, -1, 1, 3, 3, -1, 1}, {2, 4});
    check_values(multilabel_margin_loss(x, t, {.reduction = Reduction::none}), rg::tensor({0.85, 0.65}, f64()), 1e-12);
    CHECK(multilabel_margin_loss(x, t, {.reduction = Reduction::sum}).item() == doctest::Approx(1.5));
    CHECK(multilabel_margin_loss(x, t).item() == doctest::Approx(0.75));
    // Nothing listed, or everything: 0.
    check_values(multilabel_margin_loss(x, rg::from_indices({-1, 0, 0, 0, 0, 1, 2, 3}, {2, 4}),
                                        {.reduction = Reduction::none}),
                 rg::zeros({2}, f64()), 1e-12);
    auto unbatched =
        multilabel_margin_loss(rg::select(x, 0, 0), rg::from_indices({3, 0, -1, 1}), {.reduction = Reduction::none});
    CHECK(unbatched.shape() == rg::Shape{});
    CHECK(unbatched.item() == doctest::Approx(0.85));
    auto none = rg::zeros({0, 4}, f64()), no_lists = rg::from_indices({}, {0, 4});
    CHECK(std::isnan(multilabel_margin_loss(none, no_lists).item()));
    CHECK(multilabel_margin_loss(none, no_lists, {.reduction = Reduction::sum}).item() == 0.0);
    CHECK(multilabel_margin_loss(none, no_lists, {.reduction = Reduction::none}).shape() == rg::Shape{0});
    MultiLabelMarginLoss module{{.reduction = Reduction::sum}};
    CHECK(module(x, t).item() == doctest::Approx(1.5));
    // Rows listing {1, 3} and {2} (what follows a -1 is ignored): 5.8 / 4 and 6.9 / 4, as PyTorch 1.13.
    auto s = rg::tensor({{0.3, -1.2, 0.8, 1.5}, {1.1, 0.2, -0.7, 0.5}}, f64(true));
    auto listed = rg::from_indices({1, 3, -1, 0, 2, -1, 3, 3}, {2, 4});
    check_values(multilabel_margin_loss(s, listed, {.reduction = Reduction::none}), rg::tensor({1.45, 1.725}, f64()),
                 1e-12);
    // Gradients, every term at least 0.2 away from the hinge.
    for (auto reduction : {Reduction::mean, Reduction::none})
        test::check_gradients([&listed, reduction](
                                  const TensorList&
                                      v) { return multilabel_margin_loss(v[0], listed, {.reduction = reduction}); },
                              {s});
    CHECK_THROWS_WITH_AS(multilabel_margin_loss(x, rg::from_indices({3, -2, 0, 0, 0, 1, 2, 3}, {2, 4})),
                         "multilabel_margin_loss: target value -2 at position 1 is out of range: expected a class in "
                         "[0, 4) or -1 to end the row",
                         rg::Error);
    // After the -1 too, as PyTorch.
    CHECK_THROWS_WITH_AS(multilabel_margin_loss(x, rg::from_indices({3, -1, 7, 0, 0, 1, 2, 3}, {2, 4})),
                         "multilabel_margin_loss: target value 7 at position 2 is out of range: expected a class in "
                         "[0, 4) or -1 to end the row",
                         rg::Error);
    CHECK_THROWS_WITH_AS(multilabel_margin_loss(x, rg::from_indices({3, 0, -1, 1})),
                         "multilabel_margin_loss: target has shape (4,) but x has shape (2, 4); they must match (pad "
                         "each row's classes with -1)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(multilabel_margin_loss(x, rg::zeros({2, 4})),
                         "multilabel_margin_loss: target must be int64 class indices, got float32; convert it with "
                         ".to(rg::int64)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(multilabel_margin_loss(rg::zeros({1, 2, 4}), rg::from_indices({0, 1}, {1, 2})),
                         "multilabel_margin_loss: x has shape (1, 2, 4), expected scores (N, C) or (C,) with C at "
                         "least 1",
                         rg::Error);
}

TEST_CASE("poisson_nll_loss: log-rate or rate, Stirling's term above 1") {
    auto x = rg::tensor({0.0, 1.0, 0.5, 2.0}, f64());
    auto t = rg::tensor({2.0, 0.0, 0.0, 3.0}, f64());
    const double e = std::exp(1.0);
    const double log_input[] = {1.0, e, std::exp(0.5), std::exp(2.0) - 6.0};
    check_values(poisson_nll_loss(x, t, {.reduction = Reduction::none}),
                 rg::tensor({log_input[0], log_input[1], log_input[2], log_input[3]}, f64()), 1e-12);
    const double total = log_input[0] + log_input[1] + log_input[2] + log_input[3];
    CHECK(poisson_nll_loss(x, t, {.reduction = Reduction::sum}).item() == doctest::Approx(total));
    CHECK(poisson_nll_loss(x, t).item() == doctest::Approx(total / 4));
    // The rate itself: x - t log(x + eps).
    auto rate = rg::tensor({0.5, 2.0}, f64()), counts = rg::tensor({1.0, 3.0}, f64());
    check_values(poisson_nll_loss(rate, counts, {.reduction = Reduction::none, .log_input = false}),
                 rg::tensor({0.5 - std::log(0.5 + 1e-8), 2.0 - 3.0 * std::log(2.0 + 1e-8)}, f64()), 1e-12);
    check_values(poisson_nll_loss(rate, counts, {.reduction = Reduction::none, .log_input = false, .eps = 0.5}),
                 rg::tensor({0.5, 2.0 - 3.0 * std::log(2.5)}, f64()), 1e-12);
    // full: t log t - t + ½ log(2π t) where t > 1 only (PyTorch 1.13: 1.6487 and 3.1531 here).
    const double stirling = 3 * std::log(3.0) - 3 + 0.5 * std::log(2 * std::numbers::pi * 3);
    check_values(poisson_nll_loss(x, t, {.reduction = Reduction::none, .full = true}),
                 rg::tensor({log_input[0] + 2 * std::log(2.0) - 2 + 0.5 * std::log(4 * std::numbers::pi), log_input[1],
                             log_input[2], log_input[3] + stirling},
                            f64()),
                 1e-12);
    PoissonNLLLoss module{{.reduction = Reduction::none, .full = true}};
    check_values(module(x, t), poisson_nll_loss(x, t, {.reduction = Reduction::none, .full = true}), 1e-12);
    // t = 0 with full: a finite gradient in t (PyTorch's is NaN there), -x as without the term.
    auto zero_t = rg::tensor({0.0, 0.5}, f64(true));
    auto logs = rg::tensor({0.3, -0.2}, f64());
    poisson_nll_loss(logs, zero_t, {.reduction = Reduction::sum, .full = true}).backward();
    check_values(zero_t.grad(), rg::tensor({-0.3, 0.2}, f64()), 1e-12);
    // Gradients in the input and the target, targets away from the Stirling term's switch at 1.
    auto in = rg::tensor({{0.4, 1.2, 0.7}, {1.1, 0.3, 2.5}}, f64(true));
    auto counted = rg::tensor({{0.0, 2.0, 0.5}, {4.0, 1.5, 3.0}}, f64(true));
    for (bool log_in : {true, false})
        for (bool full : {false, true})
            test::
                check_gradients([log_in, full](
                                    const TensorList&
                                        v) { return poisson_nll_loss(v[0], v[1], {.log_input = log_in, .full = full}); },
                                {in, counted});
    CHECK_THROWS_WITH_AS(poisson_nll_loss(rg::zeros({2}), rg::zeros({2, 1})),
                         "poisson_nll_loss: input has shape (2,) but target has shape (2, 1); they must match",
                         rg::Error);
    CHECK_THROWS_WITH_AS(poisson_nll_loss(rg::zeros({2}), rg::from_indices({1, 2})),
                         "poisson_nll_loss: target must be float32 or float64, got int64; convert it with "
                         ".to(rg::float32)",
                         rg::Error);
}

TEST_CASE("gaussian_nll_loss: ½ (log v + d² / v), var per element or per row, floored at eps") {
    auto mu = rg::tensor({{1.0, 2.0, 0.0}, {0.5, -1.0, 3.0}}, f64());
    auto target = rg::tensor({{0.0, 0.0, 0.0}, {0.5, 1.0, 1.0}}, f64());
    auto var = rg::tensor({{1.0, 2.0, 0.5}, {4.0, 1.0, 2.0}}, f64());
    const double d2[] = {1, 4, 0, 0, 4, 4}, v[] = {1, 2, 0.5, 4, 1, 2};
    std::vector<double> each;
    double total = 0;
    for (int i = 0; i < 6; ++i) {
        each.push_back(0.5 * (std::log(v[i]) + d2[i] / v[i]));
        total += each.back();
    }
    check_values(gaussian_nll_loss(mu, target, var, {.reduction = Reduction::none}),
                 rg::from_vector(each, {2, 3}, f64()), 1e-12);
    CHECK(gaussian_nll_loss(mu, target, var, {.reduction = Reduction::sum}).item() == doctest::Approx(total));
    CHECK(gaussian_nll_loss(mu, target, var).item() == doctest::Approx(total / 6));
    CHECK(gaussian_nll_loss(mu, target, var, {.full = true}).item() ==
          doctest::Approx(total / 6 + 0.5 * std::log(2 * std::numbers::pi)));
    // One variance per row, as (2,) or (2, 1): the same loss.
    auto per_row = rg::tensor({2.0, 0.5}, f64());
    auto expected = gaussian_nll_loss(mu, target, rg::tensor({{2.0, 2.0, 2.0}, {0.5, 0.5, 0.5}}, f64()),
                                      {.reduction = Reduction::none});
    check_values(gaussian_nll_loss(mu, target, per_row, {.reduction = Reduction::none}), expected, 1e-12);
    check_values(gaussian_nll_loss(mu, target, per_row.reshape({2, 1}), {.reduction = Reduction::none}), expected,
                 1e-12);
    // The floor: var 1e-9 is read as eps = 1e-6 (PyTorch 1.13: 499993.0922 and 1999993.0922), and its
    // gradient is that of v = 1e-6, ½ (1 / v - d² / v²), as if unclamped.
    auto tiny = rg::tensor({1e-9}, f64(true));
    auto floored = gaussian_nll_loss(rg::tensor({{1.0, 2.0}}, f64()), rg::zeros({1, 2}, f64()), tiny,
                                     {.reduction = Reduction::none});
    check_values(floored, rg::tensor({{0.5 * (std::log(1e-6) + 1e6), 0.5 * (std::log(1e-6) + 4e6)}}, f64()), 1e-6);
    rg::sum(floored).backward();
    CHECK(tiny.grad().item() == doctest::Approx(0.5 * (1e6 - 1e12) + 0.5 * (1e6 - 4e12)));
    GaussianNLLLoss module{{.reduction = Reduction::none, .full = true, .eps = 0.1}};
    check_values(module(mu, target, var),
                 gaussian_nll_loss(mu, target, var, {.reduction = Reduction::none, .full = true, .eps = 0.1}), 1e-12);
    auto m = rg::tensor({{0.4, -1.2, 0.7}, {1.1, 0.3, -0.5}}, f64(true));
    auto s = rg::tensor({{0.9, 0.2, 1.3}, {-0.7, 0.6, 0.4}}, f64(true));
    for (const auto& shape : {rg::Shape{2, 3}, rg::Shape{2}, rg::Shape{2, 1}}) {
        auto variance = rg::uniform(shape, 0.5, 2.0, f64(true));
        test::check_gradients([](const TensorList& t) { return gaussian_nll_loss(t[0], t[1], t[2]); },
                              {m, s, variance});
    }
    CHECK_THROWS_WITH_AS(gaussian_nll_loss(mu, target, rg::ones({3}, f64())),
                         "gaussian_nll_loss: var has shape (3,), expected input's shape (2, 3), (2,) or (2, 1): one "
                         "variance per element or per row",
                         rg::Error);
    CHECK_THROWS_WITH_AS(gaussian_nll_loss(mu, target, rg::tensor({1.0, -1.0}, f64())),
                         "gaussian_nll_loss: var must be at least 0, got -1 at flat index 1", rg::Error);
    CHECK_THROWS_WITH_AS(gaussian_nll_loss(mu, target, rg::ones({2})),
                         "gaussian_nll_loss: input is float64 but var is float32; convert var with .to(rg::float64)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(gaussian_nll_loss(mu, rg::zeros({3}, f64()), var),
                         "gaussian_nll_loss: input has shape (2, 3) but target has shape (3,); they must match",
                         rg::Error);
}
