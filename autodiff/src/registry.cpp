// The op registry and recording through it.
#include <retrograd/registry.hpp>

#include "op_defs.hpp"

#include <algorithm>
#include <deque>
#include <mutex>

namespace rg {
namespace detail {
void link_attention_ops();  // attention_ops.cpp (declared here, not in op_defs.hpp, which every op includes)
void link_conv_variants(), link_fold_ops(), link_interpolate(), link_sampling();  // likewise
void link_layer_norm(), link_batch_norm(), link_recurrent_ops();  // likewise
}  // namespace detail
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
    if (!input_names.empty()) return i < input_names.size() ? std::string(input_names[i]) : fmt::format("input{}", i);
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
    detail::link_pool();
    detail::link_tensor();
    detail::link_view_history();
    detail::link_mask_ops();
    detail::link_activation_ops();
    detail::link_clamp_ops();
    for (auto link : {detail::link_shape_extra, detail::link_scan_ops, detail::link_sort_ops, detail::link_norm_ops,
                      detail::link_products, detail::link_einsum, detail::link_dropout, detail::link_attention_ops})
        link();
    for (auto link :
         {detail::link_conv_variants, detail::link_fold_ops, detail::link_interpolate, detail::link_sampling})
        link();
    detail::link_layer_norm();
    detail::link_batch_norm();
    detail::link_recurrent_ops();
    for (auto link : {detail::link_elementary_ops, detail::link_rounding_ops, detail::link_binary_math_ops}) link();
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
    if (i >= node_.edges.size() || i >= node_.saved.size() || !node_.saved[i].defined())
        fail("{}: the VJP reads input {}, which the op did not save; add it to the op's Saves", node_.op(), i);
    return node_.saved[i].unpack();
}
Tensor OpContext::output() const {
    if (!node_.output_storage)
        fail("{}: the VJP reads the output, which the op did not save; set Saves::output", node_.op());
    return detail::unpack_output(node_, node_.output_storage, node_.output_version);
}
Tensor OpContext::saved(std::size_t k) const {
    const std::size_t slot = node_.edges.size() + k;
    if (slot >= node_.saved.size() || !node_.saved[slot].defined())
        fail("{}: the VJP reads saved tensor {}, but the op saved {}; add it to the op's Saves::tensors", node_.op(), k,
             node_.saved.size() > node_.edges.size() ? node_.saved.size() - node_.edges.size() : 0);
    return node_.saved[slot].unpack();
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
std::string_view OpContext::op() const { return node_.op(); }

// ---- SavedInputs --------------------------------------------------------------

SavedInputs::SavedInputs(std::initializer_list<bool> flags) {
    std::size_t i = 0;
    for (bool f : flags) {
        if (f) set(i);
        ++i;
    }
}
SavedInputs SavedInputs::all() {
    SavedInputs s;
    s.all_ = true;
    return s;
}
SavedInputs SavedInputs::only(std::initializer_list<std::size_t> positions) {
    SavedInputs s;
    for (std::size_t i : positions) s.set(i);
    return s;
}
void SavedInputs::set(std::size_t i) {
    if (words_.size() <= i / 64) words_.resize(i / 64 + 1);
    words_[i / 64] |= std::uint64_t{1} << (i % 64);
}
bool SavedInputs::any() const {
    return all_ || std::any_of(words_.begin(), words_.end(), [](std::uint64_t w) { return w != 0; });
}

// ---- recording ----------------------------------------------------------------

void detail::OpNode::release() {
    saved.clear();
    output_storage.reset();
    released_ = true;
}

void detail::attach_op(std::shared_ptr<OpNode> node, Tensor& output, const Tensor* inputs, std::size_t count,
                       Saves&& saves) {
    const std::string_view op = node->op();  // a custom op's name lives in its node
    if (saves.inputs.any() || !saves.tensors.empty()) {
        node->saved.resize(count + saves.tensors.size());
        for (std::size_t i = 0; i < count; ++i)
            if (saves.inputs[i]) node->saved[i] = SavedTensor(inputs[i], op);
        for (std::size_t k = 0; k < saves.tensors.size(); ++k)
            node->saved[count + k] = SavedTensor(saves.tensors[k], op);
    }
    if (saves.output) {
        if (!output.is_contiguous() || output.storage_offset() != 0) output = detail::contiguous_values(output);
        node->output_storage = output.impl()->storage;
        node->output_version = node->output_storage->version();
    }
    detail::attach(std::move(node), output, inputs, count);
}

}  // namespace rg
