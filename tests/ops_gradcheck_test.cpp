// Every differentiable op, gradchecked in float64 at first and second order
// on random shapes, broadcasting cases included.
#include "helpers.hpp"

using rg::Tensor;
using rg::TensorList;
using test::check_gradients;
using test::rand64;
using test::uniform64;

namespace {

// A random shape of the given rank with sizes 1 to 4 (seeded per test case).
rg::Shape random_shape(std::size_t rank) {
    rg::Shape s;
    for (std::size_t i = 0; i < rank; ++i) s.push_back(1 + rg::random_u64() % 4);
    return s;
}

}  // namespace

TEST_CASE("gradcheck: broadcasting binary ops") {
    rg::manual_seed(1);
    const std::vector<std::pair<rg::Shape, rg::Shape>> shapes = {{{3, 1}, {1, 4}},
                                                                 {{2, 3, 4}, {4}},
                                                                 {{2, 3}, {2, 3}},
                                                                 {{}, {2, 2}},
                                                                 {{3}, {2, 1, 3}}};
    for (const auto& pair : shapes) {
        const rg::Shape& sa = pair.first;  // not structured bindings: CAPTURE's lambda (clang 14)
        const rg::Shape& sb = pair.second;
        CAPTURE(rg::shape_str(sa));
        CAPTURE(rg::shape_str(sb));
        auto a = rand64(sa);
        auto b = rand64(sb);
        check_gradients([](const TensorList& v) { return v[0] + v[1]; }, {a, b});
        check_gradients([](const TensorList& v) { return v[0] - v[1]; }, {a, b});
        check_gradients([](const TensorList& v) { return v[0] * v[1]; }, {a, b});
        check_gradients([](const TensorList& v) { return rg::minimum(v[0], v[1]); }, {a, b});
        check_gradients([](const TensorList& v) { return rg::maximum(v[0], v[1]); }, {a, b});
        auto positive = uniform64(sb, 0.5, 2.0);
        check_gradients([](const TensorList& v) { return v[0] / v[1]; }, {a, positive});
        check_gradients([](const TensorList& v) { return rg::pow(v[1], v[0]); }, {a, positive});
        auto mask = rg::gt(rg::randn(sa), 0.0);
        check_gradients([mask](const TensorList& v) { return rg::where(mask, v[0], v[1]); }, {a, b});
    }
}

TEST_CASE("gradcheck: scalar operands") {
    rg::manual_seed(2);
    auto x = uniform64(random_shape(2), 0.5, 2.0);
    check_gradients([](const TensorList& v) { return v[0] + 3.0; }, {x});
    check_gradients([](const TensorList& v) { return 3.0 - v[0]; }, {x});
    check_gradients([](const TensorList& v) { return v[0] * -2.5; }, {x});
    check_gradients([](const TensorList& v) { return v[0] / 4.0; }, {x});
    check_gradients([](const TensorList& v) { return 2.0 / v[0]; }, {x});
    check_gradients([](const TensorList& v) { return rg::pow(v[0], 3.0); }, {x});
    check_gradients([](const TensorList& v) { return rg::pow(v[0], 2.0); }, {x});
    check_gradients([](const TensorList& v) { return rg::pow(v[0], -0.5); }, {x});
    check_gradients([](const TensorList& v) { return rg::rpow(2.0, v[0]); }, {x});
    check_gradients([](const TensorList& v) { return -v[0]; }, {x});
}

TEST_CASE("gradcheck: unary functions") {
    rg::manual_seed(3);
    const std::vector<std::pair<const char*, rg::Function>> everywhere = {
        {"exp", [](const TensorList& v) { return rg::exp(v[0]); }},
        {"sin", [](const TensorList& v) { return rg::sin(v[0]); }},
        {"cos", [](const TensorList& v) { return rg::cos(v[0]); }},
        {"tanh", [](const TensorList& v) { return rg::tanh(v[0]); }},
        {"sigmoid", [](const TensorList& v) { return rg::sigmoid(v[0]); }},
        {"softplus", [](const TensorList& v) { return rg::softplus(v[0]); }},
        {"atan", [](const TensorList& v) { return rg::atan(v[0]); }},
        {"square", [](const TensorList& v) { return rg::square(v[0]); }},
        // Piecewise ops: random inputs avoid the kinks, where only one-sided
        // derivatives exist.
        {"abs", [](const TensorList& v) { return rg::abs(v[0]); }},
        {"relu", [](const TensorList& v) { return rg::relu(v[0]); }},
        {"leaky_relu", [](const TensorList& v) { return rg::leaky_relu(v[0], 0.2); }},
        {"elu", [](const TensorList& v) { return rg::elu(v[0], 0.7); }},
        {"clamp", [](const TensorList& v) { return rg::clamp(v[0], -0.5, 0.5); }},
        {"step", [](const TensorList& v) { return rg::step(v[0]); }},
        {"sign", [](const TensorList& v) { return rg::sign(v[0]); }},
    };
    for (const auto& entry : everywhere) {
        const auto& name = entry.first;  // not structured bindings: CAPTURE's lambda (clang 14)
        const auto& f = entry.second;
        CAPTURE(name);
        check_gradients(f, {rand64(random_shape(2))});
    }
    auto positive = uniform64(random_shape(3), 0.2, 3.0);
    check_gradients([](const TensorList& v) { return rg::log(v[0]); }, {positive});
    check_gradients([](const TensorList& v) { return rg::sqrt(v[0]); }, {positive});
}

