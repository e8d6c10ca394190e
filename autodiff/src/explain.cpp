// explain: one backward pass, recorded node by node through rg::ObserveBackward,
// then arranged as the course reads it: each layer or loss noted by a
// CompositeStep as one step with its ops folded under it, every tensor and
// gradient under one name ("Z2", "dA2", "δ³"), rules written with those names.
#include <retrograd/explain.hpp>

#include <retrograd/registry.hpp>
#include "composite_steps.hpp"
#include "explain_build.hpp"
#include "explain_rules.hpp"
#include "graph_labels.hpp"
#include "kernels.hpp"
#include "tensor_impl.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace rg {
namespace detail {

std::string show_tensor(const Tensor& t, std::size_t max_elements, std::size_t indent) {
    if (!t.defined()) return "(none)";
    std::string text;
    if (t.numel() <= max_elements) {
        text = to_string(t);
    } else {
        const auto v = t.to_vector();
        double norm = 0;
        std::size_t largest = 0;
        for (std::size_t k = 0; k < v.size(); ++k) {
            norm += v[k] * v[k];
            if (std::abs(v[k]) > std::abs(v[largest])) largest = k;
        }
        std::vector<std::string> first;
        for (std::size_t k = 0; k < std::min<std::size_t>(4, v.size()); ++k)
            first.push_back(fmt::format("{:.6g}", v[k]));
        text = fmt::format("{} {}, norm {:.6g}, first {}, ..., largest {:.6g} at {}", shape_str(t.shape()),
                           dtype_name(t.dtype()), std::sqrt(norm), fmt::join(first, ", "), v[largest],
                           index_str(largest, t.shape()));
    }
    std::string out;
    for (char c : text) {
        out += c;
        if (c == '\n') out += std::string(indent, ' ');
    }
    return out;
}

std::string shape_and_norm(const Tensor& t) {
    if (!t.defined()) return "";
    double norm = 0;
    for (double v : t.to_vector()) norm += v * v;
    return fmt::format("{} ‖{:.3g}‖", shape_str(t.shape()), std::sqrt(norm));
}

std::string step_ref(const ExplainStep& s) {
    if (s.op == "accumulate_grad") return fmt::format("[{}] {}.grad", s.id, s.leaf);
    return fmt::format("[{}] {}{}", s.id, s.op, s.output.empty() ? "" : " -> " + s.output);
}

}  // namespace detail

namespace {

using detail::CompositeRecord;

// How a step shows an optional input left out (conv2d without bias), as a
// C++ caller writes it.
constexpr const char* absent_input = "{}";

// Whether an edge is a constant input (needs no gradient) that matches a
// composite step's declared input `in`, by shape and dtype.
bool is_constant(const Edge& e, const detail::CompositeInput& in) {
    return e.defined && !e.node && e.shape == in.shape && e.dtype == in.dtype;
}

struct Event {
    const Node* node;
    Tensor grad_output;
    TensorList grads;
};

// Deep copies of what the pass produced: the engine may reuse a gradient's
// buffer once it has been handed on (detach() need not copy; clone() does).
Tensor kept(const Tensor& t) {
    if (!t.defined()) return {};
    NoGrad off;
    return t.clone();
}

// Ops whose input, when a product or a sum made it, is a pre-activation Z.
bool is_activation(std::string_view op) {
    static const std::set<std::string_view> ops{"sigmoid",     "tanh",       "relu",        "leaky_relu",
                                                "elu",         "gelu",       "silu",        "mish",
                                                "softplus",    "softmax",    "log_softmax", "hardtanh",
                                                "hardsigmoid", "logsigmoid", "softsign",    "cross_entropy"};
    return ops.count(op) > 0;
}
bool is_affine(std::string_view op) {
    static const std::set<std::string_view> ops{"add", "matmul", "conv2d", "Linear", "Conv2d", "sub"};
    return ops.count(op) > 0;
}

std::string superscript(long n) {
    static const char* const digits[] = {"⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"};
    if (n < 0) return "⁻" + superscript(-n);
    std::string out;
    for (char c : std::to_string(n)) out += digits[c - '0'];
    return out;
}

// One step of the explanation while it is built: an event (a node the pass
// ran) or a composite step holding others.
struct Item {
    long event = -1;  // index in events, or -1 for a composite
    long record = -1;  // index in records, for a composite
    std::vector<std::size_t> children;  // items
    std::string id;
    std::size_t index = 0;
    long parent = -1;
};

class Builder {
public:
    Builder(const Tensor& output, const ExplainOptions& options, std::vector<Event> events)
        : output_(output), options_(options), labels_(options.names, output), events_(std::move(events)) {
        for (std::size_t i = 0; i < events_.size(); ++i) step_of_[events_[i].node] = i;
        find_composites();
        build_tree();
        name_tensors();
    }

