// Optimizers against PyTorch's update rules, three steps on L = ½‖w‖² (so the
// gradient is w itself), from w = (1, -2). The expected numbers were derived
// from the update formulas by hand (and a few lines of arithmetic).
#include "helpers.hpp"

using namespace rg::optim;
using test::check_values;

namespace {
template <class Make>
rg::Tensor three_steps(Make make) {
    auto w = rg::tensor({1.0, -2.0}, {.dtype = rg::float64, .requires_grad = true});
    auto opt = make(rg::TensorList{w});
    for (int i = 0; i < 3; ++i) {
        opt.zero_grad();
        (rg::sum(w * w) * 0.5).backward();
        opt.step();
    }
    return w;
}
rg::Tensor expected(double a, double b) { return rg::tensor({a, b}, {.dtype = rg::float64}); }
}  // namespace

TEST_CASE("SGD: plain, momentum, Nesterov, dampening with weight decay") {
    check_values(three_steps([](auto p) { return SGD(p, {.lr = 0.1}); }), expected(0.729, -1.458), 1e-12);
    // buf: 1, 1.8, 2.34 -> w: 0.9, 0.72, 0.486
    check_values(three_steps([](auto p) { return SGD(p, {.lr = 0.1, .momentum = 0.9}); }), expected(0.486, -0.972), 1e-12);
    check_values(three_steps([](auto p) { return SGD(p, {.lr = 0.1, .momentum = 0.9, .nesterov = true}); }),
                 expected(0.327321, -0.654642), 1e-12);
    check_values(three_steps([](auto p) {
                     return SGD(p, {.lr = 0.1, .momentum = 0.9, .dampening = 0.5, .weight_decay = 0.1});
                 }),
                 expected(0.56808225, -1.1361645), 1e-12);
    CHECK_THROWS_WITH_AS(SGD({rg::ones({1}, {.requires_grad = true})}, {.lr = 0.1, .nesterov = true}),
                         "SGD: Nesterov momentum requires a momentum and zero dampening", rg::Error);
    CHECK_THROWS_WITH_AS(SGD({rg::ones({1}, {.requires_grad = true})}, {.lr = -1}), "SGD: invalid learning rate -1",
                         rg::Error);
}

TEST_CASE("Adam, Adam with L2 and AdamW") {
    check_values(three_steps([](auto p) { return Adam(p, {.lr = 0.1}); }),
                 expected(0.701586274504415, -1.70062339281211), 1e-12);
    check_values(three_steps([](auto p) { return Adam(p, {.lr = 0.1, .weight_decay = 0.1}); }),
                 expected(0.701586274221072, -1.70062339267291), 1e-12);
    check_values(three_steps([](auto p) { return AdamW(p, {.lr = 0.1, .weight_decay = 0.01}); }),
                 expected(0.698911184715693, -1.6949445151502), 1e-12);
}

TEST_CASE("RMSprop and Adagrad") {
    check_values(three_steps([](auto p) { return RMSprop(p, {.lr = 0.01}); }),
                 expected(0.779982281982354, -1.77534945009922), 1e-12);
    check_values(three_steps([](auto p) { return RMSprop(p, {.lr = 0.01, .momentum = 0.9, .centered = true}); }),
                 expected(0.549650184577055, -1.54067803038315), 1e-12);
    check_values(three_steps([](auto p) {
                     return Adagrad(p, {.lr = 0.1, .lr_decay = 0.1, .initial_accumulator_value = 0.5});
                 }),
                 expected(0.822859261410389, -1.79969783509491), 1e-12);
}

TEST_CASE("parameter groups have their own options; parameters without gradient are skipped") {
    auto a = rg::tensor({1.0}, {.requires_grad = true});
    auto b = rg::tensor({1.0}, {.requires_grad = true});
    auto frozen = rg::tensor({5.0}, {.requires_grad = true});
    SGD opt(std::vector<ParamGroup<SGDOptions>>{{{a}, {.lr = 0.1}}, {{b, frozen}, {.lr = 0.5}}});
    CHECK(opt.group_count() == 2);
    CHECK(opt.lr(1) == 0.5);
    rg::sum(a + b).backward();
    opt.step();
    CHECK(a.item() == doctest::Approx(0.9));
    CHECK(b.item() == doctest::Approx(0.5));
    CHECK(frozen.item() == 5.0);
    opt.zero_grad();
    CHECK_FALSE(a.grad().defined());
}

