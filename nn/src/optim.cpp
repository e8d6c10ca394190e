// Optimizer updates on the raw parameter arrays (not recorded), and schedules.
#include <retrograd/autograd.hpp>
#include <retrograd/detail/update_kernels.hpp>
#include <retrograd/nn/optim.hpp>
#include <retrograd/ops.hpp>

#include "optim_update.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numbers>

namespace rg::optim {
namespace {

using internal::for_each_update;
using internal::require;
using internal::written;

}  // namespace

void Optimizer::add_group(TensorList params, const char* optimizer) {
    name_ = optimizer;
    if (params.empty()) fail("{}: a parameter group is empty", optimizer);
    const std::size_t group = group_params_.size();
    for (std::size_t i = 0; i < params.size(); ++i) {
        const Tensor& p = params[i];
        if (!p.defined() || !p.is_floating() || !p.is_leaf())
            fail("{}: parameter {} of group {} must be a defined float leaf tensor", optimizer, i, group);
        // A parameter given twice would be updated twice per step (PyTorch refuses it too).
        for (std::size_t j = 0; j < i; ++j)
            if (params[j].same(p))
                fail("{}: parameter {} of group {} is the same tensor as parameter {} of group {}; pass each "
                     "parameter once",
                     optimizer, i, group, j, group);
        for (std::size_t g = 0; g < group; ++g)
            for (std::size_t j = 0; j < group_params_[g].size(); ++j)
                if (group_params_[g][j].same(p))
                    fail("{}: parameter {} of group {} is the same tensor as parameter {} of group {}; a parameter "
                         "may belong to one group only",
                         optimizer, i, group, j, g);
    }
    group_params_.push_back(std::move(params));
}

std::optional<std::vector<StateSpec>> Optimizer::state_specs(std::size_t) const { return std::nullopt; }

const TensorList& Optimizer::params(std::size_t group) const {
    if (group >= group_params_.size())
        fail("optimizer: group {} out of range ({} groups)", group, group_params_.size());
    return group_params_[group];
}

void Optimizer::zero_grad() {
    for (auto& group : group_params_)
        for (auto& p : group) p.zero_grad();
}

void Optimizer::set_lr(double lr) {
    for (std::size_t g = 0; g < group_count(); ++g) set_lr(lr, g);
}

Tensor& Optimizer::state(std::size_t group, std::size_t index, const std::string& name) {
    Tensor& t = state_[fmt::format("state.{}.{}.{}", group, index, name)];
    if (!t.defined()) t = zeros_like(group_params_[group][index]);
    return t;
}

Tensor& Optimizer::scalar_state(std::size_t group, std::size_t index, const std::string& name) {
    Tensor& t = state_[fmt::format("state.{}.{}.{}", group, index, name)];
    if (!t.defined()) t = full(IntList{}, 0.0, {.dtype = group_params_[group][index].dtype()});
    return t;
}

std::int64_t& Optimizer::steps(std::size_t group, std::size_t index) {
    return steps_[fmt::format("step.{}.{}", group, index)];
}

namespace {

constexpr std::int64_t state_format_version = 1;
constexpr const char* kind_prefix = "optimizer.";

std::string joined_names(const std::vector<StateSpec>& specs) {
    std::string out;
    for (const StateSpec& s : specs) out += (out.empty() ? "" : ", ") + s.name;
    return out.empty() ? "nothing but step counts" : out;
}

// The first element that is not finite (or negative, when it must not be), as a message.
template <class T> std::optional<std::string> bad_value(const Tensor& t, bool non_negative) {
    const T* v = t.value<T>().data();
    for (std::size_t k = 0, n = t.numel(); k < n; ++k) {
        if (!std::isfinite(v[k])) return fmt::format("{} at index {}", v[k], index_str(k, t.shape()));
        if (non_negative && v[k] < 0)
            return fmt::format("{} at index {} (a sum of squares cannot be negative)", v[k], index_str(k, t.shape()));
    }
    return std::nullopt;
}

}  // namespace

StateDict Optimizer::state_dict() const {
    StateDict out;
    NoGrad off;
    out[kind_prefix + name_] = from_indices({state_format_version}, Shape{});
    for (const auto& [key, t] : state_) out[key] = t.detach();
    for (const auto& [key, n] : steps_) out[key] = from_indices({n}, Shape{});
    return out;
}

void Optimizer::load_state_dict(const StateDict& dict) {
    // Which optimizer wrote it, first: everything else means nothing otherwise.
    std::vector<std::string> kinds;
    for (const auto& entry : dict)
        if (entry.first.rfind(kind_prefix, 0) == 0) kinds.push_back(entry.first.substr(std::strlen(kind_prefix)));
    if (kinds.empty())
        fail("load_state_dict: the state does not say which optimizer wrote it (no 'optimizer.<name>' entry: "
             "written by an older retrograd, or not by state_dict()); this optimizer is {}: start it without this "
             "state",
             name_);
    if (kinds.size() > 1) fail("load_state_dict: the state names several optimizers ({})", fmt::join(kinds, ", "));
    if (kinds[0] != name_)
        fail("load_state_dict: the state was written by {}, but this optimizer is {}; load it into {} (with the "
             "same parameters), or start {} from scratch",
             kinds[0], name_, kinds[0], name_);
    {
        const Tensor& version = dict.at(kind_prefix + name_);
        if (!version.defined() || version.dtype() != Dtype::int64 || version.numel() != 1 ||
            version.item() != static_cast<double>(state_format_version))
            fail("load_state_dict: '{}{}' must be the int64 format version {}", kind_prefix, name_,
                 state_format_version);
    }

    std::vector<std::optional<std::vector<StateSpec>>> specs;
    for (std::size_t g = 0; g < group_count(); ++g) specs.push_back(state_specs(g));
    std::map<std::string, Tensor> states;
    std::map<std::string, std::int64_t> counters;
    std::map<std::pair<std::size_t, std::size_t>, std::vector<std::string>> kept;  // state names per parameter
    NoGrad off;
    for (const auto& [key, t] : dict) {
        if (key.rfind(kind_prefix, 0) == 0) continue;
        std::size_t g = 0, i = 0;
        char name[64] = {0};
        // Keys must be exactly what state_dict() writes ("state.00.0.x" would alias "state.0.0.x").
        if (std::sscanf(key.c_str(), "state.%zu.%zu.%63s", &g, &i, name) == 3 &&
            key == fmt::format("state.{}.{}.{}", g, i, name)) {
            if (g >= group_count() || i >= group_params_[g].size())
                fail("load_state_dict: '{}' names parameter {} of group {}, which does not exist", key, i, g);
            const Tensor& p = group_params_[g][i];
            const StateSpec* spec = nullptr;
            if (specs[g]) {
                for (const StateSpec& s : *specs[g]) spec = s.name == name ? &s : spec;
                if (!spec)
                    fail("load_state_dict: '{}' is not state {} keeps with the options of group {} (it keeps {} for "
                         "each parameter)",
                         key, name_, g, joined_names(*specs[g]));
            }
            const Shape expected = spec && spec->scalar ? Shape{} : p.shape();
            if (!t.defined() || t.shape() != expected)
                fail("load_state_dict: '{}' has shape {}, expected {}", key,
                     t.defined() ? shape_str(t.shape()) : "undefined", shape_str(expected));
            if (!t.is_floating())
                fail("load_state_dict: '{}' is {}; optimizer state must be float32 or float64", key,
                     dtype_name(t.dtype()));
            Tensor copy = t.detach().to(p.dtype()).clone();
            const bool non_negative = spec && spec->non_negative;
            const auto bad = copy.dtype() == Dtype::float32 ? bad_value<float>(copy, non_negative)
                                                            : bad_value<double>(copy, non_negative);
            if (bad) fail("load_state_dict: '{}' holds {}; the state is corrupt", key, *bad);
            states[key] = copy;
            kept[{g, i}].push_back(name);
        } else if (std::sscanf(key.c_str(), "step.%zu.%zu", &g, &i) == 2 && key == fmt::format("step.{}.{}", g, i)) {
            if (g >= group_count() || i >= group_params_[g].size())
                fail("load_state_dict: '{}' names parameter {} of group {}, which does not exist", key, i, g);
            if (!t.defined() || t.numel() != 1) fail("load_state_dict: '{}' must hold one step count", key);
            // Checked as a double before any cast: NaN or 2^63 cast to an integer is undefined.
            const double steps = t.item();
            if (!(steps >= 1 && steps <= static_cast<double>(max_step_count)) || steps != std::floor(steps))
                fail("load_state_dict: '{}' is {}; a step count must be a whole number from 1 to 2^53", key, steps);
            counters[key] = static_cast<std::int64_t>(steps);
            kept[{g, i}];
        } else {
            fail("load_state_dict: unexpected entry '{}'", key);
        }
    }
    // Each parameter has a step count with its state, and the whole of its state.
    for (const auto& [where, names] : kept) {
        const std::string step_key = fmt::format("step.{}.{}", where.first, where.second);
        if (!counters.count(step_key))
            fail("load_state_dict: parameter {} of group {} has state but no '{}'", where.second, where.first,
                 step_key);
        const auto& expected = specs[where.first];
        if (!expected) continue;
        for (const StateSpec& s : *expected)
            if (std::find(names.begin(), names.end(), s.name) == names.end())
                fail("load_state_dict: parameter {} of group {} has no 'state.{}.{}.{}'; {} keeps {} for each "
                     "parameter with the options of group {}",
                     where.second, where.first, where.first, where.second, s.name, name_, joined_names(*expected),
                     where.first);
    }
    state_ = std::move(states);
    steps_ = std::move(counters);
}

// ---- SGD -------------------------------------------------------------------------

void SGDOptions::validate(const SGDOptions& o, const char* name) {
    require(o.lr >= 0, name, "learning rate", o.lr);
    require(o.momentum >= 0, name, "momentum", o.momentum);
    require(o.weight_decay >= 0, name, "weight_decay", o.weight_decay);
    require(std::isfinite(o.dampening), name, "dampening", o.dampening);
    if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
        fail("{}: Nesterov momentum requires a momentum and zero dampening", name);
}

std::optional<std::vector<StateSpec>> SGD::state_specs(std::size_t group) const {
    if (options_.at(group).momentum != 0) return std::vector<StateSpec>{{"momentum_buffer"}};
    return std::vector<StateSpec>{};
}

void SGD::step() {
    NoGrad off;
    for_each_update(*this, [&]<class T>(std::size_t g, std::size_t i, Tensor& p, Tensor& grad) {
        const SGDOptions& o = options_[g];
        T* w = written<T>(p);
        const T* dw = grad.data_ptr<T>();
        T* buf = o.momentum != 0 ? written<T>(state(g, i, "momentum_buffer")) : nullptr;
        const bool first = steps(g, i)++ == 0;
        const detail::SgdStep<T> c{.lr = T(o.lr),
                                   .weight_decay = T(o.weight_decay),
                                   .momentum = T(o.momentum),
                                   .keep = T(1 - o.dampening),
                                   .first = first,
                                   .nesterov = o.nesterov};
        detail::sgd_update(w, dw, buf, p.numel(), c);
    });
}

// ---- Adam and AdamW --------------------------------------------------------------

void AdamOptions::validate(const AdamOptions& o, const char* name) {
    require(o.lr >= 0, name, "learning rate", o.lr);
    require(o.beta1 >= 0 && o.beta1 < 1, name, "beta1", o.beta1);
    require(o.beta2 >= 0 && o.beta2 < 1, name, "beta2", o.beta2);
    require(o.eps >= 0, name, "eps", o.eps);
    require(o.weight_decay >= 0, name, "weight_decay", o.weight_decay);
}

std::optional<std::vector<StateSpec>> Adam::state_specs(std::size_t group) const {
    if (options_.at(group).amsgrad)
        return std::vector<StateSpec>{{"exp_avg"}, {"exp_avg_sq", true}, {"max_exp_avg_sq", true}};
    return std::vector<StateSpec>{{"exp_avg"}, {"exp_avg_sq", true}};
}

void Adam::step() {
    NoGrad off;
    for_each_update(*this, [&]<class T>(std::size_t g, std::size_t i, Tensor& p, Tensor& grad) {
        const AdamOptions& o = options_[g];
        T* w = written<T>(p);
        const T* dw = grad.data_ptr<T>();
        T* m = written<T>(state(g, i, "exp_avg"));
        T* v = written<T>(state(g, i, "exp_avg_sq"));
        const auto t = static_cast<double>(++steps(g, i));
        if (o.amsgrad) {
            T* vmax = written<T>(state(g, i, "max_exp_avg_sq"));
            // PyTorch's order of operations, each element in float64.
            const detail::ScalarStep c{.beta1 = o.beta1,
                                       .beta2 = o.beta2,
                                       .eps = o.eps,
                                       .weight_decay = decoupled_ ? 0 : o.weight_decay,
                                       .step_size = o.lr / (1 - std::pow(o.beta1, t)),
                                       .shrink = decoupled_ ? 1 - o.lr * o.weight_decay : 1,
                                       .bias_correction2 = std::sqrt(1 - std::pow(o.beta2, t))};
            detail::amsgrad_update(w, dw, m, v, vmax, p.numel(), c);
            return;
        }
        const detail::AdamStep<T> c{.step_size = T(o.lr / (1 - std::pow(o.beta1, t))),
                                    .inverse_root_bc2 = T(1 / std::sqrt(1 - std::pow(o.beta2, t))),
                                    .beta1 = T(o.beta1),
                                    .beta2 = T(o.beta2),
                                    .eps = T(o.eps),
                                    // Adam adds the decay to the gradient (L2); AdamW shrinks the weight.
                                    .l2 = decoupled_ ? T(0) : T(o.weight_decay),
                                    .shrink = decoupled_ ? T(1 - o.lr * o.weight_decay) : T(1)};
        detail::adam_update(w, dw, m, v, p.numel(), c);
    });
}

// ---- RMSprop and Adagrad -----------------------------------------------------------

void RMSpropOptions::validate(const RMSpropOptions& o, const char* name) {
    require(o.lr >= 0, name, "learning rate", o.lr);
    require(o.alpha >= 0 && o.alpha <= 1, name, "alpha", o.alpha);
    require(o.eps >= 0, name, "eps", o.eps);
    require(o.momentum >= 0, name, "momentum", o.momentum);
    require(o.weight_decay >= 0, name, "weight_decay", o.weight_decay);
}

std::optional<std::vector<StateSpec>> RMSprop::state_specs(std::size_t group) const {
    std::vector<StateSpec> specs{{"square_avg", true}};
    if (options_.at(group).centered) specs.push_back({"grad_avg"});
    if (options_.at(group).momentum > 0) specs.push_back({"momentum_buffer"});
    return specs;
}

void RMSprop::step() {
    NoGrad off;
    for_each_update(*this, [&]<class T>(std::size_t g, std::size_t i, Tensor& p, Tensor& grad) {
        const RMSpropOptions& o = options_[g];
        T* w = written<T>(p);
        const T* dw = grad.data_ptr<T>();
        T* sq = written<T>(state(g, i, "square_avg"));
        T* avg = o.centered ? written<T>(state(g, i, "grad_avg")) : nullptr;
        T* buf = o.momentum > 0 ? written<T>(state(g, i, "momentum_buffer")) : nullptr;
        ++steps(g, i);
        const detail::ScalarStep c{.lr = o.lr,
                                   .beta2 = o.alpha,
                                   .eps = o.eps,
                                   .weight_decay = o.weight_decay,
                                   .momentum = o.momentum};
        detail::rmsprop_update(w, dw, sq, avg, buf, p.numel(), c);
    });
}

void AdagradOptions::validate(const AdagradOptions& o, const char* name) {
    require(o.lr >= 0, name, "learning rate", o.lr);
    require(o.lr_decay >= 0, name, "lr_decay", o.lr_decay);
    require(o.initial_accumulator_value >= 0, name, "initial_accumulator_value", o.initial_accumulator_value);
    require(o.eps >= 0, name, "eps", o.eps);
    require(o.weight_decay >= 0, name, "weight_decay", o.weight_decay);
}

std::optional<std::vector<StateSpec>> Adagrad::state_specs(std::size_t) const {
    return std::vector<StateSpec>{{"sum", true}};
}

void Adagrad::step() {
    NoGrad off;
    for_each_update(*this, [&]<class T>(std::size_t g, std::size_t i, Tensor& p, Tensor& grad) {
        const AdagradOptions& o = options_[g];
        T* w = written<T>(p);
        const T* dw = grad.data_ptr<T>();
        T* sum = written<T>(state(g, i, "sum"));
        const auto t = ++steps(g, i);
        if (t == 1) std::fill(sum, sum + p.numel(), static_cast<T>(o.initial_accumulator_value));
        const detail::ScalarStep c{.lr = o.lr / (1 + static_cast<double>(t - 1) * o.lr_decay),
                                   .eps = o.eps,
                                   .weight_decay = o.weight_decay};
        detail::adagrad_update(w, dw, sum, p.numel(), c);
    });
}

// ---- schedules -----------------------------------------------------------------------

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
    for (std::size_t g = 0; g < optimizer.group_count(); ++g) base_lrs_.push_back(optimizer.lr(g));
}

