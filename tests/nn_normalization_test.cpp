// LayerNorm, GroupNorm, RMSNorm: values by hand, gradients against finite
// differences, errors. Agreement with PyTorch is in nn_parity_test.cpp.
#include "helpers.hpp"

using namespace rg::nn;
using rg::Tensor;
using rg::TensorList;
using test::check_values;

TEST_CASE("LayerNorm normalises the last axes with the biased variance") {
    LayerNorm norm(4);
    const Tensor x = rg::tensor({{1.0, 2.0, 3.0, 4.0}, {2.0, 2.0, 2.0, 6.0}});
    // Row 1: mean 2.5, variance 1.25. Row 2: mean 3, variance 3.
    const double a = std::sqrt(1.25 + 1e-5), b = std::sqrt(3.0 + 1e-5);
    check_values(norm(x), rg::tensor({{-1.5 / a, -0.5 / a, 0.5 / a, 1.5 / a}, {-1 / b, -1 / b, -1 / b, 3 / b}}), 1e-6);
    CHECK(norm.named_parameters().size() == 2);
    CHECK(norm.named_parameters()[0].first == "weight");
    CHECK(norm.describe() == "LayerNorm((4,))");
    CHECK(LayerNorm({3, 4}, {.eps = 1e-3, .elementwise_affine = false}).describe() ==
          "LayerNorm((3, 4), eps=0.001, elementwise_affine=false)");
    CHECK(LayerNorm({3, 4}, {.elementwise_affine = false}).parameters().empty());
}

TEST_CASE("LayerNorm, GroupNorm and RMSNorm gradients match finite differences at first and second order") {
    rg::manual_seed(3);
    LayerNorm layer({2, 3});
    GroupNorm group(2, 4);
    RMSNorm rms({3}, {.eps = 1e-3});
    for (Module* m : std::vector<Module*>{&layer, &group, &rms}) {
        m->to(rg::float64);
        for (Tensor p : m->parameters()) {
            rg::NoGrad off;
            p.copy_(rg::randn(p.shape(), {.dtype = rg::float64}));
        }
    }
    test::check_gradients([&](const TensorList& v) { return layer(v[0]); }, {test::rand64({2, 2, 3})});
    test::check_gradients([&](const TensorList& v) { return group(v[0]); }, {test::rand64({2, 4, 3})});
    test::check_gradients([&](const TensorList& v) { return rms(v[0]); }, {test::rand64({2, 3})});
}

TEST_CASE("GroupNorm normalises each group over its channels and positions") {
    GroupNorm norm(2, 4, {.affine = false});
    // Sample 0: group (channels 0, 1) holds 1, 3 and 5, 7; group (2, 3) is constant.
    const Tensor x = rg::tensor({{{1.0, 3.0}, {5.0, 7.0}, {2.0, 2.0}, {2.0, 2.0}}});
    const double s = std::sqrt(5.0 + 1e-5);  // mean 4, variance (9 + 1 + 1 + 9) / 4
    check_values(norm(x), rg::tensor({{{-3 / s, -1 / s}, {1 / s, 3 / s}, {0.0, 0.0}, {0.0, 0.0}}}), 1e-6);
    CHECK(norm.describe() == "GroupNorm(2, 4, affine=false)");
    Sequential net{Linear(3, 4), GroupNorm(2, 4)};
    CHECK(net(rg::randn({5, 3})).shape() == rg::Shape{5, 4});
}

TEST_CASE("RMSNorm's default eps is the machine epsilon of the input's dtype, as PyTorch 2.4") {
    RMSNorm norm(1);
    // y = x / sqrt(x² + eps): about 1 with float64's 2.2e-16, 0.278 with float32's 1.19e-7.
    const double eps32 = std::numeric_limits<float>::epsilon();
    check_values(norm(rg::tensor({1e-4})), rg::tensor({1e-4 / std::sqrt(1e-8 + eps32)}), 1e-5);
    norm.to(rg::float64);
    CHECK(norm(rg::tensor({1e-4}, {.dtype = rg::float64})).item() == doctest::Approx(1.0).epsilon(1e-7));
    CHECK(norm.describe() == "RMSNorm((1,))");
    CHECK(RMSNorm({2, 3}, {.eps = 1e-6}).describe() == "RMSNorm((2, 3), eps=1e-06)");
    CHECK(norm.named_parameters()[0].first == "weight");
}