TEST_CASE("state_dict round trip continues exactly where it stopped") {
    auto run = [](bool reload) {
        auto w = rg::tensor({1.0, -2.0}, {.dtype = rg::float64, .requires_grad = true});
        Adam opt({w}, {.lr = 0.1});
        for (int i = 0; i < 4; ++i) {
            if (reload && i == 2) {
                auto saved = opt.state_dict();
                Adam fresh({w}, {.lr = 0.1});
                fresh.load_state_dict(saved);
                opt = fresh;
            }
            opt.zero_grad();
            (rg::sum(w * w) * 0.5).backward();
            opt.step();
        }
        return w;
    };
    check_values(run(true), run(false), 1e-15);
    auto w = rg::ones({2}, {.requires_grad = true});
    SGD opt({w}, {.lr = 0.1, .momentum = 0.9});
    CHECK_THROWS_WITH_AS(opt.load_state_dict({{"state.0.0.momentum_buffer", rg::ones({3})}}),
                         "load_state_dict: 'state.0.0.momentum_buffer' has shape (3,), expected (2,)", rg::Error);
    CHECK_THROWS_WITH_AS(opt.load_state_dict({{"state.1.0.x", rg::ones({2})}}),
                         doctest::Contains("names parameter 0 of group 1, which does not exist"), rg::Error);
    CHECK_THROWS_WITH_AS(opt.load_state_dict({{"bogus", rg::ones({2})}}), "load_state_dict: unexpected entry 'bogus'",
                         rg::Error);
}

TEST_CASE("schedules: step, exponential, cosine, warm-up") {
    auto w = rg::ones({1}, {.requires_grad = true});
    SGD opt({w}, {.lr = 1.0});
    StepLR step(opt, 2, 0.5);
    std::vector<double> lrs;
    for (int e = 0; e < 5; ++e) {
        step.step();
        lrs.push_back(opt.lr());
    }
    CHECK(lrs == std::vector<double>{1.0, 0.5, 0.5, 0.25, 0.25});
    SGD opt2({w}, {.lr = 1.0});
    ExponentialLR expo(opt2, 0.9);
    expo.step();
    expo.step();
    CHECK(opt2.lr() == doctest::Approx(0.81));
    SGD opt3({w}, {.lr = 1.0});
    CosineAnnealingLR cosine(opt3, 4, 0.0);
    cosine.step();
    CHECK(opt3.lr() == doctest::Approx((1 + std::cos(M_PI / 4)) / 2));
    for (int e = 0; e < 5; ++e) cosine.step();
    CHECK(opt3.lr() == doctest::Approx(0.0));
    SGD opt4({w}, {.lr = 1.0});
    LinearWarmup warm(opt4, 4, 0.2);
    CHECK(opt4.lr() == doctest::Approx(0.2));
    warm.step();
    CHECK(opt4.lr() == doctest::Approx(0.4));
    for (int e = 0; e < 10; ++e) warm.step();
    CHECK(opt4.lr() == doctest::Approx(1.0));
}

TEST_CASE("gradient clipping by global norm and by value") {
    auto a = rg::tensor({3.0}, {.requires_grad = true});
    auto b = rg::tensor({4.0}, {.requires_grad = true});
    rg::sum(a * a * 0.5 + b * b * 0.5).backward();  // grads 3 and 4, norm 5
    CHECK(clip_grad_norm_({a, b}, 1.0) == doctest::Approx(5.0));
    CHECK(a.grad().item() == doctest::Approx(0.6).epsilon(1e-5));
    CHECK(b.grad().item() == doctest::Approx(0.8).epsilon(1e-5));
    clip_grad_value_({a, b}, 0.7);
    CHECK(b.grad().item() == doctest::Approx(0.7));
    CHECK(a.grad().item() == doctest::Approx(0.6).epsilon(1e-5));
    CHECK_THROWS_AS(clip_grad_norm_({a}, -1.0), rg::Error);
}
