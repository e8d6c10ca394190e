// The tape and the backward sweep.
#include "anomaly.hpp"
#include "kernels.hpp"

#include <retrograd/registry.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <cstdint>
#include <tuple>

namespace rg {
namespace {

// What one backward pass knows about a node of its graph.
struct Visit {
    Node* node;
    const std::shared_ptr<Node>* owner;  // a pointer that keeps the node alive during the pass
    Tensor pending;  // the gradient summed so far
    std::size_t first_edge = 0;  // where the visits its edges lead to start in BackwardScratch::targets
    std::size_t last_consumer = 0;  // accumulators: position + 1 in `ops` of the last op that feeds it
    bool needed = false;
};
constexpr std::size_t kNoVisit = ~std::size_t{0};

// Node -> number, by open addressing: a pass looks nodes up a few times each,
// and a std::unordered_map allocated a block per node. clear() keeps the table.
class NodeMap {
public:
    // The slot of `key`, made (holding `fresh`) when absent; second: made now.
    std::pair<std::size_t*, bool> emplace(const Node* key, std::size_t fresh) {
        if ((size_ + 1) * 2 > keys_.size()) grow();
        std::size_t i = slot_of(key);
        if (keys_[i] == key) return {&values_[i], false};
        keys_[i] = key;
        values_[i] = fresh;
        ++size_;
        return {&values_[i], true};
    }
    const std::size_t* find(const Node* key) const {
        if (size_ == 0) return nullptr;
        const std::size_t i = slot_of(key);
        return keys_[i] == key ? &values_[i] : nullptr;
    }
    void clear() {
        if (size_ == 0) return;
        std::fill(keys_.begin(), keys_.end(), nullptr);
        size_ = 0;
    }

private:
    std::size_t slot_of(const Node* key) const {
        const std::size_t mask = keys_.size() - 1;
        std::uint64_t h = (reinterpret_cast<std::uintptr_t>(key) >> 4) * 0x9E3779B97F4A7C15ull;
        std::size_t i = static_cast<std::size_t>(h ^ (h >> 32)) & mask;
        while (keys_[i] != nullptr && keys_[i] != key) i = (i + 1) & mask;
        return i;
    }
    void grow() {
        std::vector<const Node*> old_keys(std::max<std::size_t>(64, keys_.size() * 2), nullptr);
        std::vector<std::size_t> old_values(old_keys.size());
        old_keys.swap(keys_);
        old_values.swap(values_);
        size_ = 0;
        for (std::size_t i = 0; i < old_keys.size(); ++i)
            if (old_keys[i]) emplace(old_keys[i], old_values[i]);
    }
    std::vector<const Node*> keys_;
    std::vector<std::size_t> values_;
    std::size_t size_ = 0;
};

// A pass works with positions in `visits`: each node's edges are resolved to
// visits once, when it is discovered, so the sweep follows indices rather
// than looking nodes up.
struct BackwardScratch {
    std::vector<Visit> visits;
    NodeMap index;  // node -> its Visit
    std::vector<std::size_t> stack;
    std::vector<std::size_t> targets;  // per visit, per edge: the visit it leads to, or kNoVisit
    std::vector<std::pair<std::uint64_t, std::size_t>> ops;  // (sequence, visit), for sorting
    std::vector<std::pair<std::size_t, std::size_t>> accumulators;  // (last consumer, visit)
    std::vector<std::size_t> order;
    bool busy = false;
    void clear() {
        visits.clear();  // drops the gradients a failed pass left pending
        index.clear();
        stack.clear();
        targets.clear();
        ops.clear();
        accumulators.clear();
        order.clear();
    }
};

struct TapeState {
    std::uint64_t id;
    std::uint64_t next_sequence = 0;
    bool grad_enabled = true;
    bool anomaly = false;
    BackwardObserver observer;
    const std::shared_ptr<Node>* applying = nullptr;  // the node whose VJP runs now (for saved outputs)
    BackwardScratch scratch;
};

std::uint64_t new_tape_id() {
    static std::atomic<std::uint64_t> counter{0};
    return ++counter;
}

TapeState& tape() {
    thread_local TapeState state{new_tape_id()};
    return state;
}

// Receives the gradient of a leaf and adds it to the leaf's .grad. Threads
// that each run backward through the same leaf take turns (the mutex), as
// PyTorch's AccumulateGrad does.
class AccumulateGrad final : public Node {
public:
    std::mutex mutex;
    explicit AccumulateGrad(const std::shared_ptr<TensorImpl>& leaf) : Node("accumulate_grad") {
        output = leaf;
        accumulator_ = true;
        out_shape = Tensor(leaf).shape();
        out_dtype = Tensor(leaf).dtype();
    }
    GradList apply(Tensor) override { return {}; }
    void release() override {}  // shared by every graph the leaf takes part in
    std::shared_ptr<TensorImpl> leaf() const override { return output.lock(); }
};

void prefetch_node(const Node* node) {
    // The lines an apply reads: the node's own (flags, edges, output, VJP and saved values).
    const char* bytes = reinterpret_cast<const char*>(node);
    for (std::size_t offset = 0; offset < 512; offset += 64) __builtin_prefetch(bytes + offset);
}

std::shared_ptr<Node> edge_of(const Tensor& input, std::string_view op) {
    detail::refresh_view(input);  // (already done by needs_grad_any when an op is recorded)
    TensorImpl& impl = *input.impl();
    if (impl.grad_fn) {
        if (impl.grad_fn->tape_id() != tape().id) {
            fail("{}: an input was recorded on another thread's tape (op '{}'); each thread "
                 "has its own tape, so pass tensors between threads with detach()",
                 op, impl.grad_fn->op());
        }
        return impl.grad_fn;
    }
    return detail::grad_accumulator(input);
}

std::shared_ptr<Node> node_of(const Tensor& t) {
    detail::refresh_view(t);
    if (t.impl()->grad_fn) return t.impl()->grad_fn;
    return edge_of(t, "backward");
}

// Adds g into slot; in place when slot's buffer is ours alone and not part of a graph.
void accumulate_into(Tensor& slot, Tensor g, bool create_graph) {
    if (!slot.defined()) {
        slot = std::move(g);
        return;
    }
    if (!create_graph && !slot.requires_grad() && !g.requires_grad() && detail::owns_buffer(slot) &&
        slot.shape() == g.shape() && g.is_contiguous() && slot.dtype() != Dtype::bfloat16) {
        detail::visit_float(slot, "backward", [&](const auto& s) {
            using T = typename std::decay_t<decltype(s)>::value_type;
            detail::add_into(slot.data_ptr<T>(), g.data_ptr<T>(), s.size());
            return 0;
        });
        return;
    }
    slot = slot + g;
}

// The leaf's .grad keeps its own dense buffer: steal g when nobody else holds
// or views it (an expanded or sliced gradient is copied, as PyTorch does).
void accumulate_leaf_grad(TensorImpl& leaf, const Tensor& g, bool create_graph) {
    if (!leaf.grad.defined()) {
        if (create_graph ? g.is_contiguous() : detail::owns_buffer(g)) {
            leaf.grad = g;
        } else if (create_graph) {
            leaf.grad = g.contiguous();
        } else {
            leaf.grad = detail::contiguous_values(g);
        }
        return;
    }
    if (!create_graph && leaf.grad.requires_grad()) leaf.grad = leaf.grad.detach();
    accumulate_into(leaf.grad, g, create_graph);
}

struct Capture {
    std::vector<std::shared_ptr<Node>> nodes;  // one per requested input
    TensorList grads;
};

void run_backward(const TensorList& outputs, const TensorList& grad_outputs, bool retain_graph, bool create_graph,
                  Capture* capture, const char* caller) {
    TapeState& tp = tape();
    if (outputs.empty()) fail("{}: no outputs given", caller);
    if (!grad_outputs.empty() && grad_outputs.size() != outputs.size()) {
        fail("{}: got {} outputs but {} output gradients", caller, outputs.size(), grad_outputs.size());
    }
    std::vector<std::shared_ptr<Node>> roots;
    TensorList seeds;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        const Tensor& out = detail::defined_or_fail(outputs[i], caller);
        if (!out.requires_grad()) {
            fail("{}: output {} does not require grad (shape {}); it was computed from tensors "
                 "without requires_grad, or under rg::NoGrad",
                 caller, i, shape_str(out.shape()));
        }
        Tensor seed = grad_outputs.empty() ? Tensor{} : grad_outputs[i];
        if (!seed.defined()) {
            if (out.numel() != 1) {
                fail("{}: output {} has shape {}; a non-scalar output needs an explicit output "
                     "gradient of the same shape",
                     caller, i, shape_str(out.shape()));
            }
            seed = ones_like(out);
        } else {
            if (seed.shape() != out.shape() || seed.dtype() != out.dtype()) {
                fail("{}: output gradient {} has shape {} and dtype {}, expected shape {} and "
                     "dtype {}",
                     caller, i, shape_str(seed.shape()), dtype_name(seed.dtype()), shape_str(out.shape()),
                     dtype_name(out.dtype()));
            }
            if (!create_graph && seed.requires_grad()) seed = seed.detach();
        }
        roots.push_back(node_of(out));
        seeds.push_back(seed);
    }

