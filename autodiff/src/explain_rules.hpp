#pragma once
// The local backward rule of every op the library records, as text for
// explain mode (one table, in explain_rules.cpp).
#include <string_view>
#include <vector>

namespace rg::detail {

struct BackwardRule {
    std::string_view op;
    std::vector<std::string_view> inputs;  // the names the rule gives the op's inputs
    std::string_view rule;                 // in terms of g (the gradient arriving), y (the output) and the inputs
};

// The rule of `op`, or nullptr for an op the table does not know (a custom op).
const BackwardRule* find_backward_rule(std::string_view op);

}  // namespace rg::detail
