// MultiStepLR, CyclicLR, OneCycleLR, ReduceLROnPlateau, LambdaLR,
// MultiplicativeLR, ConstantLR, LinearLR, PolynomialLR,
// CosineAnnealingWarmRestarts, SequentialLR and ChainedScheduler: PyTorch
// 1.13's schedules (torch/optim/lr_scheduler.py), the same rates step for step.
#include <retrograd/nn/optim.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <utility>

namespace rg::optim {
namespace {

// Replaces one option of a group if `opt` is an O; false otherwise.
template <class O, class Options>
bool set_option(Optimizer& opt, std::size_t group, double Options::*field, double value) {
    auto* typed = dynamic_cast<O*>(&opt);
    if (!typed) return false;
    // The lr is the schedule's, set without validation as set_lr does: PyTorch's
    // OneCycleLR lets a linear anneal overshoot below zero at its last step.
    const double lr = typed->lr(group);
    Options o = typed->options(group);
    o.*field = value;
    o.lr = std::max(lr, 0.0);
    typed->set_options(o, group);
    typed->set_lr(lr, group);
    return true;
}

// What the cyclic schedules call the momentum: SGD's and RMSprop's momentum,
// or beta1 of the Adam family (PyTorch's `betas[0]`).
bool has_momentum_option(Optimizer& opt) { return dynamic_cast<SGD*>(&opt) || dynamic_cast<RMSprop*>(&opt); }
bool has_beta1(Optimizer& opt) {
    return dynamic_cast<Adam*>(&opt) || dynamic_cast<NAdam*>(&opt) || dynamic_cast<RAdam*>(&opt) ||
           dynamic_cast<Adamax*>(&opt);
}
void set_momentum(Optimizer& opt, std::size_t group, double value) {
    (void)(set_option<SGD>(opt, group, &SGDOptions::momentum, value) ||
           set_option<RMSprop>(opt, group, &RMSpropOptions::momentum, value) ||
           set_option<Adam>(opt, group, &AdamOptions::beta1, value) ||
           set_option<NAdam>(opt, group, &NAdamOptions::beta1, value) ||
           set_option<RAdam>(opt, group, &RAdamOptions::beta1, value) ||
           set_option<Adamax>(opt, group, &AdamaxOptions::beta1, value));
}

}  // namespace

// ---- MultiStepLR ---------------------------------------------------------------------

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<std::size_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
    if (!(gamma > 0)) fail("MultiStepLR: gamma must be positive, got {}", gamma);
    std::sort(milestones_.begin(), milestones_.end());
}

double MultiStepLR::factor(std::size_t epoch, double base) const {
    // The milestones reached so far (PyTorch's bisect_right), each listed one counting once.
    const auto reached = std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin();
    return base * std::pow(gamma_, static_cast<double>(reached));
}

// ---- CyclicLR ------------------------------------------------------------------------

CyclicLR::CyclicLR(Optimizer& optimizer, CyclicLROptions options)
    : LRScheduler(optimizer), optimizer_(optimizer), o_(options) {
    if (!(o_.base_lr >= 0)) fail("CyclicLR: base_lr must be non-negative, got {}", o_.base_lr);
    if (!(o_.max_lr >= o_.base_lr)) fail("CyclicLR: max_lr ({}) must be at least base_lr ({})", o_.max_lr, o_.base_lr);
    if (o_.step_size_up == 0) fail("CyclicLR: step_size_up must be positive");
    if (o_.mode == CyclicMode::exp_range && !(o_.gamma > 0))
        fail("CyclicLR: gamma must be positive in exp_range mode, got {}", o_.gamma);
    if (o_.cycle_momentum) {
        // As PyTorch 1.13, which cycles an optimizer's `momentum` only (not Adam's betas).
        if (!has_momentum_option(optimizer))
            fail("CyclicLR: cycle_momentum needs an optimizer with a momentum option (SGD or RMSprop), not {}; pass "
                 ".cycle_momentum = false",
                 optimizer.name());
        if (!(o_.base_momentum >= 0 && o_.max_momentum >= o_.base_momentum))
            fail("CyclicLR: expected 0 <= base_momentum <= max_momentum, got base_momentum {} and max_momentum {}",
                 o_.base_momentum, o_.max_momentum);
    }
    // The rates of step 0 (PyTorch's constructor takes one step).
    for (std::size_t g = 0; g < optimizer.group_count(); ++g) optimizer.set_lr(factor(0, 0.0), g);
    after_step(0);
}

