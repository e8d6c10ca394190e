// LibTorch's shape, scan, sort, reduction and product ops beyond what the
// registry's generated tests reach: gradients where x holds zeros, ties and
// NaN in sorting, subgradients at 0, views shared with the input, the method
// forms, and every bad input against its exact message.
#include <retrograd/registry.hpp>

#include <cmath>
#include <limits>
#include <tuple>

#include "helpers.hpp"

using rg::Tensor;

namespace {
Tensor vec64(const std::vector<double>& values, bool requires_grad = true) {
    const auto n = static_cast<std::int64_t>(values.size());
    return rg::from_vector(values, {n}, {.dtype = rg::float64, .requires_grad = requires_grad});
}
std::vector<double> grad_of(const Tensor& loss, const Tensor& x) {
    auto [g] = rg::grad(loss, {x});
    return g.to_vector();
}
}  // namespace

TEST_CASE("cumprod and prod: gradients where x holds zeros, at first and second order") {
    const Tensor x = vec64({2.0, 0.0, 3.0});
    // d/dx of y0 + y1 + y2 = x0 + x0 x1 + x0 x1 x2 at (2, 0, 3).
    CHECK(grad_of(rg::cumprod(x, 0).sum(), x) == std::vector<double>{1.0, 8.0, 0.0});
    CHECK(grad_of(rg::prod(x), x) == std::vector<double>{0.0, 6.0, 0.0});
    const Tensor two_zeros = vec64({0.0, 2.0, 0.0});
    CHECK(grad_of(rg::prod(two_zeros), two_zeros) == std::vector<double>{0.0, 0.0, 0.0});
    CHECK(grad_of(rg::cumprod(two_zeros, 0).sum(), two_zeros) == std::vector<double>{3.0, 0.0, 0.0});
    const Tensor m = rg::from_vector({1.5, 0.0, -2.0, 0.5, 0.0, 3.0, 0.0, 1.0, -1.0, 2.0, 0.5, 0.0}, {3, 4},
                                     {.dtype = rg::float64, .requires_grad = true});
    for (int dim : {0, 1}) {
        CAPTURE(dim);
        test::check_gradients([dim](const rg::TensorList& v) { return rg::cumprod(v[0], dim); }, {m});
        test::check_gradients([dim](const rg::TensorList& v) { return rg::prod(v[0], dim); }, {m});
    }
    test::check_gradients([](const rg::TensorList& v) { return rg::prod(v[0]); }, {vec64({1.5, 0.0, -2.0})});
}

TEST_CASE("cumsum, cumprod and prod on int64 and rank 0") {
    const Tensor i = rg::from_indices({1, 2, 3, 4}, {2, 2});
    CHECK(rg::cumsum(i, 1).to_vector() == std::vector<double>{1, 3, 3, 7});
    CHECK(rg::cumprod(i, 0).to_vector() == std::vector<double>{1, 2, 3, 8});
    CHECK(rg::prod(i, 1).to_vector() == std::vector<double>{2, 12});
    CHECK(rg::cumsum(rg::tensor(2.5), 0).item() == 2.5);
    CHECK_THROWS_WITH_AS(rg::cumsum(i, 2), "cumsum: axis 2 out of range for a tensor of rank 2 (expected -2 to 1)",
                         rg::Error);
}

