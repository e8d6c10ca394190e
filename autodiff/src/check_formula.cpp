// check_formula: a hand-derived derivative against autodiff, and what a wrong
// one looks like.
#include <retrograd/check_formula.hpp>

#include "kernels.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <sstream>

namespace rg {
namespace {

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

// Runs `body` (f or the formula, on float64 inputs); a dtype error inside gets
// the fix that applies here: everything in a formula check is float64.
template <class F> auto in_float64(const char* who, F&& body) {
    try {
        return body();
    } catch (const Error& e) {
        std::string message = e.what();
        if (message.find("float32") == std::string::npos) throw;
        // kernels' advice names the first operand's dtype, which is the wrong fix here.
        const std::string advice = "; convert one side with .to(rg::";
        if (const auto at = message.find(advice); at != std::string::npos) {
            const auto end = message.find(')', at);
            message.erase(at, end == std::string::npos ? std::string::npos : end + 1 - at);
        }
        fail("check_formula: {} mixes dtypes ({}); check_formula runs in float64: create its constants with "
             "{{.dtype = rg::float64}} or convert them with .to(rg::float64) (a module: module.to(rg::float64))",
             who, message);
    }
}

struct Tolerance {
    double atol, rtol;
    // The check's own criterion, |autodiff - formula| <= atol + rtol |autodiff|.
    bool close(double autodiff, double formula) const {
        return std::abs(autodiff - formula) <= atol + rtol * std::abs(autodiff);
    }
    bool all_close(const std::vector<double>& a, const std::vector<double>& b) const {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (!close(a[i], b[i])) return false;
        return true;
    }
};

std::string axes_str(const std::vector<std::size_t>& p) { return fmt::format("{{{}}}", fmt::join(p, ", ")); }

// The non-identity orders p of b's axes for which permute(b, p) has `shape`
// and autodiff's values (ranks 2 to 6).
std::optional<std::vector<std::size_t>> matching_permutation(const std::vector<double>& a, const Shape& shape,
                                                             const Tensor& b, const Tolerance& tol) {
    if (b.dim() != shape.size() || b.dim() < 2 || b.dim() > 6) return std::nullopt;
    // At most rank! permuted copies: bounded work, a diagnosis is not worth minutes.
    double orders = 1;
    for (std::size_t k = 2; k <= b.dim(); ++k) orders *= static_cast<double>(k);
    if (orders * static_cast<double>(b.numel()) > 5e7) return std::nullopt;
    std::vector<std::size_t> p(b.dim());
    std::iota(p.begin(), p.end(), 0);
    while (std::next_permutation(p.begin(), p.end())) {
        bool fits = true;
        for (std::size_t i = 0; i < p.size(); ++i) fits = fits && b.shape()[p[i]] == shape[i];
        if (!fits) continue;
        const Axes order(p.begin(), p.end());
        if (tol.all_close(a, permute(b, order).to_vector())) return p;
    }
    return std::nullopt;
}

std::string permutation_phrase(const std::vector<std::size_t>& p, bool shape_differs) {
    if (p.size() == 2)
        return shape_differs ? "the formula matches autodiff transposed" : "the formula is autodiff transposed";
    return fmt::format("permute(formula, {}) matches autodiff", axes_str(p));
}

// A formula of the wrong shape: says which, and how it relates to autodiff.
std::string shape_pattern(const Tensor& exact, const Tensor& claimed, const Tolerance& tol) {
    std::string text = fmt::format("expected {}, got {}", shape_str(exact.shape()), shape_str(claimed.shape()));
    const auto a = exact.to_vector();
    if (claimed.numel() == exact.numel()) {
        if (auto p = matching_permutation(a, exact.shape(), claimed, tol))
            return text + "; " + permutation_phrase(*p, true);
        if (tol.all_close(a, claimed.to_vector()))
            return text + fmt::format("; the values are autodiff's in row-major order: reshape the formula to {}",
                                      shape_str(exact.shape()));
        return text;
    }
    Tensor summed;
    try {
        summed = sum_to(claimed, exact.shape());
    } catch (const Error&) {
        return text;
    }
    if (tol.all_close(a, summed.to_vector()))
        text += fmt::format("; summed down to {} (rg::sum_to) it matches autodiff: the input is broadcast in f, so its "
                            "gradient sums over the broadcast axes",
                            shape_str(exact.shape()));
    return text;
}

std::string index_list(const std::vector<std::size_t>& indices) {
    if (indices.size() <= 8) return fmt::format("{}", fmt::join(indices, ", "));
    return fmt::format("{}, ... ({} in all)", fmt::join(indices.begin(), indices.begin() + 6, ", "), indices.size());
}

// Where the wrong elements are, when they are not everywhere.
std::string confined_pattern(const std::vector<bool>& bad, const Shape& shape) {
    const std::size_t n = bad.size();
    const std::size_t count = static_cast<std::size_t>(std::count(bad.begin(), bad.end(), true));
    if (count == 0 || count == n) return "";
    std::string text = fmt::format("{} of {} elements differ", count, n);
    if (shape.size() <= 1) {
        if (count > 8) return text;
        std::vector<std::string> where;
        for (std::size_t k = 0; k < n; ++k)
            if (bad[k]) where.push_back(index_str(k, shape));
        return text + fmt::format(", at {}", fmt::join(where, ", "));
    }
    // Per axis, the indices that hold a wrong element; an axis where only some do confines the errors.
    std::vector<std::string> where;
    for (std::size_t axis = 0; axis < shape.size(); ++axis) {
        std::size_t inner = 1;
        for (std::size_t k = axis + 1; k < shape.size(); ++k) inner *= shape[k];
        std::vector<bool> hit(shape[axis], false);
        for (std::size_t k = 0; k < n; ++k)
            if (bad[k]) hit[(k / inner) % shape[axis]] = true;
        std::vector<std::size_t> indices;
        for (std::size_t i = 0; i < hit.size(); ++i)
            if (hit[i]) indices.push_back(i);
        if (indices.size() == shape[axis]) continue;
        const bool plural = indices.size() > 1;
        if (shape.size() == 2)
            where.push_back(fmt::format("{}{} {} (of {})", axis == 0 ? "row" : "column", plural ? "s" : "",
                                        index_list(indices), shape[axis]));
        else
            where.push_back(fmt::format("{} {} of axis {} (size {})", plural ? "indices" : "index", index_list(indices),
                                        axis, shape[axis]));
    }
    if (where.empty()) return text;
    return text + ", all in " + fmt::format("{}", fmt::join(where, " and "));
}

// A formula of the right shape but wrong values: a factor, a sign, an offset, a transpose, or where.
std::string value_pattern(const std::vector<double>& a, const std::vector<double>& b, const std::vector<bool>& bad,
                          const Tensor& claimed, const Shape& shape, const Tolerance& tol) {
    const std::size_t n = a.size();
    std::size_t largest = 0;
    for (std::size_t k = 0; k < n; ++k)
        if (std::abs(a[k]) > std::abs(a[largest])) largest = k;
    if (std::abs(a[largest]) <= tol.atol) return "autodiff is 0 everywhere: f does not depend on this input here";
    if (std::all_of(b.begin(), b.end(), [&](double v) { return std::abs(v) <= tol.atol; }))
        return "the formula is 0 everywhere";
    auto all = [&](auto&& expected) {
        for (std::size_t k = 0; k < n; ++k) {
            const double e = expected(a[k]);
            if (!(std::abs(e - b[k]) <= tol.atol + tol.rtol * std::abs(e))) return false;
        }
        return true;
    };
    if (all([](double v) { return -v; })) return "the sign is flipped: the formula is -autodiff everywhere";
    if (n >= 2) {
        const double ratio = b[largest] / a[largest];
        if (std::isfinite(ratio) && all([ratio](double v) { return ratio * v; }))
            return fmt::format("the formula is {:.6g} × autodiff everywhere", ratio);
        const double offset = b[largest] - a[largest];
        if (std::isfinite(offset) && all([offset](double v) { return v + offset; }))
            return fmt::format("the formula is autodiff {} {:.6g} everywhere", offset < 0 ? "-" : "+",
                               std::abs(offset));
    }
    if (auto p = matching_permutation(a, shape, claimed, tol)) return permutation_phrase(*p, false);
    return confined_pattern(bad, shape);
}

// "    autodiff tensor([[1, 2],\n                     [3, 4]])": continuation lines aligned.
std::string labelled(const char* label, const Tensor& t) {
    const std::string prefix = fmt::format("    {:<9}", label);
    std::string s = prefix;
    for (char c : to_string(t)) {
        s += c;
        if (c == '\n') s += std::string(prefix.size(), ' ');
    }
    return s + "\n";
}

constexpr std::size_t small_tensor = 36;

}  // namespace

std::string FormulaReport::text() const {
    std::ostringstream os;
    os << (ok ? "formula check: PASS\n" : "formula check: FAIL\n");
    for (const auto& c : checks) {
        if (c.formula_shape != c.shape) {
            os << fmt::format("  input {} {}: FAIL shape: {}\n", c.input, shape_str(c.shape), c.pattern);
        } else {
            os << fmt::format("  input {} {}: {} max abs error {:.3g}, max rel error {:.3g}", c.input,
                              shape_str(c.shape), c.ok ? "ok  " : "FAIL", c.max_abs_error, c.max_rel_error);
            if (!c.ok || c.max_abs_error > 0)
                os << fmt::format("; worst at {}: autodiff {:.10g}, formula {:.10g}", c.worst, c.autodiff, c.formula);
            os << "\n";
            if (!c.pattern.empty()) os << "    " << c.pattern << "\n";
        }
        if (!c.ok && c.autodiff_tensor.defined() && c.formula_tensor.defined() &&
            c.autodiff_tensor.numel() <= small_tensor && c.formula_tensor.numel() <= small_tensor) {
            os << labelled("autodiff", c.autodiff_tensor) << labelled("formula", c.formula_tensor);
        }
    }
    return os.str();
}

FormulaReport check_formula(const Function& f, const TensorList& inputs, const Formula& formula,
                            FormulaOptions options) {
    TensorList xs;
    for (const Tensor& in : inputs) {
        detail::defined_or_fail(in, "check_formula");
        xs.push_back(in.is_floating() ? in.detach().to(Dtype::float64) : in);
    }
    const TensorList exact = in_float64("f", [&] { return autodiff_derivatives(f, xs, options.kind); });
    const TensorList claimed =
        in_float64("the formula", [&] { return detail::without_grad([&] { return formula(xs); }); });
    if (claimed.size() != exact.size())
        fail("check_formula: the formula returned {} tensors, expected {} (one per input)", claimed.size(),
             exact.size());
    const Tolerance tol{options.atol, options.rtol};
    FormulaReport report;
    for (std::size_t i = 0; i < exact.size(); ++i) {
        detail::defined_or_fail(claimed[i], "check_formula");
        FormulaCheck c;
        c.input = i;
        c.shape = exact[i].shape();
        c.formula_shape = claimed[i].shape();
        c.autodiff_tensor = exact[i].detach().to(Dtype::float64);
        c.formula_tensor = claimed[i];
        const Tensor b64 = claimed[i].detach().to(Dtype::float64);
        if (c.formula_shape != c.shape) {
            c.ok = false;
            c.max_abs_error = c.max_rel_error = INFINITY;
            c.pattern = shape_pattern(c.autodiff_tensor, b64, tol);
            report.ok = false;
            report.checks.push_back(c);
            continue;
        }
        const auto a = c.autodiff_tensor.to_vector();
        const auto b = b64.to_vector();
        std::vector<bool> bad(a.size());
        double worst_excess = -1;
        for (std::size_t k = 0; k < a.size(); ++k) {
            const double abs_err = std::abs(a[k] - b[k]);
            const double rel_err = abs_err / std::max(std::abs(a[k]), 1e-300);
            bad[k] = !tol.close(a[k], b[k]);
            c.max_abs_error = std::max(c.max_abs_error, std::isnan(abs_err) ? INFINITY : abs_err);
            if (abs_err > 0) c.max_rel_error = std::max(c.max_rel_error, rel_err);
            const double excess = std::isnan(abs_err) ? INFINITY : abs_err - options.rtol * std::abs(a[k]);
            if (excess > worst_excess) {
                worst_excess = excess;
                c.worst = index_str(k, c.shape);
                c.autodiff = a[k];
                c.formula = b[k];
            }
            c.ok = c.ok && !bad[k];
        }
        if (!c.ok) c.pattern = value_pattern(a, b, bad, b64, c.shape, tol);
        report.ok = report.ok && c.ok;
        report.checks.push_back(c);
    }
    return report;
}

FormulaReport check_formula(const Function& f, const TensorList& inputs, const TensorList& expected,
                            FormulaOptions options) {
    return check_formula(
        f, inputs, [&expected](const TensorList&) { return expected; }, options);
}

FormulaReport check_formula(const Function& f, const std::vector<Shape>& shapes, const Formula& formula,
                            FormulaOptions options, std::uint64_t seed) {
    manual_seed(seed);
    TensorList xs;
    for (const Shape& s : shapes) xs.push_back(randn(s, {.dtype = Dtype::float64}));
    return check_formula(f, xs, formula, options);
}

}  // namespace rg
