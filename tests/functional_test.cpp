// The functional API: grad, vjp, jvp, jacobian, hessian, hvp.
#include "helpers.hpp"

using rg::Tensor;
using rg::tensor;
using rg::TensorList;
using test::check_values;

namespace {
rg::TensorOptions f64(bool requires_grad = false) { return {.dtype = rg::float64, .requires_grad = requires_grad}; }
}  // namespace

TEST_CASE("grad returns gradients without touching .grad") {
    auto x = tensor({1.0, 2.0}, f64(true));
    auto y = rg::sum(x * x * x);
    auto grads = rg::grad(y, {x}, {});
    check_values(grads[0], tensor({3.0, 12.0}, f64()));
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("grad with create_graph differentiates again: sigmoid'' and tanh''") {
    auto x = tensor({-1.0, 0.3, 2.0}, f64(true));
    auto s = rg::sigmoid(x);
    auto d1 = rg::grad(rg::sum(s), {x}, {.create_graph = true})[0];
    auto d2 = rg::grad(rg::sum(d1), {x}, {})[0];
    auto sv = rg::sigmoid(x.detach());
    check_values(d1, sv * (1.0 - sv), 1e-12);  // σ' = σ(1-σ)
    check_values(d2, sv * (1.0 - sv) * (1.0 - 2.0 * sv), 1e-12);  // σ'' = σ'(1-2σ)
    auto t = rg::tanh(x);
    auto t1 = rg::grad(rg::sum(t), {x}, {.create_graph = true})[0];
    auto t2 = rg::grad(rg::sum(t1), {x}, {})[0];
    auto tv = rg::tanh(x.detach());
    check_values(t2, -2.0 * tv * (1.0 - tv * tv), 1e-12);  // tanh'' = -2 tanh (1 - tanh²)
}

TEST_CASE("grad with a braced input list decomposes into named gradients") {
    auto w = tensor({{1.0, 2.0}}, f64(true));
    auto b = tensor({0.5}, f64(true));
    auto x = tensor({{3.0}, {4.0}}, f64());
    auto loss = rg::sum(rg::matmul(x, w) + b);
    auto [gw, gb] = rg::grad(loss, {w, b});
    check_values(gw, tensor({{7.0, 7.0}}, f64()));
    check_values(gb, tensor({4.0}, f64()));
}

TEST_CASE("grad with respect to an intermediate tensor") {
    auto x = tensor({1.0, 2.0}, f64(true));
    auto h = x * 3.0;
    auto y = rg::sum(h * h);
    check_values(rg::grad(y, {h}, {})[0], tensor({6.0, 12.0}, f64()));
}

TEST_CASE("grad: unused inputs are an error unless allow_unused") {
    auto x = tensor({1.0}, f64(true));
    auto unused = tensor({1.0}, f64(true));
    auto y = rg::sum(x * 2.0);
    CHECK_THROWS_WITH_AS(rg::grad(y, {x, unused}, {.retain_graph = true}),
                         doctest::Contains("do not depend on input 1"), rg::Error);
    auto grads = rg::grad(y, {x, unused}, {.allow_unused = true});
    check_values(grads[1], tensor({0.0}, f64()));
}

TEST_CASE("vjp and jvp agree with the Jacobian") {
    rg::manual_seed(11);
    auto a = rg::randn({3, 2}, f64());
    auto f = [a](const TensorList& v) { return rg::tanh(rg::matmul(a, v[0])); };
    auto x = rg::randn({2}, f64());
    auto J = rg::jacobian(f, {x})[0];
    CHECK(J.shape() == rg::Shape{3, 2});
    auto v = rg::randn({3}, f64());
    auto [out, vjp_grads] = rg::vjp(f, {x}, v);
    check_values(out, f({x}), 1e-12);
    check_values(vjp_grads[0], rg::matmul(v, J), 1e-10);
    auto t = rg::randn({2}, f64());
    auto [out2, tangent] = rg::jvp(f, {x}, {t});
    check_values(tangent, rg::matmul(J, t), 1e-10);
    // Closed form: J = diag(1 - tanh²(a x)) a.
    auto th = rg::tanh(rg::matmul(a, x));
    check_values(J, rg::unsqueeze(1.0 - th * th, 1) * a, 1e-12);
}

TEST_CASE("jacobian of softmax is diag(s) - s sᵀ") {
    auto x = tensor({0.5, -1.0, 2.0}, f64());
    auto J = rg::jacobian([](const TensorList& v) { return rg::softmax(v[0]); }, {x})[0];
    auto s = rg::softmax(x);
    auto expected = rg::eye(3, {.dtype = rg::float64}) * rg::unsqueeze(s, 0) - rg::outer(s, s);
    check_values(J, expected, 1e-12);
}

TEST_CASE("hessian and hvp of a quadratic form") {
    // f(x) = ½ xᵀ A x + sin(x₀): H = (A + Aᵀ)/2 + diag(-sin x₀, 0, 0).
    auto A = tensor({{2.0, 1.0, 0.0}, {0.0, 3.0, 1.0}, {1.0, 0.0, 4.0}}, f64());
    auto f = [A](const TensorList& v) {
        return 0.5 * rg::dot(v[0], rg::matmul(A, v[0])) + rg::sin(rg::select(v[0], 0, 0));
    };
    auto x = tensor({0.3, -0.2, 0.7}, f64());
    auto H = rg::hessian(f, x);
    auto expected = (A + rg::transpose(A)) * 0.5;
    expected.value<double>()(0, 0) -= std::sin(0.3);
    check_values(H, expected, 1e-12);
    auto v = tensor({1.0, 2.0, -1.0}, f64());
    check_values(rg::hvp(f, x, v), rg::matmul(H, v), 1e-12);
}

TEST_CASE("Newton's method on a 1-D function uses the Hessian") {
    // f(x) = x⁴/4 - x; minimum at x = 1.
    auto f = [](const TensorList& v) { return rg::sum(rg::pow(v[0], 4.0) * 0.25 - v[0]); };
    auto x = tensor({2.0}, f64());
    for (int i = 0; i < 20; ++i) {
        auto g = rg::vjp(f, {x}, tensor(1.0, f64())).grads[0];
        auto h = rg::hessian(f, x);
        x = x - g / rg::reshape(h, rg::Shape{1});
    }
    CHECK(x.item() == doctest::Approx(1.0).epsilon(1e-12));
}

TEST_CASE("functional API rejects bad arguments") {
    auto x = tensor({1.0, 2.0}, f64());
    auto f = [](const TensorList& v) { return rg::sum(v[0] * v[0]); };
    CHECK_THROWS_WITH_AS(rg::hvp(f, x, tensor({1.0}, f64())), doctest::Contains("hvp: v has shape (1,)"), rg::Error);
    CHECK_THROWS_WITH_AS(rg::hessian([](const TensorList& v) { return v[0]; }, x),
                         doctest::Contains("hessian: f must return a single element"), rg::Error);
    CHECK_THROWS_WITH_AS(rg::jvp(f, {x}, {}), doctest::Contains("jvp: got 0 tangents for 1 inputs"), rg::Error);
    CHECK_THROWS_WITH_AS(rg::gradcheck(f, {x}), doctest::Contains("no input requires grad"), rg::Error);
}
