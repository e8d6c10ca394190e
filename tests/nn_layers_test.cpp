// Layers and activations: values by hand, gradcheck through whole modules in
// float64, shape errors.
#include <algorithm>
#include <cmath>
#include <functional>

#include "helpers.hpp"

using namespace rg::nn;
using rg::Tensor;
using rg::TensorList;
using test::check_values;
using test::f64;

namespace {

// Gradchecks module(x) with respect to x and to every parameter.
void check_module(Module& module, const Tensor& x) {
    module.to(rg::float64);
    auto params = module.parameters();
    auto result = rg::gradcheck([&module](const TensorList& v) { return module(v[0]); }, {x});
    CHECK_MESSAGE(result.ok, result.report);
    // The parameters live inside the module, so their finite differences
    // perturb them in place.
    Tensor out = module(x.detach());
    Tensor v = rg::randn(out.shape(), f64());
    auto grads = rg::grad({out}, params, {v}, {.allow_unused = true});
    for (std::size_t i = 0; i < params.size(); ++i) {
        auto& data = params[i].value<double>();
        for (std::size_t k = 0; k < data.size(); ++k) {
            const double saved = data.data()[k];
            const double eps = 1e-6;
            data.data()[k] = saved + eps;
            double plus, minus;
            {
                rg::NoGrad off;
                plus = rg::sum(module(x.detach()) * v).item();
                data.data()[k] = saved - eps;
                minus = rg::sum(module(x.detach()) * v).item();
            }
            data.data()[k] = saved;
            const double numeric = (plus - minus) / (2 * eps);
            const double analytic = grads[i].value<double>().data()[k];
            CHECK_MESSAGE(std::abs(numeric - analytic) <= 1e-5 + 1e-4 * std::abs(numeric),
                          "parameter " << i << " element " << k << ": analytic " << analytic << ", numeric "
                                       << numeric);
        }
    }
}
}  // namespace

TEST_CASE("Linear computes x Wᵀ + b with PyTorch's layout and init bounds") {
    rg::manual_seed(3);
    Linear fc(3, 2);
    CHECK(fc.weight.shape() == rg::Shape{2, 3});
    CHECK(fc.bias.shape() == rg::Shape{2});
    CHECK(rg::max(rg::abs(fc.weight)).item() <= 1.0 / std::sqrt(3.0));
    {
        rg::NoGrad off;
        fc.weight.copy_(rg::tensor({{1.0, 2.0, 3.0}, {0.0, -1.0, 1.0}}));
        fc.bias.copy_(rg::tensor({0.5, -0.5}));
    }
    check_values(fc(rg::tensor({{1.0, 1.0, 1.0}})), rg::tensor({{6.5, -0.5}}));
    check_values(fc(rg::tensor({1.0, 0.0, 0.0})), rg::tensor({1.5, -0.5}));
    CHECK_THROWS_WITH_AS(fc(rg::ones({2, 4})), "Linear(3, 2): input has shape (2, 4), expected (..., 3)", rg::Error);
    check_module(fc, rg::randn({4, 3}, f64(true)));
}

TEST_CASE("Conv2d and the pools as modules") {
    rg::manual_seed(4);
    Conv2d conv(2, 3, 3, {.stride = {2, 2}, .padding = {1, 1}});
    CHECK(conv.weight.shape() == rg::Shape{3, 2, 3, 3});
    CHECK(conv(rg::zeros({1, 2, 7, 7})).shape() == rg::Shape{1, 3, 4, 4});
    check_module(conv, rg::randn({2, 2, 5, 5}, f64(true)));
    CHECK(MaxPool2d(2)(rg::zeros({1, 1, 4, 6})).shape() == rg::Shape{1, 1, 2, 3});
    CHECK(AvgPool2d(3, {.stride = {1, 1}})(rg::zeros({1, 1, 4, 6})).shape() == rg::Shape{1, 1, 2, 4});
    CHECK(Flatten()(rg::zeros({2, 3, 4})).shape() == rg::Shape{2, 12});
}

