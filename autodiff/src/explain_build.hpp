#pragma once
// Shared by explain's builder, its text and its page.
#include <retrograd/explain.hpp>

#include <string>

namespace rg::detail {

// A tensor on one or more lines; continuation lines start with `indent`
// spaces. Large tensors as shape, dtype, norm and a few entries.
std::string show_tensor(const Tensor& t, std::size_t max_elements, std::size_t indent);
// "(4, 2) ‖0.213‖": a gradient's shape and norm, for the graph's edges.
std::string shape_and_norm(const Tensor& t);
// "[4] tanh -> Z", "[7] W1.grad"
std::string step_ref(const ExplainStep& s);

}  // namespace rg::detail

namespace rg {
// The DOT text of an explanation's graph (explain_page.cpp).
std::string explain_dot(const Explanation& ex);
}  // namespace rg