TEST_CASE("sort, argsort and topk: stable for ties, NaN above every number, gradient scattered back") {
    const Tensor ties = vec64({1.0, 0.0, 1.0, 0.0}, false);
    CHECK(rg::argsort(ties).to_vector() == std::vector<double>{1, 3, 0, 2});
    CHECK(rg::argsort(ties, -1, true).to_vector() == std::vector<double>{0, 2, 1, 3});
    const double nan = std::numeric_limits<double>::quiet_NaN();
    Tensor values, indices;  // std::tie: doctest's CHECK is a lambda, which clang 14 refuses structured bindings in
    std::tie(values, indices) = rg::sort(vec64({nan, 1.0, 0.0}, false));
    CHECK(indices.to_vector() == std::vector<double>{2, 1, 0});
    CHECK(std::isnan(values.to_vector()[2]));
    CHECK(indices.dtype() == rg::int64);
    CHECK(rg::argsort(vec64({nan, 1.0, 0.0}, false), 0, true).to_vector() == std::vector<double>{0, 1, 2});

    const Tensor x = vec64({0.5, -1.0, 2.0, 0.25});
    Tensor top, where;
    std::tie(top, where) = rg::topk(x, 2);
    CHECK(top.to_vector() == std::vector<double>{2.0, 0.5});
    CHECK(where.to_vector() == std::vector<double>{2, 0});
    CHECK(grad_of((top * vec64({10.0, 1.0}, false)).sum(), x) == std::vector<double>{1.0, 0.0, 10.0, 0.0});
    Tensor low, low_at;
    std::tie(low, low_at) = x.topk(1, 0, false);
    CHECK(low.item() == -1.0);
    CHECK(low_at.item<std::int64_t>() == 1);
    Tensor sorted, order;
    std::tie(sorted, order) = x.sort(0, true);
    CHECK(sorted.to_vector() == std::vector<double>{2.0, 0.5, 0.25, -1.0});
    CHECK(order.to_vector() == std::vector<double>{2, 0, 3, 1});
    CHECK_THROWS_WITH_AS(rg::topk(rg::zeros({2, 3}), 4),
                         "topk: k = 4 is out of range for dim -1 of size 3 in (2, 3); expected 0 <= k <= 3", rg::Error);
}

TEST_CASE("norm: any p >= 0 and -inf, as torch.linalg.vector_norm, with PyTorch's gradients at 0") {
    const Tensor x = vec64({3.0, -4.0, 0.5});
    const double abs[] = {3.0, 4.0, 0.5};
    for (double p : {0.5, 1.5, 3.0, 7.0}) {
        double s = 0;
        for (double a : abs) s += std::pow(a, p);
        const double y = std::pow(s, 1 / p);
        CHECK(rg::norm(x, p).item() == doctest::Approx(y).epsilon(1e-14));
        // d/dx_i = sign(x_i) |x_i|^(p-1) / y^(p-1)
        const std::vector<double> g = grad_of(rg::norm(x, p), x);
        const double sign[] = {1.0, -1.0, 1.0};
        for (std::size_t i = 0; i < 3; ++i)
            CHECK(g[i] == doctest::Approx(sign[i] * std::pow(abs[i], p - 1) / std::pow(y, p - 1)).epsilon(1e-13));
        test::check_gradients([p](const rg::TensorList& v) { return rg::norm(v[0], p, {1}); },
                              {rg::from_vector({0.7, -1.3, 0.4, 2.1, -0.6, 1.1}, {2, 3},
                                               {.dtype = rg::float64, .requires_grad = true})});
    }
    CHECK(rg::norm(x, -INFINITY).item() == 0.5);
    CHECK(grad_of(rg::norm(x, -INFINITY), x) == std::vector<double>{0.0, 0.0, 1.0});
    const Tensor tie = vec64({-1.0, 2.0, 1.0});
    CHECK(grad_of(rg::norm(tie, -INFINITY), tie) == std::vector<double>{-0.5, 0.0, 0.5});
    // p = 0 counts the non-zero elements; its gradient is 0.
    const Tensor sparse = vec64({0.0, -2.0, 0.0, 5.0});
    CHECK(rg::norm(sparse, 0).item() == 2.0);
    CHECK(grad_of(rg::norm(sparse, 0), sparse) == std::vector<double>{0.0, 0.0, 0.0, 0.0});
    // p < 1: 0 at x = 0 (|x|^(p-1) is infinite there), finite elsewhere; p > 1: 0 for a zero vector.
    const std::vector<double> half = grad_of(rg::norm(sparse, 0.5), sparse);
    CHECK(half[0] == 0.0);
    CHECK(half[2] == 0.0);
    const double y = std::pow(std::sqrt(2.0) + std::sqrt(5.0), 2.0);
    CHECK(half[1] == doctest::Approx(-std::pow(2.0, -0.5) * std::sqrt(y)));
    CHECK(half[3] == doctest::Approx(std::pow(5.0, -0.5) * std::sqrt(y)));
    const Tensor zero = vec64({0.0, 0.0});
    for (double p : {0.5, 3.0}) CHECK(grad_of(rg::norm(zero, p), zero) == std::vector<double>{0.0, 0.0});
    // Over one axis with keepdim, float32 as float64.
    const Tensor m = rg::from_vector({1.0F, -2.0F, 2.0F, 3.0F}, {2, 2});
    test::check_values(rg::norm(m, 3, {1}, true), rg::from_vector({std::cbrt(9.0F), std::cbrt(35.0F)}, {2, 1}), 1e-6);
}

