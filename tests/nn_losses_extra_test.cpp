// Smooth L1, Huber and KL losses, and the functional helpers (cosine_similarity,
// normalize, pairwise_distance, one_hot): values by hand, gradients by gradcheck
// at first and second order, modules against functions, bad input by message.
#include "helpers.hpp"

#include <cmath>
#include <limits>

using namespace rg::nn;
using rg::TensorList;
using test::all_finite;
using test::check_values;
using test::f64;

namespace {
const double inf = std::numeric_limits<double>::infinity();
}  // namespace

TEST_CASE("smooth_l1_loss: quadratic below beta, linear above, l1 at beta = 0") {
    auto y = rg::tensor({0.0, 0.5, 2.0, -3.0}, f64());
    auto t = rg::zeros({4}, f64());
    // beta = 1: 0.5 d² below 1, |d| - 0.5 above.
    check_values(smooth_l1_loss(y, t, {.reduction = Reduction::none}), rg::tensor({0.0, 0.125, 1.5, 2.5}, f64()),
                 1e-12);
    CHECK(smooth_l1_loss(y, t, {.reduction = Reduction::sum}).item() == doctest::Approx(4.125));
    CHECK(smooth_l1_loss(y, t).item() == doctest::Approx(4.125 / 4));
    // Both sides of the boundary, and on it (linear there: |d| < beta is false).
    auto near = rg::tensor({0.999, 1.001, -0.999, -1.001}, f64());
    check_values(smooth_l1_loss(near, rg::zeros({4}, f64()), {.reduction = Reduction::none}),
                 rg::tensor({0.5 * 0.999 * 0.999, 1.001 - 0.5, 0.5 * 0.999 * 0.999, 1.001 - 0.5}, f64()), 1e-12);
    auto at = smooth_l1_loss(rg::tensor({0.5, 0.25}, f64()), rg::zeros({2}, f64()),
                             {.reduction = Reduction::none, .beta = 0.5});
    check_values(at, rg::tensor({0.25, 0.0625}, f64()), 1e-12);  // 0.5 - 0.25, then 0.5 · 0.0625 / 0.5
    // beta = 0 is plain L1, with no division by 0.
    check_values(smooth_l1_loss(y, t, {.reduction = Reduction::none, .beta = 0.0}),
                 rg::tensor({0.0, 0.5, 2.0, 3.0}, f64()), 1e-12);
    auto x = rg::tensor({0.3, -2.0, 1.7}, f64(true));
    smooth_l1_loss(x, rg::zeros({3}, f64()), {.reduction = Reduction::sum, .beta = 0.0}).backward();
    check_values(x.grad(), rg::tensor({1.0, -1.0, 1.0}, f64()), 1e-12);
    // The module holds the options.
    SmoothL1Loss module{{.reduction = Reduction::sum, .beta = 0.5}};
    CHECK(module(y, t).item() == doctest::Approx(0.25 + 1.75 + 2.75));
    // Gradients, away from the kinks at 0 and ±beta.
    auto p = rg::tensor({{0.3, -0.2, 1.6}, {-2.5, 0.7, 0.1}}, f64(true));
    auto q = rg::tensor({{0.1, 0.4, 0.2}, {0.5, -0.6, 0.95}}, f64(true));
    for (double beta : {0.0, 0.8, 1.5})
        test::check_gradients([beta](const TensorList& v) { return smooth_l1_loss(v[0], v[1], {.beta = beta}); },
                              {p, q});
    CHECK_THROWS_WITH_AS(smooth_l1_loss(y, t, {.beta = -0.5}),
                         "smooth_l1_loss: beta must be at least 0, got -0.5; beta = 0 gives l1_loss", rg::Error);
    CHECK_THROWS_WITH_AS(smooth_l1_loss(y, t, {.beta = std::nan("")}),
                         "smooth_l1_loss: beta must be at least 0, got nan; beta = 0 gives l1_loss", rg::Error);
    CHECK_THROWS_WITH_AS(smooth_l1_loss(rg::zeros({3}), rg::zeros({3, 1})),
                         "smooth_l1_loss: input has shape (3,) but target has shape (3, 1); they must match",
                         rg::Error);
    CHECK_THROWS_WITH_AS(smooth_l1_loss(rg::zeros({3}), rg::zeros({3}, f64())),
                         "smooth_l1_loss: input is float32 but target is float64; convert the target with "
                         ".to(rg::float32)",
                         rg::Error);
}