    Explanation explanation();

private:
    const Tensor& output_;
    const ExplainOptions& options_;
    detail::GraphLabels labels_;
    std::vector<Event> events_;
    std::map<const Node*, std::size_t> step_of_;
    std::vector<CompositeRecord> records_;
    std::vector<std::set<const Node*>> members_;  // per record
    std::vector<Item> items_;
    std::vector<std::size_t> top_;  // top-level items
    std::map<const Node*, std::size_t> item_of_;  // node -> its item (an event's own)
    std::map<const Node*, std::string> names_;  // node -> the name of the tensor it made (or its leaf)
    std::map<std::pair<const Node*, std::size_t>, std::string> constant_names_;  // (node, edge) -> name
    std::map<const Node*, std::string> delta_;  // pre-activation node -> "δ²"

    void find_composites();
    void build_tree();
    void name_tensors();
    std::string name_of(const Node* n) const {
        auto it = names_.find(n);
        return it == names_.end() ? std::string("?") : it->second;
    }
    std::string grad_name(const Node* n) const {
        if (auto it = delta_.find(n); it != delta_.end()) return it->second;
        return detail::grad_of(name_of(n));
    }
    std::string constant_name(const Node* n, std::size_t k) const {
        auto it = constant_names_.find({n, k});
        return it == constant_names_.end() ? std::string("input") : it->second;
    }
    // What n's input k reads as in a call: the node's name, the constant's,
    // or {} for an optional input left out.
    std::string input_name(const Node* n, std::size_t k) const {
        const Edge& e = n->edges[k];
        if (e.node) return name_of(e.node.get());
        return e.defined ? constant_name(n, k) : std::string(absent_input);
    }
    // The item a node's gradient lands in at the level of `siblings`' parent.
    long visible_item(const Node* n, long parent) const;
    ExplainStep make_step(std::size_t item) const;
    void fill_sends(ExplainStep& s, std::size_t item) const;
    std::string composite_rule(std::size_t record) const;
    // The output's mark, with its name when it has one: "loss C", "loss".
    std::string root_label() const {
        const std::string name = labels_.node_name(output_.grad_fn().get());
        return labels_.output_mark() + (name.empty() ? "" : " " + name);
    }
    std::string forward_text(std::size_t item) const;
};

void Builder::find_composites() {
    for (CompositeRecord& r : detail::live_composites()) {
        std::shared_ptr<Node> out = r.output.lock();
        if (!out || !step_of_.count(out.get())) continue;
        std::set<const Node*> members;
        std::vector<const Node*> stack{out.get()};
        while (!stack.empty()) {
            const Node* n = stack.back();
            stack.pop_back();
            if (n->is_accumulator() || n->tape_id() != r.tape || n->sequence() < r.begin || !members.insert(n).second)
                continue;
            for (const Edge& e : n->edges)
                if (e.node) stack.push_back(e.node.get());
        }
        records_.push_back(std::move(r));
        members_.push_back(std::move(members));
    }
}

void Builder::build_tree() {
    // Each event's composites, outermost (earliest begun) first.
    std::vector<std::size_t> order(records_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (records_[a].begin != records_[b].begin) return records_[a].begin < records_[b].begin;
        return members_[a].size() > members_[b].size();
    });
    std::map<std::pair<long, std::size_t>, std::size_t> composite_item;  // (parent item, record) -> item
    for (std::size_t e = 0; e < events_.size(); ++e) {
        long parent = -1;
        for (std::size_t r : order) {
            if (!members_[r].count(events_[e].node)) continue;
            auto key = std::make_pair(parent, r);
            auto it = composite_item.find(key);
            if (it == composite_item.end()) {
                Item c;
                c.record = static_cast<long>(r);
                c.parent = parent;
                items_.push_back(c);
                it = composite_item.emplace(key, items_.size() - 1).first;
                (parent < 0 ? top_ : items_[static_cast<std::size_t>(parent)].children).push_back(items_.size() - 1);
            }
            parent = static_cast<long>(it->second);
        }
        Item leaf;
        leaf.event = static_cast<long>(e);
        leaf.parent = parent;
        items_.push_back(leaf);
        item_of_[events_[e].node] = items_.size() - 1;
        (parent < 0 ? top_ : items_[static_cast<std::size_t>(parent)].children).push_back(items_.size() - 1);
    }
    // Ids: "4" at the top, "4.2" for the second op folded under step 4.
    std::vector<std::pair<std::string, std::vector<std::size_t>*>> levels{{"", &top_}};
    while (!levels.empty()) {
        auto [prefix, list] = levels.back();
        levels.pop_back();
        for (std::size_t k = 0; k < list->size(); ++k) {
            Item& it = items_[(*list)[k]];
            it.index = prefix.empty() ? k : k + 1;
            it.id = prefix.empty() ? std::to_string(k) : prefix + "." + std::to_string(k + 1);
            if (!it.children.empty()) levels.emplace_back(it.id, &it.children);
        }
    }
}