TEST_CASE("norm: p = 1, 2, inf with PyTorch's subgradients at 0; std and var in LibTorch's order") {
    const Tensor zero = vec64({0.0, 0.0, 0.0});
    CHECK(grad_of(rg::norm(zero), zero) == std::vector<double>{0.0, 0.0, 0.0});
    CHECK(grad_of(rg::norm(zero, 1), zero) == std::vector<double>{0.0, 0.0, 0.0});
    CHECK(grad_of(rg::norm(zero, INFINITY), zero) == std::vector<double>{0.0, 0.0, 0.0});
    const Tensor tie = vec64({1.0, -1.0, 0.5});
    CHECK(grad_of(rg::norm(tie, INFINITY), tie) == std::vector<double>{0.5, -0.5, 0.0});
    const Tensor x = vec64({3.0, -4.0});
    CHECK(x.norm().item() == 5.0);
    CHECK(rg::norm(x, 1).item() == 7.0);
    CHECK(x.norm(INFINITY).item() == 4.0);
    CHECK(grad_of(x.norm(), x) == std::vector<double>{0.6, -0.8});
    // A zero row next to a non-zero one: only the zero row's gradient is 0.
    const Tensor rows = rg::from_vector({0.0, 0.0, 3.0, 4.0}, {2, 2}, {.dtype = rg::float64, .requires_grad = true});
    CHECK(grad_of(rg::norm(rows, 2, {1}).sum(), rows) == std::vector<double>{0.0, 0.0, 0.6, 0.8});
    test::check_gradients([](const rg::TensorList& v) { return rg::norm(v[0], 2, {0}, true); }, {test::rand64({3, 2})});
    CHECK_THROWS_WITH_AS(rg::norm(x, -1),
                         "norm: p = -1 is not supported; expected p >= 0, inf or -inf "
                         "(std::numeric_limits<double>::infinity())",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::norm(x, NAN),
                         "norm: p = nan is not supported; expected p >= 0, inf or -inf "
                         "(std::numeric_limits<double>::infinity())",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::norm(rg::zeros({0}), -INFINITY),
                         "norm: the -inf-norm of an empty tensor of shape (0,) is undefined", rg::Error);

    const Tensor m = rg::from_vector({1, 2, 3, 4, 6, 8}, {2, 3}, {.dtype = rg::float64});
    test::check_values(m.var(1, false, true), rg::from_vector({2.0 / 3, 8.0 / 3}, {2, 1}, {.dtype = rg::float64}));
    test::check_values(m.var(1), rg::from_vector({1.0, 4.0}, {2}, {.dtype = rg::float64}));
    test::check_values(m.std(1), rg::from_vector({1.0, 2.0}, {2}, {.dtype = rg::float64}));
    test::check_values(rg::std(m, {1}, 0, true), rg::sqrt(m.var(1, false, true)));
    test::check_values(m.std(), rg::sqrt(rg::var(m)));
    CHECK(m.prod().item() == 1152.0);
    CHECK(m.prod(0, true).shape() == rg::Shape{1, 3});
}