TEST_CASE("BatchNorm normalises in training and uses running statistics in eval") {
    BatchNorm1d bn(2, {.momentum = 0.5});
    auto x = rg::tensor({{1.0, 10.0}, {3.0, 30.0}});
    auto y = bn(x);
    check_values(y, rg::tensor({{-1.0, -1.0}, {1.0, 1.0}}), 1e-4);
    // running = 0.5 * old + 0.5 * batch; the variance is the unbiased one.
    check_values(bn.running_mean, rg::tensor({1.0, 10.0}));
    check_values(bn.running_var, rg::tensor({0.5 + 0.5 * 2.0, 0.5 + 0.5 * 200.0}));
    bn.eval();
    check_values(bn(rg::tensor({{1.0, 10.0}})), rg::tensor({{0.0, 0.0}}), 1e-4);
    BatchNorm2d bn2(3);
    bn2.to(rg::float64);
    CHECK(bn2(rg::randn({2, 3, 4, 4}, f64())).shape() == rg::Shape{2, 3, 4, 4});
    rg::manual_seed(5);
    BatchNorm2d checked(2);
    check_module(checked, rg::randn({3, 2, 2, 2}, f64(true)));
    CHECK_THROWS_WITH_AS(bn2(rg::zeros({2, 4, 4, 4}, {.dtype = rg::float64})),
                         doctest::Contains("BatchNorm2d(3): input has shape (2, 4, 4, 4)"), rg::Error);
    // describe() names the options that differ from PyTorch's defaults.
    CHECK(BatchNorm1d(4, {.eps = 1e-3, .momentum = std::nullopt}).describe() ==
          "BatchNorm1d(4, eps=0.001, momentum=nullopt)");
    CHECK(BatchNorm2d(2, {.momentum = 0.3, .affine = false, .track_running_stats = false}).describe() ==
          "BatchNorm2d(2, momentum=0.3, affine=false, track_running_stats=false)");
}