void Builder::name_tensors() {
    std::set<std::string> taken;
    for (const auto& [name, t] : options_.names) taken.insert(name);
    auto fresh = [&taken](std::string name) {
        while (taken.count(name)) name += "′";
        taken.insert(name);
        return name;
    };
    const Node* root = output_.grad_fn().get();
    // Given names first: the user's, then the output's mark.
    for (const Event& ev : events_) {
        const Node* n = ev.node;
        std::string name = n->is_accumulator() ? labels_.leaf_name(n->leaf().get()) : labels_.node_name(n);
        if (!name.empty()) names_[n] = name;
    }
    if (root && !names_.count(root)) names_[root] = fresh(labels_.output_mark());
    if (!root && !events_.empty() && !names_.count(events_[0].node)) names_[events_[0].node] = fresh("leaf");

    // Pre-activations: in recording order, layer input_layer + 1, + 2...
    if (options_.deltas) {
        std::vector<std::pair<const Node*, const Node*>> pre;  // (Z's node, the activation's node)
        auto consider = [&](const Node* z, const Node* act) {
            if (z && step_of_.count(z) && !z->is_accumulator()) pre.emplace_back(z, act);
        };
        for (const Event& ev : events_) {
            const Node* n = ev.node;
            if (n->is_accumulator() || !is_activation(n->op()) || n->edges.empty()) continue;
            const Node* z = n->edges[0].node.get();
            // Inside a composite (cross_entropy's log_softmax), the composite's own input is meant.
            bool inside = false;
            for (std::size_t r = 0; r < records_.size(); ++r) inside = inside || members_[r].count(n);
            if (z && !inside && is_affine(z->op())) consider(z, n);
        }
        for (std::size_t r = 0; r < records_.size(); ++r) {
            if (!is_activation(records_[r].op)) continue;
            for (const Node* m : members_[r])
                for (const Edge& e : m->edges)
                    if (e.node && !members_[r].count(e.node.get()) && !e.node->is_accumulator() &&
                        (is_affine(e.node->op()) || [&] {
                            for (std::size_t q = 0; q < records_.size(); ++q)
                                if (records_[q].output.lock().get() == e.node.get() && is_affine(records_[q].op))
                                    return true;
                            return false;
                        }()))
                        consider(e.node.get(), records_[r].output.lock().get());
        }
        std::sort(pre.begin(), pre.end(), [](auto& a, auto& b) { return a.first->sequence() < b.first->sequence(); });
        pre.erase(std::unique(pre.begin(), pre.end(), [](auto& a, auto& b) { return a.first == b.first; }), pre.end());
        long layer = options_.input_layer;
        for (const auto& [z, act] : pre) {
            ++layer;
            delta_[z] = "δ" + superscript(layer);
            if (!names_.count(z)) names_[z] = fresh(fmt::format("Z{}", layer));
            if (act && !names_.count(act) && act->op() != "cross_entropy" && !(act == root))
                names_[act] = fresh(fmt::format("A{}", layer));
        }
    }
    // Everything else after the step that made it: t4, or leaf7 for an unnamed leaf; a composite
    // step's result after that step, not after the folded op that made it.
    std::vector<const Item*> composites_first;
    for (const Item& it : items_)
        if (it.event < 0) composites_first.push_back(&it);
    for (const Item* it : composites_first) {
        const Node* out = records_[static_cast<std::size_t>(it->record)].output.lock().get();
        if (out && !names_.count(out)) names_[out] = fresh("t" + it->id);
    }
    for (const Item& it : items_) {
        if (it.event < 0) continue;
        const Node* n = events_[static_cast<std::size_t>(it.event)].node;
        if (names_.count(n)) continue;
        names_[n] = fresh((n->is_accumulator() ? "leaf" : "t") + it.id);
    }
    // A composite's output is named after its output node; remember for rules.
    // Constants: the user's name (by shape and dtype, or by identity through a
    // composite step's declared input), else the name the composite declares ("X", "Y").
    std::map<std::string, std::string> declared_named;  // composite-declared placeholder -> final name
    for (const Event& ev : events_) {
        const Node* n = ev.node;
        for (std::size_t k = 0; k < n->edges.size(); ++k) {
            const Edge& e = n->edges[k];
            if (e.node || !e.defined) continue;
            std::string name = labels_.input_name(e);
            if (name.empty()) {
                // Through the composites that hold n, innermost last.
                for (std::size_t r = 0; r < records_.size(); ++r) {
                    if (!members_[r].count(n)) continue;
                    for (const detail::CompositeInput& in : records_[r].inputs) {
                        if (in.requires_grad || in.shape != e.shape || in.dtype != e.dtype) continue;
                        // The user's name for that tensor, or a view of its storage.
                        for (const auto& [given, t] : options_.names) {
                            if (!t.defined() || t.requires_grad()) continue;
                            auto storage = in.storage.lock();
                            if (t.impl_ptr() == in.tensor.lock() || (storage && storage == t.impl()->storage))
                                name = given;
                        }
                        if (name.empty()) {
                            auto it = declared_named.find(in.name);
                            name = it != declared_named.end() ? it->second : (declared_named[in.name] = fresh(in.name));
                        }
                    }
                }
            }
            if (name.empty()) name = fresh("input");
            constant_names_[{n, k}] = name;
        }
    }
}