TEST_CASE("huber_loss: quadratic up to delta, then delta-sloped, delta times smooth L1") {
    auto y = rg::tensor({1.0, -2.0, 3.0, 1.999, 2.001}, f64());
    auto t = rg::zeros({5}, f64());
    check_values(huber_loss(y, t, {.reduction = Reduction::none, .delta = 2.0}),
                 rg::tensor({0.5, 2.0, 4.0, 0.5 * 1.999 * 1.999, 2.0 * (2.001 - 1.0)}, f64()), 1e-12);
    const double sum = 0.5 + 2.0 + 4.0 + 0.5 * 1.999 * 1.999 + 2.0 * 1.001;
    CHECK(huber_loss(y, t, {.reduction = Reduction::sum, .delta = 2.0}).item() == doctest::Approx(sum));
    CHECK(huber_loss(y, t, {.delta = 2.0}).item() == doctest::Approx(sum / 5));
    // delta = 1 (the default) is smooth_l1_loss with beta = 1; otherwise delta times it.
    check_values(huber_loss(y, t), smooth_l1_loss(y, t), 1e-12);
    check_values(huber_loss(y, t, {.delta = 2.0}), smooth_l1_loss(y, t, {.beta = 2.0}) * 2.0, 1e-12);
    HuberLoss module{{.reduction = Reduction::none, .delta = 2.0}};
    check_values(module(y, t), huber_loss(y, t, {.reduction = Reduction::none, .delta = 2.0}), 1e-12);
    auto p = rg::tensor({{0.3, -0.2, 1.6}, {-2.5, 0.7, 0.1}}, f64(true));
    auto q = rg::tensor({{0.1, 0.4, 0.2}, {0.5, -0.6, 0.95}}, f64(true));
    for (double delta : {0.5, 1.0, 2.0})
        test::
            check_gradients([delta](
                                const TensorList&
                                    v) { return huber_loss(v[0], v[1], {.reduction = Reduction::sum, .delta = delta}); },
                            {p, q});
    CHECK_THROWS_WITH_AS(huber_loss(y, t, {.delta = 0.0}), "huber_loss: delta must be positive, got 0", rg::Error);
    CHECK_THROWS_WITH_AS(huber_loss(y, t, {.delta = -1.0}), "huber_loss: delta must be positive, got -1", rg::Error);
    CHECK_THROWS_WITH_AS(huber_loss(rg::zeros({2, 3}), rg::zeros({3})),
                         "huber_loss: input has shape (2, 3) but target has shape (3,); they must match", rg::Error);
}