TEST_CASE("celu, glu, softmin, the shrinks, threshold and rrelu: values, corners, gradients at both orders") {
    const Tensor x = rg::tensor({-2.0, -0.5, 0.0, 0.5, 2.0}, f64());
    check_values(celu(x, 2.0), rg::tensor({2 * std::expm1(-1.0), 2 * std::expm1(-0.25), 0.0, 0.5, 2.0}, f64()));
    check_values(softshrink(x, 0.5), rg::tensor({-1.5, 0.0, 0.0, 0.0, 1.5}, f64()));
    check_values(hardshrink(x, 0.5), rg::tensor({-2.0, 0.0, 0.0, 0.0, 2.0}, f64()));
    check_values(threshold(x, 0.0, 9.0), rg::tensor({9.0, 9.0, 9.0, 0.5, 2.0}, f64()));
    check_values(tanhshrink(x), x - rg::tanh(x));
    check_values(softmin(x, 0), rg::softmax(-x, 0));
    // PyTorch's gradients on the edges of the dead zones: 0 at |x| = lambda for both shrinks.
    const auto grad_at = [](const std::function<Tensor(const Tensor&)>& f, double v) {
        Tensor t = rg::tensor({v}, f64(true));
        f(t).sum().backward();
        return t.grad().item();
    };
    CHECK(grad_at([](const Tensor& t) { return softshrink(t, 0.5); }, 0.5) == 0.0);
    CHECK(grad_at([](const Tensor& t) { return hardshrink(t, 0.5); }, -0.5) == 0.0);
    CHECK(grad_at([](const Tensor& t) { return celu(t, 2.0); }, 0.0) == 1.0);
    // A large x: celu's unused branch stays finite, so its gradient is 1, not NaN.
    CHECK(grad_at([](const Tensor& t) { return celu(t, 0.01); }, 50.0) == 1.0);
    const Tensor m = rg::tensor({{0.3, -1.2, 0.8, 1.5}, {-0.7, 0.4, -1.1, 0.9}}, f64(true));
    test::check_gradients([](const TensorList& v) { return celu(v[0], 0.7); }, {m});
    test::check_gradients([](const TensorList& v) { return glu(v[0], 1); }, {m});
    test::check_gradients([](const TensorList& v) { return glu(v[0], 0); }, {m});
    test::check_gradients([](const TensorList& v) { return softmin(v[0], 1); }, {m});
    test::check_gradients([](const TensorList& v) { return tanhshrink(v[0]); }, {m});
    test::check_gradients([](const TensorList& v) { return softshrink(v[0], 0.2); }, {m});
    check_values(glu(m, 1), rg::narrow(m, 1, 0, 2) * rg::sigmoid(rg::narrow(m, 1, 2, 2)));
    // rrelu in training: each negative x times its own slope from [lower, upper), which is also its gradient.
    rg::manual_seed(11);
    const Tensor negative = rg::full({1000}, -1.0, f64(true));
    const Tensor y = rrelu(negative, 0.1, 0.3, true);
    y.sum().backward();
    const std::vector<double> slopes = (-y).to_vector();
    CHECK(*std::min_element(slopes.begin(), slopes.end()) >= 0.1);
    CHECK(*std::max_element(slopes.begin(), slopes.end()) < 0.3);
    CHECK(slopes.front() != slopes.back());
    check_values(negative.grad(), -y.detach(), 0);
    check_values(rrelu(rg::tensor({2.0}, f64()), 0.1, 0.3, true), rg::tensor({2.0}, f64()), 0);
    RReLU layer(0.1, 0.3);
    layer.eval();
    check_values(layer(x), rg::leaky_relu(x, 0.2));
    CHECK(layer.describe() == "RReLU(lower=0.1, upper=0.3)");
    check_values(Softmax2d()(rg::zeros({2, 3, 1, 1})), rg::full({2, 3, 1, 1}, 1.0 / 3), 1e-7);
    CHECK(GLU().describe() == "GLU(dim=-1)");
    CHECK(Threshold(0.1, 20).describe() == "Threshold(threshold=0.1, value=20)");
    CHECK_THROWS_WITH_AS(glu(rg::zeros({2, 3}), 1),
                         "glu: the size 3 of axis 1 of input (2, 3) is odd; expected halves of one size", rg::Error);
    CHECK_THROWS_WITH_AS(glu(rg::zeros({2, 4}), 2), "glu: dim 2 is out of range for input (2, 4)", rg::Error);
    CHECK_THROWS_WITH_AS(CELU(0.0), "CELU: alpha must not be 0 or NaN, got 0", rg::Error);
    CHECK_THROWS_WITH_AS(softshrink(x, -1), "softshrink: lambda must be >= 0, got -1", rg::Error);
    CHECK_THROWS_WITH_AS(Softshrink(NAN), "Softshrink: lambda must be >= 0, got nan", rg::Error);
    CHECK_THROWS_WITH_AS(RReLU(0.5, 0.1), "RReLU: lower 0.5 must not exceed upper 0.1", rg::Error);
    CHECK_THROWS_WITH_AS(tanhshrink(rg::from_indices({1, 2})),
                         "tanhshrink: expected a float32 or float64 tensor, got int64", rg::Error);
    CHECK_THROWS_WITH_AS(Softmax2d()(rg::zeros({2, 3})), "Softmax2d: expected (N, C, H, W) or (C, H, W), got (2, 3)",
                         rg::Error);
}

