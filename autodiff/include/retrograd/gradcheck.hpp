#pragma once
/// @file
/// Checking gradients against central finite differences, in float64.
#include <retrograd/autograd.hpp>

#include <string>

namespace rg {

/// Tolerances of gradcheck() and gradgradcheck().
struct GradcheckOptions {
    double eps = 1e-6;  ///< finite-difference step
    double atol = 1e-5;  ///< absolute tolerance: |analytic - numeric| <= atol + rtol * |numeric|
    double rtol = 1e-3;  ///< relative tolerance (see atol)
};

/// The outcome of a check: `ok`, and a report naming the first failing input,
/// the output and input elements, the analytic and numeric values.
struct GradcheckResult {
    bool ok = true;  ///< every checked element within tolerance
    std::string report;  ///< what was compared and, on failure, where it differs
    double max_abs_error = 0;  ///< largest |analytic - numeric| over the checked elements
    /// `if (rg::gradcheck(...))` reads as "the check passed".
    explicit operator bool() const { return ok; }
};

/// Compares the Jacobian that autodiff gives for `f` at `inputs` with central
/// differences. Inputs are converted to float64; the ones that require grad are
/// checked, the others are held constant.
/// @param f the function, built from its inputs with rg ops (so that it runs in float64)
/// @param inputs where to check; those with requires_grad are differentiated
/// @param options step and tolerances
/// @return ok, or a report of the first element that differs
/// @throws rg::Error when an input is undefined, no input requires grad, or
///         `f` returns an undefined tensor or one that is not float64
GradcheckResult gradcheck(const Function& f, const TensorList& inputs, GradcheckOptions options = {});

/// Second order: gradchecks x -> VJP of `f` at x along a random direction,
/// computed with create_graph, so that every VJP's own VJP is checked.
/// @param f the function, as for gradcheck()
/// @param inputs where to check; those with requires_grad are differentiated
/// @param options step and tolerances
/// @return ok, or a report of the first element that differs
/// @throws rg::Error as gradcheck() does
GradcheckResult gradgradcheck(const Function& f, const TensorList& inputs, GradcheckOptions options = {});

}  // namespace rg
