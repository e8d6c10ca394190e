// L-BFGS with an optional strong-Wolfe line search: PyTorch 1.13's
// torch/optim/lbfgs.py (after Mark Schmidt's minFunc), step for step, on the
// parameters flattened into one vector of doubles.
#include "optim_update.hpp"

#include <algorithm>
#include <cmath>

namespace rg::optim {
namespace {

double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double sum = 0;
    for (std::size_t k = 0; k < a.size(); ++k) sum += a[k] * b[k];
    return sum;
}

double abs_max(const std::vector<double>& a) {
    double m = 0;
    for (double v : a) m = std::max(m, std::abs(v));
    return m;
}

// The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and
// g2, clamped into the bounds (by default the interval); their middle when the
// cubic has no minimum.
double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2,
                         std::optional<std::pair<double, double>> bounds = std::nullopt) {
    const auto [lo, hi] = bounds ? *bounds : (x1 <= x2 ? std::pair{x1, x2} : std::pair{x2, x1});
    const double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
    const double d2_square = d1 * d1 - g1 * g2;
    if (d2_square >= 0) {
        const double d2 = std::sqrt(d2_square);
        const double min_pos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                                        : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
        return std::min(std::max(min_pos, lo), hi);
    }
    return (lo + hi) / 2.;
}

struct Evaluation {
    double loss;
    std::vector<double> grad;
};

struct LineSearchResult {
    double loss;
    std::vector<double> grad;
    double t;
    std::size_t evaluations;
};

// The step t along d that satisfies the strong Wolfe conditions (sufficient
// decrease c1, curvature c2), bracketing then zooming, 25 evaluations at most.
template <class Evaluate>
LineSearchResult strong_wolfe(Evaluate&& evaluate, double t, const std::vector<double>& d, double f,
                              const std::vector<double>& g, double gtd) {
    constexpr double c1 = 1e-4, c2 = 0.9, tolerance_change = 1e-9;  // PyTorch's defaults, not the optimizer's
    constexpr std::size_t max_ls = 25;
    const double d_norm = abs_max(d);
    Evaluation next = evaluate(t);
    std::size_t evaluations = 1;
    double gtd_new = dot(next.grad, d);
    double t_prev = 0, f_prev = f, gtd_prev = gtd;
    std::vector<double> g_prev = g;
    bool done = false;
    std::size_t ls_iter = 0;
    // Brackets of one or two points.
    std::vector<double> bracket, bracket_f, bracket_gtd;
    std::vector<std::vector<double>> bracket_g;
    while (ls_iter < max_ls) {
        if (next.loss > f + c1 * t * gtd || (ls_iter > 1 && next.loss >= f_prev)) {
            bracket = {t_prev, t}, bracket_f = {f_prev, next.loss}, bracket_g = {g_prev, next.grad};
            bracket_gtd = {gtd_prev, gtd_new};
            break;
        }
        if (std::abs(gtd_new) <= -c2 * gtd) {
            bracket = {t}, bracket_f = {next.loss}, bracket_g = {next.grad};
            done = true;
            break;
        }
        if (gtd_new >= 0) {
            bracket = {t_prev, t}, bracket_f = {f_prev, next.loss}, bracket_g = {g_prev, next.grad};
            bracket_gtd = {gtd_prev, gtd_new};
            break;
        }
        // Extrapolate, between 1.01 and 10 times the step.
        const double min_step = t + 0.01 * (t - t_prev), max_step = t * 10;
        const double previous = t;
        t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, next.loss, gtd_new, std::pair{min_step, max_step});
        t_prev = previous;
        f_prev = next.loss;
        g_prev = next.grad;
        gtd_prev = gtd_new;
        next = evaluate(t);
        ++evaluations;
        gtd_new = dot(next.grad, d);
        ++ls_iter;
    }
    if (ls_iter == max_ls) bracket = {0, t}, bracket_f = {f, next.loss}, bracket_g = {g, next.grad};

    // Zoom: shrink the bracket until a point satisfies the conditions.
    bool insufficient_progress = false;
    std::size_t low = bracket_f.front() <= bracket_f.back() ? 0 : 1, high = 1 - low;
    while (!done && ls_iter < max_ls) {
        if (std::abs(bracket[1] - bracket[0]) * d_norm < tolerance_change) break;
        t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1]);
        // A point too near an end of the bracket makes little progress: moved inside, unless the last one was too.
        const double top = std::max(bracket[0], bracket[1]), bottom = std::min(bracket[0], bracket[1]);
        const double eps = 0.1 * (top - bottom);
        if (std::min(top - t, t - bottom) < eps) {
            if (insufficient_progress || t >= top || t <= bottom) {
                t = std::abs(t - top) < std::abs(t - bottom) ? top - eps : bottom + eps;
                insufficient_progress = false;
            } else {
                insufficient_progress = true;
            }
        } else {
            insufficient_progress = false;
        }
        next = evaluate(t);
        ++evaluations;
        gtd_new = dot(next.grad, d);
        ++ls_iter;
        if (next.loss > f + c1 * t * gtd || next.loss >= bracket_f[low]) {
            bracket[high] = t, bracket_f[high] = next.loss, bracket_g[high] = next.grad, bracket_gtd[high] = gtd_new;
            low = bracket_f[0] <= bracket_f[1] ? 0 : 1, high = 1 - low;
        } else {
            if (std::abs(gtd_new) <= -c2 * gtd) {
                done = true;
            } else if (gtd_new * (bracket[high] - bracket[low]) >= 0) {
                bracket[high] = bracket[low], bracket_f[high] = bracket_f[low], bracket_g[high] = bracket_g[low];
                bracket_gtd[high] = bracket_gtd[low];
            }
            bracket[low] = t, bracket_f[low] = next.loss, bracket_g[low] = next.grad, bracket_gtd[low] = gtd_new;
        }
    }
    return {bracket_f[low], bracket_g[low], bracket[low], evaluations};
}

}  // namespace