double CyclicLR::scale(std::size_t epoch, double* phase) const {
    const double up = static_cast<double>(o_.step_size_up);
    const double total = up + static_cast<double>(o_.step_size_down ? o_.step_size_down : o_.step_size_up);
    const double step_ratio = up / total, e = static_cast<double>(epoch);
    const double cycle = std::floor(1 + e / total);
    const double x = 1. + e / total - cycle;  // where in the cycle, from 0 to 1
    *phase = x <= step_ratio ? x / step_ratio : (x - 1) / (step_ratio - 1);
    switch (o_.mode) {
        case CyclicMode::triangular: return 1.;
        case CyclicMode::triangular2: return 1 / std::pow(2., cycle - 1);
        case CyclicMode::exp_range: return std::pow(o_.gamma, e);
    }
    return 1.;
}

double CyclicLR::factor(std::size_t epoch, double) const {
    double phase = 0;
    const double s = scale(epoch, &phase);
    const double base_height = (o_.max_lr - o_.base_lr) * phase;
    return o_.base_lr + base_height * s;
}

void CyclicLR::after_step(std::size_t epoch) {
    if (!o_.cycle_momentum) return;
    double phase = 0;
    const double s = scale(epoch, &phase);
    const double base_height = (o_.max_momentum - o_.base_momentum) * phase;
    for (std::size_t g = 0; g < optimizer_.group_count(); ++g)
        set_momentum(optimizer_, g, o_.max_momentum - base_height * s);
}

// ---- OneCycleLR ----------------------------------------------------------------------

OneCycleLR::OneCycleLR(Optimizer& optimizer, OneCycleLROptions options)
    : LRScheduler(optimizer), optimizer_(optimizer), o_(options) {
    if (o_.total_steps == 0) {
        if (o_.epochs == 0 || o_.steps_per_epoch == 0)
            fail("OneCycleLR: give total_steps, or both epochs and steps_per_epoch (got total_steps 0, epochs {}, "
                 "steps_per_epoch {})",
                 o_.epochs, o_.steps_per_epoch);
        if (o_.epochs > std::numeric_limits<std::size_t>::max() / o_.steps_per_epoch)
            fail("OneCycleLR: epochs {} times steps_per_epoch {} overflows", o_.epochs, o_.steps_per_epoch);
        o_.total_steps = o_.epochs * o_.steps_per_epoch;
    }
    if (!(o_.max_lr >= 0)) fail("OneCycleLR: max_lr must be non-negative, got {}", o_.max_lr);
    if (!(o_.pct_start >= 0 && o_.pct_start <= 1))
        fail("OneCycleLR: pct_start must be in [0, 1], got {}", o_.pct_start);
    if (!(o_.div_factor > 0)) fail("OneCycleLR: div_factor must be positive, got {}", o_.div_factor);
    if (!(o_.final_div_factor > 0)) fail("OneCycleLR: final_div_factor must be positive, got {}", o_.final_div_factor);
    if (o_.cycle_momentum && !has_momentum_option(optimizer) && !has_beta1(optimizer))
        fail("OneCycleLR: cycle_momentum needs an optimizer with a momentum (SGD, RMSprop) or a beta1 (the Adam "
             "family), not {}; pass .cycle_momentum = false",
             optimizer.name());
    const double initial = o_.max_lr / o_.div_factor, min_lr = initial / o_.final_div_factor;
    const double total = static_cast<double>(o_.total_steps), top = o_.max_lr;
    const double low_m = o_.base_momentum, high_m = o_.max_momentum;
    if (o_.three_phase) {
        phases_ = {{o_.pct_start * total - 1, initial, top, high_m, low_m},
                   {2 * o_.pct_start * total - 2, top, initial, low_m, high_m},
                   {total - 1, initial, min_lr, high_m, high_m}};
    } else {
        phases_ = {{o_.pct_start * total - 1, initial, top, high_m, low_m}, {total - 1, top, min_lr, low_m, high_m}};
    }
    // The rates of step 0 (PyTorch's constructor takes one step).
    for (std::size_t g = 0; g < optimizer.group_count(); ++g) optimizer.set_lr(factor(0, 0.0), g);
    after_step(0);
}

