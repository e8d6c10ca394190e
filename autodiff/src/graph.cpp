// tape_table and to_dot: read-only walks over the graph behind a tensor.
#include <retrograd/graph.hpp>

#include "kernels.hpp"

#include <algorithm>
#include <map>
#include <sstream>

namespace rg {
namespace {

// Every node reachable from t (accumulators included), in recording order.
std::vector<const Node*> reachable(const Tensor& t) {
    std::vector<const Node*> nodes;
    if (!t.defined() || !t.grad_fn()) return nodes;
    std::vector<const Node*> stack{t.grad_fn().get()};
    std::vector<const Node*> seen;
    while (!stack.empty()) {
        const Node* n = stack.back();
        stack.pop_back();
        if (std::find(seen.begin(), seen.end(), n) != seen.end()) continue;
        seen.push_back(n);
        nodes.push_back(n);
        for (auto& edge : n->edges)
            if (edge.node) stack.push_back(edge.node.get());
    }
    std::sort(nodes.begin(), nodes.end(), [](const Node* a, const Node* b) {
        if (a->is_accumulator() != b->is_accumulator()) return a->is_accumulator();
        return a->sequence() < b->sequence();
    });
    return nodes;
}

// "(2, 3)", with the leaf's name when it has one and * when it requires grad.
std::string input_label(const Edge& in) {
    std::shared_ptr<TensorImpl> leaf = in.node ? in.node->leaf() : nullptr;
    std::string label = leaf && !leaf->name.empty() ? leaf->name + " " : "";
    label += shape_str(in.shape);
    return in.node ? label + "*" : label;
}

std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

std::string values_line(const Tensor& t) {
    std::string s = to_string(t);
    if (s.size() > 120) s = s.substr(0, 117) + "...";
    std::replace(s.begin(), s.end(), '\n', ' ');
    return s;
}

}  // namespace

std::string tape_table(const Tensor& t) {
    detail::defined_or_fail(t, "tape_table");
    std::vector<const Node*> ops;
    for (const Node* n : reachable(t))
        if (!n->is_accumulator()) ops.push_back(n);
    std::vector<std::string> inputs;
    std::size_t op_width = 2, in_width = 6;
    for (const Node* n : ops) {
        std::vector<std::string> parts;
        for (const auto& in : n->edges) parts.push_back(input_label(in));
        inputs.push_back(fmt::format("{}", fmt::join(parts, ", ")));
        op_width = std::max(op_width, n->op().size());
        in_width = std::max(in_width, inputs.back().size());
    }
    std::ostringstream os;
    os << fmt::format("{:>3}  {:<{}}  {:<{}}  {}\n", "#", "op", op_width, "inputs", in_width, "output");
    for (std::size_t i = 0; i < ops.size(); ++i) {
        os << fmt::format("{:>3}  {:<{}}  {:<{}}  {} {}\n", i, ops[i]->op(), op_width, inputs[i],
                          in_width, shape_str(ops[i]->out_shape), dtype_name(ops[i]->out_dtype));
    }
    if (ops.empty()) os << "  (no recorded ops: the tensor is a leaf or was computed without grad)\n";
    os << "  * requires grad\n";
    return os.str();
}

std::string to_dot(const Tensor& t, DotOptions options) {
    detail::defined_or_fail(t, "to_dot");
    std::ostringstream os;
    os << "digraph retrograd {\n"
          "  rankdir=TB;\n"
          "  node [fontname=\"Helvetica\", fontsize=10];\n";
    std::map<const Node*, std::string> tensor_id;  // the tensor each node produces
    const auto nodes = reachable(t);
    std::size_t counter = 0;
    auto tensor_node = [&](const std::string& id, const std::string& label, const char* style) {
        os << fmt::format("  {} [shape=ellipse, style=\"{}\", label=\"{}\"];\n", id, style, escape(label));
    };
    for (const Node* n : nodes) {
        const std::string id = fmt::format("t{}", counter++);
        tensor_id[n] = id;
        std::shared_ptr<TensorImpl> impl = n->is_accumulator() ? n->leaf() : n->output.lock();
        Tensor alive = impl ? Tensor(impl) : (n == t.grad_fn().get() ? t : Tensor{});
        std::string label;
        if (alive.defined() && !alive.name().empty()) {
            label = alive.name();
            label += '\n';
        } else if (n->is_accumulator()) {
            label = "leaf\n";
        }
        label += shape_str(n->out_shape);
        if (options.show_values && alive.defined()) label += "\n" + values_line(alive);
        if (options.show_grads && alive.defined() && alive.grad().defined())
            label += "\ngrad " + values_line(alive.grad());
        tensor_node(id, label, n->is_accumulator() ? "filled" : "solid");
    }
    for (const Node* n : nodes) {
        if (n->is_accumulator()) continue;
        const std::string op_id = fmt::format("op{}", n->sequence());
        os << fmt::format("  {} [shape=box, style=\"rounded,filled\", fillcolor=\"lightblue\", label=\"{}\"];\n",
                          op_id, escape(n->op()));
        for (std::size_t i = 0; i < n->edges.size(); ++i) {
            if (n->edges[i].node) {
                os << fmt::format("  {} -> {};\n", tensor_id[n->edges[i].node.get()], op_id);
            } else {
                const std::string id = fmt::format("c{}_{}", n->sequence(), i);
                tensor_node(id, "const " + input_label(n->edges[i]), "dashed");
                os << fmt::format("  {} -> {};\n", id, op_id);
            }
        }
        os << fmt::format("  {} -> {};\n", op_id, tensor_id[n]);
    }
    if (nodes.empty()) tensor_node("t0", (t.name().empty() ? "" : t.name() + "\n") + shape_str(t.shape()), "filled");
    os << "}\n";
    return os.str();
}

}  // namespace rg
