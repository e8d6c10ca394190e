// gradcheck and gradgradcheck: autodiff Jacobians against central differences.
#include <retrograd/gradcheck.hpp>

#include "kernels.hpp"

#include <cmath>

namespace rg {
namespace {

// Gradcheck's own float64 copies and basis vectors are dense, so element k is data[k].
double* values_of(Tensor& t) { return t.data_ptr<double>(); }

// Calls f on gradcheck's float64 copies. A dtype mismatch inside f means a
// tensor f did not receive as an input (a captured constant) is still float32:
// say so, since the user's inputs were float32 too and f worked on them.
Tensor call_float64(const Function& f, const TensorList& xs, const char* who) {
    try {
        return f(xs);
    } catch (const Error& e) {
        const std::string message = e.what();
        const auto at = message.find(": dtype mismatch, ");
        if (at == std::string::npos || message.find("float32") == std::string::npos) throw;
        const std::string op = message.substr(0, at);
        const auto rest = message.substr(at + 18);
        const bool first_is_32 = rest.rfind("float32", 0) == 0;
        std::vector<std::string> converted;
        for (std::size_t i = 0; i < xs.size(); ++i)
            if (xs[i].dtype() == Dtype::float64) converted.push_back(fmt::format("{} {}", i, shape_str(xs[i].shape())));
        fail("{}: f failed in float64 ({}): {} converted its inputs to float64 (input{} {}), but the {} operand of "
             "'{}' is still float32: a tensor f captured rather than received as an input. Create it with "
             "{{.dtype = rg::float64}} or .to(rg::float64), or pass it to {} as an input (one that does not "
             "require grad is held constant)",
             who, message.substr(0, message.find(';')), who, converted.size() == 1 ? "" : "s",
             fmt::join(converted, ", "), first_is_32 ? "first" : "second", op, who);
    }
}

}  // namespace

GradcheckResult gradcheck(const Function& f, const TensorList& inputs, GradcheckOptions options) {
    TensorList xs;
    std::vector<std::size_t> checked;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const Tensor& in = detail::defined_or_fail(inputs[i], "gradcheck");
        if (!in.is_floating()) {
            xs.push_back(in);
            continue;
        }
        if (in.dtype() == Dtype::bfloat16)
            fail("gradcheck: input {} is bfloat16 (8 significant bits, too few for finite differences); pass float64 "
                 "inputs",
                 i);
        Tensor x = detail::contiguous_values(in.detach().to(Dtype::float64));
        if (in.requires_grad()) {
            x.requires_grad_();
            checked.push_back(i);
        }
        xs.push_back(x);
    }
    if (checked.empty()) fail("gradcheck: no input requires grad, so there is nothing to check");

    Tensor out = call_float64(f, xs, "gradcheck");
    detail::defined_or_fail(out, "gradcheck");
    if (out.dtype() != Dtype::float64)
        fail("gradcheck: f returned {}; build it from its inputs so that it runs in float64", dtype_name(out.dtype()));
    const std::size_t n_out = out.numel();

    // analytic[i] holds d out / d x_i as n_out rows of x_i.numel() values.
    std::vector<std::vector<double>> analytic(xs.size());
    TensorList wrt;
    for (auto i : checked) wrt.push_back(xs[i]);
    for (std::size_t k = 0; k < n_out; ++k) {
        TensorList grads;
        if (out.requires_grad()) {
            Tensor e = zeros_like(out);
            values_of(e)[k] = 1.0;
            grads = grad({out}, wrt, {e}, {.retain_graph = true, .allow_unused = true});
        }
        for (std::size_t c = 0; c < checked.size(); ++c) {
            auto& rows = analytic[checked[c]];
            if (grads.empty()) {
                rows.resize(rows.size() + xs[checked[c]].numel(), 0.0);
            } else {
                const auto v = grads[c].to_vector();
                rows.insert(rows.end(), v.begin(), v.end());
            }
        }
    }

    // f is evaluated with grad mode on: gradgradcheck's f itself calls grad().
    GradcheckResult result;
    for (auto i : checked) {
        Tensor& x = xs[i];
        double* data = values_of(x);
        const std::size_t n_in = x.numel();
        std::size_t failures = 0;
        std::string first_failure;
        for (std::size_t p = 0; p < n_in; ++p) {
            const double saved = data[p];
            data[p] = saved + options.eps;
            const auto plus = call_float64(f, xs, "gradcheck").to_vector();
            data[p] = saved - options.eps;
            const auto minus = call_float64(f, xs, "gradcheck").to_vector();
            data[p] = saved;
            for (std::size_t k = 0; k < n_out; ++k) {
                const double numeric = (plus[k] - minus[k]) / (2 * options.eps);
                const double exact = analytic[i][k * n_in + p];
                const double error = std::abs(exact - numeric);
                const bool bad = !(error <= options.atol + options.rtol * std::abs(numeric));
                if (!std::isnan(error)) result.max_abs_error = std::max(result.max_abs_error, error);
                if (!bad) continue;
                if (failures++ == 0) {
                    first_failure =
                        fmt::format("d output{} / d input {}{}: analytic {:.10g}, numeric {:.10g} (abs error "
                                    "{:.3g}, allowed {:.3g})",
                                    index_str(k, out.shape()), i, index_str(p, x.shape()), exact, numeric, error,
                                    options.atol + options.rtol * std::abs(numeric));
                }
            }
        }
        if (failures > 0) {
            result.ok = false;
            result.report += fmt::format("gradcheck failed for input {} (shape {}): {} of {} "
                                         "Jacobian entries differ; first: {}\n",
                                         i, shape_str(x.shape()), failures, n_in * n_out, first_failure);
        }
    }
    if (result.ok)
        result.report =
            fmt::format("gradcheck passed: {} input(s), max abs error {:.3g}", checked.size(), result.max_abs_error);
    return result;
}

GradcheckResult gradgradcheck(const Function& f, const TensorList& inputs, GradcheckOptions options) {
    // A fixed random direction v for the output; float64 like everything here.
    TensorList probe;
    for (const Tensor& in : inputs)
        probe.push_back(in.is_floating() ? detail::contiguous_values(in.detach().to(Dtype::float64)) : in);
    Tensor out = detail::without_grad([&] { return call_float64(f, probe, "gradgradcheck"); });
    Tensor v = randn(out.shape(), {Dtype::float64});
    std::vector<std::size_t> checked;
    for (std::size_t i = 0; i < inputs.size(); ++i)
        if (inputs[i].requires_grad()) checked.push_back(i);

    auto first_order = [&, v, checked](const TensorList& xs) {
        Tensor y = f(xs);
        TensorList wrt;
        for (auto i : checked) wrt.push_back(xs[i]);
        TensorList grads;
        if (y.requires_grad()) {
            grads = grad({y}, wrt, {v}, {.create_graph = true, .allow_unused = true});
        } else {
            for (const Tensor& w : wrt) grads.push_back(zeros_like(w));
        }
        TensorList flat;
        for (const Tensor& g : grads) flat.push_back(reshape(g, Shape{g.numel()}));
        return concat(flat, 0);
    };
    GradcheckResult result = gradcheck(first_order, inputs, options);
    result.report = (result.ok ? "gradgradcheck: " : "gradgradcheck (the gradient's gradient): ") + result.report;
    return result;
}

}  // namespace rg
