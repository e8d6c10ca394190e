// An explanation as text, and finding a step by the name of its tensor.
#include <retrograd/explain.hpp>

#include "explain_build.hpp"

#include <sstream>

namespace rg {
namespace {

const ExplainStep* find_step(const std::vector<ExplainStep>& steps, std::string_view name, const std::string& output) {
    for (const ExplainStep& s : steps)
        if (s.output == name || s.leaf == name) return &s;
    // The output by its mark or its name: "loss" or "C" for "loss C".
    const std::string_view out = output;
    const auto space = out.find(' ');
    const bool output_called =
        space != std::string_view::npos && (out.substr(0, space) == name || out.substr(space + 1) == name);
    for (const ExplainStep& s : steps)
        if (output_called && s.output == output) return &s;
    for (const ExplainStep& s : steps)
        if (const ExplainStep* inner = find_step(s.parts, name, output)) return inner;
    return nullptr;
}

void known_names(const std::vector<ExplainStep>& steps, std::vector<std::string>& known) {
    for (const ExplainStep& s : steps) {
        if (!s.output.empty()) known.push_back("'" + s.output + "'");
        if (!s.leaf.empty()) known.push_back("'" + s.leaf + "'");
    }
    for (const ExplainStep& s : steps) known_names(s.parts, known);
}

void write_step(std::ostringstream& os, const ExplainStep& s, std::size_t max_elements, bool expand,
                const std::string& pad) {
    if (s.op == "accumulate_grad") {
        os << fmt::format("{}[{}] {} {}: its gradient\n", pad, s.id, s.leaf, shape_str(s.shape));
    } else {
        os << fmt::format("{}[{}] {}: {}  {}\n", pad, s.id, s.op, s.forward, shape_str(s.shape));
    }
    const std::string source = s.from_ids.empty()       ? "the seed"
                               : s.from_ids.size() == 1 ? "from [" + s.from_ids[0] + "]"
                                                        : fmt::format("sum of [{}]", fmt::join(s.from_ids, "] + ["));
    const std::size_t indent = pad.size() + 10;
    auto label = [](const std::string& name) { return fmt::format("{:<5}", name); };
    os << fmt::format("{}    {} {}  ({})\n", pad, label(s.grad_name),
                      detail::show_tensor(s.grad_output, max_elements, indent), source);
    os << fmt::format("{}    rule  {}\n", pad, s.rule);
    for (const ExplainSend& send : s.sends) {
        if (!send.grad.defined()) {
            os << fmt::format("{}    {} {}: {}\n", pad, label(send.grad_name), send.input_label, send.destination);
        } else {
            os << fmt::format("{}    {} {}  -> {}\n", pad, label(send.grad_name),
                              detail::show_tensor(send.grad, max_elements, indent), send.destination);
        }
    }
    if (s.parts.empty()) return;
    if (!expand) {
        std::vector<std::string> ops;
        for (const ExplainStep& p : s.parts) ops.push_back(p.op);
        os << fmt::format("{}    ops   {} (folded; ExplainOptions::expand lists them)\n", pad, fmt::join(ops, " -> "));
        return;
    }
    for (const ExplainStep& p : s.parts) write_step(os, p, max_elements, expand, pad + "    ");
}

}  // namespace

const ExplainStep& Explanation::step(std::string_view name) const {
    if (const ExplainStep* s = find_step(steps, name, output)) return *s;
    std::vector<std::string> known;
    known_names(steps, known);
    fail("explain: no step made a tensor named '{}'; the named ones are {}", name,
         known.empty() ? std::string("none (name tensors with ExplainOptions::names)")
                       : fmt::format("{}", fmt::join(known, ", ")));
}

std::string Explanation::to_string() const {
    std::ostringstream os;
    std::string root = output.substr(output.find(' ') == std::string::npos ? 0 : output.find(' ') + 1);
    os << fmt::format("backward pass from {} {}: {} step{}; dT is the gradient of {} with respect to T\n", output,
                      shape_str(output_shape), steps.size(), steps.size() == 1 ? "" : "s", root);
    for (const ExplainStep& s : steps) write_step(os, s, max_elements, expand, "");
    return os.str();
}

}  // namespace rg
