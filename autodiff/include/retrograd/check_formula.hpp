#pragma once
/// @file
/// "Is my formula right?" in one call: compares a hand-derived derivative with
/// the one autodiff gives, in float64, and reports per input the largest
/// absolute and relative errors, the worst element with both values, and what
/// a wrong formula looks like (a wrong shape, a constant factor, a flipped sign,
/// a transpose, errors confined to some rows...).
#include <retrograd/autograd.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace rg {

/// Which derivative a formula gives.
enum class Derivative {
    gradient,  ///< d sum(f) / d input, one tensor per input (for a scalar f: its gradient)
    jacobian,  ///< d f / d input, shape f.shape + input.shape, one tensor per input
    hessian,  ///< d² f / d input², f scalar, one input: shape input.shape + input.shape
};

/// What check_formula() compares, and how closely.
struct FormulaOptions {
    Derivative kind = Derivative::gradient;  ///< the derivative the formula gives
    double atol = 1e-8;  ///< absolute tolerance: |autodiff - formula| <= atol + rtol |autodiff|
    double rtol = 1e-6;  ///< relative tolerance (see atol)
};

/// The comparison for one input.
struct FormulaCheck {
    std::size_t input = 0;  ///< the input's position
    Shape shape;  ///< of autodiff's derivative
    Shape formula_shape;  ///< of the formula's; a different shape is a failure
    double max_abs_error = 0;  ///< largest |autodiff - formula|
    double max_rel_error = 0;  ///< largest |autodiff - formula| / |autodiff|
    std::string worst;  ///< index of the largest error, e.g. "[1, 0]"
    double autodiff = 0;  ///< autodiff's value at `worst`
    double formula = 0;  ///< the formula's value at `worst`
    bool ok = true;  ///< within tolerance everywhere, and of the right shape
    /// What a failure looks like, when it has a recognisable pattern, e.g.
    /// "expected (3, 2), got (2, 3); the formula matches autodiff transposed" or
    /// "the formula is 0.5 × autodiff everywhere"; empty otherwise.
    std::string pattern;
    Tensor autodiff_tensor;  ///< autodiff's derivative (float64)
    Tensor formula_tensor;  ///< the formula's, as returned
};

/// The outcome of check_formula(): one FormulaCheck per input.
struct FormulaReport {
    bool ok = true;  ///< every input's check passed
    std::vector<FormulaCheck> checks;  ///< one per input, in order
    /// PASS/FAIL per input; a failure adds its pattern and, when small (at most
    /// 36 elements), both tensors.
    std::string text() const;
    /// `if (rg::check_formula(...))` reads as "the formula is right".
    explicit operator bool() const { return ok; }
};

/// A hand-derived derivative: it receives the (float64) inputs and returns one
/// tensor per input. f and the formula run in float64: a float32 constant
/// inside either is reported with the float64 fix.
using Formula = std::function<TensorList(const TensorList& inputs)>;

/// Prints report.text(): `std::cout << report`.
/// @param os the stream
/// @param report the report to print
/// @return os
inline std::ostream& operator<<(std::ostream& os, const FormulaReport& report) { return os << report.text(); }

/// Compares `formula` with autodiff's derivative of `f` at `inputs`.
/// @param f the function, built from its inputs with rg ops
/// @param inputs where to compare (converted to float64)
/// @param formula the hand-derived derivative, one tensor per input
/// @param options which derivative, and the tolerances
/// @return the report; a failure is a report, not an exception
/// @throws rg::Error when an input or a result is undefined, the formula
///         returns another number of tensors than there are inputs, f or the
///         formula mixes in float32 values, or a hessian check has several inputs
FormulaReport check_formula(const Function& f, const TensorList& inputs, const Formula& formula,
                            FormulaOptions options = {});
/// The same with the expected derivatives given as tensors.
/// @param f the function, built from its inputs with rg ops
/// @param inputs where to compare (converted to float64)
/// @param expected the derivative, one tensor per input
/// @param options which derivative, and the tolerances
/// @throws rg::Error as the overload taking a Formula
FormulaReport check_formula(const Function& f, const TensorList& inputs, const TensorList& expected,
                            FormulaOptions options = {});
/// On random float64 inputs (standard normal) of the given shapes, seeded.
/// @param f the function, built from its inputs with rg ops
/// @param input_shapes one shape per input
/// @param formula the hand-derived derivative, one tensor per input
/// @param options which derivative, and the tolerances
/// @param seed the random inputs' seed (the same seed, the same inputs)
/// @throws rg::Error as the overload taking inputs
FormulaReport check_formula(const Function& f, const std::vector<Shape>& input_shapes, const Formula& formula,
                            FormulaOptions options = {}, std::uint64_t seed = 0);

}  // namespace rg

template <> struct fmt::formatter<rg::FormulaReport> : fmt::formatter<std::string_view> {
    auto format(const rg::FormulaReport& r, format_context& ctx) const {
        return fmt::formatter<std::string_view>::format(r.text(), ctx);
    }
};
