// Tensors: creation, queries, dtypes, printing, the random generator.
#include "helpers.hpp"

using test::check_values;

TEST_CASE("tensor from nested lists is float32 by default, float64 on request") {
    auto a = rg::tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    CHECK(a.dtype() == rg::float32);
    CHECK(a.shape() == rg::Shape{2, 3});
    CHECK(a.dim() == 2);
    CHECK(a.numel() == 6);
    CHECK(a.size(-1) == 3);
    CHECK(a.value()(1, 2) == 6.0f);
    auto b = rg::tensor({1.0, 2.0}, {.dtype = rg::float64});
    CHECK(b.dtype() == rg::float64);
    CHECK(b.value<double>()(1) == 2.0);
    auto c = rg::tensor({{{1.0}, {2.0}}});
    CHECK(c.shape() == rg::Shape{1, 2, 1});
    CHECK(rg::tensor(3.5).item() == 3.5);
    CHECK(rg::tensor(3.5).dim() == 0);
}

TEST_CASE("shape_str and index_str format shapes and flat positions for messages") {
    CHECK(rg::shape_str({3, 4}) == "(3, 4)");
    CHECK(rg::shape_str({5}) == "(5,)");
    CHECK(rg::index_str(7, {3, 4}) == "[1, 3]");
    CHECK(rg::index_str(23, {2, 3, 4}) == "[1, 2, 3]");
    CHECK(rg::index_str(0, {}) == "[]");
    CHECK(rg::index_str(0, {0, 2}) == "[0, 0]");
}

TEST_CASE("tensor wraps an xtensor array and exposes it") {
    xt::xarray<double> values = {{1, 2}, {3, 4}};
    rg::Tensor t(values, true);
    CHECK(t.requires_grad());
    CHECK(t.is_leaf());
    t.value<double>()(0, 0) = 10;
    CHECK(t.to_vector() == std::vector<double>{10, 2, 3, 4});
    CHECK_THROWS_WITH_AS(t.value<float>(), doctest::Contains("holds float64"), rg::Error);
}

TEST_CASE("filled and range constructors") {
    CHECK(rg::zeros({2, 2}).to_vector() == std::vector<double>(4, 0.0));
    CHECK(rg::ones({3}).to_vector() == std::vector<double>(3, 1.0));
    CHECK(rg::full({2}, 7.0, {.dtype = rg::float64}).to_vector() == std::vector<double>{7, 7});
    CHECK(rg::arange(5).to_vector() == std::vector<double>{0, 1, 2, 3, 4});
    CHECK(rg::arange(1, 2, 0.25).to_vector() == std::vector<double>{1, 1.25, 1.5, 1.75});
    CHECK(rg::arange(3, 0, -1).to_vector() == std::vector<double>{3, 2, 1});
    CHECK(rg::linspace(0, 1, 5).to_vector() == std::vector<double>{0, 0.25, 0.5, 0.75, 1});
    CHECK(rg::eye(2).to_vector() == std::vector<double>{1, 0, 0, 1});
    auto like = rg::randn({2, 3}, {.dtype = rg::float64});
    CHECK(rg::zeros_like(like).dtype() == rg::float64);
    CHECK(rg::ones_like(like).shape() == rg::Shape{2, 3});
    CHECK(rg::full_like(like, 2).to_vector() == std::vector<double>(6, 2.0));
    CHECK(rg::from_vector({1, 2, 3, 4}, {2, 2}).value()(1, 0) == 3.0f);
    CHECK(rg::from_indices({2, 0, 1}).dtype() == rg::int64);
}

TEST_CASE("manual_seed makes random tensors reproducible") {
    rg::manual_seed(42);
    auto a = rg::randn({4, 4});
    auto u = rg::rand({100});
    rg::manual_seed(42);
    auto b = rg::randn({4, 4});
    CHECK(a.to_vector() == b.to_vector());
    for (double v : u.to_vector()) CHECK((v >= 0.0 && v < 1.0));
    auto r = rg::randint(0, 10, {1000});
    for (double v : r.to_vector()) CHECK((v >= 0 && v < 10));
    auto n = rg::randn({20000}, {.dtype = rg::float64});
    CHECK(std::abs(rg::mean(n).item()) < 0.05);
    CHECK(std::abs(rg::var(n).item() - 1.0) < 0.05);
    auto w = rg::uniform({1000}, -0.5, 0.5);
    CHECK(rg::max(w).item() < 0.5);
    CHECK(rg::min(w).item() >= -0.5);
}

TEST_CASE("to() casts between dtypes and is differentiable") {
    auto x = rg::tensor({1.5, -2.0}, {.requires_grad = true});
    auto y = x.to(rg::float64);
    CHECK(y.dtype() == rg::float64);
    rg::sum(y * y).backward();
    CHECK(x.grad().dtype() == rg::float32);
    check_values(x.grad(), rg::tensor({3.0, -4.0}));
    CHECK(rg::tensor({2.7, -1.2}).to(rg::int64).to_vector() == std::vector<double>{2, -1});
}

TEST_CASE("printing shows values, dtype and autograd state") {
    CHECK(rg::to_string(rg::tensor({{1.0, 2.0}, {3.0, 4.5}})) == "tensor([[1, 2],\n        [3, 4.5]])");
    CHECK(rg::to_string(rg::tensor({1.0}, {.dtype = rg::float64})) == "tensor([1], dtype=float64)");
    auto w = rg::ones({2}, {.requires_grad = true});
    CHECK(rg::to_string(w) == "tensor([1, 1], requires_grad=true)");
    CHECK(rg::to_string(w * 2.0) == "tensor([2, 2], grad_fn=mul_scalar)");
    CHECK(fmt::format("{}", rg::from_indices({3, 1})) == "tensor([3, 1], dtype=int64)");
    CHECK(rg::to_string(rg::arange(2000)).find("...") != std::string::npos);
    CHECK(rg::to_string(rg::Tensor{}) == "tensor(undefined)");
    auto inf = rg::tensor({1e308}, {.dtype = rg::float64}) * 10.0;
    CHECK(rg::to_string(inf / inf) == "tensor([nan], dtype=float64)");
    CHECK(rg::to_string(-inf) == "tensor([-inf], dtype=float64)");
}

TEST_CASE("detach shares the values (as PyTorch), clone copies them and stays on the tape") {
    auto x = rg::tensor({1.0, 2.0}, {.requires_grad = true});
    auto d = x.detach();
    CHECK_FALSE(d.requires_grad());
    CHECK(d.shares_storage(x));
    d.value()(0) = 9;
    CHECK(x.value()(0) == 9.0f);
    d.value()(0) = 1;
    auto c = x.clone();
    CHECK_FALSE(c.shares_storage(x));
    CHECK(c.grad_fn() != nullptr);
    rg::sum(c * 3.0).backward();
    check_values(x.grad(), rg::tensor({3.0, 3.0}));
}

TEST_CASE("allclose compares shape and values") {
    CHECK(rg::allclose(rg::tensor({1.0, 2.0}), rg::tensor({1.0, 2.0000001})));
    CHECK_FALSE(rg::allclose(rg::tensor({1.0, 2.0}), rg::tensor({1.0, 2.1})));
    CHECK_FALSE(rg::allclose(rg::tensor({1.0, 2.0}), rg::tensor({{1.0, 2.0}})));
}
