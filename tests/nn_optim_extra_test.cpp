// NAdam, RAdam, Adamax, Adadelta, Rprop, ASGD, Adam's amsgrad, the maximize
// flag, and the schedules MultiStepLR, CyclicLR, OneCycleLR, ReduceLROnPlateau,
// LambdaLR, MultiplicativeLR, ConstantLR, LinearLR, PolynomialLR,
// CosineAnnealingWarmRestarts, SequentialLR and ChainedScheduler against
// PyTorch 1.13: the trajectories and learning rates in
// tests/parity/optim/references.txt were written by
// tests/parity/make_optim_references.py with torch 1.13, float64.
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "helpers.hpp"

using namespace rg::optim;

namespace {

// "<case> <step> <name>" -> values.
const std::map<std::string, std::vector<double>>& references() {
    static const auto table = [] {
        std::map<std::string, std::vector<double>> out;
        std::ifstream in(std::string(RETROGRAD_SOURCE_DIR) + "/tests/parity/optim/references.txt");
        REQUIRE(in.good());
        std::string line;
        while (std::getline(in, line)) {
            if (line.empty() || line[0] == '#') continue;
            std::istringstream fields(line);
            std::string name, step, what;
            fields >> name >> step >> what;
            std::vector<double>& values = out[name + " " + step + " " + what];
            for (double v = 0; fields >> v;) values.push_back(v);
        }
        return out;
    }();
    return table;
}

std::vector<double> reference(const std::string& name, std::size_t step, const std::string& what) {
    const auto it = references().find(name + " " + std::to_string(step) + " " + what);
    REQUIRE_MESSAGE(it != references().end(), "no reference for " << name << " " << step << " " << what);
    return it->second;
}

// Relative 1e-10 (absolute below 1e-12, where a relative error means nothing).
void check_close(const std::vector<double>& actual, const std::vector<double>& expected, const std::string& where) {
    REQUIRE(actual.size() == expected.size());
    for (std::size_t k = 0; k < actual.size(); ++k)
        CHECK_MESSAGE(std::abs(actual[k] - expected[k]) <= 1e-10 * std::max(std::abs(expected[k]), 1e-2),
                      where << "[" << k << "]: got " << actual[k] << ", PyTorch " << expected[k]);
}

rg::Tensor f64(std::vector<double> v) {
    return rg::from_vector(v, {static_cast<long>(v.size())}, {.dtype = rg::float64, .requires_grad = true});
}

// One step on loss = sum(a (w - c)^2) + sum(e (b - d)^2), as the reference script;
// with `saddle`, the w part negated (the reference's maximize cases).
void quadratic_step(Optimizer& opt, const rg::Tensor& w, const rg::Tensor& b, bool saddle = false) {
    const auto a = rg::tensor({1.0, 10.0, 0.1}, {.dtype = rg::float64});
    const auto c = rg::tensor({1.0, -2.0, 0.5}, {.dtype = rg::float64});
    const auto e = rg::tensor({3.0, 0.5}, {.dtype = rg::float64});
    const auto d = rg::tensor({-1.0, 2.0}, {.dtype = rg::float64});
    opt.zero_grad();
    ((saddle ? -1.0 : 1.0) * rg::sum(a * (w - c) * (w - c)) + rg::sum(e * (b - d) * (b - d))).backward();
    opt.step();
}

// Steps `from` to 25 of the quadratic, each compared with the reference.
// `state`: per-parameter state compared too, the reference's <name>_w and <name>_b (ASGD's average).
template <class Opt>
void check_quadratic(const std::string& name, Opt& opt, const rg::Tensor& w, const rg::Tensor& b, int from = 1,
                     const std::vector<std::string>& state = {}, bool saddle = false) {
    for (int s = from; s <= 25; ++s) {
        quadratic_step(opt, w, b, saddle);
        check_close(w.to_vector(), reference(name, s, "w"), name + " step " + std::to_string(s) + " w");
        check_close(b.to_vector(), reference(name, s, "b"), name + " step " + std::to_string(s) + " b");
        if (state.empty()) continue;
        const StateDict saved = opt.state_dict();
        for (const std::string& k : state) {
            const std::string where = name + " step " + std::to_string(s) + " " + k;
            check_close(saved.at("state.0.0." + k).to_vector(), reference(name, s, k + "_w"), where + " of w");
            check_close(saved.at("state.1.0." + k).to_vector(), reference(name, s, k + "_b"), where + " of b");
        }
    }
}

template <class Opt, class Options>
void run_quadratic(const std::string& name, Options first, Options second, const std::vector<std::string>& state = {},
                   bool saddle = false) {
    auto w = f64({0.3, 0.7, -1.2}), b = f64({0.25, -0.5});
    Opt opt(std::vector<ParamGroup<Options>>{{{w}, first}, {{b}, second}});
    check_quadratic(name, opt, w, b, 1, state, saddle);
}

template <class Options> constexpr bool has_maximize = requires(Options o) { o.maximize; };

// The reference's <optimizer>_maximize cases: on the saddle, the first group (w) maximizes
// and the second (b) minimizes, so both converge only if the flag is read per group.
template <class Opt, class Options>
void run_maximize(const std::string& name, Options first, Options second, const std::vector<std::string>& state = {}) {
    first.maximize = true;
    run_quadratic<Opt>(name, first, second, state, true);
}

}  // namespace

TEST_CASE("NAdam, RAdam and Adamax follow PyTorch 1.13 for 25 steps, two groups, weight decay") {
    run_quadratic<NAdam, NAdamOptions>("nadam", {.lr = 0.05, .weight_decay = 0.01},
                                       {.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99, .momentum_decay = 0.1});
    // RAdam's first steps are plain momentum steps, its later ones rectified: both are covered.
    run_quadratic<RAdam, RAdamOptions>("radam", {.lr = 0.05, .weight_decay = 0.01},
                                       {.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99});
    run_quadratic<Adamax, AdamaxOptions>("adamax", {.lr = 0.05, .weight_decay = 0.01},
                                         {.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-3});
}

