// The local backward rule of a recorded op, as explain mode shows it: the
// rule text of the op's registry entry (retrograd/registry.hpp), so every
// registered op has one by construction; custom ops get a generic line.
#include <retrograd/explain.hpp>
#include <retrograd/registry.hpp>

#include <fmt/format.h>

namespace rg {

bool has_backward_rule(std::string_view op) { return op == "accumulate_grad" || find_op(op) != nullptr; }

std::string backward_rule(std::string_view op) {
    if (op == "accumulate_grad") return "accumulate_grad: leaf.grad += g";
    if (const OpDef* def = find_op(op)) return fmt::format("{}: {}", op, def->rule);
    return fmt::format("{} (custom op): each input gets what its vjp returns for g", op);
}

}  // namespace rg
