// Optimizer updates on the raw parameter arrays (not recorded), and schedules.
#include <retrograd/autograd.hpp>
#include <retrograd/nn/optim.hpp>
#include <retrograd/ops.hpp>

#include <cmath>
#include <numbers>

namespace rg::optim {
namespace {

template <class T>
T* values(Tensor& t) {
    return t.data_ptr<T>();
}

// Calls f.template operator()<T>(group, index, param, grad) for every
// parameter of every group that has a gradient.
template <class F>
void for_each_update(const Optimizer& opt, F&& f) {
    for (std::size_t g = 0; g < opt.group_count(); ++g) {
        const TensorList& params = opt.params(g);
        for (std::size_t i = 0; i < params.size(); ++i) {
            Tensor p = params[i];
            Tensor grad = p.grad();
            if (!grad.defined()) continue;
            if (p.dtype() == Dtype::float32) {
                f.template operator()<float>(g, i, p, grad);
            } else {
                f.template operator()<double>(g, i, p, grad);
            }
        }
    }
}

void require(bool ok, const char* name, const char* what, double value) {
    if (!ok) fail("{}: invalid {} {}", name, what, value);
}

}  // namespace

void Optimizer::add_group(TensorList params, const char* optimizer) {
    if (params.empty()) fail("{}: a parameter group is empty", optimizer);
    for (std::size_t i = 0; i < params.size(); ++i) {
        const Tensor& p = params[i];
        if (!p.defined() || !p.is_floating() || !p.is_leaf())
            fail("{}: parameter {} of group {} must be a defined float leaf tensor", optimizer, i, group_params_.size());
    }
    group_params_.push_back(std::move(params));
}

const TensorList& Optimizer::params(std::size_t group) const {
    if (group >= group_params_.size()) fail("optimizer: group {} out of range ({} groups)", group, group_params_.size());
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

std::int64_t& Optimizer::steps(std::size_t group, std::size_t index) {
    return steps_[fmt::format("step.{}.{}", group, index)];
}

StateDict Optimizer::state_dict() const {
    StateDict out;
    NoGrad off;
    for (const auto& [key, t] : state_) out[key] = t.detach();
    for (const auto& [key, n] : steps_) out[key] = from_indices({n}, Shape{});
    return out;
}

void Optimizer::load_state_dict(const StateDict& dict) {
    std::map<std::string, Tensor> states;
    std::map<std::string, std::int64_t> counters;
    for (const auto& [key, t] : dict) {
        std::size_t g = 0, i = 0;
        char name[64] = {0};
        if (std::sscanf(key.c_str(), "state.%zu.%zu.%63s", &g, &i, name) == 3) {
            if (g >= group_count() || i >= group_params_[g].size())
                fail("load_state_dict: '{}' names parameter {} of group {}, which does not exist", key, i, g);
            const Tensor& p = group_params_[g][i];
            if (!t.defined() || t.shape() != p.shape())
                fail("load_state_dict: '{}' has shape {}, expected {}", key,
                     t.defined() ? shape_str(t.shape()) : "undefined", shape_str(p.shape()));
            states[key] = t.to(p.dtype()).detach();
        } else if (std::sscanf(key.c_str(), "step.%zu.%zu", &g, &i) == 2) {
            if (g >= group_count() || i >= group_params_[g].size())
                fail("load_state_dict: '{}' names parameter {} of group {}, which does not exist", key, i, g);
            if (!t.defined() || t.numel() != 1) fail("load_state_dict: '{}' must hold one step count", key);
            counters[key] = static_cast<std::int64_t>(t.item());
        } else {
            fail("load_state_dict: unexpected entry '{}'", key);
        }
    }
    state_ = std::move(states);
    steps_ = std::move(counters);
}

// ---- SGD -------------------------------------------------------------------------

void SGDOptions::validate(const SGDOptions& o, const char* name) {
    require(o.lr >= 0, name, "learning rate", o.lr);
    require(o.momentum >= 0, name, "momentum", o.momentum);
    require(o.weight_decay >= 0, name, "weight_decay", o.weight_decay);
    if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
        fail("{}: Nesterov momentum requires a momentum and zero dampening", name);
}

void SGD::step() {
    NoGrad off;
    for_each_update(*this, [&]<class T>(std::size_t g, std::size_t i, Tensor& p, Tensor& grad) {
        const SGDOptions& o = options_[g];
        T* w = values<T>(p);
        const T* dw = grad.data_ptr<T>();
        T* buf = o.momentum != 0 ? values<T>(state(g, i, "momentum_buffer")) : nullptr;
        const bool first = steps(g, i)++ == 0;
        // In the parameter's precision, so the loop vectorises (as PyTorch's).
        const T lr = T(o.lr), weight_decay = T(o.weight_decay), momentum = T(o.momentum);
        const T keep = T(1 - o.dampening);
        for (std::size_t k = 0, n = p.numel(); k < n; ++k) {
            T d = dw[k] + weight_decay * w[k];
            if (buf) {
                buf[k] = first ? d : momentum * buf[k] + keep * d;
                d = o.nesterov ? d + momentum * buf[k] : buf[k];
            }
            w[k] -= lr * d;
        }
    });
}

// ---- Adam and AdamW --------------------------------------------------------------

namespace {

template <class T>
struct AdamStep {
    T step_size, inverse_root_bc2, beta1, beta2, eps, l2, shrink;
};

// In the parameter's precision, so the loop vectorises (as PyTorch's).
template <class T>
[[gnu::always_inline]] inline void adam_kernel(T* w, const T* dw, T* m, T* v, std::size_t n, const AdamStep<T>& c) {
    for (std::size_t k = 0; k < n; ++k) {
        const T d = dw[k] + c.l2 * w[k];
        const T mk = c.beta1 * m[k] + (1 - c.beta1) * d;
        const T vk = c.beta2 * v[k] + (1 - c.beta2) * d * d;
        m[k] = mk;
        v[k] = vk;
        w[k] = w[k] * c.shrink - c.step_size * mk / (std::sqrt(vk) * c.inverse_root_bc2 + c.eps);
    }
}
// The update is bound by division and square root: AVX2 halves it where the
// CPU has it, without building the whole library for one instruction set.
__attribute__((target_clones("avx2", "default"))) void adam_update(float* w, const float* dw, float* m, float* v,
                                                                   std::size_t n, const AdamStep<float>& c) {
    adam_kernel(w, dw, m, v, n, c);
}
__attribute__((target_clones("avx2", "default"))) void adam_update(double* w, const double* dw, double* m, double* v,
                                                                   std::size_t n, const AdamStep<double>& c) {
    adam_kernel(w, dw, m, v, n, c);
}

}  // namespace

void AdamOptions::validate(const AdamOptions& o, const char* name) {
    require(o.lr >= 0, name, "learning rate", o.lr);
    require(o.beta1 >= 0 && o.beta1 < 1, name, "beta1", o.beta1);
    require(o.beta2 >= 0 && o.beta2 < 1, name, "beta2", o.beta2);
    require(o.eps >= 0, name, "eps", o.eps);
    require(o.weight_decay >= 0, name, "weight_decay", o.weight_decay);
}

void Adam::step() {
    NoGrad off;
    for_each_update(*this, [&]<class T>(std::size_t g, std::size_t i, Tensor& p, Tensor& grad) {
        const AdamOptions& o = options_[g];
        T* w = values<T>(p);
        const T* dw = grad.data_ptr<T>();
        T* m = values<T>(state(g, i, "exp_avg"));
        T* v = values<T>(state(g, i, "exp_avg_sq"));
        const auto t = static_cast<double>(++steps(g, i));
        const AdamStep<T> c{.step_size = T(o.lr / (1 - std::pow(o.beta1, t))),
                            .inverse_root_bc2 = T(1 / std::sqrt(1 - std::pow(o.beta2, t))),
                            .beta1 = T(o.beta1),
                            .beta2 = T(o.beta2),
                            .eps = T(o.eps),
                            // Adam adds the decay to the gradient (L2); AdamW shrinks the weight.
                            .l2 = decoupled_ ? T(0) : T(o.weight_decay),
                            .shrink = decoupled_ ? T(1 - o.lr * o.weight_decay) : T(1)};
        adam_update(w, dw, m, v, p.numel(), c);
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

void RMSprop::step() {
    NoGrad off;
    for_each_update(*this, [&]<class T>(std::size_t g, std::size_t i, Tensor& p, Tensor& grad) {
        const RMSpropOptions& o = options_[g];
        T* w = values<T>(p);
        const T* dw = grad.data_ptr<T>();
        T* sq = values<T>(state(g, i, "square_avg"));
        T* avg = o.centered ? values<T>(state(g, i, "grad_avg")) : nullptr;
        T* buf = o.momentum > 0 ? values<T>(state(g, i, "momentum_buffer")) : nullptr;
        ++steps(g, i);
        for (std::size_t k = 0, n = p.numel(); k < n; ++k) {
            const double d = dw[k] + o.weight_decay * w[k];
            sq[k] = static_cast<T>(o.alpha * sq[k] + (1 - o.alpha) * d * d);
            double variance = sq[k];
            if (avg) {
                avg[k] = static_cast<T>(o.alpha * avg[k] + (1 - o.alpha) * d);
                variance -= static_cast<double>(avg[k]) * avg[k];
            }
            const double denom = std::sqrt(variance) + o.eps;
            if (buf) {
                buf[k] = static_cast<T>(o.momentum * buf[k] + d / denom);
                w[k] = static_cast<T>(w[k] - o.lr * buf[k]);
            } else {
                w[k] = static_cast<T>(w[k] - o.lr * d / denom);
            }
        }
    });
}

void AdagradOptions::validate(const AdagradOptions& o, const char* name) {
    require(o.lr >= 0, name, "learning rate", o.lr);
    require(o.lr_decay >= 0, name, "lr_decay", o.lr_decay);
    require(o.initial_accumulator_value >= 0, name, "initial_accumulator_value", o.initial_accumulator_value);
    require(o.eps >= 0, name, "eps", o.eps);
    require(o.weight_decay >= 0, name, "weight_decay", o.weight_decay);
}

void Adagrad::step() {
    NoGrad off;
    for_each_update(*this, [&]<class T>(std::size_t g, std::size_t i, Tensor& p, Tensor& grad) {
        const AdagradOptions& o = options_[g];
        T* w = values<T>(p);
        const T* dw = grad.data_ptr<T>();
        T* sum = values<T>(state(g, i, "sum"));
        const auto t = ++steps(g, i);
        if (t == 1) std::fill(sum, sum + p.numel(), static_cast<T>(o.initial_accumulator_value));
        const double clr = o.lr / (1 + static_cast<double>(t - 1) * o.lr_decay);
        for (std::size_t k = 0, n = p.numel(); k < n; ++k) {
            const double d = dw[k] + o.weight_decay * w[k];
            sum[k] = static_cast<T>(sum[k] + d * d);
            w[k] = static_cast<T>(w[k] - clr * d / (std::sqrt(static_cast<double>(sum[k])) + o.eps));
        }
    });
}

// ---- schedules -----------------------------------------------------------------------

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
    for (std::size_t g = 0; g < optimizer.group_count(); ++g) base_lrs_.push_back(optimizer.lr(g));
}

void LRScheduler::step() {
    ++epoch_;
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) optimizer_.set_lr(factor(epoch_, base_lrs_[g]), g);
}

StepLR::StepLR(Optimizer& optimizer, std::size_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
    if (step_size == 0) fail("StepLR: step_size must be positive");
}
double StepLR::factor(std::size_t epoch, double base) const {
    return base * std::pow(gamma_, static_cast<double>(epoch / step_size_));
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
    if (!(start_factor >= 0 && start_factor <= 1)) fail("LinearWarmup: start_factor must be in [0, 1], got {}", start_factor);
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