TEST_CASE("kl_div: every reduction, zero targets, log targets") {
    const double third = 1.0 / 3.0;
    auto p = rg::tensor({{0.5, 0.5, 0.0}, {0.2, 0.3, 0.5}}, f64());
    auto q = rg::tensor({{0.25, 0.25, 0.5}, {third, third, third}}, f64());
    auto log_q = rg::log(q);
    auto pointwise = [&](double pi, double qi) { return pi == 0 ? 0.0 : pi * (std::log(pi) - std::log(qi)); };
    const auto pv = p.to_vector(), qv = q.to_vector();
    std::vector<double> expected;
    double total = 0;
    for (std::size_t i = 0; i < pv.size(); ++i) {
        expected.push_back(pointwise(pv[i], qv[i]));
        total += expected.back();
    }
    check_values(kl_div(log_q, p, {.reduction = KLDivReduction::none}), rg::from_vector(expected, {2, 3}, f64()),
                 1e-12);
    CHECK(kl_div(log_q, p, {.reduction = KLDivReduction::sum}).item() == doctest::Approx(total).epsilon(1e-12));
    CHECK(kl_div(log_q, p, {.reduction = KLDivReduction::batchmean}).item() ==
          doctest::Approx(total / 2).epsilon(1e-12));
    CHECK(kl_div(log_q, p).item() == doctest::Approx(total / 6).epsilon(1e-12));  // mean: over the 6 elements
    // The first row's divergence by hand: 2 · 0.5 log(0.5 / 0.25) = log 2.
    CHECK(kl_div(rg::select(log_q, 0, 0), rg::select(p, 0, 0), {.reduction = KLDivReduction::sum}).item() ==
          doctest::Approx(std::log(2.0)));
    // A 0-D input has no batch axis: batchmean is the sum.
    auto scalar =
        kl_div(rg::tensor(std::log(0.25), f64()), rg::tensor(0.5, f64()), {.reduction = KLDivReduction::batchmean});
    CHECK(scalar.item() == doctest::Approx(0.5 * std::log(2.0)));
    // target = 0: no NaN in the value nor in either gradient.
    auto x = log_q.detach().requires_grad_(true);
    auto t = p.detach().requires_grad_(true);
    auto loss = kl_div(x, t, {.reduction = KLDivReduction::sum});
    CHECK(std::isfinite(loss.item()));
    loss.backward();
    CHECK(all_finite(x.grad()));
    CHECK(all_finite(t.grad()));
    check_values(x.grad(), -p, 1e-12);  // d/dx of -t x
    // d/dt of t log t - t x is log t + 1 - x; at t = 0 the masked term gives -x alone.
    const auto tg = t.grad().to_vector(), xv = log_q.to_vector();
    CHECK(tg[2] == doctest::Approx(-xv[2]));
    CHECK(tg[0] == doctest::Approx(std::log(0.5) + 1 - xv[0]));
    // log_target: the same divergence from log-probabilities, exp(t) (t - x).
    auto r = rg::tensor({{0.1, 0.6, 0.3}, {0.2, 0.3, 0.5}}, f64());
    check_values(kl_div(log_q, rg::log(r), {.reduction = KLDivReduction::none, .log_target = true}),
                 kl_div(log_q, r, {.reduction = KLDivReduction::none}), 1e-12);
    CHECK(kl_div(log_q, rg::log(r), {.reduction = KLDivReduction::batchmean, .log_target = true}).item() ==
          doctest::Approx(rg::sum(r * (rg::log(r) - log_q)).item() / 2));
    KLDivLoss module{{.reduction = KLDivReduction::batchmean}};
    CHECK(module(log_q, p).item() == doctest::Approx(total / 2).epsilon(1e-12));
    // Gradients in the input and the target, positive targets (t log t has no second derivative at 0).
    auto lx = rg::log_softmax(rg::tensor({{0.2, -1.0, 0.5}, {1.5, 0.3, -0.4}}, f64()), 1).detach().requires_grad_(true);
    auto pt = rg::tensor({{0.2, 0.5, 0.3}, {0.6, 0.1, 0.3}}, f64(true));
    for (auto reduction : {KLDivReduction::mean, KLDivReduction::batchmean, KLDivReduction::sum})
        for (bool log_target : {false, true})
            test::check_gradients(
                [reduction, log_target](const TensorList& v) {
                    return kl_div(v[0], v[1], {.reduction = reduction, .log_target = log_target});
                },
                {lx, pt});
    CHECK_THROWS_WITH_AS(kl_div(log_q, rg::zeros({3}, f64())),
                         "kl_div: input has shape (2, 3) but target has shape (3,); they must match", rg::Error);
}