TEST_CASE("gradcheck: reductions with axes and keepdims") {
    rg::manual_seed(4);
    auto x = rand64({2, 3, 4});
    for (bool keep : {false, true}) {
        for (const rg::Axes& axes : std::vector<rg::Axes>{{}, {0}, {1}, {-1}, {0, 2}}) {
            CAPTURE(keep);
            CAPTURE(axes.size());
            check_gradients([&](const TensorList& v) { return rg::sum(v[0], axes, keep); }, {x});
            check_gradients([&](const TensorList& v) { return rg::mean(v[0], axes, keep); }, {x});
            check_gradients([&](const TensorList& v) { return rg::max(v[0], axes, keep); }, {x});
            check_gradients([&](const TensorList& v) { return rg::min(v[0], axes, keep); }, {x});
            check_gradients([&](const TensorList& v) { return rg::logsumexp(v[0], axes, keep); }, {x});
            check_gradients([&](const TensorList& v) { return rg::var(v[0], axes, keep); }, {x});
        }
    }
}

TEST_CASE("gradcheck: matmul in all its forms") {
    rg::manual_seed(5);
    auto mm = [](const TensorList& v) { return rg::matmul(v[0], v[1]); };
    check_gradients(mm, {rand64({3, 4}), rand64({4, 2})});
    check_gradients(mm, {rand64({4}), rand64({4, 2})});
    check_gradients(mm, {rand64({3, 4}), rand64({4})});
    check_gradients(mm, {rand64({4}), rand64({4})});
    check_gradients(mm, {rand64({2, 3, 4}), rand64({4, 2})});
    check_gradients(mm, {rand64({2, 1, 3, 4}), rand64({3, 4, 2})});
    for (bool ta : {false, true}) {
        for (bool tb : {false, true}) {
            auto a = ta ? rand64({4, 3}) : rand64({3, 4});
            auto b = tb ? rand64({2, 4}) : rand64({4, 2});
            check_gradients([ta, tb](const TensorList& v) { return rg::gemm(v[0], v[1], ta, tb); }, {a, b});
            auto batched = ta ? rand64({3, 4, 3}) : rand64({3, 3, 4});
            check_gradients([ta, tb](const TensorList& v) { return rg::gemm(v[0], v[1], ta, tb); }, {batched, b});
        }
    }
    for (bool ta : {false, true}) {
        for (bool tb : {false, true}) {
            auto a = ta ? rand64({2, 4, 3}) : rand64({2, 3, 4});
            auto b = tb ? rand64({2, 5, 4}) : rand64({2, 4, 5});
            check_gradients([ta, tb](const TensorList& v) { return rg::gemm_sum(v[0], v[1], ta, tb); }, {a, b});
        }
    }
    // A weight shared by a batch gets its gradient through gemm_sum.
    check_gradients([](const TensorList& v) { return rg::gemm(v[0], v[1], false, true); },
                    {rand64({3, 4}), rand64({2, 5, 4})});
    check_gradients([](const TensorList& v) { return rg::dot(v[0], v[1]); }, {rand64({5}), rand64({5})});
    check_gradients([](const TensorList& v) { return rg::outer(v[0], v[1]); }, {rand64({3}), rand64({2})});
    check_gradients([](const TensorList& v) { return rg::transpose(v[0]); }, {rand64({2, 3})});
    check_gradients([](const TensorList& v) { return rg::permute(v[0], {1, 2, 0}); }, {rand64({2, 3, 4})});
}

