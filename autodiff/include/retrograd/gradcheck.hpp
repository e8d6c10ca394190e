#pragma once
// Checking gradients against central finite differences, in float64.
#include <retrograd/autograd.hpp>

#include <string>

namespace rg {

struct GradcheckOptions {
    double eps = 1e-6;  // finite-difference step
    double atol = 1e-5;  // |analytic - numeric| <= atol + rtol * |numeric|
    double rtol = 1e-3;
};

// The outcome of a check: `ok`, and a report naming the first failing input,
// the output and input elements, the analytic and numeric values.
struct GradcheckResult {
    bool ok = true;
    std::string report;
    double max_abs_error = 0;
    explicit operator bool() const { return ok; }
};

// Compares the Jacobian that autodiff gives for f at `inputs` with central
// differences. Inputs are converted to float64; the ones that require grad are
// checked, the others are held constant.
GradcheckResult gradcheck(const Function& f, const TensorList& inputs, GradcheckOptions options = {});

// Second order: gradchecks x -> VJP of f at x along a random direction,
// computed with create_graph, so that every VJP's own VJP is checked.
GradcheckResult gradgradcheck(const Function& f, const TensorList& inputs, GradcheckOptions options = {});

}  // namespace rg
