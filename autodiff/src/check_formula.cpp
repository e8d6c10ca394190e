// check_formula: a hand-derived derivative against autodiff.
#include <retrograd/check_formula.hpp>

#include "kernels.hpp"

#include <cmath>
#include <sstream>

namespace rg {
namespace {

const char* kind_name(Derivative d) {
    switch (d) {
        case Derivative::gradient: return "gradient";
        case Derivative::jacobian: return "jacobian";
        case Derivative::hessian: return "hessian";
    }
    return "?";
}

TensorList autodiff_derivatives(const Function& f, const TensorList& xs, Derivative kind) {
    switch (kind) {
        case Derivative::gradient: {
            TensorList leaves;
            for (const Tensor& x : xs) leaves.push_back(x.detach().requires_grad_());
            Tensor out = f(leaves);
            detail::defined_or_fail(out, "check_formula");
            if (!out.requires_grad()) {
                TensorList zero;
                for (const Tensor& x : xs) zero.push_back(zeros_like(x));
                return zero;
            }
            return grad({out}, leaves, {ones_like(out)}, {.allow_unused = true});
        }
        case Derivative::jacobian: return jacobian(f, xs);
        case Derivative::hessian:
            if (xs.size() != 1) fail("check_formula: a hessian check takes one input, got {}", xs.size());
            return {hessian([&f](const TensorList& v) { return f(v); }, xs[0])};
    }
    return {};
}

}  // namespace

std::string FormulaReport::text() const {
    std::ostringstream os;
    os << (ok ? "formula check: PASS\n" : "formula check: FAIL\n");
    for (const auto& c : checks) {
        os << fmt::format("  input {} {}: {} max abs error {:.3g}, max rel error {:.3g}", c.input, shape_str(c.shape),
                          c.ok ? "ok  " : "FAIL", c.max_abs_error, c.max_rel_error);
        if (!c.ok || c.max_abs_error > 0)
            os << fmt::format("; worst at {}: autodiff {:.10g}, formula {:.10g}", c.worst, c.autodiff, c.formula);
        os << "\n";
    }
    return os.str();
}

FormulaReport check_formula(const Function& f, const TensorList& inputs, const Formula& formula, FormulaOptions options) {
    TensorList xs;
    for (const Tensor& in : inputs) {
        detail::defined_or_fail(in, "check_formula");
        xs.push_back(in.is_floating() ? in.detach().to(Dtype::float64) : in);
    }
    const TensorList exact = autodiff_derivatives(f, xs, options.kind);
    const TensorList claimed = detail::without_grad([&] { return formula(xs); });
    if (claimed.size() != exact.size())
        fail("check_formula: the formula returned {} tensors, expected {} (one per input)", claimed.size(), exact.size());
    FormulaReport report;
    for (std::size_t i = 0; i < exact.size(); ++i) {
        detail::defined_or_fail(claimed[i], "check_formula");
        if (claimed[i].numel() != exact[i].numel())
            fail("check_formula: the formula's {} for input {} has shape {}, expected {}", kind_name(options.kind), i,
                 shape_str(claimed[i].shape()), shape_str(exact[i].shape()));
        FormulaCheck c;
        c.input = i;
        c.shape = exact[i].shape();
        const auto a = exact[i].to_vector();
        const auto b = claimed[i].to_vector();
        double worst_excess = -1;
        for (std::size_t k = 0; k < a.size(); ++k) {
            const double abs_err = std::abs(a[k] - b[k]);
            const double rel_err = abs_err / std::max(std::abs(a[k]), 1e-300);
            const bool bad = !(abs_err <= options.atol + options.rtol * std::abs(a[k]));
            c.max_abs_error = std::max(c.max_abs_error, std::isnan(abs_err) ? INFINITY : abs_err);
            if (abs_err > 0) c.max_rel_error = std::max(c.max_rel_error, rel_err);
            const double excess = std::isnan(abs_err) ? INFINITY : abs_err - options.rtol * std::abs(a[k]);
            if (excess > worst_excess) {
                worst_excess = excess;
                c.worst = index_str(k, c.shape);
                c.autodiff = a[k];
                c.formula = b[k];
            }
            c.ok = c.ok && !bad;
        }
        report.ok = report.ok && c.ok;
        report.checks.push_back(c);
    }
    return report;
}

FormulaReport check_formula(const Function& f, const TensorList& inputs, const TensorList& expected,
                            FormulaOptions options) {
    return check_formula(f, inputs, [&expected](const TensorList&) { return expected; }, options);
}

FormulaReport check_formula(const Function& f, const std::vector<Shape>& shapes, const Formula& formula,
                            FormulaOptions options, std::uint64_t seed) {
    manual_seed(seed);
    TensorList xs;
    for (const Shape& s : shapes) xs.push_back(randn(s, {.dtype = Dtype::float64}));
    return check_formula(f, xs, formula, options);
}

}  // namespace rg