void LBFGSOptions::validate(const LBFGSOptions& o, const char* name) {
    internal::require(o.lr >= 0, name, "learning rate", o.lr);
    if (o.max_iter == 0) fail("{}: max_iter must be positive", name);
    if (o.history_size == 0) fail("{}: history_size must be positive", name);
    internal::require(o.tolerance_grad >= 0, name, "tolerance_grad", o.tolerance_grad);
    internal::require(o.tolerance_change >= 0, name, "tolerance_change", o.tolerance_change);
}

LBFGS::LBFGS(TensorList params, LBFGSOptions options)
    : GroupedOptimizer(std::vector<ParamGroup<LBFGSOptions>>{{std::move(params), options}}, "LBFGS") {}

std::optional<std::vector<StateSpec>> LBFGS::state_specs(std::size_t) const { return std::vector<StateSpec>{}; }

void LBFGS::step() {
    fail("LBFGS: step() needs a closure that recomputes the loss (zero_grad, forward, backward, return the loss): "
         "call step(closure)");
}

std::vector<double> LBFGS::gather_flat_grad() const {
    std::vector<double> flat;
    for (const Tensor& p : params()) {
        const Tensor grad = p.grad();
        if (!grad.defined()) {
            flat.resize(flat.size() + p.numel(), 0.0);
            continue;
        }
        const std::vector<double> values = grad.to_vector();
        flat.insert(flat.end(), values.begin(), values.end());
    }
    return flat;
}

void LBFGS::add_to_params(double step_size, const std::vector<double>& direction) {
    NoGrad off;
    std::size_t offset = 0;
    for (const Tensor& p : params()) {
        std::vector<double> values = p.to_vector();
        for (double& v : values) v += step_size * direction[offset++];
        Tensor target = p;
        // copy_ writes through the parameter's strides and bumps its version.
        target.copy_(from_vector(values, p.shape(), {.dtype = p.dtype()}));
    }
}

