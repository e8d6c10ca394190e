// CompositeStep and ExplainMode: the notes explain reads to fold a layer's or
// a loss's ops into one step.
#include <retrograd/composite.hpp>

#include "composite_steps.hpp"
#include "tensor_impl.hpp"

#include <algorithm>

namespace rg {
namespace {

struct CompositeState {
    bool on = false;
    std::vector<detail::CompositeRecord> records;
    std::size_t prune_at = 256;
    std::uint64_t next_id = 1;
    // The open record with this id (open ones are the last few), or null.
    detail::CompositeRecord* find(std::uint64_t id) {
        for (auto it = records.rbegin(); it != records.rend(); ++it)
            if (it->id == id) return it->open ? &*it : nullptr;
        return nullptr;
    }
};

CompositeState& state() {
    thread_local CompositeState s;
    return s;
}

// Takes the next position on this thread's tape, which is where the step's
// ops start (every node takes a position as it is made).
class TapeMark final : public Node {
public:
    TapeMark() : Node("composite_step") {}
    GradList apply(Tensor) override { return {}; }
};

void prune(CompositeState& s) {
    std::erase_if(s.records, [](const detail::CompositeRecord& r) { return !r.open && r.output.expired(); });
    s.prune_at = std::max<std::size_t>(256, 2 * s.records.size());
}

}  // namespace

CompositeStep::CompositeStep(std::string_view op, std::string_view rule, std::initializer_list<StepInput> inputs) {
    CompositeState& s = state();
    if (!s.on) return;
    if (s.records.size() >= s.prune_at) prune(s);
    detail::CompositeRecord r;
    r.id = s.next_id++;
    r.tape = current_tape_id();
    r.begin = TapeMark().sequence();
    r.op = std::string(op);
    r.rule = std::string(rule);
    for (const StepInput& in : inputs) {
        // An optional input left out (a layer without bias) is no input of the step.
        if (!in.tensor.defined()) continue;
        detail::CompositeInput c;
        c.name = std::string(in.name);
        c.grad_fn = in.tensor.grad_fn();
        c.tensor = in.tensor.impl_ptr();
        c.storage = in.tensor.impl()->storage;
        c.shape = in.tensor.shape();
        c.dtype = in.tensor.dtype();
        c.requires_grad = in.tensor.requires_grad();
        r.inputs.push_back(std::move(c));
    }
    record_ = r.id;
    s.records.push_back(std::move(r));
}

CompositeStep::~CompositeStep() {
    if (!active()) return;
    // A step whose result was never marked (or recorded nothing) is not
    // shown, and is dropped at the next pruning.
    if (detail::CompositeRecord* r = state().find(record_)) r->open = false;
}

void CompositeStep::set_rule(std::string rule) {
    if (detail::CompositeRecord* r = active() ? state().find(record_) : nullptr) r->rule = std::move(rule);
}

const Tensor& CompositeStep::output(const Tensor& result, std::string_view name) {
    detail::CompositeRecord* r = active() ? state().find(record_) : nullptr;
    if (!r || !result.defined() || !result.grad_fn()) return result;
    const auto& node = result.grad_fn();
    if (node->tape_id() != r->tape || node->sequence() < r->begin) return result;  // recorded before the step began
    r->output = node;
    r->output_name = std::string(name);
    return result;
}

ExplainMode::ExplainMode() : previous_(state().on) { state().on = true; }
ExplainMode::~ExplainMode() { state().on = previous_; }
bool is_explain_mode() { return state().on; }

std::vector<detail::CompositeRecord> detail::live_composites() {
    std::vector<CompositeRecord> out;
    for (const CompositeRecord& r : state().records)
        if (!r.output.expired()) out.push_back(r);
    return out;
}

}  // namespace rg