long Builder::visible_item(const Node* n, long parent) const {
    auto it = item_of_.find(n);
    if (it == item_of_.end()) return -1;
    // Climb until the item's parent is `parent` or the top.
    long item = static_cast<long>(it->second);
    while (item >= 0 && items_[static_cast<std::size_t>(item)].parent != parent) {
        const long up = items_[static_cast<std::size_t>(item)].parent;
        if (up < 0) return parent < 0 ? item : -1;
        item = up;
    }
    return item;
}

std::string Builder::composite_rule(std::size_t r) const {
    const CompositeRecord& rec = records_[r];
    std::map<std::string, std::pair<std::string, std::string>> names;
    const Node* out = rec.output.lock().get();
    names[rec.output_name] = {name_of(out), grad_name(out)};
    for (const detail::CompositeInput& in : rec.inputs) {
        const Node* node = nullptr;
        if (auto fn = in.grad_fn.lock()) node = fn.get();
        if (!node) {
            if (auto t = in.tensor.lock(); t && t->grad_accumulator) node = t->grad_accumulator.get();
        }
        if (node && names_.count(node)) {
            names[in.name] = {name_of(node), grad_name(node)};
            continue;
        }
        // A constant: the name its edge got.
        std::string found;
        for (const Node* m : members_[r])
            for (std::size_t k = 0; k < m->edges.size() && found.empty(); ++k)
                if (is_constant(m->edges[k], in)) found = constant_name(m, k);
        if (found.empty()) found = in.name;
        names[in.name] = {found, detail::grad_of(found)};
    }
    return fmt::format("{}: {}", rec.op, detail::named_composite_rule(rec.rule, names));
}