TEST_CASE("cosine_similarity: values, the eps floor on each norm, broadcasting, gradients") {
    auto a = rg::tensor({{1.0, 0.0}, {3.0, 4.0}, {1.0, 2.0}}, f64());
    auto b = rg::tensor({{0.0, 1.0}, {6.0, 8.0}, {-1.0, -2.0}}, f64());
    check_values(cosine_similarity(a, b), rg::tensor({0.0, 1.0, -1.0}, f64()), 1e-12);
    auto c = rg::tensor({1.0, 2.0, 2.0}, f64()), d = rg::tensor({2.0, 0.0, 1.0}, f64());
    CHECK(cosine_similarity(c, d, 0).item() == doctest::Approx(4.0 / (3.0 * std::sqrt(5.0))));
    // Each norm is floored at eps (PyTorch 1.13), not their product:
    // 0.6 / (max(0.3, 0.5) · max(2, 0.5)) = 0.6, where 0.6 / max(0.3 · 2, 0.5) would be 1.
    auto small = rg::tensor({{0.3, 0.0}}, f64(true));
    auto big = rg::tensor({{2.0, 0.0}}, f64(true));
    auto s = cosine_similarity(small, big, 1, 0.5);
    CHECK(s.item() == doctest::Approx(0.6));
    // The floor is a value only: the gradient still goes through ‖small‖, as PyTorch's
    // in-place clamp under no_grad: x2 / (0.5 · 2) - (0.6 / (0.25 · 2)) x1 / ‖x1‖ = (0.8, 0).
    s.backward();
    check_values(small.grad(), rg::tensor({{0.8, 0.0}}, f64()), 1e-12);
    // An all-zero row gives 0, and a finite gradient x2 / (‖x2‖ eps).
    auto zero = rg::zeros({1, 2}, f64(true));
    auto z = cosine_similarity(zero, rg::tensor({{3.0, 4.0}}, f64()), 1, 0.5);
    CHECK(z.item() == 0.0);
    z.backward();
    check_values(zero.grad(), rg::tensor({{0.6 / 0.5, 0.8 / 0.5}}, f64()), 1e-12);
    auto tiny = rg::zeros({2, 3}, f64(true));
    auto default_eps = cosine_similarity(tiny, rg::ones({2, 3}, f64()));
    check_values(default_eps, rg::zeros({2}, f64()));
    rg::sum(default_eps).backward();
    CHECK(all_finite(tiny.grad()));
    // Broadcasting: x2 (3,) against each row of x1 (2, 3), and (2, 1, 3) against (4, 3) -> (2, 4).
    auto rows = rg::tensor({{1.0, 2.0, 2.0}, {-2.0, 0.0, -1.0}}, f64());
    check_values(cosine_similarity(rows, d), rg::tensor({4.0 / (3.0 * std::sqrt(5.0)), -1.0}, f64()), 1e-12);
    auto x1 = rg::randn({2, 1, 3}, f64()), x2 = rg::randn({4, 3}, f64());
    auto grid = cosine_similarity(x1, x2, -1);
    REQUIRE(grid.shape() == rg::Shape{2, 4});
    for (std::int64_t i = 0; i < 2; ++i)
        for (std::int64_t j = 0; j < 4; ++j)
            CHECK(rg::select(rg::select(grid, 0, i), 0, j).item() ==
                  doctest::Approx(
                      cosine_similarity(rg::select(rg::select(x1, 0, i), 0, 0), rg::select(x2, 0, j), 0).item()));
    // x1 is broadcast before its norm is taken: (2, 1) against (2, 3) along dim 1 is each x1 value repeated.
    auto column = rg::tensor({{2.0}, {-1.0}}, f64());
    auto wide = rg::tensor({{1.0, 2.0, 2.0}, {0.0, 3.0, 4.0}}, f64());
    check_values(cosine_similarity(column, wide),
                 rg::tensor({5.0 / (std::sqrt(3.0) * 3.0), -7.0 / (std::sqrt(3.0) * 5.0)}, f64()), 1e-12);
    auto u = rg::tensor({{0.4, -1.2, 0.7}, {1.1, 0.3, -0.5}}, f64(true));
    auto w = rg::tensor({0.9, 0.2, -1.3}, f64(true));
    test::check_gradients([](const TensorList& v) { return cosine_similarity(v[0], v[1]); }, {u, w});
    test::check_gradients([](const TensorList& v) { return cosine_similarity(v[0], v[1], 0); },
                          {u, (u * 0.5 + 0.1).detach().requires_grad_(true)});
    CosineSimilarity module({.dim = 0, .eps = 1e-6});
    check_values(module(u, w.reshape({1, 3})), cosine_similarity(u, w.reshape({1, 3}), 0, 1e-6), 1e-12);
    CHECK(module.describe() == "CosineSimilarity(dim=0, eps=1e-06)");
    CHECK(module.parameters().empty());
    CHECK_THROWS_WITH_AS(cosine_similarity(rg::from_indices({1, 2}), rg::from_indices({1, 2}), 0),
                         "cosine_similarity: x1 must be float32 or float64, got int64; convert it with "
                         ".to(rg::float32)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(cosine_similarity(rg::zeros({2}), rg::zeros({2}, f64()), 0),
                         "cosine_similarity: x1 is float32 but x2 is float64; convert one with .to()", rg::Error);
    CHECK_THROWS_WITH_AS(cosine_similarity(rg::zeros({2, 3}), rg::zeros({4})),
                         "cosine_similarity: cannot broadcast (2, 3) with (4,): sizes 3 and 4 differ at axis -1",
                         rg::Error);
    CHECK_THROWS_WITH_AS(cosine_similarity(rg::zeros({3}), rg::zeros({3})),
                         "cosine_similarity: axis 1 out of range for a tensor of rank 1 (expected -1 to 0)", rg::Error);
}