Tensor LBFGS::step(const LossClosure& closure) {
    if (!closure) step();
    const LBFGSOptions& o = options_[0];
    const std::size_t max_eval = o.max_eval ? o.max_eval : o.max_iter * 5 / 4;
    const auto evaluate = [&] {
        Tensor loss = closure();
        if (!loss.defined() || loss.numel() != 1)
            fail("LBFGS: the closure must return the loss, one number; it returned {}",
                 loss.defined() ? "a tensor of shape " + shape_str(loss.shape()) : "an undefined tensor");
        return loss;
    };
    Tensor orig_loss = evaluate();
    double loss = orig_loss.item();
    std::size_t current_evals = 1;
    ++func_evals_;
    std::vector<double> flat_grad = gather_flat_grad();
    if (abs_max(flat_grad) <= o.tolerance_grad) return orig_loss;

    for (std::size_t n_iter = 1; n_iter <= o.max_iter; ++n_iter) {
        ++n_iter_;
        if (n_iter_ == 1) {  // the first direction: steepest descent
            d_.resize(flat_grad.size());
            for (std::size_t k = 0; k < d_.size(); ++k) d_[k] = -flat_grad[k];
            old_dirs_.clear(), old_stps_.clear(), ro_.clear();
            h_diag_ = 1;
        } else {
            // The curvature pair of the last step, kept while it is positive (the Hessian
            // estimate stays positive definite), the oldest dropped beyond history_size.
            std::vector<double> y(flat_grad.size()), s(flat_grad.size());
            for (std::size_t k = 0; k < y.size(); ++k) y[k] = flat_grad[k] - prev_flat_grad_[k], s[k] = d_[k] * t_;
            const double ys = dot(y, s);
            if (ys > 1e-10) {
                if (old_dirs_.size() == o.history_size) {
                    old_dirs_.erase(old_dirs_.begin()), old_stps_.erase(old_stps_.begin());
                    ro_.erase(ro_.begin());
                }
                old_dirs_.push_back(y), old_stps_.push_back(s), ro_.push_back(1. / ys);
                h_diag_ = ys / dot(y, y);
            }
            // The two-loop recursion: d = -H g.
            al_.resize(std::max(al_.size(), o.history_size));
            std::vector<double> q(flat_grad.size());
            for (std::size_t k = 0; k < q.size(); ++k) q[k] = -flat_grad[k];
            for (std::size_t i = old_dirs_.size(); i-- > 0;) {
                al_[i] = dot(old_stps_[i], q) * ro_[i];
                for (std::size_t k = 0; k < q.size(); ++k) q[k] += -al_[i] * old_dirs_[i][k];
            }
            for (std::size_t k = 0; k < q.size(); ++k) d_[k] = q[k] * h_diag_;
            for (std::size_t i = 0; i < old_dirs_.size(); ++i) {
                const double be_i = dot(old_dirs_[i], d_) * ro_[i];
                for (std::size_t k = 0; k < d_.size(); ++k) d_[k] += (al_[i] - be_i) * old_stps_[i][k];
            }
        }
        prev_flat_grad_ = flat_grad;
        prev_loss_ = loss;
        if (n_iter_ == 1) {
            double l1 = 0;
            for (double g : flat_grad) l1 += std::abs(g);
            t_ = std::min(1., 1. / l1) * o.lr;
        } else {
            t_ = o.lr;
        }
        const double gtd = dot(flat_grad, d_);
        if (gtd > -o.tolerance_change) break;  // not a descent direction

        std::size_t ls_evals = 0;
        bool opt_cond = false;
        if (o.line_search_fn == LineSearch::strong_wolfe) {
            std::vector<Tensor> x_init;
            {
                NoGrad off;
                for (const Tensor& p : params()) x_init.push_back(p.detach().clone());
            }
            const auto directional = [&](double t) {
                add_to_params(t, d_);
                Evaluation e{evaluate().item(), gather_flat_grad()};
                NoGrad off;
                for (std::size_t i = 0; i < x_init.size(); ++i) {
                    Tensor target = params()[i];
                    target.copy_(x_init[i]);
                }
                return e;
            };
            LineSearchResult r = strong_wolfe(directional, t_, d_, loss, flat_grad, gtd);
            loss = r.loss, flat_grad = std::move(r.grad), t_ = r.t, ls_evals = r.evaluations;
            add_to_params(t_, d_);
            opt_cond = abs_max(flat_grad) <= o.tolerance_grad;
        } else {
            add_to_params(t_, d_);
            if (n_iter != o.max_iter) {  // the last iteration's loss is left to the next step()
                loss = evaluate().item();
                flat_grad = gather_flat_grad();
                opt_cond = abs_max(flat_grad) <= o.tolerance_grad;
                ls_evals = 1;
            }
        }
        current_evals += ls_evals;
        func_evals_ += ls_evals;
        if (n_iter == o.max_iter || current_evals >= max_eval || opt_cond) break;
        double moved = 0;
        for (double v : d_) moved = std::max(moved, std::abs(v * t_));
        if (moved <= o.tolerance_change) break;  // the parameters stopped moving
        if (std::abs(loss - prev_loss_) < o.tolerance_change) break;  // the loss stopped changing
    }
    return orig_loss;
}

}  // namespace rg::optim
