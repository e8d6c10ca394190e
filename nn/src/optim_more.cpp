// Adadelta, Rprop and ASGD: PyTorch 1.13's updates, operation for operation
// (torch/optim/adadelta.py, rprop.py, asgd.py, their single-tensor paths),
// written with tensor ops: none is common enough to earn a fused kernel.
#include "optim_update.hpp"

#include <retrograd/ops.hpp>

#include <algorithm>
#include <cmath>

namespace rg::optim {
namespace {

// The gradient with the L2 penalty, as PyTorch's grad.add(param, alpha=weight_decay).
Tensor with_weight_decay(const Tensor& grad, const Tensor& p, double weight_decay) {
    if (weight_decay == 0) return grad;
    Tensor out = grad.clone();
    out.add_(p, weight_decay);
    return out;
}

}  // namespace

// ---- Adadelta ----------------------------------------------------------------------

void AdadeltaOptions::validate(const AdadeltaOptions& o, const char* name) {
    internal::require(o.lr >= 0, name, "learning rate", o.lr);
    if (!(o.rho >= 0 && o.rho <= 1)) fail("{}: rho must be in [0, 1], got {}", name, o.rho);
    internal::require(o.eps >= 0, name, "eps", o.eps);
    internal::require(o.weight_decay >= 0, name, "weight_decay", o.weight_decay);
}

std::optional<std::vector<StateSpec>> Adadelta::state_specs(std::size_t) const {
    return std::vector<StateSpec>{{"square_avg", true}, {"acc_delta", true}};
}

void Adadelta::step() {
    NoGrad off;
    internal::for_each_update(*this, [&]<class T>(std::size_t g, std::size_t i, Tensor& p, Tensor& grad) {
        const AdadeltaOptions& o = options_[g];
        Tensor& square_avg = state(g, i, "square_avg");
        Tensor& acc_delta = state(g, i, "acc_delta");
        ++steps(g, i);
        const Tensor gw = with_weight_decay(grad, p, o.weight_decay);
        square_avg.copy_(addcmul(square_avg.mul_(o.rho), gw, gw, 1 - o.rho));
        const Tensor std_dev = sqrt(square_avg + o.eps);
        const Tensor delta = sqrt(acc_delta + o.eps) / std_dev * gw;
        acc_delta.copy_(addcmul(acc_delta.mul_(o.rho), delta, delta, 1 - o.rho));
        p.add_(delta, -o.lr);
    });
}

// ---- Rprop -------------------------------------------------------------------------

void RpropOptions::validate(const RpropOptions& o, const char* name) {
    internal::require(o.lr >= 0, name, "learning rate", o.lr);
    if (!(o.eta_minus > 0 && o.eta_minus < 1 && o.eta_plus > 1))
        fail("{}: expected 0 < eta_minus < 1 < eta_plus, got eta_minus {} and eta_plus {}", name, o.eta_minus,
             o.eta_plus);
    // PyTorch checks neither: a negative or reversed range would clamp every step size to nonsense.
    if (!(o.step_size_min >= 0 && o.step_size_min <= o.step_size_max))
        fail("{}: expected 0 <= step_size_min <= step_size_max, got step_size_min {} and step_size_max {}", name,
             o.step_size_min, o.step_size_max);
}

std::optional<std::vector<StateSpec>> Rprop::state_specs(std::size_t) const {
    return std::vector<StateSpec>{{"prev"}, {"step_size", true}};
}

void Rprop::step() {
    NoGrad off;
    internal::for_each_update(*this, [&]<class T>(std::size_t g, std::size_t i, Tensor& p, Tensor& grad) {
        const RpropOptions& o = options_[g];
        Tensor& prev = state(g, i, "prev");
        Tensor& step_size = state(g, i, "step_size");
        if (++steps(g, i) == 1) step_size.fill_(o.lr);  // the group's rate when the state is made, as PyTorch
        const Tensor agreement = sign(grad * prev);
        const Tensor flipped = agreement < 0.0;
        Tensor factor = ones_like(agreement);
        factor.masked_fill_(agreement > 0.0, o.eta_plus);
        factor.masked_fill_(flipped, o.eta_minus);
        step_size.mul_(factor).clamp_(o.step_size_min, o.step_size_max);
        // After a sign flip the step is skipped, and the next one starts afresh (prev = 0).
        const Tensor kept = grad.masked_fill(flipped, 0.0);
        p.copy_(addcmul(p, sign(kept), step_size, -1.0));
        prev.copy_(kept);
    });
}

// ---- ASGD --------------------------------------------------------------------------

void ASGDOptions::validate(const ASGDOptions& o, const char* name) {
    internal::require(o.lr >= 0, name, "learning rate", o.lr);
    internal::require(o.weight_decay >= 0, name, "weight_decay", o.weight_decay);
    internal::require(std::isfinite(o.lambd), name, "lambd", o.lambd);
    internal::require(std::isfinite(o.alpha), name, "alpha", o.alpha);
    internal::require(!std::isnan(o.t0), name, "t0", o.t0);
}

std::optional<std::vector<StateSpec>> ASGD::state_specs(std::size_t) const {
    return std::vector<StateSpec>{{"ax"}, {"eta", true, true}, {"mu", true, true}};
}

void ASGD::step() {
    NoGrad off;
    internal::for_each_update(*this, [&]<class T>(std::size_t g, std::size_t i, Tensor& p, Tensor& grad) {
        const ASGDOptions& o = options_[g];
        Tensor& ax = state(g, i, "ax");
        Tensor& eta_state = scalar_state(g, i, "eta");
        Tensor& mu_state = scalar_state(g, i, "mu");
        const std::int64_t t = ++steps(g, i);
        // PyTorch keeps eta and mu in scalar tensors of the default dtype, float32: rounded so here too.
        if (t == 1) {
            eta_state.fill_(static_cast<float>(o.lr));
            mu_state.fill_(1.0);
        }
        const double eta = eta_state.item(), mu = mu_state.item();
        const Tensor gw = with_weight_decay(grad, p, o.weight_decay);
        p.mul_(1 - o.lambd * eta);
        p.add_(gw, -eta);
        if (mu != 1) {
            ax.add_((p - ax) * mu);
        } else {
            ax.copy_(p);
        }
        const auto step = static_cast<double>(static_cast<float>(t));  // PyTorch's float32 step count
        eta_state.fill_(static_cast<float>(o.lr / std::pow(1 + o.lambd * o.lr * step, o.alpha)));
        mu_state.fill_(static_cast<float>(1 / std::max(1.0, step - o.t0)));
    });
}

}  // namespace rg::optim