    // The pass's own scratch state (not the nodes'): two threads may run
    // backward through the same leaf at once. The containers are the
    // thread's, reused from pass to pass (a backward run inside a hook gets
    // its own).
    BackwardScratch local;
    const bool reuse = !tp.scratch.busy;
    BackwardScratch& scratch = reuse ? tp.scratch : local;
    struct Release {
        BackwardScratch& scratch;
        bool reused;
        ~Release() {
            scratch.clear();
            if (reused) scratch.busy = false;
        }
    } release{scratch, reuse};
    scratch.busy = true;
    auto& visits = scratch.visits;
    auto& index = scratch.index;
    auto& targets = scratch.targets;
    auto visit_of = [&](const Node* n) -> Visit* {
        const std::size_t* i = index.find(n);
        return i ? &visits[*i] : nullptr;
    };
    // Collect every node reachable from the roots.
    auto& stack = scratch.stack;
    auto discover = [&](const std::shared_ptr<Node>& owner) {
        Node* n = owner.get();
        auto [slot, fresh] = index.emplace(n, visits.size());
        if (fresh) {
            visits.push_back({n, &owner, Tensor{}});
            stack.push_back(*slot);
        }
        return *slot;
    };
    for (auto& r : roots) discover(r);
    while (!stack.empty()) {
        const std::size_t v = stack.back();
        stack.pop_back();
        Node* n = visits[v].node;
        if (n->released()) {
            fail("{}: the graph was already freed by an earlier backward (op '{}', tape #{}); "
                 "pass {{.retain_graph = true}} to the first backward to run it twice",
                 caller, n->op(), n->sequence());
        }
        if (!n->is_accumulator() && n->tape_id() != tp.id) {
            fail("{}: the graph was recorded on another thread's tape (op '{}'); run backward "
                 "on the thread that recorded it",
                 caller, n->op());
        }
        visits[v].first_edge = targets.size();
        for (auto& edge : n->edges) targets.push_back(edge.node ? discover(edge.node) : kNoVisit);
    }
    // Ops in reverse tape order; each leaf's accumulator right after the last
    // op that sends it a gradient, so a finished gradient is handed over (to
    // hooks, to a data-parallel reducer) while the rest of the pass runs.
    auto& ops = scratch.ops;
    for (std::size_t v = 0; v < visits.size(); ++v)
        if (!visits[v].node->is_accumulator()) ops.emplace_back(visits[v].node->sequence(), v);
    std::sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (std::size_t i = 0; i < ops.size(); ++i) {
        const Visit& op = visits[ops[i].second];
        for (std::size_t e = 0; e < op.node->edges.size(); ++e) {
            const std::size_t t = targets[op.first_edge + e];
            if (t != kNoVisit && visits[t].node->is_accumulator()) visits[t].last_consumer = i + 1;
        }
    }
    auto& accumulators = scratch.accumulators;
    for (std::size_t v = 0; v < visits.size(); ++v)
        if (visits[v].node->is_accumulator()) accumulators.emplace_back(visits[v].last_consumer, v);
    std::stable_sort(accumulators.begin(), accumulators.end(),
                     [](const auto& x, const auto& y) { return x.first < y.first; });
    auto& order = scratch.order;
    order.reserve(visits.size());
    std::size_t next_accumulator = 0;
    for (std::size_t i = 0; i <= ops.size(); ++i) {
        if (i > 0) order.push_back(ops[i - 1].second);
        while (next_accumulator < accumulators.size() && accumulators[next_accumulator].first == i)
            order.push_back(accumulators[next_accumulator++].second);
    }