TEST_CASE("BatchNorm counts its batches, averages them all without momentum, and can keep no statistics") {
    BatchNorm1d counted(2);
    CHECK(counted.named_buffers().size() == 3);
    CHECK(counted.named_buffers()[2].first == "num_batches_tracked");
    counted(rg::tensor({{1.0, 2.0}, {3.0, 5.0}}));
    counted(rg::tensor({{1.0, 2.0}, {3.0, 5.0}}));
    counted.eval();
    counted(rg::tensor({{1.0, 2.0}}));  // evaluation does not count
    CHECK(counted.num_batches_tracked.item() == 2);
    // momentum = nullopt: the running mean is the plain average of every batch's mean, as PyTorch's
    // cumulative moving average (momentum 1 / num_batches_tracked).
    BatchNorm1d cumulative(1, {.momentum = std::nullopt});
    const std::vector<double> means{2.0, 6.0, 1.0};
    for (double m : means) cumulative(rg::tensor({{m - 1.0}, {m + 1.0}}));
    check_values(cumulative.running_mean, rg::tensor({3.0}), 1e-6);
    check_values(cumulative.running_var, rg::tensor({2.0}), 1e-6);  // each batch's unbiased variance is 2
    // Without running statistics: no buffers, and evaluation normalises with the batch's statistics.
    BatchNorm1d untracked(2, {.track_running_stats = false});
    CHECK(untracked.named_buffers().empty());
    CHECK_FALSE(untracked.running_mean.defined());
    const Tensor x = rg::tensor({{1.0, 10.0}, {3.0, 30.0}});
    const Tensor trained = untracked(x);
    untracked.eval();
    check_values(untracked(x), trained, 0);
    check_values(trained, rg::tensor({{-1.0, -1.0}, {1.0, 1.0}}), 1e-4);
    CHECK_THROWS_WITH_AS(untracked(rg::tensor({{1.0, 10.0}})),
                         "BatchNorm1d: evaluation without running statistics needs more than one value per feature, "
                         "got input (1, 2)",
                         rg::Error);
}

TEST_CASE("Embedding looks rows up for int64 indices of any shape") {
    rg::manual_seed(6);
    Embedding emb(5, 3);
    auto idx = rg::from_indices({4, 0, 4, 1}, {2, 2});
    auto out = emb(idx);
    CHECK(out.shape() == rg::Shape{2, 2, 3});
    check_values(rg::select(rg::select(out, 0, 0), 0, 0), rg::select(emb.weight, 0, 4));
    rg::sum(out).backward();
    check_values(rg::select(emb.weight.grad(), 1, 0), rg::tensor({1.0, 1.0, 0.0, 0.0, 2.0}));
    CHECK_THROWS_WITH_AS(emb(rg::from_indices({5})), "index_select: index 5 out of range for axis 0 of size 5",
                         rg::Error);
    CHECK_THROWS_AS(emb(rg::tensor({1.0})), rg::Error);
}

TEST_CASE("ReLU with inplace writes into its input, and trains as ReLU does") {
    const Tensor x = rg::tensor({-2.0, -0.5, 0.5, 2.0}, f64());
    Tensor input = x.clone();
    ReLU inplace({.inplace = true});
    CHECK(inplace.describe() == "ReLU(inplace=true)");
    CHECK(ReLU().describe() == "ReLU()");
    const Tensor out = inplace(input);
    CHECK(out.data_ptr() == input.data_ptr());
    check_values(input, rg::tensor({0.0, 0.0, 0.5, 2.0}, f64()), 0.0);
    // The same network with either ReLU: equal outputs and parameter gradients.
    rg::manual_seed(3);
    Sequential plain{Conv2d(2, 3, 3), ReLU(), MaxPool2d(2), Flatten(), Linear(12, 2), ReLU()};
    rg::manual_seed(3);
    Sequential written{Conv2d(2, 3, 3), ReLU({.inplace = true}), MaxPool2d(2),
                       Flatten(),       Linear(12, 2),           ReLU({.inplace = true})};
    plain.to(rg::float64);
    written.to(rg::float64);
    const Tensor images = rg::randn({2, 2, 6, 6}, f64());
    const Tensor a = plain(images), b = written(images);
    check_values(a, b, 0.0);
    rg::sum(a * a).backward();
    rg::sum(b * b).backward();
    const auto pa = plain.parameters(), pb = written.parameters();
    REQUIRE(pa.size() == pb.size());
    for (std::size_t i = 0; i < pa.size(); ++i) check_values(pa[i].grad(), pb[i].grad(), 0.0);
    // Its input a leaf that requires grad: refused, as torch's ReLU(inplace=True).
    CHECK_THROWS_WITH_AS(inplace(rg::ones({2}, {.requires_grad = true})),
                         doctest::Contains("relu_: in-place write to a leaf of shape (2,) that requires grad"),
                         rg::Error);
}