TEST_CASE("normalize: p-norms along dim, the eps floor, a zero row") {
    auto x = rg::tensor({{3.0, 4.0}, {0.0, 0.0}, {-1.0, 1.0}}, f64());
    const double r = 1.0 / std::sqrt(2.0);
    check_values(normalize(x), rg::tensor({{0.6, 0.8}, {0.0, 0.0}, {-r, r}}, f64()), 1e-12);
    check_values(normalize(x, 1.0), rg::tensor({{3.0 / 7, 4.0 / 7}, {0.0, 0.0}, {-0.5, 0.5}}, f64()), 1e-12);
    check_values(normalize(x, inf), rg::tensor({{0.75, 1.0}, {0.0, 0.0}, {-1.0, 1.0}}, f64()), 1e-12);
    // dim 0: each column by its norm (sqrt(10) and sqrt(17)).
    check_values(normalize(x, 2.0, 0),
                 rg::tensor({{3 / std::sqrt(10.0), 4 / std::sqrt(17.0)},
                             {0.0, 0.0},
                             {-1 / std::sqrt(10.0), 1 / std::sqrt(17.0)}},
                            f64()),
                 1e-12);
    // The norm is raised to eps: a short row is divided by eps, not by its norm.
    check_values(normalize(rg::tensor({{0.3, 0.4}}, f64()), 2.0, 1, 1.0), rg::tensor({{0.3, 0.4}}, f64()), 1e-12);
    check_values(normalize(rg::tensor({{1e-13, 0.0}}, f64())), rg::tensor({{0.1, 0.0}}, f64()), 1e-12);
    // A zero row: value 0 and gradient 1 / eps (the clamp passes nothing back to the norm).
    auto zero = rg::zeros({1, 3}, f64(true));
    rg::sum(normalize(zero, 2.0, 1, 0.5)).backward();
    check_values(zero.grad(), rg::full({1, 3}, 2.0, f64()), 1e-12);
    auto v = rg::tensor({{0.4, -1.2, 0.7}, {1.1, 0.3, -0.5}}, f64(true));
    for (double p : {1.0, 2.0})
        test::check_gradients([p](const TensorList& t) { return normalize(t[0], p) * rg::arange(3.0, f64()); }, {v});
    test::check_gradients([](const TensorList& t) { return normalize(t[0], 2.0, 0) * rg::arange(3.0, f64()); }, {v});
    // Any p >= 0, as PyTorch: x / ‖x‖_3 along the rows.
    const rg::Tensor cubes = normalize(v, 3.0);
    check_values(cubes, v / rg::pow(rg::sum(rg::pow(rg::abs(v), 3.0), {1}, true), 1.0 / 3), 1e-12);
    test::check_gradients([](const TensorList& t) { return normalize(t[0], 3.0) * rg::arange(3.0, f64()); }, {v});
    CHECK_THROWS_WITH_AS(normalize(x, -3.0),
                         "normalize: p = -3 is not supported; expected p >= 0, inf or -inf "
                         "(std::numeric_limits<double>::infinity())",
                         rg::Error);
    CHECK_THROWS_WITH_AS(normalize(rg::from_indices({1, 2}), 2.0, 0),
                         "normalize: x must be float32 or float64, got int64; convert it with .to(rg::float32)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(normalize(rg::zeros({3}, f64())),
                         "normalize: axis 1 out of range for a tensor of rank 1 (expected -1 to 0)", rg::Error);
}