    // With capture, run only the nodes that lead to a requested input.
    for (Visit& v : visits) v.needed = capture == nullptr;
    if (capture) {
        for (auto& c : capture->nodes)
            if (Visit* v = visit_of(c.get())) v->needed = true;
        for (auto it = order.rbegin(); it != order.rend(); ++it) {
            Visit& v = visits[*it];
            if (v.needed) continue;
            for (std::size_t e = 0; e < v.node->edges.size(); ++e) {
                const std::size_t t = targets[v.first_edge + e];
                if (t != kNoVisit && visits[t].needed) {
                    v.needed = true;
                    break;
                }
            }
        }
    }

    GradMode mode(create_graph);
    for (std::size_t i = 0; i < roots.size(); ++i)
        accumulate_into(visit_of(roots[i].get())->pending, seeds[i], create_graph);
    seeds.clear();

    // The order is known, and a large graph does not fit in cache: the node a
    // few steps ahead is fetched while this one runs.
    constexpr std::size_t kPrefetchAhead = 3;
    for (std::size_t k = 0; k < order.size(); ++k) {
        if (k + kPrefetchAhead < order.size()) prefetch_node(visits[order[k + kPrefetchAhead]].node);
        Visit& visit = visits[order[k]];
        Node* n = visit.node;
        if (!visit.needed) continue;
        Tensor g = std::move(visit.pending);
        visit.pending = Tensor{};
        if (!g.defined()) continue;
        std::shared_ptr<TensorImpl> out = n->output.lock();
        if (out && out->has_hooks()) {
            for (auto& hook : out->extras->hooks) {
                Tensor replaced = hook(g);
                if (!replaced.defined()) continue;
                if (replaced.shape() != g.shape() || replaced.dtype() != g.dtype()) {
                    fail("{}: a hook on the output of '{}' returned shape {} ({}), expected {} ({})", caller, n->op(),
                         shape_str(replaced.shape()), dtype_name(replaced.dtype()), shape_str(g.shape()),
                         dtype_name(g.dtype()));
                }
                g = replaced;
            }
        }
        if (capture) {
            for (std::size_t k = 0; k < capture->nodes.size(); ++k)
                if (capture->nodes[k].get() == n) capture->grads[k] = g;
        } else if (out && n->is_accumulator()) {
            {
                std::lock_guard lock(static_cast<AccumulateGrad*>(n)->mutex);
                accumulate_leaf_grad(*out, g, create_graph);
            }
            if (out->extras && !out->extras->post_accumulate_hooks.empty()) {
                Tensor leaf(out);
                for (auto& hook : out->extras->post_accumulate_hooks) hook(leaf);
            }
        } else if (out && out->retains_grad) {
            accumulate_leaf_grad(*out, g, create_graph);
        }
        if (n->is_accumulator()) {
            if (tp.observer) {
                const TensorList none;
                tp.observer(BackwardEvent{n, &g, &none});
            }
            continue;
        }

        // A slice's gradient added into its input's gradient so far, when
        // that is a dense buffer of the pass's own (nothing recorded,
        // observed or checked).
        if (!create_graph && !tp.observer && !tp.anomaly && n->edges.size() == 1) {
            const std::size_t t = targets[visit.first_edge];
            Visit* next = t == kNoVisit ? nullptr : &visits[t];
            if (next && next->needed && next->pending.defined() && !next->pending.requires_grad() &&
                !g.requires_grad() && detail::owns_buffer(next->pending) && g.dtype() == n->edges[0].dtype &&
                next->pending.dtype() == g.dtype() && next->pending.shape() == n->edges[0].shape &&
                n->add_to_input_grad(g, next->pending)) {
                if (!retain_graph) n->release();
                continue;
            }
        }
        Tensor upstream = tp.observer ? g : Tensor{};
        struct Applying {
            TapeState& tp;
            const std::shared_ptr<Node>* previous;
            ~Applying() { tp.applying = previous; }
        } applying{tp, tp.applying};
        tp.applying = visit.owner;
        GradList grads = n->apply(std::move(g));
        if (tp.observer) {
            const TensorList sent(grads.begin(), grads.end());
            tp.observer(BackwardEvent{n, &upstream, &sent});
        }
        if (grads.size() != n->edges.size()) {
            fail("{}: the VJP of '{}' returned {} gradients for {} inputs", caller, n->op(), grads.size(),
                 n->edges.size());
        }
        for (std::size_t i = 0; i < grads.size(); ++i) {
            const Edge& info = n->edges[i];
            const std::size_t t = targets[visit.first_edge + i];
            Visit* next = t == kNoVisit ? nullptr : &visits[t];
            if (!next || !next->needed || !grads[i].defined()) continue;
            if (grads[i].shape() != info.shape || grads[i].dtype() != info.dtype) {
                fail("{}: the VJP of '{}' returned a gradient of shape {} ({}) for input {} of "
                     "shape {} ({})",
                     caller, n->op(), shape_str(grads[i].shape()), dtype_name(grads[i].dtype()), i,
                     shape_str(info.shape), dtype_name(info.dtype));
            }
            if (tp.anomaly) detail::check_anomaly(grads[i], "backward", *n);
            accumulate_into(next->pending, std::move(grads[i]), create_graph);
        }
        if (!retain_graph) n->release();
    }
}

}  // namespace