const OneCycleLR::Phase& OneCycleLR::phase_at(std::size_t epoch, double* pct) const {
    if (epoch > o_.total_steps)
        fail("OneCycleLR: step() called {} times, but total_steps is {}", epoch, o_.total_steps);
    const double e = static_cast<double>(epoch);
    double start = 0;
    for (std::size_t i = 0; i < phases_.size(); ++i) {
        const Phase& phase = phases_[i];
        if (e <= phase.end_step || i + 1 == phases_.size()) {
            if (phase.end_step == start)
                fail("OneCycleLR: phase {} has no steps (pct_start {}, total_steps {})", i + 1, o_.pct_start,
                     o_.total_steps);
            *pct = (e - start) / (phase.end_step - start);
            return phase;
        }
        start = phase.end_step;
    }
    return phases_.back();  // not reached: the last phase is always taken
}

double OneCycleLR::anneal(double start, double end, double pct) const {
    if (o_.anneal_strategy == AnnealStrategy::linear) return (end - start) * pct + start;
    return end + (start - end) / 2.0 * (std::cos(std::numbers::pi * pct) + 1);
}

double OneCycleLR::factor(std::size_t epoch, double) const {
    double pct = 0;
    const Phase& phase = phase_at(epoch, &pct);
    return anneal(phase.start_lr, phase.end_lr, pct);
}

void OneCycleLR::after_step(std::size_t epoch) {
    if (!o_.cycle_momentum) return;
    double pct = 0;
    const Phase& phase = phase_at(epoch, &pct);
    for (std::size_t g = 0; g < optimizer_.group_count(); ++g)
        set_momentum(optimizer_, g, anneal(phase.start_momentum, phase.end_momentum, pct));
}

// ---- ReduceLROnPlateau ---------------------------------------------------------------

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, ReduceLROnPlateauOptions options)
    : optimizer_(optimizer), o_(options) {
    if (!(o_.factor >= 0 && o_.factor < 1)) fail("ReduceLROnPlateau: factor must be in [0, 1), got {}", o_.factor);
    if (!(o_.threshold >= 0)) fail("ReduceLROnPlateau: threshold must be non-negative, got {}", o_.threshold);
    if (!(o_.min_lr >= 0)) fail("ReduceLROnPlateau: min_lr must be non-negative, got {}", o_.min_lr);
    if (!(o_.eps >= 0)) fail("ReduceLROnPlateau: eps must be non-negative, got {}", o_.eps);
    best_ = o_.mode == PlateauMode::min ? std::numeric_limits<double>::infinity()
                                        : -std::numeric_limits<double>::infinity();
}

bool ReduceLROnPlateau::is_better(double a) const {
    const bool rel = o_.threshold_mode == ThresholdMode::rel;
    if (o_.mode == PlateauMode::min) return rel ? a < best_ * (1. - o_.threshold) : a < best_ - o_.threshold;
    return rel ? a > best_ * (o_.threshold + 1.) : a > best_ + o_.threshold;
}

void ReduceLROnPlateau::step(double metric) {
    ++last_epoch_;
    if (is_better(metric)) {
        best_ = metric;
        num_bad_epochs_ = 0;
    } else {
        ++num_bad_epochs_;
    }
    if (cooldown_counter_ > 0) {
        --cooldown_counter_;
        num_bad_epochs_ = 0;  // bad epochs in the cooldown do not count
    }
    if (num_bad_epochs_ > o_.patience) {
        for (std::size_t g = 0; g < optimizer_.group_count(); ++g) {
            const double old_lr = optimizer_.lr(g), new_lr = std::max(old_lr * o_.factor, o_.min_lr);
            if (old_lr - new_lr > o_.eps) optimizer_.set_lr(new_lr, g);
        }
        cooldown_counter_ = o_.cooldown;
        num_bad_epochs_ = 0;
    }
}