TEST_CASE("gradcheck: shape and indexing ops") {
    rg::manual_seed(6);
    auto x = rand64({2, 3, 4});
    check_gradients([](const TensorList& v) { return rg::reshape(v[0], std::vector<long>{4, -1}); }, {x});
    check_gradients([](const TensorList& v) { return rg::flatten(v[0], 1); }, {x});
    check_gradients([](const TensorList& v) { return rg::unsqueeze(v[0], 1); }, {x});
    check_gradients([](const TensorList& v) { return rg::squeeze(v[0]); }, {rand64({1, 3, 1})});
    check_gradients([](const TensorList& v) { return rg::broadcast_to(v[0], {2, 3, 4}); }, {rand64({3, 1})});
    check_gradients([](const TensorList& v) { return rg::sum_to(v[0], {3, 1}); }, {x});
    check_gradients([](const TensorList& v) { return rg::slice(v[0], 2, 1, 4, 2); }, {x});
    check_gradients([](const TensorList& v) { return rg::select(v[0], 1, -1); }, {x});
    check_gradients([](const TensorList& v) { return rg::slice_scatter(v[0], {2, 5, 4}, 1, 1, 4); }, {x});
    auto idx = rg::from_indices({2, 0, 2, 1});
    check_gradients([idx](const TensorList& v) { return rg::index_select(v[0], 2, idx); }, {x});
    check_gradients([idx](const TensorList& v) { return rg::index_add(v[0], {2, 3, 3}, 2, idx); }, {x});
    auto index = rg::randint(0, 4, {2, 3, 2});
    check_gradients([index](const TensorList& v) { return rg::gather(v[0], 2, index); }, {x});
    check_gradients([index](const TensorList& v) { return rg::scatter_add(v[0], {2, 3, 5}, 2, index); },
                    {rand64({2, 3, 2})});
    check_gradients([](const TensorList& v) { return rg::concat({v[0], v[1], v[0]}, 1); },
                    {rand64({2, 3}), rand64({2, 1})});
    check_gradients([](const TensorList& v) { return rg::stack({v[0], v[1]}, 1); }, {rand64({2, 3}), rand64({2, 3})});
    check_gradients([](const TensorList& v) { return rg::pad(v[0], {0, 1, 1, 2}, 0.5); }, {rand64({2, 3})});
    // Through float32 the finite differences only carry float32 precision.
    auto cast = rg::gradcheck([](const TensorList& v) { return v[0].to(rg::float32).to(rg::float64); }, {x},
                              {.eps = 1e-2, .atol = 1e-3, .rtol = 1e-3});
    CHECK_MESSAGE(cast.ok, cast.report);
    check_gradients([](const TensorList& v) { return v[0].clone(); }, {x});
}

TEST_CASE("gradcheck: softmax and log_softmax along each axis") {
    rg::manual_seed(7);
    auto x = rand64({3, 4});
    for (int axis : {0, 1, -1}) {
        CAPTURE(axis);
        check_gradients([axis](const TensorList& v) { return rg::softmax(v[0], axis); }, {x});
        check_gradients([axis](const TensorList& v) { return rg::log_softmax(v[0], axis); }, {x});
    }
}

TEST_CASE("gradcheck: a composite, a small MLP loss") {
    rg::manual_seed(8);
    auto x = rand64({5, 3}, false);
    auto w1 = rand64({3, 4});
    auto b1 = rand64({4});
    auto w2 = rand64({4, 2});
    auto f = [x](const TensorList& v) {
        auto h = rg::tanh(rg::matmul(x, v[0]) + v[1]);
        return rg::mean(rg::log_softmax(rg::matmul(h, v[2]), 1));
    };
    check_gradients(f, {w1, b1, w2});
}

TEST_CASE("gradcheck reports the input, the element and both values when a VJP is wrong") {
    auto wrong = [](const TensorList& v) {
        return rg::custom_op(
            "wrong_square", {v[0]}, [](const TensorList& in) { return in[0] * in[0]; },
            [](const TensorList& in, const Tensor& g) { return TensorList{g * in[0] * 3.0}; });
    };
    auto x = rg::tensor({1.0, 2.0}, {.dtype = rg::float64, .requires_grad = true});
    auto result = rg::gradcheck(wrong, {x});
    CHECK_FALSE(result.ok);
    CHECK(result.report.find("input 0") != std::string::npos);
    CHECK(result.report.find("d output[0] / d input 0[0]: analytic 3, numeric 2") != std::string::npos);
}

TEST_CASE("gradcheck: a float32 tensor captured by f is named, since gradcheck converted the inputs to float64") {
    auto x = rg::tensor({1.0, 2.0}, {.requires_grad = true});  // float32, as a user's tensors usually are
    auto w = rg::tensor({3.0, 4.0});  // captured, float32
    CHECK_THROWS_WITH_AS(rg::gradcheck([&](const rg::TensorList& in) { return rg::sum(in[0] * w); }, {x}),
                         "gradcheck: f failed in float64 (mul: dtype mismatch, float64 and float32): gradcheck "
                         "converted its inputs to float64 (input 0 (2,)), but the second operand of 'mul' is still "
                         "float32: a tensor f captured rather than received as an input. Create it with {.dtype = "
                         "rg::float64} or .to(rg::float64), or pass it to gradcheck as an input (one that does not "
                         "require grad is held constant)",
                         rg::Error);
    // Passed as an input it is converted too, and held constant.
    CHECK(rg::gradcheck([](const rg::TensorList& in) { return rg::sum(in[0] * in[1]); }, {x, w}).ok);
    CHECK_THROWS_WITH_AS(rg::gradgradcheck([&](const rg::TensorList& in) { return rg::sum(in[0] * in[0] * w); }, {x}),
                         doctest::Contains("gradgradcheck: f failed in float64 (mul: dtype mismatch"), rg::Error);
}
