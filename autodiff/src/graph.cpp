// tape_table and to_dot: read-only walks over the graph behind a tensor.
#include <retrograd/graph.hpp>

#include "graph_labels.hpp"
#include "kernels.hpp"

#include <algorithm>
#include <map>
#include <sstream>

namespace rg {
namespace detail {

std::vector<const Node*> reachable_nodes(const Tensor& t) {
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

GraphLabels::GraphLabels(const NamedTensors& names, const Tensor& output)
    : marks_(true), output_mark_(output.defined() && output.numel() == 1 ? "loss" : "output") {
    std::vector<Input> candidates;
    for (const auto& [name, tensor] : names) {
        if (!tensor.defined()) fail("graph names: the tensor named '{}' is undefined", name);
        if (tensor.grad_fn()) {
            nodes_.emplace(tensor.grad_fn().get(), name);
        } else if (tensor.requires_grad()) {
            leaves_.emplace(tensor.impl(), name);
        } else {
            candidates.push_back({tensor.shape(), tensor.dtype(), name});
        }
    }
    for (const Input& c : candidates) {
        const auto same = std::count_if(candidates.begin(), candidates.end(),
                                        [&](const Input& o) { return o.shape == c.shape && o.dtype == c.dtype; });
        if (same == 1) inputs_.push_back(c);
    }
}

std::string GraphLabels::leaf_name(const TensorImpl* leaf) const {
    if (!leaf) return "";
    if (auto it = leaves_.find(leaf); it != leaves_.end()) return it->second;
    return leaf->name();
}

std::string GraphLabels::node_name(const Node* node) const {
    if (!node) return "";
    if (node->is_accumulator()) return leaf_name(node->leaf().get());
    if (auto it = nodes_.find(node); it != nodes_.end()) return it->second;
    std::shared_ptr<TensorImpl> out = node->output.lock();
    return out ? out->name() : "";
}

std::string GraphLabels::input_name(const Edge& edge) const {
    if (edge.node) return "";
    for (const Input& in : inputs_)
        if (in.shape == edge.shape && in.dtype == edge.dtype) return in.name;
    return "";
}

std::string edge_label(const Edge& in, const GraphLabels& labels) {
    if (!in.node) {
        const std::string name = labels.input_name(in);
        return (name.empty() ? "" : "input " + name + " ") + shape_str(in.shape);
    }
    std::shared_ptr<TensorImpl> leaf = in.node->leaf();
    const std::string name = labels.leaf_name(leaf.get());
    return (name.empty() ? "" : name + " ") + shape_str(in.shape) + "*";
}

std::string dot_escape(const std::string& s) {
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

namespace {
std::string values_line(const Tensor& t) {
    std::string s = to_string(t);
    if (s.size() > 120) s = s.substr(0, 117) + "...";
    std::replace(s.begin(), s.end(), '\n', ' ');
    return s;
}
}  // namespace

std::string dot_graph(const Tensor& t, const GraphLabels& labels, const DotOptions& options,
                      const DotDecoration& decoration) {
    auto link = [&](const Node* n) -> std::string {
        const std::string url = decoration.link ? decoration.link(n) : "";
        if (url.empty()) return "";
        return fmt::format(", id=\"tape-{}\", URL=\"{}\", target=\"_self\"", n->sequence(), dot_escape(url));
    };
    auto prefix = [&](const Node* n) { return decoration.prefix ? decoration.prefix(n) : std::string(); };
    std::ostringstream os;
    os << "digraph retrograd {\n"
          "  rankdir=TB;\n"
          "  node [fontname=\"Helvetica\", fontsize=10];\n";
    std::map<const Node*, std::string> tensor_id;  // the tensor each node produces
    const auto nodes = reachable_nodes(t);
    const Node* root = t.grad_fn().get();
    std::size_t counter = 0;
    auto tensor_node = [&](const std::string& id, const std::string& label, const char* style,
                           const std::string& extra) {
        os << fmt::format("  {} [shape=ellipse, style=\"{}\", label=\"{}\"{}];\n", id, style, dot_escape(label), extra);
    };
    for (const Node* n : nodes) {
        const std::string id = fmt::format("t{}", counter++);
        tensor_id[n] = id;
        std::shared_ptr<TensorImpl> impl = n->is_accumulator() ? n->leaf() : n->output.lock();
        Tensor alive = impl ? Tensor(impl) : (n == root ? t : Tensor{});
        std::string label;
        std::string name = labels.node_name(n);
        if (name.empty() && alive.defined()) name = alive.name();
        if (labels.marks() && n == root)
            label = labels.output_mark() + (name.empty() ? "" : " " + name) + "\n";
        else if (!name.empty())
            label = name + "\n";
        else if (n->is_accumulator())
            label = "leaf\n";
        label += shape_str(n->out_shape);
        if (n->is_accumulator()) label = prefix(n) + label;
        if (options.show_values && alive.defined()) label += "\n" + values_line(alive);
        if (options.show_grads && alive.defined() && alive.grad().defined())
            label += "\ngrad " + values_line(alive.grad());
        const bool marked_root = labels.marks() && n == root;
        tensor_node(id, label,
                    n->is_accumulator() ? "filled"
                    : marked_root       ? "bold,filled"
                                        : "solid",
                    (marked_root ? ", peripheries=2, fillcolor=\"mistyrose\"" : "") +
                        (n->is_accumulator() ? link(n) : ""));
    }
    for (const Node* n : nodes) {
        if (n->is_accumulator()) continue;
        const std::string op_id = fmt::format("op{}", n->sequence());
        os << fmt::format("  {} [shape=box, style=\"rounded,filled\", fillcolor=\"lightblue\", label=\"{}\"{}];\n",
                          op_id, dot_escape(prefix(n) + std::string(n->op())), link(n));
        for (std::size_t i = 0; i < n->edges.size(); ++i) {
            if (n->edges[i].node) {
                os << fmt::format("  {} -> {};\n", tensor_id[n->edges[i].node.get()], op_id);
            } else {
                const std::string id = fmt::format("c{}_{}", n->sequence(), i);
                const std::string input = labels.input_name(n->edges[i]);
                if (input.empty())
                    tensor_node(id, "const " + edge_label(n->edges[i], labels), "dashed", "");
                else
                    tensor_node(id, "input " + input + "\n" + shape_str(n->edges[i].shape), "dashed,filled",
                                ", fillcolor=\"lightyellow\"");
                os << fmt::format("  {} -> {};\n", id, op_id);
            }
        }
        os << fmt::format("  {} -> {};\n", op_id, tensor_id[n]);
    }
    if (nodes.empty())
        tensor_node("t0", (t.name().empty() ? "" : t.name() + "\n") + shape_str(t.shape()), "filled", "");
    os << "}\n";
    return os.str();
}

}  // namespace detail

namespace {

std::string table(const Tensor& t, const detail::GraphLabels& labels) {
    detail::defined_or_fail(t, "tape_table");
    std::vector<const Node*> ops;
    for (const Node* n : detail::reachable_nodes(t))
        if (!n->is_accumulator()) ops.push_back(n);
    std::vector<std::string> inputs;
    std::size_t op_width = 2, in_width = 6;
    for (const Node* n : ops) {
        std::vector<std::string> parts;
        for (const auto& in : n->edges) parts.push_back(detail::edge_label(in, labels));
        inputs.push_back(fmt::format("{}", fmt::join(parts, ", ")));
        op_width = std::max(op_width, n->op().size());
        in_width = std::max(in_width, inputs.back().size());
    }
    std::ostringstream os;
    os << fmt::format("{:>3}  {:<{}}  {:<{}}  {}\n", "#", "op", op_width, "inputs", in_width, "output");
    for (std::size_t i = 0; i < ops.size(); ++i) {
        const bool root = labels.marks() && ops[i] == t.grad_fn().get();
        os << fmt::format("{:>3}  {:<{}}  {:<{}}  {} {}{}\n", i, ops[i]->op(), op_width, inputs[i], in_width,
                          shape_str(ops[i]->out_shape), dtype_name(ops[i]->out_dtype),
                          root ? "  <- " + labels.output_mark() : "");
    }
    if (ops.empty()) os << "  (no recorded ops: the tensor is a leaf or was computed without grad)\n";
    os << "  * requires grad\n";
    return os.str();
}

}  // namespace

std::string tape_table(const Tensor& t) { return table(t, {}); }

std::string tape_table(const Tensor& t, const NamedTensors& names) {
    detail::defined_or_fail(t, "tape_table");
    return table(t, detail::GraphLabels(names, t));
}

std::string to_dot(const Tensor& t, DotOptions options) {
    detail::defined_or_fail(t, "to_dot");
    return detail::dot_graph(t, {}, options, {});
}

std::string to_dot(const Tensor& t, const NamedTensors& names, DotOptions options) {
    detail::defined_or_fail(t, "to_dot");
    return detail::dot_graph(t, detail::GraphLabels(names, t), options, {});
}

}  // namespace rg