TEST_CASE("chunk, split and unbind return views of the input; repeat, tile, flip and roll copy") {
    const Tensor x = rg::arange(0, 10, 1, {.dtype = rg::float64}).reshape({2, 5});
    const rg::TensorList chunks = x.chunk(3, 1);
    REQUIRE(chunks.size() == 3);
    CHECK(chunks[2].shape() == rg::Shape{2, 1});
    for (const Tensor& c : chunks) CHECK(c.shares_storage(x));
    CHECK(rg::chunk(x, 4, 1).size() == 3);  // ceil(5 / 4) = 2 per piece, as torch.chunk
    CHECK(rg::chunk(rg::zeros({0}), 3).size() == 3);
    const rg::TensorList pieces = x.split({1, 4}, 1);
    CHECK(pieces[1].to_vector() == std::vector<double>{1, 2, 3, 4, 6, 7, 8, 9});
    CHECK(x.split(2, 1).size() == 3);
    const rg::TensorList rows = x.unbind();
    CHECK(rows[1].to_vector() == std::vector<double>{5, 6, 7, 8, 9});
    CHECK(rows[1].shares_storage(x));

    CHECK(x.repeat({1, 1}).shares_storage(x) == false);
    CHECK(x.tile({2}).shape() == rg::Shape{2, 10});
    CHECK(x.repeat({2, 1, 1}).shape() == rg::Shape{2, 2, 5});
    CHECK(x.flip({1}).select(0, 0).to_vector() == std::vector<double>{4, 3, 2, 1, 0});
    CHECK(x.roll({1}, {1}).select(0, 0).to_vector() == std::vector<double>{4, 0, 1, 2, 3});
    CHECK(x.roll({-1}).select(0, 0).to_vector() == std::vector<double>{1, 2, 3, 4, 5});
    CHECK(x.sizes() == x.shape());
    CHECK(x.view_as(rg::zeros({5, 2})).shape() == rg::Shape{5, 2});
    CHECK(rg::ones({3, 1}).expand_as(rg::zeros({2, 3, 4})).shape() == rg::Shape{2, 3, 4});
    CHECK(rg::cat({x, x}, 1).shape() == rg::Shape{2, 10});

    const Tensor ints = rg::from_indices({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3});
    CHECK(ints.tril().to_vector() == std::vector<double>{1, 0, 0, 4, 5, 0, 7, 8, 9});
    CHECK(ints.triu(1).to_vector() == std::vector<double>{0, 2, 3, 0, 0, 6, 0, 0, 0});
    CHECK(ints.tril().dtype() == rg::int64);
}