namespace {
// The nodes waiting to be destroyed by this thread's running release loop
// (null when none runs).
thread_local std::vector<std::shared_ptr<Node>>* nodes_to_free = nullptr;
}  // namespace

void detail::release_node(std::shared_ptr<Node>&& node) noexcept {
    if (!node) return;
    if (node.use_count() > 1) {
        node.reset();
        return;
    }
    // No memory for the queue: fall back to recursion.
    if (nodes_to_free) {
        try {
            nodes_to_free->push_back(std::move(node));
        } catch (...) {
            node.reset();
        }
        return;
    }
    std::vector<std::shared_ptr<Node>> queue;
    try {
        queue.reserve(64);
    } catch (...) {
        node.reset();
        return;
    }
    queue.push_back(std::move(node));
    nodes_to_free = &queue;
    while (!queue.empty()) {
        std::shared_ptr<Node> next = std::move(queue.back());
        queue.pop_back();
        next.reset();  // its destructor queues the nodes only it kept alive
    }
    nodes_to_free = nullptr;
}

Node::~Node() {
    for (Edge& edge : edges) detail::release_node(std::move(edge.node));
}

namespace {
// A new node's position: the next number on the current thread's tape, and the tape.
std::pair<std::uint64_t, std::uint64_t> next_tape_position() {
    TapeState& tp = tape();
    return {tp.next_sequence++, tp.id};
}
}  // namespace