StateDict ReduceLROnPlateau::state_dict() const {
    const auto scalar = [](double v) { return full(IntList{}, v, {.dtype = Dtype::float64}); };
    return {{"best", scalar(best_)},
            {"num_bad_epochs", scalar(static_cast<double>(num_bad_epochs_))},
            {"cooldown_counter", scalar(static_cast<double>(cooldown_counter_))},
            {"last_epoch", scalar(static_cast<double>(last_epoch_))}};
}

void ReduceLROnPlateau::load_state_dict(const StateDict& state) {
    for (const auto& [key, t] : state)
        if (key != "best" && key != "num_bad_epochs" && key != "cooldown_counter" && key != "last_epoch")
            fail("ReduceLROnPlateau::load_state_dict: unexpected entry '{}'", key);
    const auto value = [&](const char* key) {
        const auto it = state.find(key);
        if (it == state.end()) fail("ReduceLROnPlateau::load_state_dict: no '{}'", key);
        if (!it->second.defined() || it->second.numel() != 1)
            fail("ReduceLROnPlateau::load_state_dict: '{}' must hold one number", key);
        return it->second.item();
    };
    const auto count = [&](const char* key) {
        const double v = value(key);
        if (!(v >= 0 && v <= static_cast<double>(max_step_count)) || v != std::floor(v))
            fail("ReduceLROnPlateau::load_state_dict: '{}' is {}; expected a whole number from 0 to 2^53", key, v);
        return static_cast<std::size_t>(v);
    };
    const double best = value("best");
    if (std::isnan(best)) fail("ReduceLROnPlateau::load_state_dict: 'best' is NaN; the state is corrupt");
    const std::size_t bad = count("num_bad_epochs"), cooldown = count("cooldown_counter"), epoch = count("last_epoch");
    best_ = best;
    num_bad_epochs_ = bad;
    cooldown_counter_ = cooldown;
    last_epoch_ = epoch;
}

// ---- LambdaLR and MultiplicativeLR -------------------------------------------------------

LambdaLR::LambdaLR(Optimizer& optimizer, std::function<double(std::size_t)> lr_lambda)
    : LRScheduler(optimizer), lr_lambda_(std::move(lr_lambda)) {
    if (!lr_lambda_) fail("LambdaLR: lr_lambda is empty; pass a function of the epoch");
    for (std::size_t g = 0; g < optimizer.group_count(); ++g) optimizer.set_lr(factor(0, optimizer.lr(g)), g);
}

double LambdaLR::factor(std::size_t epoch, double base) const { return base * lr_lambda_(epoch); }

MultiplicativeLR::MultiplicativeLR(Optimizer& optimizer, std::function<double(std::size_t)> lr_lambda)
    : LRScheduler(optimizer), lr_lambda_(std::move(lr_lambda)) {
    if (!lr_lambda_) fail("MultiplicativeLR: lr_lambda is empty; pass a function of the epoch");
}

double MultiplicativeLR::factor(std::size_t epoch, double base) const {
    // step() asks for each epoch in turn (once per group): extend the product, and
    // start over only when asked for an earlier epoch.
    if (epoch < product_epoch_) {
        product_epoch_ = 0;
        product_ = 1.0;
    }
    for (; product_epoch_ < epoch; ++product_epoch_) product_ *= lr_lambda_(product_epoch_ + 1);
    return base * product_;
}

// ---- ConstantLR, LinearLR and PolynomialLR ------------------------------------------------