TEST_CASE("shape ops: bad arguments are rg::Errors that say what was expected") {
    const Tensor x = rg::zeros({2, 3});
    CHECK_THROWS_WITH_AS(rg::flip(x, {0, 0}), "flip: axis 0 appears twice in the axis list", rg::Error);
    CHECK_THROWS_WITH_AS(rg::roll(x, {1, 2}, {0}), "roll: got 2 shifts (1, 2) for 1 dims; expected one shift per dim",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::roll(x, {1, 2}),
                         "roll: without dims, expected one shift for the flattened tensor, got (1, 2)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::chunk(x, 0), "chunk: chunks must be positive, got 0", rg::Error);
    CHECK_THROWS_WITH_AS(rg::split(x, {1, 1}, 1), "split: sizes (1, 1) add up to 2, but dim 1 of (2, 3) has size 3",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::split(x, 0, 1), "split: split_size must be positive, got 0 for dim 1 of size 3",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::repeat(x, {2}),
                         "repeat: got 1 repeat counts (2,) for a tensor of rank 2; expected at least 2", rg::Error);
    CHECK_THROWS_WITH_AS(rg::tril(rg::zeros({3})), "tril: expected a tensor of rank 2 or more, got shape (3,)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::unbind(x, 2), "unbind: axis 2 out of range for a tensor of rank 2 (expected -2 to 1)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::dropout(x, 1.5, true), "dropout: p must be in [0, 1], got 1.5", rg::Error);
}

TEST_CASE("mm, bmm and baddbmm: values, and rank errors that point to matmul") {
    const Tensor a = test::rand64({2, 3, 4}), b = test::rand64({2, 4, 5}), c = test::rand64({5}, true);
    test::check_values(rg::bmm(a, b), rg::matmul(a, b), 1e-12);
    test::check_values(a.select(0, 1).mm(b.select(0, 1)), rg::matmul(a, b).select(0, 1), 1e-12);
    test::check_values(c.baddbmm(a, b, 0.5, 2.0), c * 0.5 + rg::matmul(a, b) * 2.0, 1e-12);
    // beta = 0: input is not read, so its NaN does not reach the result.
    const Tensor nan_input = rg::full({5}, NAN, {.dtype = rg::float64});
    CHECK(rg::allclose(rg::baddbmm(nan_input, a, b, 0.0), rg::matmul(a, b)));
    test::check_gradients([](const rg::TensorList& v) { return rg::baddbmm(v[0], v[1], v[2], 0.5, 2.0); }, {c, a, b});
    test::check_values(rg::outer(c, c), c.outer(c), 0.0);

    CHECK_THROWS_WITH_AS(rg::mm(a, b),
                         "mm: expected two 2-D tensors, got shapes (2, 3, 4) and (2, 4, 5); matmul takes other ranks",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::mm(rg::zeros({2, 3}), rg::zeros({4, 5})),
                         "mm: cannot multiply (2, 3) by (4, 5): inner sizes 3 and 4 differ", rg::Error);
    CHECK_THROWS_WITH_AS(rg::bmm(rg::zeros({3, 4}), rg::zeros({4, 2})),
                         "bmm: expected two 3-D tensors (batch, n, m) and (batch, m, p), got shapes (3, 4) and (4, 2); "
                         "matmul broadcasts batches of any rank",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::bmm(rg::zeros({2, 3, 4}), rg::zeros({3, 4, 2})),
                         "bmm: batch sizes 2 and 3 differ in shapes (2, 3, 4) and (3, 4, 2)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::bmm(rg::zeros({2, 3, 4}), rg::zeros({2, 3, 2})),
                         "bmm: cannot multiply (2, 3, 4) by (2, 3, 2): inner sizes 4 and 3 differ", rg::Error);
    CHECK_THROWS_WITH_AS(rg::baddbmm(rg::zeros({2, 2, 2, 2}), rg::zeros({2, 3, 4}), rg::zeros({2, 4, 2})),
                         "baddbmm: input of shape (2, 2, 2, 2) does not broadcast to the product's shape (2, 3, 2)",
                         rg::Error);
}

TEST_CASE("einsum: attention products agree with matmul and record only existing ops") {
    const Tensor q = test::rand64({2, 3, 4, 8}), k = test::rand64({2, 3, 5, 8}), v = test::rand64({2, 3, 5, 8});
    const Tensor scores = rg::einsum("bhqd,bhkd->bhqk", {q, k});
    test::check_values(scores, rg::matmul(q, k.transpose(-1, -2)), 1e-12);
    const Tensor out = rg::einsum("bhqk,bhkd->bhqd", {rg::softmax(scores, -1), v});
    test::check_values(out, rg::matmul(rg::softmax(scores, -1), v), 1e-12);
    CHECK(out.grad_fn()->def()->name != "einsum");  // a composite: its nodes are the ops it is made of
    const Tensor m = test::rand64({3, 3});
    CHECK(rg::einsum("ii", {m}).item() == doctest::Approx(rg::diagonal(m).sum().item()));
    CHECK(rg::einsum("ij->ji", {m}).shares_storage(m));
    CHECK(rg::einsum("i j , j k -> i k", {m, m}).shape() == rg::Shape{3, 3});
}

TEST_CASE("einsum: unsupported or mismatched subscripts are rg::Errors saying what is supported") {
    const Tensor a = rg::zeros({2, 3}), b = rg::zeros({4, 5}), v = rg::zeros({3});
    const std::string supported = "subscripts are letters a-z and A-Z, at most one '...' per operand, operands "
                                  "separated by ',', and an optional '->' before the output";
    CHECK_THROWS_WITH_AS(rg::einsum("ij,jk->ik", {a}),
                         "einsum: 'ij,jk->ik' has subscripts for 2 operands, but 1 operand was given", rg::Error);
    CHECK_THROWS_WITH_AS(rg::einsum("i1->i", {v}), ("einsum: invalid character '1' in 'i1->i'; " + supported).c_str(),
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::einsum("i->i->i", {v}), ("einsum: 'i->i->i' has two '->'; " + supported).c_str(),
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::einsum("......i", {v}),
                         ("einsum: '......i' has two '...' in the subscripts '......i'; " + supported).c_str(),
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::einsum("ijk->i", {a}),
                         "einsum: operand 0 has shape (2, 3) (rank 2), but its subscripts 'ijk' in 'ijk->i' name 3 "
                         "dims",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::einsum("...ij", {v}),
                         "einsum: operand 0 has shape (3,) (rank 1), but its subscripts '...ij' in '...ij' name at "
                         "least 2 dims",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::einsum("ij,jk->ik", {a, b}),
                         "einsum: subscript 'j' has size 3 in operand 0 and size 4 in operand 1 of 'ij,jk->ik'",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::einsum("ii->i", {a}),
                         "einsum: subscript 'i' is repeated in operand 0 of 'ii->i' over dims of sizes 2 and 3",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::einsum("ij->k", {a}), "einsum: output subscript 'k' appears in no operand of 'ij->k'",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::einsum("ij->ii", {a}), "einsum: output subscript 'i' appears twice in 'ij->ii'",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::einsum("...ij,...jk", {rg::zeros({2, 3, 4}), rg::zeros({5, 4, 2})}),
                         "einsum: the dims under '...' do not broadcast: sizes 2 and 5 in '...ij,...jk'", rg::Error);
    CHECK_THROWS_WITH_AS(rg::einsum("ij", {rg::from_indices({1, 2}, {1, 2})}),
                         "einsum: expected float32 or float64 operands, got int64 for operand 0", rg::Error);
    CHECK_THROWS_WITH_AS(rg::einsum("ij", {}), "einsum: got no operands for 'ij'", rg::Error);
}

TEST_CASE("dropout: the function nn::Dropout uses") {
    const Tensor x = rg::ones({1000}, {.dtype = rg::float64});
    CHECK(rg::dropout(x, 0.3, false).same(x));
    const Tensor y = rg::dropout(x, 0.3, true);
    std::size_t zeros = 0;
    for (double e : y.to_vector()) {
        CHECK((e == 0.0 || e == doctest::Approx(1.0 / 0.7)));
        zeros += e == 0.0;
    }
    CHECK(zeros > 200);  // about 300 of 1000
    CHECK(zeros < 400);
    CHECK(rg::dropout(x, 1.0, true).sum().item() == 0.0);
}

TEST_CASE("these ops' generated value tests compare with a float64 reference of their own") {
    for (const char* name : {"flip", "roll",    "split",     "chunk",  "unbind",  "repeat", "tile",   "tril",    "triu",
                             "cat",  "view_as", "expand_as", "cumsum", "cumprod", "prod",   "sort",   "argsort", "topk",
                             "std",  "norm",    "mm",        "bmm",    "baddbmm", "einsum", "dropout"}) {
        CAPTURE(name);
        const rg::OpDef* def = rg::find_op(name);
        REQUIRE(def != nullptr);
        CHECK(static_cast<bool>(def->reference));
    }
    // The reference is not the forward: einsum's, on the trace of a known matrix.
    const Tensor m = rg::from_vector({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3}, {.dtype = rg::float64});
    CHECK(rg::find_op("einsum")->reference({m}).to_vector()[0] == 15.0);
}