TEST_CASE("activation modules follow the course's activation table") {
    auto x = rg::tensor({-2.0, -0.5, 0.5, 2.0}, f64());
    check_values(Identity()(x), x);
    check_values(Step()(x), rg::tensor({0.0, 0.0, 1.0, 1.0}, f64()));
    check_values(Sigmoid()(x), rg::sigmoid(x));
    check_values(Tanh()(x), rg::tanh(x));
    check_values(Arctan()(x), rg::atan(x));
    check_values(ReLU()(x), rg::tensor({0.0, 0.0, 0.5, 2.0}, f64()));
    check_values(LeakyReLU(0.1)(x), rg::tensor({-0.2, -0.05, 0.5, 2.0}, f64()));
    check_values(ELU(1.0)(x), rg::elu(x));
    check_values(SoftPlus()(x), rg::softplus(x));
    check_values(Softmax()(x), rg::softmax(x));
    check_values(LogSoftmax()(x), rg::log_softmax(x));
    PReLU shared;
    CHECK(shared.named_parameters().at(0).first == "weight");  // PyTorch's name: its state dicts load
    shared.to(rg::float64);
    check_values(shared(x), rg::tensor({-0.5, -0.125, 0.5, 2.0}, f64()));
    check_module(shared, rg::randn({3, 4}, f64(true)));
    PReLU per_channel(2, 0.1);
    per_channel.to(rg::float64);
    auto images = rg::tensor({{{{-1.0}}, {{-1.0}}}}, f64());
    {
        rg::NoGrad off;
        per_channel.weight.copy_(rg::tensor({0.1, 0.3}));
    }
    check_values(per_channel(images), rg::tensor({{{{-0.1}}, {{-0.3}}}}, f64()));
    check_module(per_channel, rg::randn({2, 2, 3}, f64(true)));
    CHECK_THROWS_WITH_AS(per_channel(rg::zeros({2, 3}, {.dtype = rg::float64})),
                         doctest::Contains("prelu: alpha has shape (2,)"), rg::Error);
}

