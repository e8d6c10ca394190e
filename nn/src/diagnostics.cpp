// Per-layer statistics of one training step.
#include <retrograd/autograd.hpp>
#include <retrograd/nn/activations.hpp>
#include <retrograd/nn/diagnostics.hpp>
#include <retrograd/ops.hpp>

#include <cmath>
#include <sstream>

namespace rg::nn {
namespace {

double norm_of(const TensorList& tensors, bool grads) {
    double total = 0;
    for (const Tensor& p : tensors) {
        Tensor t = grads ? p.grad() : p;
        if (!t.defined()) continue;
        for (double v : t.to_vector()) total += v * v;
    }
    return std::sqrt(total);
}

std::string fraction(double f) { return f < 0 ? "" : fmt::format("{:.1f}%", 100 * f); }

}  // namespace

Diagnostics diagnose(Sequential& model, const Tensor& inputs, const Tensor& targets, const LossFn& loss,
                     DiagnosticsOptions options) {
    Diagnostics result;
    model.zero_grad();
    Tensor x = inputs;
    std::vector<Tensor> outputs;
    for (const auto& [name, child] : model.children()) {
        x = child->forward(x);
        outputs.push_back(x);
        LayerDiagnostics d;
        d.layer = name + ": " + child->describe();
        d.output_shape = x.shape();
        NoGrad off;
        const Tensor v = x.detach().to(Dtype::float64);
        d.output_mean = mean(v).item();
        d.output_std = v.numel() > 1 ? std::sqrt(var(v, {}, false, 0).item()) : 0.0;
        Module* m = child.get();
        if (dynamic_cast<ReLU*>(m) || dynamic_cast<LeakyReLU*>(m) || dynamic_cast<PReLU*>(m)) {
            // A unit is dead when it is not positive for any sample of the batch.
            Tensor alive = any(gt(v, 0.0), {0}).to(Dtype::float64);
            d.dead_fraction = 1.0 - mean(alive).item();
        } else if (dynamic_cast<Sigmoid*>(m)) {
            d.saturated_fraction = mean((lt(v, 0.01) | gt(v, 0.99)).to(Dtype::float64)).item();
        } else if (dynamic_cast<Tanh*>(m)) {
            d.saturated_fraction = mean(gt(abs(v), 0.99).to(Dtype::float64)).item();
        }
        result.layers.push_back(d);
    }
    Tensor l = loss(x, targets);
    result.loss = l.item();
    l.backward();
    std::size_t i = 0;
    for (const auto& [name, child] : model.children()) {
        LayerDiagnostics& d = result.layers[i++];
        const TensorList params = child->parameters();
        if (params.empty()) continue;
        d.grad_norm = norm_of(params, true);
        d.weight_norm = norm_of(params, false);
        if (d.grad_norm < options.vanishing)
            result.warnings.push_back(
                fmt::format("{}: vanishing gradient (norm {:.2e} < {:.0e})", d.layer, d.grad_norm, options.vanishing));
        if (d.grad_norm > options.exploding || !std::isfinite(d.grad_norm))
            result.warnings.push_back(
                fmt::format("{}: exploding gradient (norm {:.2e} > {:.0e})", d.layer, d.grad_norm, options.exploding));
    }
    for (const auto& d : result.layers) {
        if (d.dead_fraction > options.dead)
            result.warnings.push_back(fmt::format("{}: {} of its units are dead (never positive on this batch)",
                                                  d.layer, fraction(d.dead_fraction)));
        if (d.saturated_fraction > options.saturated)
            result.warnings.push_back(
                fmt::format("{}: {} of its outputs are saturated", d.layer, fraction(d.saturated_fraction)));
    }
    return result;
}

std::string Diagnostics::text() const {
    std::size_t w = 5;
    for (const auto& d : layers) w = std::max(w, d.layer.size());
    std::ostringstream os;
    os << fmt::format("{:<{}}  {:>12}  {:>10}  {:>7}  {:>9}  {:>10}\n", "layer", w, "output mean", "output std", "dead",
                      "saturated", "grad norm");
    for (const auto& d : layers)
        os << fmt::format("{:<{}}  {:>12.4f}  {:>10.4f}  {:>7}  {:>9}  {:>10}\n", d.layer, w, d.output_mean,
                          d.output_std, fraction(d.dead_fraction), fraction(d.saturated_fraction),
                          d.grad_norm < 0 ? "" : fmt::format("{:.3e}", d.grad_norm));
    os << fmt::format("loss {:.4f}\n", loss);
    for (const auto& warning : warnings) os << "warning: " << warning << "\n";
    if (warnings.empty()) os << "no warnings\n";
    return os.str();
}

}  // namespace rg::nn
