#pragma once
// Explain's rule texts, written with the names the tensors have in an
// explanation rather than the registry's generic letters.
#include <retrograd/registry.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace rg::detail {

// The names that replace a rule's letters.
struct RuleNames {
    std::vector<std::string> inputs;  // per input of the op: "Z2"
    std::vector<std::string> input_grads;  // "δ²", "dW1"
    std::string output;  // "A2"
    std::string output_grad;  // "dA2"
    std::vector<bool> absent;  // per input: an optional input left out, whose clause of the rule is dropped
};

// "dx = g * y * (1 - y)" for sigmoid, named: "δ³ = dA3 ⊙ A3 ⊙ (1 − A3)". The
// op's signature names its inputs (x; a, b; A, B...); y or Y is the output,
// g or G the gradient arriving (h for an op whose input is called g), d<input>
// an input's gradient. A parenthetical aside that is itself a formula (with
// its own letters) is dropped.
std::string named_rule(const OpDef& def, const RuleNames& names);

// A CompositeStep's rule: {name} is the tensor declared under that name,
// d{name} its gradient; `names` maps a declared name to (name, gradient name).
std::string named_composite_rule(std::string_view rule,
                                 const std::map<std::string, std::pair<std::string, std::string>>& names);

// "d" + name, in parentheses when the name is not one word: "dZ2", "d(fc1.weight)".
std::string grad_of(const std::string& name);

}  // namespace rg::detail