void LRScheduler::step() {
    ++epoch_;
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) optimizer_.set_lr(factor(epoch_, base_lrs_[g]), g);
    after_step(epoch_);
}

StepLR::StepLR(Optimizer& optimizer, std::size_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
    if (step_size == 0) fail("StepLR: step_size must be positive");
}
double StepLR::factor(std::size_t epoch, double base) const {
    const std::size_t decays = epoch / step_size_;  // whole periods only: the rate is a staircase
    return base * std::pow(gamma_, static_cast<double>(decays));
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) {
    if (!(gamma > 0)) fail("ExponentialLR: gamma must be positive, got {}", gamma);
}
double ExponentialLR::factor(std::size_t epoch, double base) const {
    return base * std::pow(gamma_, static_cast<double>(epoch));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::size_t t_max, double eta_min)
    : LRScheduler(optimizer), t_max_(t_max), eta_min_(eta_min) {
    if (t_max == 0) fail("CosineAnnealingLR: t_max must be positive");
}
double CosineAnnealingLR::factor(std::size_t epoch, double base) const {
    const double progress = static_cast<double>(std::min(epoch, t_max_)) / static_cast<double>(t_max_);
    return eta_min_ + (base - eta_min_) * (1 + std::cos(std::numbers::pi * progress)) / 2;
}

