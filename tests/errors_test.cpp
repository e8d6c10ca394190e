// One test per error family: the message names the op, the shapes or values,
// and what was expected.
#include "helpers.hpp"

using rg::tensor;

TEST_CASE("errors: matmul inner sizes") {
    CHECK_THROWS_WITH_AS(rg::matmul(rg::zeros({3, 4}), rg::zeros({5, 2})),
                         "matmul: cannot multiply (3, 4) by (5, 2): inner sizes 4 and 5 differ", rg::Error);
    CHECK_THROWS_WITH_AS(rg::matmul(rg::zeros({3}), rg::zeros({4})),
                         "matmul: cannot multiply (3,) by (4,): inner sizes 3 and 4 differ", rg::Error);
    CHECK_THROWS_WITH_AS(rg::matmul(rg::zeros({2, 3, 4}), rg::zeros({2, 5, 2})),
                         doctest::Contains("inner sizes 4 and 5 differ"), rg::Error);
    CHECK_THROWS_WITH_AS(rg::matmul(rg::tensor(1.0), rg::zeros({2})), doctest::Contains("at least one dimension"),
                         rg::Error);
}

TEST_CASE("errors: broadcasting") {
    CHECK_THROWS_WITH_AS(rg::zeros({3, 4}) + rg::zeros({5}),
                         "add: cannot broadcast (3, 4) with (5,): sizes 4 and 5 differ at axis -1", rg::Error);
    CHECK_THROWS_WITH_AS(rg::broadcast_to(rg::zeros({3}), {2, 4}),
                         doctest::Contains("broadcast_to: cannot broadcast (3,)"), rg::Error);
    CHECK_THROWS_WITH_AS(rg::sum_to(rg::zeros({3}), {2, 3}), "sum_to: cannot sum (3,) down to (2, 3)", rg::Error);
}

TEST_CASE("errors: axes") {
    CHECK_THROWS_WITH_AS(rg::sum(rg::zeros({2, 2}), {3}),
                         "sum: axis 3 out of range for a tensor of rank 2 (expected -2 to 1)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::softmax(rg::zeros({2}), 1), doctest::Contains("softmax: axis 1 out of range"), rg::Error);
    CHECK_THROWS_WITH_AS(rg::sum(rg::zeros({2, 2}), {0, -2}), doctest::Contains("appears twice"), rg::Error);
    CHECK_THROWS_WITH_AS(rg::permute(rg::zeros({2, 2}), {0}), "permute: got 1 axes for a tensor of rank 2", rg::Error);
    CHECK_THROWS_WITH_AS(rg::squeeze(rg::zeros({2, 3}), 1), "squeeze: axis 1 has size 3 in (2, 3), expected 1",
                         rg::Error);
}

TEST_CASE("errors: shapes of reshape, concat, stack, slices and indices") {
    CHECK_THROWS_WITH_AS(rg::reshape(rg::zeros({2, 3}), rg::Shape{4, 2}),
                         "reshape: cannot reshape (2, 3) (6 elements) into (4, 2) (8 elements)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::reshape(rg::zeros({2, 3}), std::vector<long>{-1, 4}),
                         doctest::Contains("cannot infer the -1 size"), rg::Error);
    CHECK_THROWS_WITH_AS(rg::concat({rg::zeros({2, 3}), rg::zeros({2, 4})}, 0),
                         "concat: tensor 1 has shape (2, 4), incompatible with (2, 3) along axis 0", rg::Error);
    CHECK_THROWS_WITH_AS(rg::stack({rg::zeros({2}), rg::zeros({3})}),
                         "stack: tensor 1 has shape (3,), expected (2,) like tensor 0", rg::Error);
    CHECK_THROWS_WITH_AS(rg::select(rg::zeros({3}), 0, 3), "select: index 3 out of range for axis 0 of size 3",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::slice(rg::zeros({3}), 0, 0, 2, 0), "slice: step must be positive, got 0", rg::Error);
    CHECK_THROWS_WITH_AS(rg::index_select(rg::zeros({3, 2}), 0, rg::from_indices({0, 5})),
                         "index_select: index 5 out of range for axis 0 of size 3", rg::Error);
    CHECK_THROWS_WITH_AS(rg::gather(rg::zeros({2, 3}), 1, rg::from_indices({1, 3}, {2, 1})),
                         "gather: index 3 out of range for axis 1 of size 3", rg::Error);
    CHECK_THROWS_WITH_AS(rg::gather(rg::zeros({2, 3}), 1, rg::tensor({{1.0}, {0.0}})),
                         "gather: index must be an int64 tensor, got float32", rg::Error);
}

TEST_CASE("errors: dtypes") {
    CHECK_THROWS_WITH_AS(rg::zeros({2}) + rg::zeros({2}, {.dtype = rg::float64}),
                         "add: dtype mismatch, float32 and float64; convert one side with .to(rg::float32)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::tanh(rg::from_indices({1, 2})), "tanh: expected a float32 or float64 tensor, got int64",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::zeros({2}) + rg::Tensor{}, doctest::Contains("add: got an undefined tensor"), rg::Error);
}

TEST_CASE("errors: values") {
    CHECK_THROWS_WITH_AS(rg::tensor({1.0, 2.0}).item(),
                         "item: the tensor has shape (2,) (2 elements), expected exactly one element", rg::Error);
    CHECK_THROWS_WITH_AS(rg::clamp(rg::zeros({1}), 1, 0), "clamp: low 1 must not exceed high 0", rg::Error);
    CHECK_THROWS_WITH_AS(rg::var(rg::zeros({1})), "var: 1 elements with correction 1 leave no degrees of freedom",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::arange(0, 1, 0), doctest::Contains("step 0 must be finite and step non-zero"), rg::Error);
    CHECK_THROWS_WITH_AS(rg::from_vector({1, 2, 3}, {2, 2}),
                         "from_vector: 3 values cannot fill shape (2, 2) (4 elements)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::max(rg::zeros({0})), doctest::Contains("cannot reduce an empty tensor"), rg::Error);
}

TEST_CASE("errors: backward") {
    CHECK_THROWS_WITH_AS(rg::sum(rg::ones({2})).backward(),
                         doctest::Contains("backward: output 0 does not require grad"), rg::Error);
    auto x = rg::ones({2}, {.requires_grad = true});
    CHECK_THROWS_WITH_AS((x * 2.0).backward(rg::ones({3})),
                         "backward: output gradient 0 has shape (3,) and dtype float32, expected shape (2,) and dtype "
                         "float32",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::grad(rg::sum(x), {rg::ones({2})}, {}), "grad: input 0 (shape (2,)) does not require grad",
                         rg::Error);
}