ConstantLR::ConstantLR(Optimizer& optimizer, double factor, std::size_t total_iters)
    : LRScheduler(optimizer), factor_(factor), total_iters_(total_iters) {
    if (!(factor >= 0 && factor <= 1)) fail("ConstantLR: factor must be in [0, 1], got {}", factor);
    for (std::size_t g = 0; g < optimizer.group_count(); ++g) optimizer.set_lr(this->factor(0, optimizer.lr(g)), g);
}

double ConstantLR::factor(std::size_t epoch, double base) const { return epoch < total_iters_ ? base * factor_ : base; }

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor, std::size_t total_iters)
    : LRScheduler(optimizer), start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {
    // PyTorch's bounds: a start of 0 would make its chained form divide by 0.
    if (!(start_factor > 0 && start_factor <= 1))
        fail("LinearLR: start_factor must be in (0, 1], got {}", start_factor);
    if (!(end_factor >= 0 && end_factor <= 1)) fail("LinearLR: end_factor must be in [0, 1], got {}", end_factor);
    if (total_iters == 0) fail("LinearLR: total_iters must be positive");
    for (std::size_t g = 0; g < optimizer.group_count(); ++g) optimizer.set_lr(factor(0, optimizer.lr(g)), g);
}

double LinearLR::factor(std::size_t epoch, double base) const {
    const double progress = static_cast<double>(std::min(epoch, total_iters_)) / static_cast<double>(total_iters_);
    return base * (start_factor_ + (end_factor_ - start_factor_) * progress);
}

PolynomialLR::PolynomialLR(Optimizer& optimizer, std::size_t total_iters, double power)
    : LRScheduler(optimizer), total_iters_(total_iters), power_(power) {
    if (total_iters == 0) fail("PolynomialLR: total_iters must be positive");
    if (!(power >= 0)) fail("PolynomialLR: power must be non-negative, got {}", power);
}

double PolynomialLR::factor(std::size_t epoch, double base) const {
    const double progress = static_cast<double>(std::min(epoch, total_iters_)) / static_cast<double>(total_iters_);
    return base * std::pow(1.0 - progress, power_);
}

// ---- CosineAnnealingWarmRestarts ----------------------------------------------------------

CosineAnnealingWarmRestarts::CosineAnnealingWarmRestarts(Optimizer& optimizer, std::size_t t_0, std::size_t t_mult,
                                                         double eta_min)
    : LRScheduler(optimizer), t_0_(t_0), t_mult_(t_mult), eta_min_(eta_min) {
    if (t_0 == 0) fail("CosineAnnealingWarmRestarts: t_0 must be positive");
    if (t_mult == 0) fail("CosineAnnealingWarmRestarts: t_mult must be at least 1, got 0");
}

double CosineAnnealingWarmRestarts::factor(std::size_t epoch, double base) const {
    std::size_t period = t_0_, into = epoch;
    if (t_mult_ == 1) {
        into = epoch % period;
    } else {
        // The periods grow geometrically: a few dozen at most before one holds the epoch.
        constexpr std::size_t longest = std::numeric_limits<std::size_t>::max();
        while (into >= period) {
            into -= period;
            period = period > longest / t_mult_ ? longest : period * t_mult_;  // saturates: longer than any run
        }
    }
    const double progress = static_cast<double>(into) / static_cast<double>(period);
    return eta_min_ + (base - eta_min_) * (1 + std::cos(std::numbers::pi * progress)) / 2;
}

// ---- SequentialLR --------------------------------------------------------------------------