Node::Node(std::string_view op) : owned_op_(std::make_unique<char[]>(op.size())) {
    std::tie(sequence_, tape_id_) = next_tape_position();
    std::copy(op.begin(), op.end(), owned_op_.get());
    op_ = std::string_view(owned_op_.get(), op.size());
}
Node::Node(const OpDef& def) : def_(&def), op_(def.name) { std::tie(sequence_, tape_id_) = next_tape_position(); }

std::uint64_t current_tape_id() { return tape().id; }

namespace {
// A saved view keeps its history but not its base: the base's history may
// later lead to the saving node (an in-place write into another of its
// views), and base -> node -> view -> base would be a cycle never freed.
Tensor without_base(const Tensor& t) {
    if (!t.defined() || !t.impl()->view_base) return t;
    Tensor copy = detail::make_view(t, t.shape(), t.strides(), t.storage_offset());
    copy.impl()->requires_grad = t.impl()->requires_grad;
    copy.impl()->grad_fn = t.impl()->grad_fn;
    if (!t.name().empty()) copy.set_name(t.name());
    return copy;
}
}  // namespace

SavedTensor::SavedTensor(const Tensor& t, std::string_view op)
    : tensor_(without_base(t)),
      storage_(t.defined() ? t.impl()->storage.get() : nullptr),
      version_(t.defined() ? t.impl()->storage->version() : 0),
      op_(op) {}

