#pragma once
// "Is my formula right?" in one call: compares a hand-derived derivative with
// the one autodiff gives, in float64, and reports per input the largest
// absolute and relative errors, the worst element with both values, and what
// a wrong formula looks like (a wrong shape, a constant factor, a flipped sign,
// a transpose, errors confined to some rows...).
#include <retrograd/autograd.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace rg {

enum class Derivative {
    gradient,  // d sum(f) / d input, one tensor per input (for a scalar f: its gradient)
    jacobian,  // d f / d input, shape f.shape + input.shape, one tensor per input
    hessian,  // d² f / d input², f scalar, one input: shape input.shape + input.shape
};

struct FormulaOptions {
    Derivative kind = Derivative::gradient;
    double atol = 1e-8;  // |autodiff - formula| <= atol + rtol |autodiff|
    double rtol = 1e-6;
};

struct FormulaCheck {
    std::size_t input = 0;
    Shape shape;  // of autodiff's derivative
    Shape formula_shape;  // of the formula's; a different shape is a failure
    double max_abs_error = 0, max_rel_error = 0;
    std::string worst;  // index of the largest error, e.g. "[1, 0]"
    double autodiff = 0, formula = 0;  // both values there
    bool ok = true;
    // What a failure looks like, when it has a recognisable pattern, e.g.
    // "expected (3, 2), got (2, 3); the formula matches autodiff transposed" or
    // "the formula is 0.5 × autodiff everywhere"; empty otherwise.
    std::string pattern;
    Tensor autodiff_tensor;  // autodiff's derivative (float64)
    Tensor formula_tensor;  // the formula's, as returned
};

struct FormulaReport {
    bool ok = true;
    std::vector<FormulaCheck> checks;
    // PASS/FAIL per input; a failure adds its pattern and, when small (at most
    // 36 elements), both tensors.
    std::string text() const;
    explicit operator bool() const { return ok; }
};

// The formula receives the (float64) inputs and returns one tensor per input.
// f and the formula run in float64: a float32 constant inside either is
// reported with the float64 fix.
using Formula = std::function<TensorList(const TensorList& inputs)>;

// std::cout << report prints report.text().
inline std::ostream& operator<<(std::ostream& os, const FormulaReport& report) { return os << report.text(); }

FormulaReport check_formula(const Function& f, const TensorList& inputs, const Formula& formula,
                            FormulaOptions options = {});
// The same with the expected derivatives given as tensors.
FormulaReport check_formula(const Function& f, const TensorList& inputs, const TensorList& expected,
                            FormulaOptions options = {});
// On random float64 inputs (standard normal) of the given shapes, seeded.
FormulaReport check_formula(const Function& f, const std::vector<Shape>& input_shapes, const Formula& formula,
                            FormulaOptions options = {}, std::uint64_t seed = 0);

}  // namespace rg

template <> struct fmt::formatter<rg::FormulaReport> : fmt::formatter<std::string_view> {
    auto format(const rg::FormulaReport& r, format_context& ctx) const {
        return fmt::formatter<std::string_view>::format(r.text(), ctx);
    }
};