SequentialLR::SequentialLR(Optimizer& optimizer, std::vector<LRScheduler*> schedules,
                           std::vector<std::size_t> milestones)
    : LRScheduler(optimizer), schedules_(std::move(schedules)), milestones_(std::move(milestones)) {
    if (schedules_.empty()) fail("SequentialLR: expected at least one schedule, got none");
    for (std::size_t i = 0; i < schedules_.size(); ++i) {
        if (!schedules_[i]) fail("SequentialLR: schedule {} is null", i);
        if (&schedules_[i]->optimizer_ != &optimizer)
            fail("SequentialLR: schedule {} belongs to another optimizer; every schedule must be built on the "
                 "optimizer passed in",
                 i);
    }
    if (milestones_.size() + 1 != schedules_.size())
        fail("SequentialLR: expected one milestone fewer than the schedules, got {} schedules and {} milestones",
             schedules_.size(), milestones_.size());
    for (std::size_t i = 1; i < milestones_.size(); ++i)
        if (milestones_[i] < milestones_[i - 1])
            fail("SequentialLR: the milestones must not decrease, got {} after {}", milestones_[i], milestones_[i - 1]);
    // The rates before any schedule, as PyTorch's initial_lr: the first schedule's bases.
    base_lrs_ = schedules_.front()->base_lrs_;
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) optimizer.set_lr(factor(0, base_lrs_[g]), g);
    after_step(0);
}

std::pair<LRScheduler*, std::size_t> SequentialLR::running(std::size_t epoch) const {
    // PyTorch's bisect_right: a schedule starts at its milestone, at its own epoch 0.
    const auto started =
        static_cast<std::size_t>(std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin());
    return {schedules_[started], started == 0 ? epoch : epoch - milestones_[started - 1]};
}

double SequentialLR::factor(std::size_t epoch, double base) const {
    const auto [schedule, own_epoch] = running(epoch);
    return schedule->factor(own_epoch, base);
}

void SequentialLR::after_step(std::size_t epoch) {
    const auto [schedule, own_epoch] = running(epoch);
    schedule->after_step(own_epoch);
}

// ---- ChainedScheduler ----------------------------------------------------------------------

Optimizer& ChainedScheduler::first_optimizer(const std::vector<LRScheduler*>& schedules) {
    if (schedules.empty()) fail("ChainedScheduler: expected at least one schedule, got none");
    if (!schedules.front()) fail("ChainedScheduler: schedule 0 is null");
    return schedules.front()->optimizer_;
}

ChainedScheduler::ChainedScheduler(std::vector<LRScheduler*> schedules)
    : LRScheduler(first_optimizer(schedules)), schedules_(std::move(schedules)) {
    for (std::size_t i = 0; i < schedules_.size(); ++i) {
        const LRScheduler* schedule = schedules_[i];
        if (!schedule) fail("ChainedScheduler: schedule {} is null", i);
        if (&schedule->optimizer_ != &optimizer_)
            fail("ChainedScheduler: schedule {} belongs to another optimizer than schedule 0; every schedule must be "
                 "built on the same optimizer",
                 i);
        for (std::size_t j = 0; j < i; ++j)
            if (schedules_[j] == schedule)
                fail("ChainedScheduler: schedule {} is schedule {} again; chain each schedule once", i, j);
        // Its own epochs would not be the chain's: PyTorch's would go on from them, these from 0.
        if (schedule->epoch_ != 0)
            fail("ChainedScheduler: schedule {} is at epoch {}, expected 0; chain schedules before stepping them, "
                 "then step the chain only",
                 i, schedule->epoch_);
        if (!schedule->chainable())
            fail("ChainedScheduler: schedule {} cannot be chained: its rate is not its base rate times a factor of "
                 "the epoch (chain StepLR, MultiStepLR, ExponentialLR, ConstantLR, LinearLR, LinearWarmup, "
                 "MultiplicativeLR, PolynomialLR, CosineAnnealingLR with eta_min 0, or chains of them; run other "
                 "schedules one after another with SequentialLR)",
                 i);
    }
    // The rates before any schedule, as PyTorch's initial_lr: the first schedule's bases
    // (the later ones saw the rates the earlier ones had set at their construction).
    base_lrs_ = schedules_.front()->base_lrs_;
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) optimizer_.set_lr(factor(0, base_lrs_[g]), g);
}

double ChainedScheduler::factor(std::size_t epoch, double base) const {
    // PyTorch steps each schedule in turn, each multiplying the current rate by its
    // factor's ratio to the last epoch's: the product of the factors, telescoped.
    double rate = base;
    for (const LRScheduler* schedule : schedules_) rate *= schedule->factor(epoch, 1.0);
    return rate;
}

}  // namespace rg::optim