TEST_CASE("the activation modules of recent networks wrap their ops, with PyTorch's names and arguments") {
    auto x = rg::tensor({-2.0, -0.5, 0.5, 2.0}, f64());
    check_values(GELU()(x), rg::gelu(x));
    check_values(GELU("tanh")(x), rg::gelu(x, "tanh"));
    check_values(SiLU()(x), rg::silu(x));
    check_values(Mish()(x), rg::mish(x));
    check_values(Hardtanh()(x), rg::tensor({-1.0, -0.5, 0.5, 1.0}, f64()));
    check_values(Hardtanh(0.0, 6.0)(x), rg::tensor({0.0, 0.0, 0.5, 2.0}, f64()));
    check_values(Hardsigmoid()(x), rg::hardsigmoid(x));
    check_values(LogSigmoid()(x), rg::logsigmoid(x));
    check_values(Softsign()(x), rg::softsign(x));
    check_values(Hardswish()(x), rg::hardswish(x));
    check_values(ReLU6()(x), rg::tensor({0.0, 0.0, 0.5, 2.0}, f64()));
    check_values(SELU()(x), rg::selu(x));
    CHECK(GELU().describe() == "GELU(approximate='none')");
    CHECK(Hardswish().describe() == "Hardswish()");
    CHECK(ReLU6().describe() == "ReLU6()");
    CHECK(SELU().describe() == "SELU()");
    Sequential mobile{Linear(4, 3), Hardswish(), Linear(3, 3), ReLU6(), Linear(3, 2), SELU()};
    const std::string text = summary(mobile, {2, 4});
    CHECK(text.find("1: Hardswish() ") != std::string::npos);
    CHECK(text.find("3: ReLU6() ") != std::string::npos);
    CHECK(text.find("5: SELU() ") != std::string::npos);
    CHECK(mobile(rg::randn({2, 4})).shape() == rg::Shape{2, 2});
    CHECK(GELU("tanh").describe() == "GELU(approximate='tanh')");
    CHECK(SiLU().describe() == "SiLU()");
    CHECK(Hardtanh(-2, 2.5).describe() == "Hardtanh(min_val=-2, max_val=2.5)");
    CHECK(LogSigmoid().describe() == "LogSigmoid()");
    GELU gelu("tanh");
    test::check_gradients([&gelu](const TensorList& v) { return gelu(v[0]); }, {rg::randn({3, 4}, f64(true))});
    Hardsigmoid hardsigmoid;
    test::check_gradients([&hardsigmoid](const TensorList& v) { return hardsigmoid(v[0]); },
                          {rg::randn({3, 4}, f64(true))});
    CHECK_THROWS_WITH_AS(GELU("exact"), "GELU: approximate must be \"none\" or \"tanh\", got \"exact\"", rg::Error);
    CHECK_THROWS_WITH_AS(Hardtanh(1.0, -1.0), "Hardtanh: min_val 1 must not exceed max_val -1", rg::Error);
}

TEST_CASE("initialisers draw from the documented ranges") {
    rg::manual_seed(7);
    auto w = rg::zeros({200, 100});
    init::xavier_uniform_(w);
    const double xavier = std::sqrt(6.0 / 300.0);
    CHECK(rg::max(rg::abs(w)).item() <= xavier);
    CHECK(rg::max(rg::abs(w)).item() > 0.9 * xavier);
    init::kaiming_normal_(w, 0.0, init::FanMode::fan_in, "relu");
    CHECK(std::sqrt(rg::var(w).item()) == doctest::Approx(std::sqrt(2.0 / 100.0)).epsilon(0.05));
    init::kaiming_uniform_(w, 0.0, init::FanMode::fan_out, "relu");
    CHECK(rg::max(rg::abs(w)).item() <= std::sqrt(2.0) * std::sqrt(3.0 / 200.0));
    init::xavier_normal_(w);
    CHECK(std::sqrt(rg::var(w).item()) == doctest::Approx(std::sqrt(2.0 / 300.0)).epsilon(0.05));
    init::course_uniform_(w);
    CHECK(rg::max(w).item() < 0.5);
    CHECK(rg::min(w).item() >= -0.5);
    init::constant_(w, 3.0);
    CHECK(rg::mean(w).item() == 3.0);
    init::zeros_(w);
    CHECK(rg::sum(rg::abs(w)).item() == 0.0);
    init::normal_(w, 1.0, 0.5);
    CHECK(rg::mean(w).item() == doctest::Approx(1.0).epsilon(0.02));
    auto conv = rg::zeros({8, 4, 3, 3});
    CHECK(init::fans(conv) == std::pair<std::size_t, std::size_t>{36, 72});
    CHECK(init::gain("tanh") == doctest::Approx(5.0 / 3.0));
    CHECK_THROWS_WITH_AS(init::gain("swish"), doctest::Contains("unknown nonlinearity 'swish'"), rg::Error);
    auto bias = rg::zeros({3});
    CHECK_THROWS_WITH_AS(init::xavier_uniform_(bias), doctest::Contains("fans need a weight of rank 2"), rg::Error);
    auto param = rg::zeros({2}, {.requires_grad = true});
    CHECK_NOTHROW(init::uniform_(param, 0, 1));
}