std::string Builder::forward_text(std::size_t item) const {
    const Item& it = items_[item];
    if (it.event < 0) {
        const CompositeRecord& rec = records_[static_cast<std::size_t>(it.record)];
        std::vector<std::string> args;
        for (const detail::CompositeInput& in : rec.inputs) {
            const Node* node = nullptr;
            if (auto fn = in.grad_fn.lock()) node = fn.get();
            if (!node)
                if (auto t = in.tensor.lock(); t && t->grad_accumulator) node = t->grad_accumulator.get();
            std::string name = node && names_.count(node) ? name_of(node) : "";
            if (name.empty()) {
                for (const Node* m : members_[static_cast<std::size_t>(it.record)])
                    for (std::size_t k = 0; k < m->edges.size() && name.empty(); ++k)
                        if (is_constant(m->edges[k], in)) name = constant_name(m, k);
            }
            args.push_back(name.empty() ? in.name : name);
        }
        return fmt::format("{} = {}({})", name_of(rec.output.lock().get()), rec.op, fmt::join(args, ", "));
    }
    const Node* n = events_[static_cast<std::size_t>(it.event)].node;
    if (n->is_accumulator()) return "";
    std::vector<std::string> args;
    for (std::size_t k = 0; k < n->edges.size(); ++k) args.push_back(input_name(n, k));
    return fmt::format("{} = {}({})", name_of(n), n->op(), fmt::join(args, ", "));
}

void Builder::fill_sends(ExplainStep& s, std::size_t item) const {
    const Item& it = items_[item];
    auto destination_of = [&](const Node* target, ExplainSend& send) {
        const long dest = visible_item(target, -1);
        if (dest >= 0) {
            send.to_step = static_cast<long>(items_[static_cast<std::size_t>(dest)].index);
            // The exact step: the target's own item.
            send.to_id = items_[item_of_.at(target)].id;
        } else {
            send.destination = "not used: the node it goes to does not lead to a leaf that requires grad";
        }
    };
    if (it.event >= 0) {
        const Event& ev = events_[static_cast<std::size_t>(it.event)];
        const Node* n = ev.node;
        for (std::size_t k = 0; k < n->edges.size(); ++k) {
            const Edge& edge = n->edges[k];
            if (!edge.defined) continue;  // an optional input left out: nothing to send to
            ExplainSend send;
            send.input = k;
            send.input_name = input_name(n, k);
            send.grad_name = edge.node ? grad_name(edge.node.get()) : detail::grad_of(send.input_name);
            send.input_label =
                (edge.node ? "" : "input ") + send.input_name + " " + shape_str(edge.shape) + (edge.node ? "*" : "");
            if (k < ev.grads.size()) send.grad = ev.grads[k];
            if (!edge.node) {
                send.destination = "needs no gradient";
                send.grad = Tensor{};
            } else if (!send.grad.defined()) {
                send.destination = "nothing sent";
            } else {
                destination_of(edge.node.get(), send);
            }
            s.sends.push_back(std::move(send));
        }
        return;
    }
    // A composite: what its ops send out of it, summed per receiving node.
    const std::size_t r = static_cast<std::size_t>(it.record);
    const auto& members = members_[r];
    std::vector<const Node*> targets;
    std::map<const Node*, Tensor> sums;
    std::map<const Node*, Shape> shapes;
    std::vector<std::pair<std::string, Shape>> constants;
    for (const Event& ev : events_) {
        if (!members.count(ev.node)) continue;
        for (std::size_t k = 0; k < ev.node->edges.size(); ++k) {
            const Edge& e = ev.node->edges[k];
            if (!e.defined) continue;
            if (!e.node) {
                const std::string name = constant_name(ev.node, k);
                if (std::none_of(constants.begin(), constants.end(), [&](const auto& c) { return c.first == name; }))
                    constants.emplace_back(name, e.shape);
                continue;
            }
            if (members.count(e.node.get())) continue;
            if (!sums.count(e.node.get())) {
                targets.push_back(e.node.get());
                sums[e.node.get()] = Tensor{};
                shapes[e.node.get()] = e.shape;
            }
            if (k < ev.grads.size() && ev.grads[k].defined()) {
                NoGrad off;
                Tensor& acc = sums[e.node.get()];
                acc = acc.defined() ? acc + ev.grads[k] : ev.grads[k];
            }
        }
    }
    // In the order the step declared its inputs, then the rest.
    std::vector<const Node*> ordered;
    for (const detail::CompositeInput& in : records_[r].inputs) {
        for (const Node* t : targets) {
            const bool match = (in.grad_fn.lock().get() == t) || (t->is_accumulator() && in.tensor.lock() == t->leaf());
            if (match && std::find(ordered.begin(), ordered.end(), t) == ordered.end()) ordered.push_back(t);
        }
    }
    for (const Node* t : targets)
        if (std::find(ordered.begin(), ordered.end(), t) == ordered.end()) ordered.push_back(t);
    std::size_t k = 0;
    for (const Node* t : ordered) {
        ExplainSend send;
        send.input = k++;
        send.input_name = name_of(t);
        send.grad_name = grad_name(t);
        send.input_label = send.input_name + " " + shape_str(shapes[t]) + "*";
        send.grad = sums[t];
        if (send.grad.defined())
            destination_of(t, send);
        else
            send.destination = "nothing sent";
        s.sends.push_back(std::move(send));
    }
    for (const auto& [c, shape] : constants) {
        ExplainSend send;
        send.input = k++;
        send.input_name = c;
        send.grad_name = detail::grad_of(c);
        send.input_label = "input " + c + " " + shape_str(shape);
        send.destination = "needs no gradient";
        s.sends.push_back(std::move(send));
    }
    // Declared inputs that reach no op as a tensor (a target's class indices).
    for (const detail::CompositeInput& in : records_[r].inputs) {
        if (in.requires_grad) continue;
        bool seen = false;
        for (const Node* m : members)
            for (const Edge& e : m->edges) seen = seen || is_constant(e, in);
        if (seen) continue;
        std::string name = in.name;
        for (const auto& [given, t] : options_.names)
            if (t.defined() && t.impl_ptr() == in.tensor.lock()) name = given;
        ExplainSend send;
        send.input = k++;
        send.input_name = name;
        send.grad_name = detail::grad_of(name);
        send.input_label = "input " + name + " " + shape_str(in.shape);
        send.destination = "needs no gradient";
        s.sends.push_back(std::move(send));
    }
}

