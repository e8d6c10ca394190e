// The op registry and recording through it.
#include <retrograd/registry.hpp>

#include "op_defs.hpp"

#include <algorithm>
#include <deque>
#include <mutex>

namespace rg {
namespace {

struct Registry {
    std::mutex mutex;
    std::deque<OpDef> defs;  // stable addresses
    std::deque<std::string> texts;  // generated signatures
    std::vector<const OpDef*> list;
};

Registry& registry() {
    static Registry instance;
    return instance;
}

}  // namespace

const OpDef& define_op(OpDef def) {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    for (const OpDef* d : r.list)
        if (d->name == def.name) fail("define_op: an op named '{}' is already registered", def.name);
    if (def.differentiable.empty() && !def.samples.empty())
        def.differentiable.assign(def.samples.front().shapes.size(), true);
    if (def.signature.empty()) {
        const std::size_t arity = def.samples.empty() ? 1 : def.samples.front().shapes.size();
        r.texts.push_back(fmt::format("{}({})", def.name, arity == 1 ? "x" : "a, b"));
        def.signature = r.texts.back();
    }
    r.defs.push_back(std::move(def));
    r.list.push_back(&r.defs.back());
    return r.defs.back();
}

std::string OpDef::input_name(std::size_t i) const {
    // The names between the first call's parentheses, defaults stripped.
    const auto open = signature.find('('), close = signature.find(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close <= open + 1) return "x";
    std::string_view list = signature.substr(open + 1, close - open - 1);
    for (std::size_t k = 0;; ++k) {
        const auto comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        item = item.substr(0, item.find('='));
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (k == i) return std::string(item);
        if (comma == std::string_view::npos) return fmt::format("input{}", i);
        list.remove_prefix(comma + 1);
    }
}

const std::vector<const OpDef*>& op_registry() {
    detail::link_unary_ops();
    detail::link_binary_ops();
    detail::link_reduce();
    detail::link_softmax();
    detail::link_linalg();
    detail::link_fused();
    detail::link_shape();
    detail::link_views();
    detail::link_conv();
    detail::link_tensor();
    for (auto link : {detail::link_shape_extra, detail::link_scan_ops, detail::link_sort_ops, detail::link_norm_ops,
                      detail::link_products, detail::link_einsum, detail::link_dropout})
        link();
    return registry().list;
}

const OpDef* find_op(std::string_view name) {
    for (const OpDef* d : registry().list)
        if (d->name == name) return d;
    return nullptr;
}

namespace {
std::string table_cell(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '|') out += '\\';
        out += c;
    }
    return out;
}
}  // namespace

std::string op_table_markdown() {
    static constexpr std::pair<OpKind, std::string_view> sections[] = {{OpKind::elementwise,
                                                                        "elementwise (broadcasting)"},
                                                                       {OpKind::reduction, "reductions"},
                                                                       {OpKind::linalg, "linear algebra"},
                                                                       {OpKind::view, "views (no copy)"},
                                                                       {OpKind::shape, "shape and indexing"},
                                                                       {OpKind::nn, "neural-network ops"},
                                                                       {OpKind::backward,
                                                                        "ops that are other ops' gradients"}};
    std::string out = "| op | call | what it computes | gradient (g: the incoming gradient, y: the output) |\n"
                      "| --- | --- | --- | --- |\n";
    // By name within a kind: registration order depends on the link order.
    std::vector<const OpDef*> sorted = op_registry();
    std::sort(sorted.begin(), sorted.end(), [](const OpDef* a, const OpDef* b) { return a->name < b->name; });
    for (const auto& [kind, title] : sections) {
        out += fmt::format("| **{}** | | | |\n", title);
        for (const OpDef* d : sorted) {
            if (d->kind != kind) continue;
            const std::string rule = table_cell(d->rule);
            out += fmt::format("| `{}` | `{}` | {} | {} |\n", d->name, table_cell(d->signature), table_cell(d->doc),
                               d->composite ? fmt::format("{} (no node of its own)", rule) : fmt::format("`{}`", rule));
        }
    }
    return out;
}

// ---- OpContext --------------------------------------------------------------

Tensor OpContext::input(std::size_t i) const {
    if (i >= node_.saved.size() || !node_.saved[i].defined())
        fail("{}: the VJP reads input {}, which the op did not save; add it to the op's Saves", node_.op(), i);
    return node_.saved[i].unpack();
}
Tensor OpContext::output() const {
    if (!node_.output_storage)
        fail("{}: the VJP reads the output, which the op did not save; set Saves::output", node_.op());
    return detail::unpack_output(node_, node_.output_storage, node_.output_version);
}
bool OpContext::needs_grad(std::size_t i) const { return i < node_.edges.size() && node_.edges[i].node; }
const Edge& OpContext::edge(std::size_t i) const {
    if (i >= node_.edges.size())
        fail("{}: the VJP asks about input {}, but the op has {} inputs", node_.op(), i, node_.edges.size());
    return node_.edges[i];
}
const Shape& OpContext::input_shape(std::size_t i) const { return edge(i).shape; }
Dtype OpContext::input_dtype(std::size_t i) const { return edge(i).dtype; }
std::size_t OpContext::inputs() const { return node_.edges.size(); }

// ---- recording ----------------------------------------------------------------

GradList detail::OpNode::apply(Tensor grad_output) {
    if (released()) fail("backward: node '{}' was already released", op());
    return vjp_(OpContext(*this), grad_output);
}

void detail::OpNode::release() {
    saved.clear();
    output_storage.reset();
    vjp_ = nullptr;
    released_ = true;
}

namespace {
void record_registered(const OpDef& def, Tensor& output, const Tensor* inputs, std::size_t count, Saves saves,
                       OpVjp&& vjp) {
    if (!needs_grad_any(inputs, count)) return;
    auto node = detail::make_small_shared<detail::OpNode>(def, std::move(vjp));
    for (std::size_t i = 0; i < count && i < saves.inputs.size(); ++i) {
        if (!saves.inputs[i]) continue;
        node->saved.resize(count);
        node->saved[i] = SavedTensor(inputs[i], def.name);
    }
    if (saves.output) {
        if (!output.is_contiguous() || output.storage_offset() != 0) output = detail::contiguous_values(output);
        node->output_storage = output.impl()->storage;
        node->output_version = node->output_storage->version();
    }
    detail::attach(std::move(node), output, inputs, count);
}
}  // namespace

Tensor record(const OpDef& def, Tensor output, std::initializer_list<Tensor> inputs, Saves saves, OpVjp vjp) {
    record_registered(def, output, inputs.begin(), inputs.size(), saves, std::move(vjp));
    return output;
}
Tensor record(const OpDef& def, Tensor output, const TensorList& inputs, Saves saves, OpVjp vjp) {
    record_registered(def, output, inputs.data(), inputs.size(), saves, std::move(vjp));
    return output;
}

}  // namespace rg