LinearWarmup::LinearWarmup(Optimizer& optimizer, std::size_t steps, double start_factor)
    : LRScheduler(optimizer), steps_(steps), start_factor_(start_factor) {
    if (steps == 0) fail("LinearWarmup: steps must be positive");
    if (!(start_factor >= 0 && start_factor <= 1))
        fail("LinearWarmup: start_factor must be in [0, 1], got {}", start_factor);
    for (std::size_t g = 0; g < optimizer.group_count(); ++g) optimizer.set_lr(optimizer.lr(g) * start_factor, g);
}
double LinearWarmup::factor(std::size_t epoch, double base) const {
    const double progress = static_cast<double>(std::min(epoch, steps_)) / static_cast<double>(steps_);
    return base * (start_factor_ + (1 - start_factor_) * progress);
}

double clip_grad_norm_(const TensorList& params, double max_norm, double norm_type) {
    if (!(max_norm >= 0)) fail("clip_grad_norm_: max_norm must be non-negative, got {}", max_norm);
    if (!(norm_type > 0)) fail("clip_grad_norm_: norm_type must be positive, got {}", norm_type);
    double total = 0;
    for (const Tensor& p : params) {
        if (!p.grad().defined()) continue;
        for (double v : p.grad().to_vector()) {
            total = std::isinf(norm_type) ? std::max(total, std::abs(v)) : total + std::pow(std::abs(v), norm_type);
        }
    }
    if (!std::isinf(norm_type)) total = std::pow(total, 1.0 / norm_type);
    const double scale = max_norm / (total + 1e-6);
    if (scale < 1) {
        NoGrad off;
        for (const Tensor& p : params) {
            Tensor g = p.grad();
            if (g.defined()) g.copy_(g * scale);
        }
    }
    return total;
}

void clip_grad_value_(const TensorList& params, double clip) {
    if (!(clip >= 0)) fail("clip_grad_value_: clip must be non-negative, got {}", clip);
    NoGrad off;
    for (const Tensor& p : params) {
        Tensor g = p.grad();
        if (g.defined()) g.copy_(clamp(g, -clip, clip));
    }
}

}  // namespace rg::optim
