// Optimizers against PyTorch's update rules, three steps on L = ½‖w‖² (so the
// gradient is w itself), from w = (1, -2). The expected numbers were derived
// from the update formulas by hand (and a few lines of arithmetic).
#include <retrograd/detail/update_kernels.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <vector>

#include "helpers.hpp"

using namespace rg::optim;
using test::check_values;

namespace {
template <class Make> rg::Tensor three_steps(Make make) {
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
    check_values(three_steps([](auto p) { return SGD(p, {.lr = 0.1, .momentum = 0.9}); }), expected(0.486, -0.972),
                 1e-12);
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
    CHECK_THROWS_WITH_AS(SGD({rg::ones({1}, {.requires_grad = true})},
                             {.lr = 0.1, .momentum = 0.9, .dampening = std::nan("")}),
                         "SGD: invalid dampening nan", rg::Error);
}

TEST_CASE("a parameter group that does not exist is an rg::Error naming the optimizer and the count") {
    SGD sgd({rg::ones({1}, {.requires_grad = true})}, {.lr = 0.1});
    CHECK(sgd.lr(0) == 0.1);
    CHECK_THROWS_WITH_AS(sgd.lr(1), "SGD: parameter group 1 does not exist (the optimizer has 1 group)", rg::Error);
    CHECK_THROWS_WITH_AS(sgd.set_lr(0.5, 2), "SGD: parameter group 2 does not exist (the optimizer has 1 group)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(sgd.options(3), "SGD: parameter group 3 does not exist (the optimizer has 1 group)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(sgd.set_options({.lr = 0.2}, 1),
                         "SGD: parameter group 1 does not exist (the optimizer has 1 group)", rg::Error);
    CHECK(sgd.lr(0) == 0.1);  // nothing changed
}

TEST_CASE("Adam, Adam with L2 and AdamW") {
    check_values(three_steps([](auto p) { return Adam(p, {.lr = 0.1}); }),
                 expected(0.701586274504415, -1.70062339281211), 1e-12);
    check_values(three_steps([](auto p) { return Adam(p, {.lr = 0.1, .weight_decay = 0.1}); }),
                 expected(0.701586274221072, -1.70062339267291), 1e-12);
    check_values(three_steps([](auto p) { return AdamW(p, {.lr = 0.1, .weight_decay = 0.01}); }),
                 expected(0.698911184715693, -1.6949445151502), 1e-12);
}

TEST_CASE("float32 Adam and AdamW over a long parameter agree with float64") {
    // 1000 values run the update's vector loop (baseline or AVX2; ctest also
    // runs this with RETROGRAD_NO_AVX2=1) and its tail; float32 rounds each
    // step, so the two stay within a few float ulps after ten steps.
    rg::manual_seed(47);
    const auto start = rg::randn({1000}, {.dtype = rg::float64});
    for (bool decoupled : {false, true}) {
        auto run = [&](rg::Dtype dtype) {
            auto w = start.to(dtype).clone().requires_grad_();
            const AdamOptions options{.lr = 0.01, .weight_decay = 0.05};
            Adam adam(std::vector<ParamGroup<AdamOptions>>{{{w}, options}}, decoupled);
            for (int i = 0; i < 10; ++i) {
                adam.zero_grad();
                rg::sum(rg::square(w) * 0.5 + rg::sin(w)).backward();
                adam.step();
            }
            return w.detach().to(rg::float64);
        };
        CHECK_MESSAGE(rg::allclose(run(rg::float32), run(rg::float64), 1e-5, 1e-5), "decoupled " << decoupled);
    }
}

TEST_CASE("float32 Adam's update is the same to the bit on every instruction set") {
    // adam_update runs its baseline, AVX2 or AVX-512 build (ctest runs this
    // again with RETROGRAD_NO_AVX2=1 and with RETROGRAD_NO_AVX512=1); each
    // must give the bits of one float operation after another, in PyTorch's
    // order, without fused multiply-adds.
    rg::manual_seed(48);
    const std::size_t n = 1037;  // the vector loops and their tails
    const auto values = [&](double scale) {
        const rg::Tensor t = rg::randn({n}) * scale;
        const float* p = t.data_ptr<float>();
        return std::vector<float>(p, p + n);
    };
    std::vector<float> w = values(1.0), dw = values(0.1), m = values(0.01), v = values(0.001);
    for (float& x : v) x = x * x;
    const rg::detail::AdamStep<float> step{.step_size = 0.0123f,
                                           .inverse_root_bc2 = 1.37f,
                                           .beta1 = 0.9f,
                                           .beta2 = 0.999f,
                                           .eps = 1e-8f,
                                           .l2 = 0.01f,
                                           .shrink = 0.9995f};
    std::vector<float> ew = w, em = m, ev = v;
    for (std::size_t k = 0; k < n; ++k) {
        const volatile float l2w = step.l2 * ew[k];  // volatile: one rounding per operation, as stored
        const float d = dw[k] + l2w;
        const volatile float m1 = step.beta1 * em[k], m2 = (1 - step.beta1) * d;
        const float mk = m1 + m2;
        const volatile float v1 = step.beta2 * ev[k], dd = (1 - step.beta2) * d;
        const volatile float v2 = dd * d;
        const float vk = v1 + v2;
        const volatile float root = std::sqrt(vk) * step.inverse_root_bc2;
        const volatile float denominator = root + step.eps, numerator = step.step_size * mk;
        const volatile float shrunk = ew[k] * step.shrink, change = numerator / denominator;
        em[k] = mk;
        ev[k] = vk;
        ew[k] = shrunk - change;
    }
    rg::detail::adam_update(w.data(), dw.data(), m.data(), v.data(), n, step);
    const auto same_bits = [](const std::vector<float>& a, const std::vector<float>& b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](float x, float y) {
            return std::bit_cast<std::uint32_t>(x) == std::bit_cast<std::uint32_t>(y);
        });
    };
    CHECK(same_bits(w, ew));
    CHECK(same_bits(m, em));
    CHECK(same_bits(v, ev));
}