TEST_CASE("pairwise_distance: the p-norm of x1 - x2 + eps over the last axis") {
    auto a = rg::tensor({{1.0, 2.0}, {0.0, 0.0}}, f64(true));
    auto b = rg::tensor({{4.0, 6.0}, {0.0, 0.0}}, f64());
    const double e = 1e-6;
    const double first = std::hypot(-3.0 + e, -4.0 + e);
    auto dist = pairwise_distance(a, b);
    check_values(dist, rg::tensor({first, std::sqrt(2.0) * e}, f64()), 1e-12);
    check_values(pairwise_distance(a, b, 1.0), rg::tensor({(3.0 - e) + (4.0 - e), 2 * e}, f64()), 1e-12);
    check_values(pairwise_distance(a, b, inf, 0.5), rg::tensor({3.5, 0.5}, f64()), 1e-12);
    CHECK(pairwise_distance(a, b, 2.0, 0.0, true).shape() == rg::Shape{2, 1});
    // x1 = x2 gives a finite gradient: eps keeps the norm away from 0.
    rg::sum(dist).backward();
    CHECK(all_finite(a.grad()));
    // Broadcasting x2 (2,) over the rows; 0-D operands: |x1 - x2 + eps|.
    check_values(pairwise_distance(a, rg::tensor({4.0, 6.0}, f64()), 2.0, 0.0),
                 rg::tensor({5.0, std::sqrt(52.0)}, f64()), 1e-12);
    CHECK(pairwise_distance(rg::tensor(1.0, f64()), rg::tensor(3.0, f64()), 2.0, 0.5).item() == doctest::Approx(1.5));
    auto u = rg::tensor({{0.4, -1.2, 0.7}, {1.1, 0.3, -0.5}}, f64(true));
    auto w = rg::tensor({0.9, 0.2, -1.3}, f64(true));
    for (double p : {1.0, 2.0})
        test::check_gradients([p](const TensorList& v) { return pairwise_distance(v[0], v[1], p); }, {u, w});
    PairwiseDistance module({.p = 1.0, .eps = 0.0, .keepdim = true});
    check_values(module(u, w), pairwise_distance(u, w, 1.0, 0.0, true), 1e-12);
    CHECK(module.describe() == "PairwiseDistance(p=1, eps=0, keepdim=true)");
    test::check_gradients([](const TensorList& v) { return pairwise_distance(v[0], v[1], 3.0); }, {u, w});
    check_values(pairwise_distance(a, b, 3.0, 0.0), rg::tensor({std::cbrt(27.0 + 64.0), 0.0}, f64()), 1e-12);
    CHECK_THROWS_WITH_AS(pairwise_distance(u, w, -0.5),
                         "pairwise_distance: p = -0.5 is not supported; expected p >= 0, inf or -inf "
                         "(std::numeric_limits<double>::infinity())",
                         rg::Error);
    CHECK_THROWS_WITH_AS(pairwise_distance(rg::zeros({2, 3}), rg::from_indices({1, 2, 3})),
                         "pairwise_distance: x2 must be float32 or float64, got int64; convert it with "
                         ".to(rg::float32)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(pairwise_distance(rg::zeros({2, 3}), rg::zeros({2})),
                         "pairwise_distance: cannot broadcast (2, 3) with (2,): sizes 3 and 2 differ at axis -1",
                         rg::Error);
}

TEST_CASE("one_hot: int64 rows with a trailing class axis") {
    auto rows = one_hot(rg::from_indices({2, 0, 1}));
    CHECK(rows.dtype() == rg::int64);
    REQUIRE(rows.shape() == rg::Shape{3, 3});
    CHECK(rows.to_vector() == std::vector<double>{0, 0, 1, 1, 0, 0, 0, 1, 0});
    CHECK_FALSE(rows.requires_grad());
    auto wide = one_hot(rg::from_indices({1, 0}), 4);
    REQUIRE(wide.shape() == rg::Shape{2, 4});
    CHECK(wide.to_vector() == std::vector<double>{0, 1, 0, 0, 1, 0, 0, 0});
    auto grid = one_hot(rg::from_indices({0, 3, 1, 0}, {2, 2}));
    REQUIRE(grid.shape() == rg::Shape{2, 2, 4});
    CHECK(grid.to_vector() == std::vector<double>{1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0});
    auto single = one_hot(rg::from_indices({2}, {}), 3);
    REQUIRE(single.shape() == rg::Shape{3});
    CHECK(single.to_vector() == std::vector<double>{0, 0, 1});
    CHECK(one_hot(rg::from_indices({}, {0}), 4).shape() == rg::Shape{0, 4});
    CHECK_THROWS_WITH_AS(one_hot(rg::from_indices({1, -1})),
                         "one_hot: index -1 at position 1 is negative; class indices start at 0", rg::Error);
    CHECK_THROWS_WITH_AS(one_hot(rg::from_indices({1, 3}), 3),
                         "one_hot: index 3 at position 1 is out of range: expected a value in [0, 3) for num_classes 3",
                         rg::Error);
    CHECK_THROWS_WITH_AS(one_hot(rg::tensor({1.0, 0.0}), 2),
                         "one_hot: indices must be int64, got float32; convert them with .to(rg::int64)", rg::Error);
    CHECK_THROWS_WITH_AS(one_hot(rg::from_indices({1}), -2),
                         "one_hot: num_classes must be -1 (the largest index + 1) or at least 0, got -2", rg::Error);
    CHECK_THROWS_WITH_AS(one_hot(rg::from_indices({0, 1}), std::int64_t{1} << 60),
                         "one_hot: 2 indices of 1.152921504606847e+18 classes would make 2.305843009213694e+18 "
                         "elements, more than can be allocated",
                         rg::Error);
    CHECK_THROWS_WITH_AS(one_hot(rg::from_indices({}, {0})),
                         "one_hot: cannot take num_classes from an empty tensor of shape (0,); pass num_classes",
                         rg::Error);
}