TEST_CASE("Adam and AdamW with amsgrad follow PyTorch 1.13") {
    run_quadratic<Adam, AdamOptions>("adam_amsgrad", {.lr = 0.05, .weight_decay = 0.01, .amsgrad = true},
                                     {.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99});
    // The second group takes AdamW's default weight_decay, 0.01, as in PyTorch.
    run_quadratic<AdamW, AdamOptions>("adamw_amsgrad", {.lr = 0.05, .weight_decay = 0.1, .amsgrad = true},
                                      {.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99, .weight_decay = 0.01});
}

TEST_CASE("NAdam, RAdam, Adamax and amsgrad resume from state_dict on PyTorch's trajectory") {
    // Ten steps, the state saved, a new optimizer loads it and takes the other fifteen:
    // NAdam recomputes its float32 mu product from the step count.
    const auto resume = [](auto make, const std::string& name, std::vector<std::string> keeps) {
        auto w = f64({0.3, 0.7, -1.2}), b = f64({0.25, -0.5});
        auto first = make(w, b);
        for (int s = 1; s <= 10; ++s) quadratic_step(first, w, b);
        const StateDict state = first.state_dict();
        for (const std::string& k : keeps) CHECK_MESSAGE(state.count("state.0.0." + k), name << " keeps " << k);
        auto second = make(w, b);
        second.load_state_dict(state);
        check_quadratic(name, second, w, b, 11);
    };
    resume(
        [](auto w, auto b) {
            return NAdam(std::vector<ParamGroup<NAdamOptions>>{{{w}, {.lr = 0.05, .weight_decay = 0.01}},
                                                               {{b},
                                                                {.lr = 0.01,
                                                                 .beta1 = 0.8,
                                                                 .beta2 = 0.99,
                                                                 .momentum_decay = 0.1}}});
        },
        "nadam", {"exp_avg", "exp_avg_sq"});
    resume(
        [](auto w, auto b) {
            return RAdam(std::vector<ParamGroup<RAdamOptions>>{{{w}, {.lr = 0.05, .weight_decay = 0.01}},
                                                               {{b}, {.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99}}});
        },
        "radam", {"exp_avg", "exp_avg_sq"});
    resume(
        [](auto w, auto b) {
            return Adamax(
                std::vector<ParamGroup<AdamaxOptions>>{{{w}, {.lr = 0.05, .weight_decay = 0.01}},
                                                       {{b}, {.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-3}}});
        },
        "adamax", {"exp_avg", "exp_inf"});
    resume(
        [](auto w, auto b) {
            return Adam(std::vector<ParamGroup<AdamOptions>>{{{w}, {.lr = 0.05, .weight_decay = 0.01, .amsgrad = true}},
                                                             {{b}, {.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99}}});
        },
        "adam_amsgrad", {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"});
}

TEST_CASE("a state without max_exp_avg_sq is refused by Adam with amsgrad") {
    auto w = f64({1.0});
    Adam plain({w});
    w.set_grad(rg::tensor({1.0}, {.dtype = rg::float64}));
    plain.step();
    Adam ams({w}, {.amsgrad = true});
    CHECK_THROWS_WITH_AS(ams.load_state_dict(plain.state_dict()),
                         "load_state_dict: parameter 0 of group 0 has no 'state.0.0.max_exp_avg_sq'; Adam keeps "
                         "exp_avg, exp_avg_sq, max_exp_avg_sq for each parameter with the options of group 0",
                         rg::Error);
}

TEST_CASE("bad options of NAdam, RAdam and Adamax name the optimizer and the value") {
    const rg::TensorList p{f64({1.0})};
    CHECK_THROWS_WITH_AS(NAdam(p, {.lr = -0.5}), "NAdam: invalid learning rate -0.5", rg::Error);
    CHECK_THROWS_WITH_AS(NAdam(p, {.momentum_decay = -1}), "NAdam: invalid momentum_decay -1", rg::Error);
    CHECK_THROWS_WITH_AS(RAdam(p, {.beta1 = 1}), "RAdam: invalid beta1 1; expected a value in [0, 1)", rg::Error);
    CHECK_THROWS_WITH_AS(Adamax(p, {.beta2 = -0.1}), "Adamax: invalid beta2 -0.1; expected a value in [0, 1)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(Adamax(p, {.eps = -1e-8}), "Adamax: invalid eps -1e-08", rg::Error);
    CHECK_THROWS_WITH_AS(RAdam(p, {.weight_decay = std::nan("")}), "RAdam: invalid weight_decay nan", rg::Error);
}

namespace {

const AdadeltaOptions adadelta_first{.lr = 1.0, .weight_decay = 0.01},
    adadelta_second{.lr = 0.5, .rho = 0.8, .eps = 1e-4};
const RpropOptions rprop_first{.lr = 0.05},
    rprop_second{.lr = 0.01, .eta_minus = 0.3, .eta_plus = 1.5, .step_size_min = 1e-3, .step_size_max = 0.2};
const ASGDOptions asgd_first{.lr = 0.05, .lambd = 0.1, .t0 = 5, .weight_decay = 0.01},
    asgd_second{.lr = 0.01, .lambd = 0.5, .alpha = 0.5, .t0 = 10};

}  // namespace

TEST_CASE("Adadelta, Rprop and ASGD follow PyTorch 1.13 for 25 steps, two groups") {
    run_quadratic<Adadelta>("adadelta", adadelta_first, adadelta_second);
    // Growing steps overshoot: 23 sign flips in 25 steps, and the second group reaches step_size_max.
    run_quadratic<Rprop>("rprop", rprop_first, rprop_second);
    // Past t0 (5, 10) the average ax moves away from the parameter; eta and mu are PyTorch's float32 values.
    run_quadratic<ASGD>("asgd", asgd_first, asgd_second, {"ax", "eta", "mu"});
}

TEST_CASE("Adadelta, Rprop and ASGD resume from state_dict on PyTorch's trajectory") {
    // Ten steps, the state saved, a new optimizer with the same options loads it and takes the other fifteen.
    const auto resume = [](auto tag, const std::string& name, const auto& first_options, const auto& second_options,
                           const std::vector<std::string>& keeps) {
        using Opt = typename decltype(tag)::type;
        using Options = std::decay_t<decltype(first_options)>;
        auto w = f64({0.3, 0.7, -1.2}), b = f64({0.25, -0.5});
        const auto make = [&] {
            return Opt(std::vector<ParamGroup<Options>>{{{w}, first_options}, {{b}, second_options}});
        };
        auto first = make();
        for (int s = 1; s <= 10; ++s) quadratic_step(first, w, b);
        const StateDict state = first.state_dict();
        for (const std::string& k : keeps) CHECK_MESSAGE(state.count("state.1.0." + k), name << " keeps " << k);
        auto second = make();
        second.load_state_dict(state);
        check_quadratic(name, second, w, b, 11);
    };
    resume(std::type_identity<Adadelta>{}, "adadelta", adadelta_first, adadelta_second, {"square_avg", "acc_delta"});
    resume(std::type_identity<Rprop>{}, "rprop", rprop_first, rprop_second, {"prev", "step_size"});
    resume(std::type_identity<ASGD>{}, "asgd", asgd_first, asgd_second, {"ax", "eta", "mu"});
}

TEST_CASE("maximize negates the gradient first, per group, as PyTorch 1.13") {
    // The first group's weight decay pins where: on the negated gradient, as PyTorch
    // 1.13's code does for SGD too (its docstring's pseudocode flips the step after the momentum).
    run_maximize<SGD>("sgd_maximize", SGDOptions{.lr = 0.02, .momentum = 0.9, .weight_decay = 0.01},
                      {.lr = 0.05, .momentum = 0.5, .nesterov = true});
    // Adam's two kernels, AMSGrad's and the fused one, maximizing each in turn.
    run_maximize<Adam>("adam_maximize", AdamOptions{.lr = 0.05, .weight_decay = 0.01, .amsgrad = true},
                       {.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99});
    run_maximize<AdamW>("adamw_maximize", AdamOptions{.lr = 0.05, .weight_decay = 0.1},
                        {.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99, .weight_decay = 0.01, .amsgrad = true});
    run_maximize<RMSprop>("rmsprop_maximize",
                          RMSpropOptions{.lr = 0.01, .weight_decay = 0.01, .momentum = 0.5, .centered = true},
                          {.lr = 0.01, .alpha = 0.9});
    // The reference gives both groups initial_accumulator_value 0.1: PyTorch 1.13 ignores a group's own.
    run_maximize<Adagrad>("adagrad_maximize",
                          AdagradOptions{.lr = 0.1,
                                         .lr_decay = 0.01,
                                         .weight_decay = 0.01,
                                         .initial_accumulator_value = 0.1},
                          {.lr = 0.2, .initial_accumulator_value = 0.1});
    run_maximize<Adamax>("adamax_maximize", AdamaxOptions{.lr = 0.05, .weight_decay = 0.01},
                         {.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-3});
    run_maximize<Adadelta>("adadelta_maximize", adadelta_first, adadelta_second);
    run_maximize<Rprop>("rprop_maximize", rprop_first, rprop_second);
    run_maximize<ASGD>("asgd_maximize", asgd_first, asgd_second, {"ax", "eta", "mu"});
    // As in PyTorch 1.13, NAdam, RAdam and L-BFGS have no maximize.
    static_assert(!has_maximize<NAdamOptions> && !has_maximize<RAdamOptions> && !has_maximize<LBFGSOptions>);
}

TEST_CASE("ASGD keeps eta and mu as one number per parameter, and refuses them of another shape") {
    auto w = f64({1.0, 2.0});
    ASGD opt({w}, {.lr = 0.1});
    w.set_grad(rg::tensor({1.0, -1.0}, {.dtype = rg::float64}));
    opt.step();
    StateDict state = opt.state_dict();
    CHECK(state.at("state.0.0.eta").dim() == 0);
    CHECK(state.at("state.0.0.mu").item() == 1.0);
    CHECK(state.at("state.0.0.ax").to_vector() == w.to_vector());  // before t0, ax is the parameter
    state["state.0.0.eta"] = rg::tensor({0.1, 0.1}, {.dtype = rg::float64});
    CHECK_THROWS_WITH_AS(opt.load_state_dict(state), "load_state_dict: 'state.0.0.eta' has shape (2,), expected ()",
                         rg::Error);
    state["state.0.0.eta"] = rg::full(rg::IntList{}, -0.1, {.dtype = rg::float64});
    CHECK_THROWS_WITH_AS(opt.load_state_dict(state),
                         "load_state_dict: 'state.0.0.eta' holds -0.1 at index [] (a sum of squares cannot be "
                         "negative); the state is corrupt",
                         rg::Error);
}

TEST_CASE("bad options of Adadelta, Rprop and ASGD name the optimizer and the value") {
    const rg::TensorList p{f64({1.0})};
    CHECK_THROWS_WITH_AS(Adadelta(p, {.lr = -1}), "Adadelta: invalid learning rate -1", rg::Error);
    CHECK_THROWS_WITH_AS(Adadelta(p, {.rho = 1.5}), "Adadelta: rho must be in [0, 1], got 1.5", rg::Error);
    CHECK_THROWS_WITH_AS(Adadelta(p, {.eps = -1e-6}), "Adadelta: invalid eps -1e-06", rg::Error);
    CHECK_THROWS_WITH_AS(Adadelta(p, {.weight_decay = -0.1}), "Adadelta: invalid weight_decay -0.1", rg::Error);
    CHECK_THROWS_WITH_AS(Rprop(p, {.lr = -0.01}), "Rprop: invalid learning rate -0.01", rg::Error);
    CHECK_THROWS_WITH_AS(Rprop(p, {.eta_minus = 1.0}),
                         "Rprop: expected 0 < eta_minus < 1 < eta_plus, got eta_minus 1 and eta_plus 1.2", rg::Error);
    CHECK_THROWS_WITH_AS(Rprop(p, {.eta_plus = 0.9}),
                         "Rprop: expected 0 < eta_minus < 1 < eta_plus, got eta_minus 0.5 and eta_plus 0.9", rg::Error);
    CHECK_THROWS_WITH_AS(Rprop(p, {.step_size_min = 1, .step_size_max = 0.5}),
                         "Rprop: expected 0 <= step_size_min <= step_size_max, got step_size_min 1 and step_size_max "
                         "0.5",
                         rg::Error);
    CHECK_THROWS_WITH_AS(ASGD(p, {.lr = -0.01}), "ASGD: invalid learning rate -0.01", rg::Error);
    CHECK_THROWS_WITH_AS(ASGD(p, {.weight_decay = -1}), "ASGD: invalid weight_decay -1", rg::Error);
    CHECK_THROWS_WITH_AS(ASGD(p, {.alpha = std::nan("")}), "ASGD: invalid alpha nan", rg::Error);
}

// ---- schedules -----------------------------------------------------------------------

namespace {

rg::Tensor zeros_param(long n) { return rg::zeros({n}, {.dtype = rg::float64, .requires_grad = true}); }

// The reference script's SGD: two groups, lr 0.1 and 0.05, momentum 0.9.
SGD two_group_sgd() {
    return SGD(std::vector<ParamGroup<SGDOptions>>{{{zeros_param(2)}, {.lr = 0.1, .momentum = 0.9}},
                                                   {{zeros_param(1)}, {.lr = 0.05, .momentum = 0.9}}});
}

std::vector<double> lrs(const Optimizer& opt) {
    std::vector<double> out;
    for (std::size_t g = 0; g < opt.group_count(); ++g) out.push_back(opt.lr(g));
    return out;
}

std::vector<double> momenta(const Optimizer& opt) {
    std::vector<double> out;
    for (std::size_t g = 0; g < opt.group_count(); ++g) {
        if (auto* sgd = dynamic_cast<const SGD*>(&opt)) out.push_back(sgd->options(g).momentum);
        if (auto* adam = dynamic_cast<const Adam*>(&opt)) out.push_back(adam->options(g).beta1);
    }
    return out;
}

template <class Schedule>
void check_schedule(const std::string& name, Optimizer& opt, Schedule& schedule, std::size_t steps, bool momentum) {
    for (std::size_t s = 0; s <= steps; ++s) {
        if (s > 0) schedule.step();
        const std::string where = name + " step " + std::to_string(s);
        check_close(lrs(opt), reference(name, s, "lr"), where + " lr");
        if (momentum) check_close(momenta(opt), reference(name, s, "momentum"), where + " momentum");
    }
}

}  // namespace

TEST_CASE("MultiStepLR follows PyTorch 1.13, a repeated milestone counting twice") {
    SGD opt = two_group_sgd();
    MultiStepLR schedule(opt, {12, 3, 7, 7}, 0.5);
    check_schedule("multistep", opt, schedule, 15, false);
}

TEST_CASE("CyclicLR triangular, triangular2 and exp_range follow PyTorch 1.13, momentum cycling") {
    {
        SGD opt = two_group_sgd();
        CyclicLR schedule(opt, {.base_lr = 0.01, .max_lr = 0.1, .step_size_up = 4, .step_size_down = 6});
        check_schedule("cyclic_triangular", opt, schedule, 25, true);
    }
    {
        SGD opt = two_group_sgd();
        CyclicLR schedule(opt, {.base_lr = 0.01,
                                .max_lr = 0.1,
                                .step_size_up = 3,
                                .mode = CyclicMode::triangular2,
                                .base_momentum = 0.7,
                                .max_momentum = 0.95});
        check_schedule("cyclic_triangular2", opt, schedule, 25, true);
    }
    {
        SGD opt = two_group_sgd();
        CyclicLR schedule(opt, {.base_lr = 0.01,
                                .max_lr = 0.1,
                                .step_size_up = 3,
                                .mode = CyclicMode::exp_range,
                                .gamma = 0.9,
                                .cycle_momentum = false});
        check_schedule("cyclic_exp_range", opt, schedule, 25, false);
        CHECK(opt.options(0).momentum == 0.9);  // left alone
    }
}

TEST_CASE("OneCycleLR cos and linear three-phase follow PyTorch 1.13, momentum and Adam's beta1 cycling") {
    {
        SGD opt = two_group_sgd();
        OneCycleLR schedule(opt, {.max_lr = 0.1, .total_steps = 20});
        check_schedule("onecycle_cos", opt, schedule, 20, true);
        CHECK_THROWS_WITH_AS(schedule.step(), "OneCycleLR: step() called 21 times, but total_steps is 20", rg::Error);
    }
    {
        Adam opt({zeros_param(2)}, {.lr = 0.1});
        OneCycleLR schedule(opt, {.max_lr = 0.1,
                                  .epochs = 4,
                                  .steps_per_epoch = 5,
                                  .pct_start = 0.25,
                                  .anneal_strategy = AnnealStrategy::linear,
                                  .div_factor = 10.0,
                                  .final_div_factor = 100.0,
                                  .three_phase = true});
        check_schedule("onecycle_linear_three_phase", opt, schedule, 20, true);
    }
}

TEST_CASE("ReduceLROnPlateau min/rel and max/abs follow PyTorch 1.13, and its state round-trips") {
    const std::vector<double> losses{5.0, 4.0, 4.0, 3.9999, 4.1, 4.2, 3.0, 3.5, 3.5, 3.5,
                                     3.5, 3.5, 3.5, 2.0,    2.5, 2.5, 2.5, 2.5, 2.5, 2.5};
    const std::vector<double> accuracies{0.1, 0.2, 0.25, 0.28, 0.3,  0.31, 0.5,  0.55, 0.58, 0.6,
                                         0.6, 0.9, 0.95, 0.95, 0.95, 0.96, 0.97, 0.98, 0.99, 0.99};
    const auto run = [](const std::string& name, ReduceLROnPlateauOptions options, const std::vector<double>& metrics) {
        SGD opt = two_group_sgd();
        auto schedule = std::make_unique<ReduceLROnPlateau>(opt, options);
        check_close(lrs(opt), reference(name, 0, "lr"), name + " step 0");
        for (std::size_t s = 1; s <= metrics.size(); ++s) {
            if (s == 10) {  // a new schedule from the saved state carries on identically
                auto resumed = std::make_unique<ReduceLROnPlateau>(opt, options);
                resumed->load_state_dict(schedule->state_dict());
                CHECK(resumed->epoch() == 9);
                CHECK(resumed->best() == schedule->best());
                CHECK(resumed->num_bad_epochs() == schedule->num_bad_epochs());
                schedule = std::move(resumed);
            }
            schedule->step(metrics[s - 1]);
            check_close(lrs(opt), reference(name, s, "lr"), name + " step " + std::to_string(s));
        }
    };
    run("plateau_min_rel", {.factor = 0.5, .patience = 2, .cooldown = 1, .min_lr = 0.004}, losses);
    run("plateau_max_abs",
        {.mode = PlateauMode::max,
         .factor = 0.3,
         .patience = 1,
         .threshold = 0.05,
         .threshold_mode = ThresholdMode::abs,
         .eps = 0.01},
        accuracies);
}

TEST_CASE("bad schedule options and states are errors naming the schedule and the value") {
    SGD opt = two_group_sgd();
    CHECK_THROWS_WITH_AS(MultiStepLR(opt, {2}, 0), "MultiStepLR: gamma must be positive, got 0", rg::Error);
    CHECK_THROWS_WITH_AS(CyclicLR(opt, {.base_lr = 0.1, .max_lr = 0.01}),
                         "CyclicLR: max_lr (0.01) must be at least base_lr (0.1)", rg::Error);
    CHECK_THROWS_WITH_AS(CyclicLR(opt, {.base_lr = -0.1, .max_lr = 0.01}),
                         "CyclicLR: base_lr must be non-negative, got -0.1", rg::Error);
    CHECK_THROWS_WITH_AS(CyclicLR(opt, {.base_lr = 0.01, .max_lr = 0.1, .step_size_up = 0}),
                         "CyclicLR: step_size_up must be positive", rg::Error);
    CHECK_THROWS_WITH_AS(CyclicLR(opt, {.base_lr = 0.01, .max_lr = 0.1, .base_momentum = 0.9, .max_momentum = 0.8}),
                         "CyclicLR: expected 0 <= base_momentum <= max_momentum, got base_momentum 0.9 and "
                         "max_momentum 0.8",
                         rg::Error);
    Adam adam({zeros_param(1)});
    CHECK_THROWS_WITH_AS(CyclicLR(adam, {.base_lr = 0.01, .max_lr = 0.1}),
                         "CyclicLR: cycle_momentum needs an optimizer with a momentum option (SGD or RMSprop), not "
                         "Adam; pass .cycle_momentum = false",
                         rg::Error);
    Adagrad adagrad({zeros_param(1)});
    CHECK_THROWS_WITH_AS(OneCycleLR(adagrad, {.max_lr = 0.1, .total_steps = 10}),
                         "OneCycleLR: cycle_momentum needs an optimizer with a momentum (SGD, RMSprop) or a beta1 "
                         "(the Adam family), not Adagrad; pass .cycle_momentum = false",
                         rg::Error);
    CHECK_THROWS_WITH_AS(OneCycleLR(opt, {.max_lr = 0.1}),
                         "OneCycleLR: give total_steps, or both epochs and steps_per_epoch (got total_steps 0, epochs "
                         "0, steps_per_epoch 0)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(OneCycleLR(opt, {.max_lr = 0.1, .total_steps = 10, .pct_start = 1.5}),
                         "OneCycleLR: pct_start must be in [0, 1], got 1.5", rg::Error);
    CHECK_THROWS_WITH_AS(OneCycleLR(opt, {.max_lr = -1, .total_steps = 10}),
                         "OneCycleLR: max_lr must be non-negative, got -1", rg::Error);
    // 0.1 of 10 steps ends the first phase at step 0, where it starts: PyTorch divides by zero there.
    CHECK_THROWS_WITH_AS(OneCycleLR(opt, {.max_lr = 0.1, .total_steps = 10, .pct_start = 0.1}),
                         "OneCycleLR: phase 1 has no steps (pct_start 0.1, total_steps 10)", rg::Error);
    CHECK_THROWS_WITH_AS(ReduceLROnPlateau(opt, {.factor = 1.0}), "ReduceLROnPlateau: factor must be in [0, 1), got 1",
                         rg::Error);
    CHECK_THROWS_WITH_AS(ReduceLROnPlateau(opt, {.min_lr = -1}),
                         "ReduceLROnPlateau: min_lr must be non-negative, got -1", rg::Error);
    ReduceLROnPlateau plateau(opt);
    StateDict state = plateau.state_dict();
    state["num_bad_epochs"] = rg::full(rg::IntList{}, 1.5, {.dtype = rg::float64});
    CHECK_THROWS_WITH_AS(plateau.load_state_dict(state),
                         "ReduceLROnPlateau::load_state_dict: 'num_bad_epochs' is 1.5; expected a whole number from 0 "
                         "to 2^53",
                         rg::Error);
    state.erase("num_bad_epochs");
    CHECK_THROWS_WITH_AS(plateau.load_state_dict(state), "ReduceLROnPlateau::load_state_dict: no 'num_bad_epochs'",
                         rg::Error);
}

TEST_CASE("LambdaLR, MultiplicativeLR, ConstantLR, LinearLR and PolynomialLR follow PyTorch 1.13") {
    {
        SGD opt = two_group_sgd();
        LambdaLR schedule(opt, [](std::size_t e) { return 1.0 / static_cast<double>(1 + e) + 0.1 * (e % 3); });
        check_schedule("lambda", opt, schedule, 12, false);
    }
    {
        SGD opt = two_group_sgd();
        MultiplicativeLR schedule(opt, [](std::size_t e) { return e % 2 ? 0.8 : 0.95; });
        check_schedule("multiplicative", opt, schedule, 12, false);
    }
    {
        SGD opt = two_group_sgd();
        ConstantLR schedule(opt, 0.25, 4);
        check_schedule("constant", opt, schedule, 8, false);
    }
    {
        SGD opt = two_group_sgd();
        LinearLR schedule(opt, 0.25, 0.75, 4);
        check_schedule("linear", opt, schedule, 8, false);
    }
    {
        SGD opt = two_group_sgd();
        PolynomialLR schedule(opt, 6, 2.0);
        check_schedule("polynomial", opt, schedule, 9, false);
    }
}

TEST_CASE("CosineAnnealingWarmRestarts follows PyTorch 1.13, periods growing or the same") {
    {
        SGD opt = two_group_sgd();
        CosineAnnealingWarmRestarts schedule(opt, 3, 2, 0.01);
        check_schedule("warm_restarts", opt, schedule, 25, false);
    }
    {
        SGD opt = two_group_sgd();
        CosineAnnealingWarmRestarts schedule(opt, 4);
        check_schedule("warm_restarts_same_period", opt, schedule, 13, false);
    }
    // A huge t_mult: the second period holds every epoch, with no overflow.
    SGD opt = two_group_sgd();
    CosineAnnealingWarmRestarts schedule(opt, 2, std::numeric_limits<std::size_t>::max());
    for (int s = 0; s < 4; ++s) schedule.step();
    CHECK(opt.lr(0) == doctest::Approx(0.1).epsilon(1e-12));
}

TEST_CASE("SequentialLR runs its schedules in turn from PyTorch's initial rates, as PyTorch 1.13") {
    {
        SGD opt = two_group_sgd();
        LinearLR warmup(opt, 0.1, 1.0, 4);  // lowers the rates at once: the cosine below sees them lowered
        CosineAnnealingLR cosine(opt, 8, 0.001);
        SequentialLR schedule(opt, {&warmup, &cosine}, {4});
        check_schedule("sequential_warmup_cosine", opt, schedule, 12, false);
    }
    {
        SGD opt = two_group_sgd();
        ConstantLR constant(opt, 0.5, 2);
        ExponentialLR decay(opt, 0.9);
        StepLR stairs(opt, 2, 0.5);
        SequentialLR schedule(opt, {&constant, &decay, &stairs}, {3, 7});
        check_schedule("sequential_three", opt, schedule, 12, false);
    }
    {
        // The running schedule's momentum cycling goes through SequentialLR too.
        SGD opt = two_group_sgd();
        ConstantLR constant(opt, 0.5, 10);
        CyclicLR cyclic(opt, {.base_lr = 0.01, .max_lr = 0.1, .step_size_up = 2});
        // CyclicLR sets its base_lr at construction; SequentialLR starts over from the first schedule's rates.
        SequentialLR schedule(opt, {&constant, &cyclic}, {3});
        check_schedule("sequential_cyclic_momentum", opt, schedule, 10, true);
    }
}

TEST_CASE("ChainedScheduler multiplies its schedules' effects, as PyTorch 1.13") {
    {
        SGD opt = two_group_sgd();
        ConstantLR constant(opt, 0.5, 3);
        ExponentialLR decay(opt, 0.9);
        ChainedScheduler schedule({&constant, &decay});
        check_schedule("chained_constant_exponential", opt, schedule, 10, false);
    }
    {
        SGD opt = two_group_sgd();
        LinearLR warmup(opt, 0.1, 1.0, 4);
        StepLR stairs(opt, 3, 0.5);
        ChainedScheduler schedule({&warmup, &stairs});
        check_schedule("chained_warmup_step", opt, schedule, 12, false);
    }
    {
        // A milestone listed twice counts twice in the chain too.
        SGD opt = two_group_sgd();
        LinearLR warmup(opt, 0.25, 0.75, 5);
        MultiStepLR milestones(opt, {2, 6, 6, 9}, 0.5);
        ChainedScheduler schedule({&warmup, &milestones});
        check_schedule("chained_warmup_multistep", opt, schedule, 12, false);
    }
    {
        SGD opt = two_group_sgd();
        LinearLR warmup(opt, 0.2, 1.0, 4);
        MultiStepLR milestones(opt, {3, 7}, 0.5);
        ExponentialLR decay(opt, 0.95);
        ChainedScheduler schedule({&warmup, &milestones, &decay});
        check_schedule("chained_three", opt, schedule, 12, false);
    }
    {
        // PolynomialLR reaches 0 at its 8th step, and the chain stays there.
        SGD opt = two_group_sgd();
        ConstantLR constant(opt, 0.5, 2);
        MultiplicativeLR alternating(opt, [](std::size_t e) { return e % 2 ? 0.9 : 1.05; });
        PolynomialLR polynomial(opt, 8, 2.0);
        ChainedScheduler schedule({&constant, &alternating, &polynomial});
        check_schedule("chained_multiplicative_polynomial", opt, schedule, 10, false);
    }
    {
        // Up to t_max: past it PyTorch's chained cosine restarts, this one stays at its end.
        SGD opt = two_group_sgd();
        LinearLR warmup(opt, 0.1, 1.0, 3);
        CosineAnnealingLR cosine(opt, 10);
        ChainedScheduler schedule({&warmup, &cosine});
        check_schedule("chained_warmup_cosine", opt, schedule, 10, false);
    }
    {
        SGD opt = two_group_sgd();
        ConstantLR constant(opt, 0.5, 3);
        ExponentialLR decay(opt, 0.9);
        ChainedScheduler inner({&constant, &decay});
        MultiStepLR milestones(opt, {4, 7}, 0.1);
        ChainedScheduler schedule({&inner, &milestones});
        check_schedule("chained_nested", opt, schedule, 9, false);
    }
}

TEST_CASE("ChainedScheduler refuses what PyTorch's chain would not compose, naming the schedule") {
    SGD opt = two_group_sgd();
    StepLR stairs(opt, 2);
    ExponentialLR decay(opt, 0.5);
    CHECK_THROWS_WITH_AS(ChainedScheduler(std::vector<LRScheduler*>{}),
                         "ChainedScheduler: expected at least one schedule, got none", rg::Error);
    CHECK_THROWS_WITH_AS(ChainedScheduler({nullptr, &stairs}), "ChainedScheduler: schedule 0 is null", rg::Error);
    CHECK_THROWS_WITH_AS(ChainedScheduler({&stairs, nullptr}), "ChainedScheduler: schedule 1 is null", rg::Error);
    CHECK_THROWS_WITH_AS(ChainedScheduler({&stairs, &decay, &stairs}),
                         "ChainedScheduler: schedule 2 is schedule 0 again; chain each schedule once", rg::Error);
    SGD other = two_group_sgd();
    StepLR elsewhere(other, 2);
    CHECK_THROWS_WITH_AS(ChainedScheduler({&stairs, &elsewhere}),
                         "ChainedScheduler: schedule 1 belongs to another optimizer than schedule 0; every schedule "
                         "must be built on the same optimizer",
                         rg::Error);
    const std::string not_chainable =
        " cannot be chained: its rate is not its base rate times a factor of the epoch (chain StepLR, MultiStepLR, "
        "ExponentialLR, ConstantLR, LinearLR, LinearWarmup, MultiplicativeLR, PolynomialLR, CosineAnnealingLR with "
        "eta_min 0, or chains of them; run other schedules one after another with SequentialLR)";
    // PyTorch's CyclicLR, OneCycleLR, LambdaLR and warm restarts set the rate from their base
    // rates, undoing the schedules before them; its chained cosine with eta_min is not a product.
    CyclicLR cyclic(opt, {.base_lr = 0.01, .max_lr = 0.1, .step_size_up = 2});
    CHECK_THROWS_WITH_AS(ChainedScheduler({&stairs, &cyclic}), ("ChainedScheduler: schedule 1" + not_chainable).c_str(),
                         rg::Error);
    OneCycleLR one_cycle(opt, {.max_lr = 0.1, .total_steps = 10});
    LambdaLR lambda(opt, [](std::size_t e) { return 1.0 / static_cast<double>(e + 1); });
    CosineAnnealingWarmRestarts restarts(opt, 3);
    CosineAnnealingLR cosine_to_floor(opt, 10, 0.001);
    SequentialLR sequential(opt, {&stairs, &decay}, {3});
    for (LRScheduler* schedule :
         std::vector<LRScheduler*>{&one_cycle, &lambda, &restarts, &cosine_to_floor, &sequential})
        CHECK_THROWS_WITH_AS(ChainedScheduler({schedule}), ("ChainedScheduler: schedule 0" + not_chainable).c_str(),
                             rg::Error);
    // A schedule stepped on its own is at another epoch than the chain.
    decay.step();
    CHECK_THROWS_WITH_AS(ChainedScheduler({&stairs, &decay}),
                         "ChainedScheduler: schedule 1 is at epoch 1, expected 0; chain schedules before stepping "
                         "them, then step the chain only",
                         rg::Error);
}

TEST_CASE("bad options of the newer schedules name the schedule and the value") {
    SGD opt = two_group_sgd();
    CHECK_THROWS_WITH_AS(LambdaLR(opt, nullptr), "LambdaLR: lr_lambda is empty; pass a function of the epoch",
                         rg::Error);
    CHECK_THROWS_WITH_AS(MultiplicativeLR(opt, nullptr),
                         "MultiplicativeLR: lr_lambda is empty; pass a function of the epoch", rg::Error);
    CHECK_THROWS_WITH_AS(ConstantLR(opt, 1.5), "ConstantLR: factor must be in [0, 1], got 1.5", rg::Error);
    CHECK_THROWS_WITH_AS(LinearLR(opt, 0.0), "LinearLR: start_factor must be in (0, 1], got 0", rg::Error);
    CHECK_THROWS_WITH_AS(LinearLR(opt, 0.5, -1), "LinearLR: end_factor must be in [0, 1], got -1", rg::Error);
    CHECK_THROWS_WITH_AS(LinearLR(opt, 0.5, 1, 0), "LinearLR: total_iters must be positive", rg::Error);
    CHECK_THROWS_WITH_AS(PolynomialLR(opt, 0), "PolynomialLR: total_iters must be positive", rg::Error);
    CHECK_THROWS_WITH_AS(PolynomialLR(opt, 5, -1), "PolynomialLR: power must be non-negative, got -1", rg::Error);
    CHECK_THROWS_WITH_AS(CosineAnnealingWarmRestarts(opt, 0), "CosineAnnealingWarmRestarts: t_0 must be positive",
                         rg::Error);
    CHECK_THROWS_WITH_AS(CosineAnnealingWarmRestarts(opt, 3, 0),
                         "CosineAnnealingWarmRestarts: t_mult must be at least 1, got 0", rg::Error);
    StepLR first(opt, 2);
    ExponentialLR second(opt, 0.5);
    CHECK_THROWS_WITH_AS(SequentialLR(opt, {}, {}), "SequentialLR: expected at least one schedule, got none",
                         rg::Error);
    CHECK_THROWS_WITH_AS(SequentialLR(opt, {&first, nullptr}, {2}), "SequentialLR: schedule 1 is null", rg::Error);
    CHECK_THROWS_WITH_AS(SequentialLR(opt, {&first, &second}, {}),
                         "SequentialLR: expected one milestone fewer than the schedules, got 2 schedules and 0 "
                         "milestones",
                         rg::Error);
    CHECK_THROWS_WITH_AS(SequentialLR(opt, {&first, &second, &first}, {5, 3}),
                         "SequentialLR: the milestones must not decrease, got 3 after 5", rg::Error);
    SGD other = two_group_sgd();
    StepLR elsewhere(other, 2);
    CHECK_THROWS_WITH_AS(SequentialLR(opt, {&first, &elsewhere}, {2}),
                         "SequentialLR: schedule 1 belongs to another optimizer; every schedule must be built on the "
                         "optimizer passed in",
                         rg::Error);
}

// ---- LBFGS ---------------------------------------------------------------------------

namespace {

// (1 - x0)^2 + 100 (x1 - x0^2)^2 from (-1.5, 2), as the reference script;
// `tolerance` relative (1e-10 unless the run is long enough to be chaotic).
void check_rosenbrock(const std::string& name, std::size_t steps, LBFGSOptions options, double tolerance = 1e-10) {
    auto x = f64({-1.5, 2.0});
    LBFGS opt({x}, options);
    std::size_t evaluations = 0;
    const LossClosure closure = [&] {
        ++evaluations;
        opt.zero_grad();
        const auto x0 = rg::select(x, 0, 0), x1 = rg::select(x, 0, 1);
        auto loss = (1.0 - x0) * (1.0 - x0) + 100.0 * (x1 - x0 * x0) * (x1 - x0 * x0);
        loss.backward();
        return loss;
    };
    const auto close = [&](const std::vector<double>& actual, const std::vector<double>& expected,
                           const std::string& where) {
        REQUIRE(actual.size() == expected.size());
        for (std::size_t k = 0; k < actual.size(); ++k)
            CHECK_MESSAGE(std::abs(actual[k] - expected[k]) <= tolerance * std::max(std::abs(expected[k]), 1e-2),
                          where << "[" << k << "]: got " << actual[k] << ", PyTorch " << expected[k]);
    };
    for (std::size_t s = 1; s <= steps; ++s) {
        const double loss = opt.step(closure).item();
        const std::string where = name + " step " + std::to_string(s);
        close(x.to_vector(), reference(name, s, "x"), where + " x");
        close({loss}, reference(name, s, "loss"), where + " loss");
        // Exact runs call the closure exactly as often; a long one within two calls.
        const double calls = reference(name, s, "evaluations").at(0);
        CHECK(std::abs(static_cast<double>(evaluations) - calls) <= (tolerance <= 1e-10 ? 0 : 2));
    }
}

}  // namespace

TEST_CASE("LBFGS without a line search and with strong Wolfe follows PyTorch 1.13 on Rosenbrock") {
    check_rosenbrock("lbfgs_none", 4, {.lr = 0.1, .max_iter = 5, .history_size = 3});
    // Two steps of five iterations: the history (3 pairs) carries over from one step to the next.
    check_rosenbrock("lbfgs_strong_wolfe", 2,
                     {.max_iter = 5, .history_size = 3, .line_search_fn = LineSearch::strong_wolfe});
    check_rosenbrock("lbfgs_strong_wolfe_max_eval", 1,
                     {.max_iter = 100,
                      .max_eval = 8,
                      .tolerance_grad = 1e-5,
                      .tolerance_change = 1e-9,
                      .history_size = 4,
                      .line_search_fn = LineSearch::strong_wolfe});
}

TEST_CASE("LBFGS with strong Wolfe reaches Rosenbrock's minimum along PyTorch's path") {
    // From the 12th iteration on, the cubic interpolation turns last-bit differences in the
    // loss into 1e-6 in the step (in PyTorch too, between x*x and x**2), so over five steps
    // of 20 iterations: the path within 2e-3, the closure calls within two, the same minimum.
    check_rosenbrock("lbfgs_strong_wolfe_long", 5, {.history_size = 10, .line_search_fn = LineSearch::strong_wolfe},
                     2e-3);
}

TEST_CASE("LBFGS refuses a missing closure and bad options, naming them") {
    auto x = f64({1.0});
    LBFGS opt({x});
    CHECK_THROWS_WITH_AS(opt.step(),
                         "LBFGS: step() needs a closure that recomputes the loss (zero_grad, forward, backward, "
                         "return the loss): call step(closure)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(opt.step(LossClosure{}),
                         "LBFGS: step() needs a closure that recomputes the loss (zero_grad, forward, backward, "
                         "return the loss): call step(closure)",
                         rg::Error);
    auto y = f64({1.0, 2.0});
    LBFGS two({y});
    CHECK_THROWS_WITH_AS(two.step([&] { return y * 2.0; }),
                         "LBFGS: the closure must return the loss, one number; it returned a tensor of shape (2,)",
                         rg::Error);
    CHECK_THROWS_WITH_AS(LBFGS({x}, {.lr = -1}), "LBFGS: invalid learning rate -1", rg::Error);
    CHECK_THROWS_WITH_AS(LBFGS({x}, {.max_iter = 0}), "LBFGS: max_iter must be positive", rg::Error);
    CHECK_THROWS_WITH_AS(LBFGS({x}, {.history_size = 0}), "LBFGS: history_size must be positive", rg::Error);
    CHECK_THROWS_WITH_AS(LBFGS({x}, {.tolerance_grad = -1e-5}), "LBFGS: invalid tolerance_grad -1e-05", rg::Error);
}