TEST_CASE("RMSprop and Adagrad") {
    check_values(three_steps([](auto p) { return RMSprop(p, {.lr = 0.01}); }),
                 expected(0.779982281982354, -1.77534945009922), 1e-12);
    check_values(three_steps([](auto p) { return RMSprop(p, {.lr = 0.01, .momentum = 0.9, .centered = true}); }),
                 expected(0.549650184577055, -1.54067803038315), 1e-12);
    check_values(three_steps(
                     [](auto p) { return Adagrad(p, {.lr = 0.1, .lr_decay = 0.1, .initial_accumulator_value = 0.5}); }),
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
    const auto kind = std::make_pair(std::string("optimizer.SGD"), rg::from_indices({1}, rg::Shape{}));
    CHECK_THROWS_WITH_AS(opt.load_state_dict({kind, {"state.0.0.momentum_buffer", rg::ones({3})}}),
                         "load_state_dict: 'state.0.0.momentum_buffer' has shape (3,), expected (2,)", rg::Error);
    CHECK_THROWS_WITH_AS(opt.load_state_dict({kind, {"state.1.0.x", rg::ones({2})}}),
                         doctest::Contains("names parameter 0 of group 1, which does not exist"), rg::Error);
    CHECK_THROWS_WITH_AS(opt.load_state_dict({kind, {"bogus", rg::ones({2})}}),
                         "load_state_dict: unexpected entry 'bogus'", rg::Error);
    // Keys are exactly those state_dict() writes: "state.00.0..." would alias "state.0.0...".
    CHECK_THROWS_WITH_AS(opt.load_state_dict({kind, {"state.00.0.momentum_buffer", rg::ones({2})}}),
                         "load_state_dict: unexpected entry 'state.00.0.momentum_buffer'", rg::Error);
    CHECK(opt.state_dict().count("optimizer.SGD") == 1);
    CHECK(opt.name() == "SGD");
}

namespace {
// One Adam step on L = ½‖w‖², from w = (1, -2) in float64.
struct OneAdamStep {
    rg::Tensor w = rg::tensor({1.0, -2.0}, {.dtype = rg::float64, .requires_grad = true});
    Adam opt{{w}, {.lr = 0.1}};
    OneAdamStep() { step(); }
    void step() {
        opt.zero_grad();
        (rg::sum(w * w) * 0.5).backward();
        opt.step();
    }
};
}  // namespace

// Before, a step count of -5, NaN or 2^63 - 1 loaded (NaN was cast to long,
// 2^63 - 1 overflowed on the next step) and one Adam step made the weights NaN.
TEST_CASE("load_state_dict refuses step counts that are not whole numbers from 1 to 2^53") {
    OneAdamStep run;
    const StateDict good = run.opt.state_dict();
    CHECK(good.at("step.0.0").item() == 1);
    auto expect = [&](const rg::Tensor& step, const std::string& message) {
        StateDict bad = good;
        bad["step.0.0"] = step;
        CAPTURE(message);
        CHECK_THROWS_WITH_AS(run.opt.load_state_dict(bad), message.c_str(), rg::Error);
    };
    const std::string rule = "; a step count must be a whole number from 1 to 2^53";
    expect(rg::from_indices({-5}, rg::Shape{}), "load_state_dict: 'step.0.0' is -5" + rule);
    expect(rg::from_indices({0}, rg::Shape{}), "load_state_dict: 'step.0.0' is 0" + rule);
    expect(rg::full({}, std::nan(""), {.dtype = rg::float64}), "load_state_dict: 'step.0.0' is nan" + rule);
    expect(rg::full({}, 2.5, {.dtype = rg::float64}), "load_state_dict: 'step.0.0' is 2.5" + rule);
    expect(rg::from_indices({std::numeric_limits<std::int64_t>::max()}, rg::Shape{}),
           "load_state_dict: 'step.0.0' is 9.223372036854776e+18" + rule);
    expect(rg::from_indices({1, 2}), "load_state_dict: 'step.0.0' must hold one step count");
    // A refused state changed nothing: the next step is the one an untouched optimizer takes.
    OneAdamStep reference;
    run.step();
    reference.step();
    check_values(run.w, reference.w, 0);
    // The largest accepted count, and a float count with a whole value (as PyTorch writes them).
    StateDict edge = good;
    edge["step.0.0"] = rg::from_indices({max_step_count}, rg::Shape{});
    run.opt.load_state_dict(edge);
    edge["step.0.0"] = rg::full({}, 3.0, {.dtype = rg::float64});
    run.opt.load_state_dict(edge);
    CHECK(run.opt.state_dict().at("step.0.0").item() == 3);
}

TEST_CASE("load_state_dict refuses state written by another optimizer, and says which") {
    auto w = rg::tensor({1.0, -2.0}, {.requires_grad = true});
    SGD sgd({w}, {.lr = 0.1, .momentum = 0.9});
    rg::sum(w * w).backward();
    sgd.step();
    Adam adam({w});
    CHECK_THROWS_WITH_AS(adam.load_state_dict(sgd.state_dict()),
                         "load_state_dict: the state was written by SGD, but this optimizer is Adam; load it into SGD "
                         "(with the same parameters), or start Adam from scratch",
                         rg::Error);
    AdamW adamw({w});
    adam.step();
    CHECK_THROWS_WITH_AS(adamw.load_state_dict(adam.state_dict()),
                         doctest::Contains("written by Adam, but this optimizer is AdamW"), rg::Error);
    StateDict unnamed = sgd.state_dict();
    unnamed.erase("optimizer.SGD");
    CHECK_THROWS_WITH_AS(sgd.load_state_dict(unnamed),
                         doctest::Contains("the state does not say which optimizer wrote it"), rg::Error);
    StateDict two = sgd.state_dict();
    two["optimizer.Adam"] = rg::from_indices({1}, rg::Shape{});
    CHECK_THROWS_WITH_AS(sgd.load_state_dict(two), "load_state_dict: the state names several optimizers (Adam, SGD)",
                         rg::Error);
    StateDict version = sgd.state_dict();
    version["optimizer.SGD"] = rg::from_indices({2}, rg::Shape{});
    CHECK_THROWS_WITH_AS(sgd.load_state_dict(version), doctest::Contains("must be the int64 format version 1"),
                         rg::Error);
    // The same optimizer with other options keeps other state.
    SGD plain({w}, {.lr = 0.1});
    CHECK_THROWS_WITH_AS(plain.load_state_dict(sgd.state_dict()),
                         "load_state_dict: 'state.0.0.momentum_buffer' is not state SGD keeps with the options of "
                         "group 0 (it keeps nothing but step counts for each parameter)",
                         rg::Error);
    plain.step();
    CHECK_THROWS_WITH_AS(sgd.load_state_dict(plain.state_dict()),
                         "load_state_dict: parameter 0 of group 0 has no 'state.0.0.momentum_buffer'; SGD keeps "
                         "momentum_buffer for each parameter with the options of group 0",
                         rg::Error);
    sgd.load_state_dict(sgd.state_dict());  // its own state loads
}

TEST_CASE("load_state_dict refuses non-finite, negative-square, integer and incomplete state") {
    OneAdamStep run;
    const StateDict good = run.opt.state_dict();
    auto expect = [&](const StateDict& bad, const std::string& message) {
        CAPTURE(message);
        CHECK_THROWS_WITH_AS(run.opt.load_state_dict(bad), message.c_str(), rg::Error);
    };
    StateDict bad = good;
    bad["state.0.0.exp_avg"] = rg::tensor({0.5, std::nan("")}, {.dtype = rg::float64});
    expect(bad, "load_state_dict: 'state.0.0.exp_avg' holds nan at index [1]; the state is corrupt");
    bad = good;
    bad["state.0.0.exp_avg"] = rg::tensor({INFINITY, 0.0});
    expect(bad, "load_state_dict: 'state.0.0.exp_avg' holds inf at index [0]; the state is corrupt");
    bad = good;
    bad["state.0.0.exp_avg_sq"] = rg::tensor({-1.0, 0.0}, {.dtype = rg::float64});
    expect(bad, "load_state_dict: 'state.0.0.exp_avg_sq' holds -1 at index [0] (a sum of squares cannot be "
                "negative); the state is corrupt");
    bad = good;
    bad["state.0.0.exp_avg"] = rg::from_indices({1, 2});
    expect(bad, "load_state_dict: 'state.0.0.exp_avg' is int64; optimizer state must be float32 or float64");
    bad = good;
    bad.erase("state.0.0.exp_avg_sq");
    expect(bad, "load_state_dict: parameter 0 of group 0 has no 'state.0.0.exp_avg_sq'; Adam keeps exp_avg, "
                "exp_avg_sq for each parameter with the options of group 0");
    bad = good;
    bad.erase("step.0.0");
    expect(bad, "load_state_dict: parameter 0 of group 0 has state but no 'step.0.0'");
    bad = good;
    bad["state.0.0.momentum_buffer"] = rg::zeros({2}, {.dtype = rg::float64});
    expect(bad, "load_state_dict: 'state.0.0.momentum_buffer' is not state Adam keeps with the options of group 0 "
                "(it keeps exp_avg, exp_avg_sq for each parameter)");
    // float32 state loads into float64 parameters (converted), and is copied, not shared.
    StateDict converted = good;
    rg::Tensor m = good.at("state.0.0.exp_avg").to(rg::float32).detach();
    converted["state.0.0.exp_avg"] = m;
    run.opt.load_state_dict(converted);
    CHECK(run.opt.state_dict().at("state.0.0.exp_avg").dtype() == rg::float64);
    m.value<float>()(0) = 1e6f;
    CHECK(run.opt.state_dict().at("state.0.0.exp_avg").to_vector()[0] < 1);
}

// Before, a parameter passed twice was updated twice per step.
TEST_CASE("a parameter passed twice to an optimizer is refused at construction, naming its index") {
    auto a = rg::ones({2}, {.requires_grad = true});
    auto b = rg::ones({2}, {.requires_grad = true});
    CHECK_THROWS_WITH_AS(SGD({a, b, a}, {.lr = 0.1}),
                         "SGD: parameter 2 of group 0 is the same tensor as parameter 0 of group 0; pass each "
                         "parameter once",
                         rg::Error);
    CHECK_THROWS_WITH_AS(Adam(std::vector<ParamGroup<AdamOptions>>{{{a}, {}}, {{b, a}, {.lr = 0.1}}}),
                         "Adam: parameter 1 of group 1 is the same tensor as parameter 0 of group 0; a parameter may "
                         "belong to one group only",
                         rg::Error);
    auto handle = a;  // NOLINT(performance-unnecessary-copy-initialization): a second handle is the point
    CHECK_THROWS_WITH_AS(RMSprop({handle, b, a}), doctest::Contains("parameter 2 of group 0 is the same tensor"),
                         rg::Error);
    CHECK_NOTHROW(Adagrad({a, b}));
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

namespace {
// Every optimizer, with every state buffer its options keep.
std::vector<std::pair<std::string, std::function<std::unique_ptr<Optimizer>(rg::TensorList)>>> every_optimizer() {
    return {{"SGD", [](auto p) { return std::make_unique<SGD>(p, SGDOptions{.lr = 0.1, .momentum = 0.9}); }},
            {"Adam", [](auto p) { return std::make_unique<Adam>(p, AdamOptions{.lr = 0.1, .weight_decay = 0.1}); }},
            {"AdamW", [](auto p) { return std::make_unique<AdamW>(p, AdamOptions{.lr = 0.1, .weight_decay = 0.1}); }},
            {"RMSprop",
             [](auto p) {
                 return std::make_unique<RMSprop>(p, RMSpropOptions{.lr = 0.01, .momentum = 0.5, .centered = true});
             }},
            {"Adagrad", [](auto p) { return std::make_unique<Adagrad>(p, AdagradOptions{.lr = 0.1}); }}};
}
}  // namespace

TEST_CASE("a step bumps the versions of the parameters and their state: a retained graph refuses the old weights") {
    for (const auto& entry : every_optimizer()) {
        CAPTURE(entry.first);
        auto w = rg::tensor({1.0, -2.0}, {.dtype = rg::float64, .requires_grad = true});
        auto opt = entry.second({w});
        const rg::Tensor loss = rg::sum(w * w);  // mul saves w
        loss.backward({}, {.retain_graph = true});
        const auto before = w.version();
        opt->step();
        CHECK(w.version() > before);
        for (const auto& state : opt->state_dict()) {
            if (state.first.rfind("state.", 0) != 0) continue;
            CAPTURE(state.first);
            CHECK(state.second.version() > 0);  // written by the step (shares the buffer's storage)
        }
        CHECK_THROWS_WITH_AS(loss.backward(), doctest::Contains("saved by 'mul' was modified by an in-place operation"),
                             rg::Error);
    }
}

TEST_CASE("optimizers update non-contiguous parameters and gradients through their strides") {
    rg::manual_seed(48);
    const auto start = rg::randn({3, 4}, {.dtype = rg::float64});
    const auto target = rg::randn({4, 3}, {.dtype = rg::float64});
    for (const auto& entry : every_optimizer()) {
        CAPTURE(entry.first);
        // The same values, once row-major and once as a transposed view made a leaf.
        auto dense = start.t().clone().requires_grad_();
        auto strided = start.clone().t().detach().requires_grad_();
        REQUIRE_FALSE(strided.is_contiguous());
        auto a = entry.second({dense});
        auto b = entry.second({strided});
        for (int i = 0; i < 3; ++i) {
            a->zero_grad();
            b->zero_grad();
            rg::sum(rg::square(dense - target) * target).backward();
            // A transposed gradient for the strided parameter, of the same values.
            const auto g = rg::grad(rg::sum(rg::square(strided - target) * target), rg::TensorList{strided}, {})[0];
            strided.set_grad(g.t().clone().t());
            REQUIRE_FALSE(strided.grad().is_contiguous());
            a->step();
            b->step();
        }
        check_values(strided, dense.detach(), 1e-12);
        CHECK(strided.strides() == rg::Strides{1, 4});  // still the caller's view
    }
}