namespace {
[[noreturn]] void modified_after_save(const Shape& shape, std::string_view op, std::uint64_t saved, std::uint64_t now) {
    fail("backward: a tensor of shape {} saved by '{}' was modified by an in-place operation after it "
         "was saved (version {} when saved, now {}); compute the in-place change on a clone(), or "
         "after backward",
         shape_str(shape), op, saved, now);
}
}  // namespace

Tensor detail::unpack_output(const Node& node, const std::shared_ptr<Storage>& storage, std::uint64_t version) {
    if (storage->version() != version) modified_after_save(node.out_shape, node.op(), version, storage->version());
    auto impl = make_small_shared<TensorImpl>();
    impl->storage = storage;
    impl->dtype = node.out_dtype;
    impl->set_dense_geometry(node.out_shape, shape_numel(node.out_shape));
    impl->is_view = true;
    TapeState& tp = tape();
    if (tp.grad_enabled && tp.applying) {
        // Recording the backward pass: the output is again the result of its node.
        impl->requires_grad = true;
        impl->grad_fn = *tp.applying;
    }
    return Tensor(std::move(impl));
}

Tensor SavedTensor::unpack() const {
    if (!tensor_.defined()) return tensor_;
    const detail::Storage& storage = *tensor_.impl()->storage;
    if (storage_ != &storage || storage.version() != version_)
        modified_after_save(tensor_.shape(), op_, version_, storage.version());
    return tensor_;
}

std::shared_ptr<Node> detail::grad_accumulator(const Tensor& leaf) {
    // Leaves may be shared by threads that each record on their own tape.
    static std::mutex creation;
    std::lock_guard lock(creation);
    TensorImpl& impl = *leaf.impl();
    if (!impl.grad_accumulator) impl.grad_accumulator = std::make_shared<AccumulateGrad>(leaf.impl_ptr());
    return impl.grad_accumulator;
}

ObserveBackward::ObserveBackward(BackwardObserver observer) : previous_(std::move(tape().observer)) {
    tape().observer = std::move(observer);
}
ObserveBackward::~ObserveBackward() { tape().observer = std::move(previous_); }

