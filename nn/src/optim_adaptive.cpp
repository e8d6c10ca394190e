// NAdam, RAdam and Adamax: PyTorch 1.13's updates, operation for operation
// (torch/optim/nadam.py, radam.py, adamax.py, their single-tensor paths).
#include "optim_update.hpp"

#include <retrograd/detail/update_kernels.hpp>

#include <algorithm>
#include <cmath>

namespace rg::optim {
namespace {

void require_adam_family(double lr, double beta1, double beta2, double eps, double weight_decay, const char* name) {
    internal::require(lr >= 0, name, "learning rate", lr);
    if (!(beta1 >= 0 && beta1 < 1)) fail("{}: invalid beta1 {}; expected a value in [0, 1)", name, beta1);
    if (!(beta2 >= 0 && beta2 < 1)) fail("{}: invalid beta2 {}; expected a value in [0, 1)", name, beta2);
    internal::require(eps >= 0, name, "eps", eps);
    internal::require(weight_decay >= 0, name, "weight_decay", weight_decay);
}

}  // namespace

// ---- NAdam -------------------------------------------------------------------------

void NAdamOptions::validate(const NAdamOptions& o, const char* name) {
    require_adam_family(o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, name);
    internal::require(o.momentum_decay >= 0, name, "momentum_decay", o.momentum_decay);
}

std::optional<std::vector<StateSpec>> NAdam::state_specs(std::size_t) const {
    return std::vector<StateSpec>{{"exp_avg"}, {"exp_avg_sq", true}};
}

void NAdam::step() {
    NoGrad off;
    internal::for_each_update(*this, [&]<class T>(std::size_t g, std::size_t i, Tensor& p, Tensor& grad) {
        const NAdamOptions& o = options_[g];
        T* w = internal::written<T>(p);
        const T* dw = grad.data_ptr<T>();
        T* m = internal::written<T>(state(g, i, "exp_avg"));
        T* v = internal::written<T>(state(g, i, "exp_avg_sq"));
        const std::int64_t t = ++steps(g, i);
        const auto mu_at = [&](double step) { return o.beta1 * (1. - 0.5 * std::pow(0.96, step * o.momentum_decay)); };
        // PyTorch keeps the product of the mu in a float32 scalar: so does this, to give its numbers.
        auto& [counted, product] = mu_products_[{g, i}];
        if (t == 1 || counted != t - 1) {  // a loaded state, or the first step: the product up to t - 1
            product = 1.0f;
            for (std::int64_t s = 1; s < t; ++s) product *= static_cast<float>(mu_at(static_cast<double>(s)));
        }
        const double mu = mu_at(static_cast<double>(t)), mu_next = mu_at(static_cast<double>(t + 1));
        product *= static_cast<float>(mu);
        counted = t;
        // PyTorch 1.13 multiplies mu in twice here (product * mu * mu_next); kept, for its numbers.
        const float product_next = product * static_cast<float>(mu) * static_cast<float>(mu_next);
        const double bias_correction2 = 1 - std::pow(o.beta2, static_cast<double>(t));
        const double grad_coef = -o.lr * (1. - mu) / (1. - static_cast<double>(product));
        const double avg_coef = -o.lr * mu_next / (1. - static_cast<double>(product_next));
        detail::nadam_update(w, dw, m, v, p.numel(),
                             {.beta1 = o.beta1,
                              .beta2 = o.beta2,
                              .eps = o.eps,
                              .weight_decay = o.weight_decay,
                              .bias_correction2 = bias_correction2,
                              .grad_coef = grad_coef,
                              .avg_coef = avg_coef});
    });
}

// ---- RAdam -------------------------------------------------------------------------

void RAdamOptions::validate(const RAdamOptions& o, const char* name) {
    require_adam_family(o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, name);
}

std::optional<std::vector<StateSpec>> RAdam::state_specs(std::size_t) const {
    return std::vector<StateSpec>{{"exp_avg"}, {"exp_avg_sq", true}};
}

void RAdam::step() {
    NoGrad off;
    internal::for_each_update(*this, [&]<class T>(std::size_t g, std::size_t i, Tensor& p, Tensor& grad) {
        const RAdamOptions& o = options_[g];
        T* w = internal::written<T>(p);
        const T* dw = grad.data_ptr<T>();
        T* m = internal::written<T>(state(g, i, "exp_avg"));
        T* v = internal::written<T>(state(g, i, "exp_avg_sq"));
        const auto t = static_cast<double>(++steps(g, i));
        const double bias_correction1 = 1 - std::pow(o.beta1, t);
        const double bias_correction2 = 1 - std::pow(o.beta2, t);
        // The length of the approximated simple moving average, and its limit.
        const double rho_inf = 2 / (1 - o.beta2) - 1;
        const double rho_t = rho_inf - 2 * t * std::pow(o.beta2, t) / bias_correction2;
        // Below 5 the variance of the adaptive rate is not tractable: a plain momentum step.
        const bool rectified = rho_t > 5.;
        const double rect =
            rectified ? std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) : 0.0;
        detail::radam_update(w, dw, m, v, p.numel(),
                             {.lr = o.lr,
                              .beta1 = o.beta1,
                              .beta2 = o.beta2,
                              .eps = o.eps,
                              .weight_decay = o.weight_decay,
                              .bias_correction1 = bias_correction1,
                              .bias_correction2 = bias_correction2,
                              .rect = rect,
                              .rectified = rectified});
    });
}

// ---- Adamax ------------------------------------------------------------------------

void AdamaxOptions::validate(const AdamaxOptions& o, const char* name) {
    require_adam_family(o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, name);
}

std::optional<std::vector<StateSpec>> Adamax::state_specs(std::size_t) const {
    return std::vector<StateSpec>{{"exp_avg"}, {"exp_inf", true}};
}

void Adamax::step() {
    NoGrad off;
    internal::for_each_update(*this, [&]<class T>(std::size_t g, std::size_t i, Tensor& p, Tensor& grad) {
        const AdamaxOptions& o = options_[g];
        T* w = internal::written<T>(p);
        const T* dw = grad.data_ptr<T>();
        T* m = internal::written<T>(state(g, i, "exp_avg"));
        T* u = internal::written<T>(state(g, i, "exp_inf"));
        const auto t = static_cast<double>(++steps(g, i));
        detail::adamax_update(w, dw, m, u, p.numel(),
                              {.lr = o.lr / (1 - std::pow(o.beta1, t)),
                               .beta1 = o.beta1,
                               .beta2 = o.beta2,
                               .eps = o.eps,
                               .weight_decay = o.weight_decay});
    });
}

}  // namespace rg::optim