TEST_CASE("normalisation layers name themselves, the input received and the shape expected") {
    CHECK_THROWS_WITH_AS(LayerNorm(4)(rg::zeros({2, 3})), "LayerNorm((4,)): input has shape (2, 3), expected (..., 4)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(LayerNorm({3, 4})(rg::zeros({4, 3})),
                         "LayerNorm((3, 4)): input has shape (4, 3), expected (..., 3, 4)", rg::Error);
    CHECK_THROWS_WITH_AS(RMSNorm(4)(rg::zeros({3})), "RMSNorm((4,)): input has shape (3,), expected (..., 4)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(GroupNorm(2, 6)(rg::zeros({2, 4, 3})),
                         "GroupNorm(2, 6): input has shape (2, 4, 3), expected (batch, 6, ...)", rg::Error);
    CHECK_THROWS_WITH_AS(GroupNorm(4, 6), "GroupNorm: num_channels (6) must be a positive multiple of num_groups (4)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(LayerNorm({3, 0}), "LayerNorm: normalized_shape must have positive sizes, got (3, 0)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(LayerNorm(4)(rg::zeros({2, 4}, {.dtype = rg::float64})),
                         "LayerNorm((4,)): input is float64 but the layer is float32; convert one with .to() or "
                         "module.to()",
                         rg::Error);
}

TEST_CASE("rg::layer_norm is the textbook formula, strided input and bfloat16 included") {
    rg::manual_seed(4);
    const Tensor x = test::rand64({2, 3, 4}, false), w = test::rand64({3, 4}, false), b = test::rand64({3, 4}, false);
    const rg::Axes axes{-2, -1};
    const Tensor centred = x - rg::mean(x, axes, true);
    const Tensor expected = centred / rg::sqrt(rg::mean(centred * centred, axes, true) + 1e-3) * w + b;
    check_values(rg::layer_norm(x, {3, 4}, w, b, 1e-3), expected, 1e-12);
    check_values(rg::layer_norm(x.to(rg::float32), {3, 4}, w.to(rg::float32), b.to(rg::float32), 1e-3),
                 expected.to(rg::float32), 1e-5);
    // A strided input (the columns of a transpose) is read in place of a copy.
    const Tensor t = rg::transpose(test::rand64({5, 6}, false), 0, 1);
    check_values(rg::layer_norm(t, {5}), rg::layer_norm(t.contiguous(), {5}), 1e-14);
    // bfloat16 computed in float32, rounded once.
    const Tensor h = rg::layer_norm(x.to(rg::bfloat16), {4});
    CHECK(h.dtype() == rg::bfloat16);
    check_values(h.to(rg::float64), rg::layer_norm(x, {4}), 2e-2);
}

TEST_CASE("rg::layer_norm's gradients, and its backward's, match finite differences at first and second order") {
    rg::manual_seed(5);
    test::check_gradients([](const TensorList& v) { return rg::layer_norm(v[0], {3}, v[1], v[2], 1e-3); },
                          {test::rand64({4, 3}), test::rand64({3}), test::rand64({3})});
    test::check_gradients([](const TensorList& v) { return rg::layer_norm(v[0], {2, 3}, v[1]); },
                          {test::rand64({2, 2, 3}), test::rand64({2, 3})});
    test::check_gradients([](const TensorList& v) { return rg::layer_norm_backward(v[0], v[1], v[2], {3}, 1e-3); },
                          {test::rand64({4, 3}), test::rand64({4, 3}), test::rand64({3})});
    // The module records one op.
    LayerNorm norm(3);
    norm.to(rg::float64);
    const Tensor x = test::rand64({4, 3});
    CHECK(norm(x).grad_fn()->op() == "layer_norm");
}

TEST_CASE("rg::layer_norm names itself, the shapes or values received and what it expected") {
    const Tensor x = rg::zeros({2, 3});
    CHECK_THROWS_WITH_AS(rg::layer_norm(x, {4}),
                         "layer_norm: input of shape (2, 3) does not end with normalized_shape (4,)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::layer_norm(x, {}), "layer_norm: normalized_shape is empty; expected at least one size",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::layer_norm(x, {0}),
                         "layer_norm: normalized_shape (0,) has a size <= 0; expected positive sizes", rg::Error);
    CHECK_THROWS_WITH_AS(rg::layer_norm(x, {3}, rg::ones({4})),
                         "layer_norm: weight of shape (4,); expected normalized_shape (3,)", rg::Error);
    CHECK_THROWS_WITH_AS(rg::layer_norm(x, {3}, {}, rg::ones({3}, {.dtype = rg::float64})),
                         "layer_norm: bias is float64 but the input is float32; expected one dtype", rg::Error);
    CHECK_THROWS_WITH_AS(rg::layer_norm(rg::zeros({2, 3}, {.dtype = rg::int64}), {3}),
                         "layer_norm: input is int64; expected float32 or float64", rg::Error);
    CHECK_THROWS_WITH_AS(rg::layer_norm(x, {3}, {}, {}, -1.0), "layer_norm: eps must be finite and >= 0, got -1",
                         rg::Error);
    CHECK_THROWS_WITH_AS(rg::layer_norm_backward(rg::zeros({3, 2}), x, {}, {3}),
                         "layer_norm_backward: operands of shapes (3, 2) and (2, 3); expected equal shapes", rg::Error);
}