bool is_grad_enabled() { return tape().grad_enabled; }
NoGrad::NoGrad() : previous_(tape().grad_enabled) { tape().grad_enabled = false; }
NoGrad::~NoGrad() { tape().grad_enabled = previous_; }
GradMode::GradMode(bool enabled) : previous_(tape().grad_enabled) { tape().grad_enabled = enabled; }
GradMode::~GradMode() { tape().grad_enabled = previous_; }
bool is_anomaly_enabled() { return tape().anomaly; }
DetectAnomaly::DetectAnomaly() : DetectAnomaly(AnomalyOptions{}) {}
DetectAnomaly::DetectAnomaly(AnomalyOptions options)
    : previous_(tape().anomaly), previous_options_(detail::swap_anomaly_options(options)) {
    tape().anomaly = true;
}
DetectAnomaly::~DetectAnomaly() {
    tape().anomaly = previous_;
    detail::swap_anomaly_options(previous_options_);
}

bool needs_grad_any(const Tensor* inputs, std::size_t count) {
    if (!tape().grad_enabled) return false;
    // Every input's history is brought up to date here, before the op's node
    // takes its place on the tape: a view's remade history must come first.
    bool any = false;
    for (std::size_t i = 0; i < count; ++i) {
        if (!inputs[i].defined()) continue;
        detail::refresh_view(inputs[i]);
        any = any || inputs[i].impl()->requires_grad;
    }
    return any;
}
bool needs_grad(const Tensor& a) { return needs_grad_any(&a, 1); }
bool needs_grad(const Tensor& a, const Tensor& b) {
    return tape().grad_enabled && (a.requires_grad() || b.requires_grad());
}
bool needs_grad(const TensorList& inputs) { return needs_grad_any(inputs.data(), inputs.size()); }

void detail::attach(std::shared_ptr<Node> node, Tensor& output, const Tensor* inputs, std::size_t count) {
    node->edges.resize(count);
    for (std::size_t i = 0; i < count; ++i) {
        const Tensor& in = inputs[i];
        if (!in.defined()) continue;
        const TensorImpl& in_impl = *in.impl();
        Edge& edge = node->edges[i];
        edge.shape = in_impl.shape;
        edge.dtype = in_impl.dtype;
        edge.defined = true;
        if (in_impl.requires_grad) edge.node = edge_of(in, node->op());
    }
    TensorImpl& impl = *output.impl();
    node->out_shape = impl.shape;
    node->out_dtype = impl.dtype;
    if (tape().anomaly) detail::note_recorded(output, node);
    impl.requires_grad = true;
    impl.grad_fn = std::move(node);
}

void backward(const TensorList& outputs, const TensorList& grad_outputs, BackwardOptions options) {
    run_backward(outputs, grad_outputs, options.retain_graph || options.create_graph, options.create_graph, nullptr,
                 "backward");
}

void Tensor::backward(const Tensor& grad_output, BackwardOptions options) const {
    rg::backward({*this}, grad_output.defined() ? TensorList{grad_output} : TensorList{}, options);
}

TensorList grad(const TensorList& outputs, const TensorList& inputs, const TensorList& grad_outputs,
                GradOptions options) {
    Capture capture;
    for (std::size_t k = 0; k < inputs.size(); ++k) {
        const Tensor& in = detail::defined_or_fail(inputs[k], "grad");
        if (!in.requires_grad()) fail("grad: input {} (shape {}) does not require grad", k, shape_str(in.shape()));
        capture.nodes.push_back(node_of(in));
    }
    capture.grads.resize(inputs.size());
    run_backward(outputs, grad_outputs, options.retain_graph || options.create_graph, options.create_graph, &capture,
                 "grad");
    for (std::size_t k = 0; k < inputs.size(); ++k) {
        if (capture.grads[k].defined()) continue;
        if (!options.allow_unused) {
            fail("grad: the outputs do not depend on input {} (shape {}); pass "
                 "{{.allow_unused = true}} to get zeros for it",
                 k, shape_str(inputs[k].shape()));
        }
        capture.grads[k] = zeros_like(inputs[k]);
    }
    return capture.grads;
}

TensorList grad(const Tensor& output, const TensorList& inputs, GradOptions options) {
    return grad(TensorList{output}, inputs, {}, options);
}

}  // namespace rg
