// rg::checkpoint: a custom op whose forward keeps fn's output only and whose
// VJP runs fn again under recording, then backpropagates through that run.
//
// The op's inputs are fn's inputs and the tensors requiring grad that fn
// reads from outside (a module's parameters), found on the first run by
// walking its graph down to the nodes recorded before it: so they get their
// gradients through the op's edges, as from any op, and rg::grad with respect
// to a parameter works as it does without the checkpoint.
#include <retrograd/activation_checkpoint.hpp>
#include <retrograd/autograd.hpp>
#include <retrograd/error.hpp>
#include <retrograd/random_state.hpp>

#include <algorithm>
#include <unordered_set>
#include <vector>

namespace rg {
namespace {

// Marks the current position on the tape: every node fn records comes after it.
class TapeMark final : public Node {
public:
    TapeMark() : Node("checkpoint") {}
    GradList apply(Tensor) override { return {}; }
};

// Sets the random generator to `state` in its scope, and back after.
class ReplayRandom {
public:
    explicit ReplayRandom(const RngState& state) : saved_(get_rng_state()) { set_rng_state(state); }
    ~ReplayRandom() { set_rng_state(saved_); }
    ReplayRandom(const ReplayRandom&) = delete;
    ReplayRandom& operator=(const ReplayRandom&) = delete;

private:
    RngState saved_;
};

Tensor call(const CheckpointFunction& fn, const TensorList& inputs) {
    Tensor out = fn(inputs);
    if (!out.defined()) fail("checkpoint: fn returned an undefined tensor; expected its output");
    return out;
}

// The leaves requiring grad that the graph of `out` reaches through nodes
// recorded after `mark` (fn's own), other than `own` (fn's inputs).
TensorList outside_leaves(const Tensor& out, const Node& mark, const TensorList& own) {
    std::unordered_set<const TensorImpl*> skip;
    for (const Tensor& t : own) skip.insert(t.impl());
    std::unordered_set<const Node*> seen;
    std::vector<const Node*> stack;
    TensorList found;
    if (out.grad_fn()) stack.push_back(out.grad_fn().get());
    while (!stack.empty()) {
        const Node* n = stack.back();
        stack.pop_back();
        if (!seen.insert(n).second) continue;
        if (n->is_accumulator()) {
            auto leaf = n->leaf();
            if (leaf && !skip.contains(leaf.get())) found.emplace_back(std::move(leaf));
            continue;
        }
        if (n->tape_id() != mark.tape_id() || n->sequence() < mark.sequence())
            fail("checkpoint: fn reads a tensor computed outside it (by op '{}') that requires grad; pass it "
                 "to fn through the inputs, so that its gradient reaches that history",
                 n->op());
        for (const Edge& e : n->edges)
            if (e.node) stack.push_back(e.node.get());
    }
    return found;
}

// fn's inputs cut from their history, requiring grad as the originals do.
TensorList detached(const TensorList& inputs) {
    TensorList out;
    out.reserve(inputs.size());
    for (const Tensor& t : inputs) {
        Tensor d = t.detach();
        if (t.requires_grad()) d.requires_grad_();
        out.push_back(std::move(d));
    }
    return out;
}

}  // namespace

Tensor checkpoint(const CheckpointFunction& fn, const TensorList& inputs) {
    if (!fn) fail("checkpoint: fn is empty; expected a function of the inputs");
    for (std::size_t i = 0; i < inputs.size(); ++i)
        if (!inputs[i].defined()) fail("checkpoint: input {} is undefined; expected defined tensors", i);
    if (!is_grad_enabled()) return call(fn, inputs);

    const std::size_t count = inputs.size();
    const RngState random = get_rng_state();
    // The first run, recorded from detached inputs so that the walk stops at
    // them; its graph (fn's activations) is freed on return.
    TensorList firsts = detached(inputs);
    Tensor value;
    TensorList outside;
    {
        const TapeMark mark;
        const Tensor out = call(fn, firsts);
        outside = outside_leaves(out, mark, firsts);
        value = out.detach();
    }
    bool any = !outside.empty();
    for (const Tensor& t : inputs) any = any || t.requires_grad();
    if (!any)
        fail("checkpoint: none of the {} inputs requires grad, nor any tensor fn reads, so its output has no "
             "gradient to recompute (PyTorch warns: \"None of the inputs have requires_grad=True\"); call fn "
             "directly, or pass an input that requires grad",
             count);

    TensorList all = inputs;
    all.insert(all.end(), outside.begin(), outside.end());
    const auto forward = [value](const TensorList&) { return value; };
    const auto vjp = [fn, count, random](const TensorList& saved, const Tensor& g) {
        // Recorded when the backward itself is (create_graph): the second run
        // then starts from the original inputs, so that second-order gradients
        // reach their history; otherwise from detached copies, as the outer
        // graph may already be freed below them.
        const bool create_graph = is_grad_enabled();
        const TensorList originals(saved.begin(), saved.begin() + static_cast<std::ptrdiff_t>(count));
        const TensorList ins = create_graph ? originals : detached(originals);
        Tensor out;
        {
            GradMode recording(true);
            ReplayRandom replay(random);
            out = call(fn, ins);
        }
        TensorList targets, grads(saved.size());
        std::vector<std::size_t> where;
        for (std::size_t i = 0; i < saved.size(); ++i) {
            const Tensor& t = i < count ? ins[i] : saved[i];
            if (!t.requires_grad()) continue;
            targets.push_back(t);
            where.push_back(i);
        }
        if (targets.empty() || !out.requires_grad()) return grads;
        TensorList found = grad({out}, targets, {g}, {.create_graph = create_graph, .allow_unused = true});
        for (std::size_t k = 0; k < where.size(); ++k) grads[where[k]] = std::move(found[k]);
        return grads;
    };
    return custom_op("checkpoint", all, forward, vjp);
}

}  // namespace rg