ExplainStep Builder::make_step(std::size_t item) const {
    const Item& it = items_[item];
    ExplainStep s;
    s.index = it.index;
    s.id = it.id;
    s.forward = forward_text(item);
    if (it.event >= 0) {
        const Event& ev = events_[static_cast<std::size_t>(it.event)];
        const Node* n = ev.node;
        s.tape_position = n->sequence();
        s.op = n->op();
        s.shape = n->out_shape;
        s.grad_output = ev.grad_output;
        s.grad_name = grad_name(n);
        if (n->is_accumulator()) {
            s.leaf = name_of(n);
            s.rule = fmt::format("accumulate_grad: {}.grad += {}", s.leaf, s.grad_name);
        } else {
            s.output = n == output_.grad_fn().get() ? root_label() : name_of(n);
            if (const OpDef* def = n->def()) {
                detail::RuleNames rn;
                rn.output = name_of(n);
                rn.output_grad = s.grad_name;
                for (std::size_t k = 0; k < n->edges.size(); ++k) {
                    const Edge& e = n->edges[k];
                    rn.inputs.push_back(input_name(n, k));
                    rn.input_grads.push_back(e.node ? grad_name(e.node.get()) : detail::grad_of(rn.inputs.back()));
                    rn.absent.push_back(!e.defined);
                }
                s.rule = fmt::format("{}: {}", n->op(), detail::named_rule(*def, rn));
            } else {
                s.rule = backward_rule(n->op());
            }
        }
    } else {
        const std::size_t r = static_cast<std::size_t>(it.record);
        const Node* out = records_[r].output.lock().get();
        const Event& ev = events_[step_of_.at(out)];
        s.composite = true;
        s.tape_position = out->sequence();
        s.op = records_[r].op;
        s.shape = out->out_shape;
        s.grad_output = ev.grad_output;
        s.grad_name = grad_name(out);
        s.output = out == output_.grad_fn().get() ? root_label() : name_of(out);
        s.rule = composite_rule(r);
        for (std::size_t c : it.children) s.parts.push_back(make_step(c));
    }
    fill_sends(s, item);
    return s;
}

