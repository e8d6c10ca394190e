// scaled_dot_product_attention beyond its generated registry tests: the masks'
// meanings, a row with no key, large scores, and every refusal's message.
#include "helpers.hpp"

#include <cmath>
#include <limits>

using rg::Tensor;

namespace {
constexpr double inf = std::numeric_limits<double>::infinity();

Tensor attend(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask = {}, bool causal = false) {
    return rg::scaled_dot_product_attention(q, k, v, mask, 0.0, causal);
}
}  // namespace

TEST_CASE("sdpa: a bool mask says which keys take part, a float mask is added, is_causal is the lower triangle") {
    rg::manual_seed(3);
    const Tensor q = test::rand64({2, 4, 3}, false), k = test::rand64({2, 4, 3}, false),
                 v = test::rand64({2, 4, 5}, false);
    const Tensor plain = attend(q, k, v);
    test::check_values(attend(q, k, v, rg::ones({4, 4}) > 0.5), plain, 1e-15);
    test::check_values(attend(q, k, v, rg::zeros({4, 4}, {.dtype = rg::float64})), plain, 1e-15);
    const Tensor lower = rg::tril(rg::ones({4, 4})) > 0.5;
    const Tensor causal = attend(q, k, v, {}, true);
    test::check_values(causal, attend(q, k, v, lower), 1e-15);
    // -inf where the bool mask is false is the same attention.
    test::check_values(causal, attend(q, k, v, rg::where(lower, 0.0, rg::full({4, 4}, -inf, {.dtype = rg::float64}))),
                       1e-15);
    // The first query sees only the first key: its output is v's first row.
    test::check_values(rg::select(causal, 1, 0), rg::select(v, 1, 0), 1e-15);
    // The default scale is 1/√E; an explicit one replaces it.
    test::check_values(rg::scaled_dot_product_attention(q, k, v, {}, 0.0, false, 1.0 / std::sqrt(3.0)), plain, 1e-15);
    const Tensor by_hand = rg::matmul(rg::softmax(rg::matmul(q, rg::transpose(k, 1, 2)) * 2.0, -1), v);
    test::check_values(rg::scaled_dot_product_attention(q, k, v, {}, 0.0, false, 2.0), by_hand, 1e-14);
}

TEST_CASE("sdpa: a query with no key left gives zeros and a zero gradient, not NaN") {
    const Tensor q = test::rand64({3, 2}), k = test::rand64({4, 2}), v = test::rand64({4, 3});
    const Tensor mask = rg::from_vector({1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1}, {3, 4}) > 0.5;
    const Tensor out = attend(q, k, v, mask);
    test::check_values(rg::select(out, 0, 1), rg::zeros({3}, {.dtype = rg::float64}), 0);
    rg::sum(out).backward();
    for (const Tensor& t : {q, k, v}) CHECK(rg::all(rg::abs(t.grad()) < inf).item() != 0.0);  // no NaN, no inf
    test::check_values(rg::select(q.grad(), 0, 1), rg::zeros({2}, {.dtype = rg::float64}), 0);
    // A float mask of -inf everywhere in a row likewise.
    const Tensor minus = rg::where(mask, 0.0, rg::full({3, 4}, -inf, {.dtype = rg::float64}));
    test::check_values(attend(q, k, v, minus), out.detach(), 1e-15);
    test::check_gradients([&](const rg::TensorList& x) { return attend(x[0], x[1], x[2], mask); }, {q, k, v});
}

TEST_CASE("sdpa: large scores are exact (the softmax subtracts the row maximum)") {
    const Tensor q = rg::from_vector({1000, 0, 0, 1000}, {2, 2}), k = rg::from_vector({1, 0, 0, 1}, {2, 2});
    const Tensor v = rg::from_vector({1, 2, 3, 4}, {2, 2});
    test::check_values(rg::scaled_dot_product_attention(q, k, v, {}, 0.0, false, 1.0), v, 1e-6);
}

TEST_CASE("sdpa: dropout_p drops weights whenever it is positive, as PyTorch's") {
    const Tensor q = test::rand64({3, 2}, false), k = test::rand64({4, 2}, false), v = test::rand64({4, 3}, false);
    test::check_values(rg::scaled_dot_product_attention(q, k, v, {}, 1.0), rg::zeros({3, 3}, {.dtype = rg::float64}),
                       0);
    rg::manual_seed(1);
    const Tensor a = rg::scaled_dot_product_attention(q, k, v, {}, 0.5);
    rg::manual_seed(1);
    const Tensor weights = rg::dropout(rg::softmax(rg::matmul(q, rg::transpose(k)) / std::sqrt(2.0), -1), 0.5, true);
    test::check_values(a, rg::matmul(weights, v), 1e-14);
}

TEST_CASE("sdpa: bad inputs are rg::Errors naming the op, what it got and what it expected") {
    const Tensor q = rg::randn({2, 3, 4}), k = rg::randn({2, 5, 4}), v = rg::randn({2, 5, 6});
    const std::string shapes = "scaled_dot_product_attention: q (2, 3, 4), k {} and v {}; expected (..., L, E), "
                               "(..., S, E) and (..., S, Ev) of one rank, batch axes that broadcast";
    CHECK_THROWS_WITH_AS(attend(q, rg::randn({2, 5, 3}), v),
                         fmt::format(fmt::runtime(shapes), "(2, 5, 3)", "(2, 5, 6)").c_str(), rg::Error);
    CHECK_THROWS_WITH_AS(attend(q, k, rg::randn({2, 4, 6})),
                         fmt::format(fmt::runtime(shapes), "(2, 5, 4)", "(2, 4, 6)").c_str(), rg::Error);
    CHECK_THROWS_WITH_AS(attend(q, rg::randn({3, 5, 4}), v),
                         fmt::format(fmt::runtime(shapes), "(3, 5, 4)", "(2, 5, 6)").c_str(), rg::Error);
    CHECK_THROWS_WITH_AS(attend(q, rg::randn({5, 4}), v),
                         fmt::format(fmt::runtime(shapes), "(5, 4)", "(2, 5, 6)").c_str(), rg::Error);
    CHECK_THROWS_WITH_AS(attend(q, k, v, rg::ones({3, 4}) > 0.5),
                         "scaled_dot_product_attention: attn_mask of shape (3, 4) does not broadcast to the scores' "
                         "shape (2, 3, 5) (..., L, S)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(attend(q, k, v, rg::zeros({3, 5}, {.dtype = rg::float64})),
                         "scaled_dot_product_attention: attn_mask of dtype float64; expected bool (true: take part) "
                         "or float32, the dtype of q",
                         rg::Error);
    CHECK_THROWS_WITH_AS(attend(q, k, v, rg::ones({3, 5}) > 0.5, true),
                         "scaled_dot_product_attention: both attn_mask and is_causal given; expected one of them (a "
                         "causal mask is is_causal alone)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(attend(q.to(rg::int64), k, v),
                         "scaled_dot_product_attention: expected float32 or float64 q, k and v, got int64", rg::Error);
    CHECK_THROWS_WITH_AS(attend(q, k.to(rg::float64), v),
                         "scaled_dot_product_attention: q, k and v of dtypes float32, float64 and float32; expected "
                         "one dtype",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::scaled_dot_product_attention(q, k, v, {}, 1.5),
                         "scaled_dot_product_attention: dropout_p must be in [0, 1], got 1.5", rg::Error);
    CHECK_THROWS_WITH_AS(attend(Tensor{}, k, v), doctest::Contains("scaled_dot_product_attention"), rg::Error);
}