Explanation Builder::explanation() {
    Explanation ex;
    ex.max_elements = options_.max_elements;
    ex.expand = options_.expand;
    ex.output = root_label();
    ex.output_shape = output_.shape();
    for (std::size_t item : top_) ex.steps.push_back(make_step(item));
    // Where each step's gradient came from, and the destinations' text.
    std::map<std::string, ExplainStep*> by_id;
    std::vector<ExplainStep*> all;
    std::vector<ExplainStep*> stack;
    for (auto& s : ex.steps) stack.push_back(&s);
    while (!stack.empty()) {
        ExplainStep* s = stack.back();
        stack.pop_back();
        by_id[s->id] = s;
        all.push_back(s);
        for (auto& p : s->parts) stack.push_back(&p);
    }
    auto top_of = [](const std::string& id) {
        return static_cast<std::size_t>(std::stoul(id.substr(0, id.find('.'))));
    };
    auto is_top = [](const std::string& id) { return id.find('.') == std::string::npos; };
    for (ExplainStep* s : all) {
        for (ExplainSend& send : s->sends) {
            if (send.to_id.empty()) continue;
            ExplainStep* target = by_id.at(send.to_id);
            ExplainStep* top = by_id.at(std::to_string(top_of(send.to_id)));
            const bool same_composite = !is_top(s->id) && top_of(s->id) == top_of(send.to_id);
            if (is_top(s->id)) {
                // Between top-level steps; into a folded op of a composite step, that step too.
                top->from_ids.push_back(s->id);
                if (target != top) target->from_ids.push_back(s->id);
            } else if (same_composite || !is_top(send.to_id)) {
                // Inside a composite step, or into another one's folded op; what leaves a composite step
                // for a top-level step is its own (summed) send.
                target->from_ids.push_back(s->id);
            }
            // The text names what the reader sees: a folded op of another composite step is that step.
            send.destination = detail::step_ref(same_composite || is_top(s->id) ? *target : *top);
            if (!same_composite && !is_top(s->id)) send.to_id = top->id;
            if (is_top(s->id) && target != top) send.destination = detail::step_ref(*top);
        }
    }
    for (ExplainStep* s : all) {
        // A top-level step lists top-level senders; a part lists exact ids.
        std::vector<std::string> ids;
        for (const std::string& id : s->from_ids) {
            ids.push_back(id);
        }
        auto key = [](const std::string& id) {
            std::vector<unsigned long> parts;
            std::stringstream in(id);
            for (std::string p; std::getline(in, p, '.');) parts.push_back(std::stoul(p));
            return parts;
        };
        std::stable_sort(ids.begin(), ids.end(),
                         [&](const std::string& a, const std::string& b) { return key(a) < key(b); });
        s->from_ids = ids;
        s->from_steps.clear();
        if (is_top(s->id))
            for (const std::string& id : ids) s->from_steps.push_back(std::stoul(id));
    }
    return ex;
}

}  // namespace

Explanation explain(const Tensor& output, const ExplainOptions& options) {
    detail::defined_or_fail(output, "explain");
    if (!output.requires_grad())
        fail("explain: the output (shape {}) does not require grad; it was computed from tensors without "
             "requires_grad, or under rg::NoGrad, so there is no backward pass to explain",
             shape_str(output.shape()));
    std::vector<Event> events;
    {
        ObserveBackward watch([&events](const BackwardEvent& e) {
            Event ev{e.node, kept(*e.grad_output), {}};
            for (const Tensor& g : *e.grad_inputs) ev.grads.push_back(kept(g));
            events.push_back(std::move(ev));
        });
        const TensorList seed = options.grad_output.defined() ? TensorList{options.grad_output} : TensorList{};
        if (options.accumulate) {
            backward({output}, seed, {.retain_graph = options.retain_graph});
        } else {
            // The same pass, its leaves' gradients returned rather than accumulated.
            TensorList leaves;
            if (!output.grad_fn()) leaves.push_back(output);
            for (const Node* n : detail::reachable_nodes(output))
                if (n->is_accumulator() && n->leaf()) leaves.push_back(Tensor(n->leaf()));
            grad({output}, leaves, seed, {.retain_graph = options.retain_graph, .allow_unused = true});
        }
    }
    Builder builder(output, options, std::move(events));
    Explanation ex = builder.explanation();
    ex.dot = explain_dot(ex);
    return ex;
}

}  // namespace rg
